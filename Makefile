# The single entry point of the course. Every target builds .venv first when it is
# missing or older than pyproject.toml, so a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
# nbgrader shells out to `alembic`, so the venv's bin/ must be on PATH without activation.
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0

# A real class lives in ./submitted; without one, `make grade` grades the demo class.
SIZES ?= 40x3
CLASS ?= $(if $(wildcard submitted/*),.,examples/demo_class)
# JOBS=N parallel grading workers; unset, the grader uses the cores it may run on
JOBS  ?=
JOBS_ARG := $(if $(JOBS),--jobs $(JOBS))

.PHONY: help venv grade release autograde feedback report test lab bench site clean demo-class

help:
	@echo "make grade      release, autograde, feedback, grades.csv and report (demo class if no submitted/)"
	@echo "make test       the whole test suite"
	@echo "make lab        JupyterLab in the course root"
	@echo "make release    regenerate release/ from source/"
	@echo "make autograde  autograde only (JOBS=N parallel workers)"
	@echo "make bench      grading speed: stock nbgrader vs ours vs bare nbclient"
	@echo "make site       static HTML site of the executed lecture notebooks in site/"

venv: $(STAMP)
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

grade: $(STAMP)
	$(BIN)/backprop-course grade --class-dir $(CLASS) $(JOBS_ARG)

release: $(STAMP)
	$(BIN)/backprop-course release

autograde: $(STAMP)
	$(BIN)/backprop-course grade --class-dir $(CLASS) $(JOBS_ARG) --only autograde

test: $(STAMP)
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=$(CURDIR)

bench: $(STAMP)
	$(BIN)/python -m backprop_course.tools.bench --sizes $(SIZES) $(JOBS_ARG)

site: $(STAMP)
	$(BIN)/python -m backprop_course.tools.site --out site

clean:
	rm -rf autograded feedback gradebook.db grades.csv report.html \
	  examples/demo_class/autograded examples/demo_class/feedback \
	  examples/demo_class/gradebook.db examples/demo_class/grades.csv examples/demo_class/report.html

demo-class: $(STAMP)
	$(BIN)/python -m backprop_course.tools.demo_class

"""Grading that hostile and broken submissions cannot fool or stop.

One batch: honest submissions beside ones whose code tampers with the kernel (patched numpy,
builtins, swallowed exceptions, hidden tracebacks, redefined checks, hard-coded answers) and
broken ones (kernel death, infinite loop, syntax error, flood of output, deleted, duplicated
and edited cells, extra files). Each gets exactly what its honest work earns; nothing else moves.
"""
import dataclasses
import os
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import numpy as np
import pytest

from backprop_course.grader import pipeline
from backprop_course.grader.results import report
from backprop_course.grader.run import skipping
from backprop_course.grader.judge import verdicts
from backprop_course.grader.assignments import assignments
from answers.catalogue import CATALOGUE, EXERCISES, NOTEBOOK, build_notebook
from grading_helpers import cell_errors, course_copy, exercise_scores, grade_class, tree_hashes

from project import ROOT

A = "02_backprop"
REFERENCE = next(s for s in CATALOGUE if s.name == "02-reference")
NO_PHI = next(s for s in CATALOGUE if s.name == "02-neuron-hidden-no-phi-prime")


def prefixed(name, base, code, exercise="neuron_backward", after=False):
    """``base`` with ``code`` put before (or after) the student's code of ``exercise``."""
    cells = dict(base.cells)
    parts = [cells[exercise], code.strip("\n")] if after else [code.strip("\n"), cells[exercise]]
    cells[exercise] = "\n\n".join(parts)
    return dataclasses.replace(base, name=name, cells=cells)


REDEFINED_CHECKS = """
import backprop_course.checks.backprop as _checks
for _name in dir(_checks):
    if _name.startswith("check_"):
        setattr(_checks, _name, lambda *args, **kwargs: None)
"""

HARD_CODED = """
class Neuron(Neuron):
    def backward(self, t=None, y_hat=None, delta_l=None, w_l=None, learning_rate=0.1, output_neuron=False):
        # the public test's expected values, hard-coded; anything else is left alone
        self.delta_j = -0.05410048648551742
        self.weights = [-0.43766845027028967, 0.8159131740539862]
        self.bias = 0.5054100486485518
"""

#: name -> (submission, its honest twin: the tampering may earn no more than the twin, and
#: exactly as much where it leaves the student's own code working)
TAMPERING = {
    "patched-allclose": (prefixed("patched-allclose", NO_PHI, """
import numpy as np
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones_like(np.asarray(a, dtype=float), dtype=bool)
"""), NO_PHI),
    "patched-builtins": (prefixed("patched-builtins", NO_PHI, """
import builtins, math
builtins.abs = lambda x: 0.0
builtins.all = lambda iterable: True
math.isclose = lambda *args, **kwargs: True
"""), NO_PHI),
    "custom-exc": (prefixed("custom-exc", NO_PHI, """
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, evalue, tb, tb_offset=None: None)
"""), NO_PHI),
    "excepthook": (prefixed("excepthook", NO_PHI, """
import sys
sys.excepthook = lambda *args: None
get_ipython().showtraceback = lambda *args, **kwargs: None
get_ipython()._showtraceback = lambda *args, **kwargs: None
"""), NO_PHI),
    "redefined-checks": (prefixed("redefined-checks", NO_PHI, REDEFINED_CHECKS), NO_PHI),
    "hard-coded": (prefixed("hard-coded", REFERENCE, HARD_CODED, after=True), None),
}


def released_cells(assignment):
    """grade_id -> source of each solution cell of the released notebook: a blank submission."""
    nb = nbformat.read(ROOT / "release" / assignment / NOTEBOOK[assignment], as_version=4)
    return {c.metadata.nbgrader.grade_id: c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}


BLANK = dataclasses.replace(REFERENCE, name="blank", cells=released_cells(A))
RAISING = """
def _backward(self, *args, **kwargs):
    raise ZeroDivisionError("the student's own bug")
Neuron.backward = _backward
"""
RAISED, UNREADABLE = "raised", "could not read"  # what the grader's verdict says (grader/verdicts.py)
EVERY_EXERCISE = {exercise: 0 for exercise in EXERCISES[A]}

#: name -> (submission, expected score per exercise (None: full), the verdict's words on each
#: test cell scored 0). The student's code raises, or the probe's output cannot be read, while
#: the checks in the kernel are no-ops: only the grader's own verdict can fail those cells.
VERDICT_FAILURES = {
    "blank-redefined-checks": (prefixed("blank-redefined-checks", BLANK, REDEFINED_CHECKS),
                               EVERY_EXERCISE, f"{RAISED} NotImplementedError"),
    "raising-redefined-checks": (prefixed("raising-redefined-checks", REFERENCE, REDEFINED_CHECKS + RAISING, after=True),
                                 {"neuron_backward": 0}, f"{RAISED} ZeroDivisionError"),
    "blank-probe-replaced": (prefixed("blank-probe-replaced", BLANK, REDEFINED_CHECKS + """
import backprop_course.checks.remote as _remote
_remote.probe = lambda *args, **kwargs: None
"""), EVERY_EXERCISE, UNREADABLE),
    "blank-stdout-silenced": (prefixed("blank-stdout-silenced", BLANK, REDEFINED_CHECKS + """
import io, sys
sys.stdout = io.StringIO()
"""), EVERY_EXERCISE, UNREADABLE),
    "blank-probe-garbled": (prefixed("blank-probe-garbled", BLANK, REDEFINED_CHECKS + """
import backprop_course.checks.remote as _remote
_remote.probe = lambda *args, **kwargs: print(_remote.MARK + "{not json")
"""), EVERY_EXERCISE, UNREADABLE),
}


#: a solution made of looking up every graded name in every module the grading kernel can import
#: (the course's package, and the answers if it could reach them): nothing there is an answer
LOOKUP = """
import importlib, pkgutil, sys
import backprop_course
_roots = [backprop_course]
try:
    import answers
    _roots.append(answers)
except ImportError:
    pass
for _root in _roots:
    for _info in [None, *pkgutil.walk_packages(_root.__path__, _root.__name__ + ".")]:
        try:
            _module = _root if _info is None else importlib.import_module(_info.name)
        except BaseException:
            continue
        for _name in ("Neuron", "train", "Network"):
            if callable(getattr(_module, _name, None)):
                globals()[_name] = getattr(_module, _name)
"""
LOOKED_UP = dataclasses.replace(REFERENCE, name="looked-up", cells={e: LOOKUP for e in EXERCISES[A]})

#: a correct solution whose code watches everything the kernel runs and every comparison of the
#: checks in the kernel, and prints it: none of the hidden tests may reach the feedback
WATCHER = """
from backprop_course.checks import core as _core

def _show(info):
    print("LEAK-CELL:", info.raw_cell)

get_ipython().events.register("pre_run_cell", _show)
get_ipython().events.register("post_run_cell", lambda result: print("LEAK-AFTER:", result.info.raw_cell))
_compare = _core.Suspects.compare

def _leaky(self, quantity, actual, expected, *args, **kwargs):
    print("LEAK-EXPECTED:", quantity, expected)
    return _compare(self, quantity, actual, expected, *args, **kwargs)

_core.Suspects.compare = _leaky
_plain_compare = _core.compare
_core.compare = lambda quantity, actual, expected, *args, **kwargs: (
    print("LEAK-EXPECTED:", quantity, expected), _plain_compare(quantity, actual, expected, *args, **kwargs))[1]
"""
WATCHED = prefixed("watcher", REFERENCE, WATCHER)


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def delete_test_cell(nb):
    nb.cells = [c for c in nb.cells if grade_id(c) != "test_neuron_backward_hidden"]


def duplicate_solution_cell(nb):
    index = next(i for i, c in enumerate(nb.cells) if grade_id(c) == "train_multi_sample")
    nb.cells.insert(index + 1, nbformat.from_dict(dict(nb.cells[index])))


def edit_locked_test(nb):
    for cell in nb.cells:
        if grade_id(cell) == "test_neuron_backward_output":
            cell.source = "pass  # nothing to see"


def syntax_error(nb):
    for cell in nb.cells:
        if grade_id(cell) == "train_multi_sample":
            cell.source = "def train(hidden, output, inputs, targets, epochs=1000, learning_rate=0.1)\n    return []"


def tag_every_code_cell(nb):
    """The student tags every code cell skip-when-grading, her failing test cells too."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata["tags"] = ["skip-when-grading"]


#: name -> (notebook edit on the reference, extra files, expected score per exercise: None = full)
BROKEN = {
    "deleted-test-cell": (delete_test_cell, {}, {}),
    "duplicated-cell": (duplicate_solution_cell, {}, {}),
    "edited-locked-cell": (edit_locked_test, {}, {}),
    "syntax-error": (syntax_error, {}, {"train_multi_sample": 0}),
    "extra-files": (lambda nb: None, {"notes.txt": "scratch", "data/w.npy": "not really numpy"}, {}),
}
SLOW = {  # kernel-level failures, each costing only what follows it
    "kernel-exit": (prefixed("kernel-exit", REFERENCE, "import os\nos._exit(1)", exercise="train_multi_sample"),
                    {"train_multi_sample": 0, "multi_output_network": 0}),
    "infinite-loop": (prefixed("infinite-loop", REFERENCE, "while True:\n    pass", exercise="train_multi_sample"),
                      {"train_multi_sample": 0}),
    "output-flood": (prefixed("output-flood", REFERENCE, "print('spam ' * 20_000_000)"), {}),
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory, nbgrader_env):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", nbgrader_env["PATH"])
        course = course_copy(tmp_path_factory.mktemp("course"),
                             config="c.Execute.timeout = 10  # the infinite loop costs this once\n")
        submitted = course / "submitted"

        def put(student, nb, extra=None):
            path = submitted / student / A / NOTEBOOK[A]
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
            for name, text in (extra or {}).items():
                (path.parent / name).parent.mkdir(parents=True, exist_ok=True)
                (path.parent / name).write_text(text)

        for sub in (REFERENCE, NO_PHI):
            put(sub.name, build_notebook(sub, hidden_tests=False))
        for name, (sub, _) in TAMPERING.items():
            put(name, build_notebook(sub, hidden_tests=False))
        for name, (edit, extra, _) in BROKEN.items():
            nb = build_notebook(REFERENCE, hidden_tests=False)
            edit(nb)
            put(name, nb, extra)
        for name, (sub, _) in SLOW.items():
            put(name, build_notebook(sub, hidden_tests=False))
        tagged = build_notebook(NO_PHI, hidden_tests=False)
        tag_every_code_cell(tagged)
        put("skip-tagged", tagged)
        for name, (sub, _, _) in VERDICT_FAILURES.items():
            put(name, build_notebook(sub, hidden_tests=False))
        for sub in (LOOKED_UP, WATCHED):
            put(sub.name, build_notebook(sub, hidden_tests=False))
        grader, submissions, before = grade_class(course)
        assert not grader.feedback([s for s in submissions if s.student == WATCHED.name])[1]
        yield course, grader, submissions, before


def scores(grader, student):
    return exercise_scores(grader, student, A)


def test_every_submission_is_graded(batch):
    _, _, submissions, _ = batch
    assert [s for s in submissions if s.problem] == []


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_tampering_with_the_kernel_earns_nothing_extra(batch, name):
    _, grader, _, _ = batch
    got = scores(grader, name)
    twin = TAMPERING[name][1]
    if twin is not None:
        honest = scores(grader, twin.name)
        assert all(got[e][0] <= honest[e][0] for e in honest), f"{name} earns more than its honest twin"
        if name != "patched-builtins":  # a broken abs() may break the student's own code too
            assert got == honest, f"{name} scores differently from its honest twin {twin.name}"
    else:  # hard-coded answers for the public values fail the hidden ones
        score, top = got["neuron_backward"]
        assert score < top / 2, got
    assert got["neuron_backward"][0] < got["neuron_backward"][1]


@pytest.mark.parametrize("name", sorted(BROKEN) + sorted(SLOW))
def test_broken_submissions_get_what_they_earned(batch, name):
    _, grader, _, _ = batch
    expected = BROKEN[name][2] if name in BROKEN else SLOW[name][1]
    for exercise, (score, top) in scores(grader, name).items():
        assert score == expected.get(exercise, top), f"{name}: {exercise} scored {score}/{top}"


@pytest.mark.parametrize("name", sorted(VERDICT_FAILURES))
def test_a_probe_that_raises_or_cannot_be_read_fails_the_cell(batch, name):
    """Checks redefined in the kernel pass every cell there; the grader's verdict must not."""
    course, grader, _, _ = batch
    _, expected, words = VERDICT_FAILURES[name]
    got = scores(grader, name)
    assert set(got) == set(EXERCISES[A])
    for exercise, (score, top) in got.items():
        assert score == expected.get(exercise, top), f"{name}: {exercise} scored {score}/{top}"
    messages = cell_errors(course, name, A)
    zeroed = [cell for cell in messages if assignments()[A].exercise_of(cell) in expected]
    assert zeroed
    for cell in zeroed:
        assert words in messages[cell], f"{name}: {cell} says {messages[cell]!r}, not {words!r}"


def test_a_students_skip_tags_skip_nothing_but_the_instructors_demonstrations(batch):
    """What grading skips is source/'s choice (grader/skipping.py): tagging her failing test
    cells earns the student nothing; the demonstrations source/ tags are skipped, and nothing else."""
    course, grader, _, _ = batch
    assert scores(grader, "skip-tagged") == scores(grader, NO_PHI.name)
    score, top = scores(grader, "skip-tagged")["neuron_backward"]
    assert score < top
    nb = nbformat.read(course / "autograded" / "skip-tagged" / A / NOTEBOOK[A], as_version=4)
    skipped = {grade_id(c) for c in nb.cells if [o.get("text") for o in c.get("outputs", [])] == [skipping.NOTE]}
    source = nbformat.read(ROOT / "source" / A / NOTEBOOK[A], as_version=4)
    assert skipped == set(skipping.demos(source.cells)) != set()


def test_the_honest_reference_is_untouched_by_the_others(batch):
    _, grader, _, _ = batch
    assert all(score == top for score, top in scores(grader, REFERENCE.name).values())


def test_grading_changes_no_input(batch):
    course, _, _, before = batch
    for name, hashes in before.items():
        assert tree_hashes(course / name) == hashes, f"grading changed {name}/"


def test_output_flood_is_cut(batch):
    course, _, _, _ = batch
    path = course / "autograded" / "output-flood" / A / NOTEBOOK[A]
    assert path.stat().st_size < 2_000_000
    assert "[output cut at" in path.read_text()


def gradebook_rows(db_url):
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        return sorted((sub.student.id, nb.name, grade.name, grade.auto_score, grade.needs_manual_grade)
                      for sub in gb.find_assignment(A).submissions for nb in sub.notebooks for grade in nb.grades)


def course_with(course, students):
    """A course root in ``course`` (source/, release/, the config) whose class has submitted
    ``students`` ({student: catalogue submission}) for 02_backprop."""
    course_copy(course)
    for student, sub in students.items():
        path = course / "submitted" / student / A / NOTEBOOK[A]
        path.parent.mkdir(parents=True)
        nbformat.write(build_notebook(sub, hidden_tests=False), path)
    return course


def orphans(course):
    """Processes whose command line names the course (kernels, sandboxes), as pid: command."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if proc.name.isdigit() and str(course) in cmdline:
            found[int(proc.name)] = cmdline[:200]
    return found


def test_a_run_killed_midway_and_restarted_ends_like_an_uninterrupted_one(tmp_path, nbgrader_env):
    import signal
    import subprocess
    import sys
    import time

    students = {"reference": REFERENCE, "no-phi": NO_PHI,
                "updated-weights": next(s for s in CATALOGUE if s.name == "02-train-updated-weights"),
                "first-output": next(s for s in CATALOGUE if s.name == "02-network-first-output-only")}
    runs = {}
    for run in ("uninterrupted", "killed"):
        course = course_with(tmp_path / run, students)
        command = [sys.executable, "-m", "backprop_course.grader.cli", "--root", str(course), "grade",
                   "--only", "release", "--only", "autograde", "--jobs", "2"]
        if run == "killed":
            process = subprocess.Popen(command, env=nbgrader_env, start_new_session=True,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 120
            while not any((course / "autograded").glob("*/*")) and time.time() < deadline:
                time.sleep(0.2)
            os.killpg(process.pid, signal.SIGKILL)  # kill -9, workers and all
            process.wait()
            assert process.returncode == -signal.SIGKILL
            # the kernels run in sessions of their own, out of reach of killpg: they must go
            # with their grader, even one killed while it was starting them
            deadline = time.time() + 15
            while time.time() < deadline and orphans(course):
                time.sleep(0.2)
            assert not orphans(course), f"kernels outlived their grader: {orphans(course)}"
        subprocess.run(command, env=nbgrader_env, check=True, capture_output=True)
        runs[run] = gradebook_rows(f"sqlite:///{course / 'gradebook.db'}")
    subprocess.run(command, env=nbgrader_env, check=True, capture_output=True)  # once more: idempotent
    assert not orphans(tmp_path), f"kernels outlived the runs that finished: {orphans(tmp_path)}"
    assert gradebook_rows(f"sqlite:///{course / 'gradebook.db'}") == runs["killed"]
    assert runs["killed"] == runs["uninterrupted"]
    assert {row[0] for row in runs["killed"]} == set(students)


def test_parallel_grading_into_postgresql_matches_sqlite(tmp_path, nbgrader_env, monkeypatch, postgres_url):
    """With a database server the workers write to the class's gradebook directly (no copies
    to merge): the rows are those of a SQLite run, and no worker fails on the shared database."""
    monkeypatch.setenv("PATH", nbgrader_env["PATH"])
    students = {"reference": REFERENCE, "no-phi": NO_PHI,
                "first-output": next(s for s in CATALOGUE if s.name == "02-network-first-output-only")}
    rows = {}
    for name, db_url in (("sqlite", None), ("postgresql", postgres_url)):
        course = course_with(tmp_path / name, students)
        if db_url:
            monkeypatch.setenv("NBGRADER_DB_URL", db_url)
        else:
            monkeypatch.delenv("NBGRADER_DB_URL", raising=False)
        grader = pipeline.Course(root=course)
        assert grader.db_url.startswith(name)
        grader.release()
        graded = grader.autograde(grader.submissions(), jobs=2)
        assert not [s.problem for s in graded if s.problem]
        rows[name] = gradebook_rows(grader.db_url)
    assert rows["postgresql"] == rows["sqlite"] and {row[0] for row in rows["sqlite"]} == set(students)


def test_a_solution_looked_up_in_the_grading_kernel_earns_nothing(batch):
    """Issue 23: the grading kernel can import nothing that passes an exercise (it cannot reach
    the answers, and the course's package holds none)."""
    _, grader, _, _ = batch
    got = scores(grader, LOOKED_UP.name)
    assert set(got) == set(EXERCISES[A]) and all(score == 0 for score, _ in got.values()), got


class _Text(HTMLParser):
    """The text a reader of a page sees (scripts and styles left out)."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def hidden_values(course):
    """Numbers of the hidden scenarios of 02 as the grader ran them (the course secret's), 6 digits."""
    import answers

    secret = (course / ".course-secret").read_text().strip()
    values = set()
    for cell in nbformat.read(course / "source" / A / NOTEBOOK[A], as_version=4).cells:
        for call in verdicts.read_cell(cell.source).calls if verdicts.is_test_cell(cell) else []:
            if call.hidden:
                case = verdicts.case_of(call, answers, bytes.fromhex(secret))
                for key in ("x", "w", "delta_l", "w_l", "inputs", "theta"):
                    values |= {f"{v:.6g}" for v in np.ravel(case.scenario.get(key, [])) if abs(v) > 1e-3}
    return values


def test_code_that_watches_the_kernel_shows_no_hidden_test_in_the_feedback(batch):
    """Issue 23: hooks on every cell the kernel runs, and on the checks' comparisons, see no
    hidden test: the kernel never runs one as text, the probes run after the last cell and their
    output is dropped. The watcher's honest answers keep full marks."""
    course, grader, _, _ = batch
    assert all(score == top for score, top in scores(grader, WATCHED.name).values())
    page = (course / "feedback" / WATCHED.name / A / "backprop.html").read_text()
    reader = _Text()
    reader.feed(page)
    text = "".join(reader.parts)
    assert "LEAK-CELL" in text, "the watcher ran (it shows the cells it saw)"
    for hidden in ("BEGIN HIDDEN TESTS", "HIDDEN", "seed=11", "seed=41", "probe(", "@@backprop-probe@@"):
        assert hidden not in text, f"the feedback shows {hidden!r}"
    shown = [value for value in hidden_values(course) if value in text]
    assert not shown, f"hidden inputs in the feedback: {shown}"

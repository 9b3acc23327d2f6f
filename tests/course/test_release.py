"""release/ is exactly what nbgrader generates from source/, and gives nothing away."""
import re
import subprocess

import nbformat
import pytest

from grading_helpers import course_copy

from project import ROOT

ASSIGNMENTS = sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir())
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory, nbgrader_env):
    course = course_copy(tmp_path_factory.mktemp("course"), folders=("source",))
    for assignment in ASSIGNMENTS:
        subprocess.run(["nbgrader", "generate_assignment", assignment, "--force"], cwd=course,
                       env=nbgrader_env, check=True, capture_output=True)
    return course / "release"


def release_files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts)


def test_release_is_byte_identical_to_a_fresh_generate_assignment(fresh_release):
    assert release_files(ROOT / "release") == release_files(fresh_release), "run `make release`"
    for path in release_files(fresh_release):
        assert (ROOT / "release" / path).read_bytes() == (fresh_release / path).read_bytes(), \
            f"release/{path} is out of date: run `make release`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_holds_no_solution_and_no_hidden_test(assignment):
    for source_path in (ROOT / "source" / assignment).glob("*.ipynb"):
        source = nbformat.read(source_path, as_version=4)
        released = nbformat.read(ROOT / "release" / assignment / source_path.name, as_version=4)
        text = "\n".join(cell.source for cell in released.cells)
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        public = "\n".join(HIDDEN.sub("", SOLUTION.sub("", cell.source)) for cell in source.cells)
        secrets = [line.strip() for cell in source.cells
                   for region in SOLUTION.findall(cell.source) + HIDDEN.findall(cell.source)
                   for line in region.splitlines() if len(line.strip()) > 12 and line.strip() not in public]
        assert secrets, "the source has solutions and hidden tests to hide"
        leaked = [line for line in secrets if line in text]
        assert not leaked, f"release/{assignment} shows solution or hidden-test lines: {leaked[:3]}"
        assert text.count("raise NotImplementedError") >= 1


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebooks_are_stored_clean(assignment):
    for folder in ("source", "release"):
        for path in (ROOT / folder / assignment).glob("*.ipynb"):
            for cell in nbformat.read(path, as_version=4).cells:
                if cell.cell_type == "code":
                    assert not cell.outputs and cell.execution_count is None, f"{path} has outputs"


def test_the_public_tests_recorded_cases_are_up_to_date():
    """make release records the public tests' cases in the student's install; a public test or an
    answer changed since then would give students cases that are not the grader's."""
    import answers

    assert answers.public.stale(ROOT / "source") == [], "run `make release` and commit backprop_course/checks/public/"


def test_the_recorded_cases_are_the_graders_and_hold_numbers_only():
    """What the student's kernel reads is what the grader computes for the same call, and no code."""
    import json

    import answers
    from backprop_course.checks import public

    for path in sorted(public.FOLDER.glob("*.json")):
        text = path.read_text()
        assert "def " not in text and "import " not in text and "lambda" not in text, f"{path.name} holds code"
        for entry in json.loads(text)["cases"]:
            recorded = answers.cases.recorded(answers.case(entry["check"], entry["args"], entry["kwargs"]))
            assert json.loads(json.dumps(recorded)) == entry["case"], (path.name, entry["check"], entry["kwargs"])

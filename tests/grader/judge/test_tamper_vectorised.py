"""03_vectorised is hardened like 02: trusted verdicts, the sandbox, hidden tests.

One nbgrader batch (``make grade``'s pipeline, sandbox on): an honest reference and an honest
mistaken twin beside submissions that tamper with the kernel (patched numpy, a silenced
exception display, redefined checks), silence stdout before the probes, hard-code the public
answers, or read the reference solution from the course's source/. Each earns at most what its
honest work earns; grading changes none of its inputs.
"""
import dataclasses
import json

import nbformat
import numpy as np
import pytest

import answers
from answers import reference
from answers.catalogue import CATALOGUE, NOTEBOOK, build_notebook
from grading_helpers import course_copy, exercise_scores, grade_class, tree_hashes

A = "03_vectorised"
REFERENCE = next(s for s in CATALOGUE if s.name == "03-reference")
SIGN = next(s for s in CATALOGUE if s.name == "03-softmax-gradient-sign")


def prefixed(name, base, code, exercise="softmax_cross_entropy", after=False):
    cells = dict(base.cells)
    parts = [cells[exercise], code.strip("\n")] if after else [code.strip("\n"), cells[exercise]]
    cells[exercise] = "\n\n".join(parts)
    return dataclasses.replace(base, name=name, cells=cells)


def hard_coded():
    """dense_forward/backward returning the public test's expected values for its shapes, zeros otherwise."""
    s = answers.case("check_dense_forward", (), {"seed": 0, "N": 4, "D": 3, "M": 5}).scenario
    x, W, b, dout = (np.array(s[k]) for k in ("x", "W", "b", "dout"))
    out, cache_ = reference.dense_forward(x, W, b)
    dx, dW, db = reference.dense_backward(dout, cache_)
    return f"""
_OUT, _DX, _DW, _DB = {out.tolist()}, {dx.tolist()}, {dW.tolist()}, {db.tolist()}


def dense_forward(x, W, b):
    out = np.array(_OUT) if x.shape == (4, 3) and W.shape == (3, 5) else np.zeros((x.shape[0], W.shape[1]))
    return out, (x, W, b)


def dense_backward(dout, cache):
    x, W, b = cache
    if x.shape == (4, 3) and W.shape == (3, 5):
        return np.array(_DX), np.array(_DW), np.array(_DB)
    return np.zeros_like(x), np.zeros_like(W), np.zeros_like(b)
"""


def reads_the_source(course):
    """The reference sgd_epoch read from the course's source/: only a missing sandbox lets it through."""
    path = course / "source" / A / NOTEBOOK[A]
    return f"""
import json as _json
try:
    with open({str(path)!r}) as _file:
        _cells = _json.load(_file)["cells"]
    exec("".join(next(c["source"] for c in _cells if c["metadata"].get("nbgrader", {{}}).get("grade_id") == "sgd_epoch")))
except OSError as _error:
    print(f"no solution to copy: {{_error}}")
    def sgd_epoch(params, X, y, batch_size, learning_rate, rng):
        raise NotImplementedError(f"no solution to copy: {{_error}}")
"""


#: name -> (submission, honest twin or None, expected {exercise: score} where no twin; missing = full marks)
def cases(course):
    return {
        "patched-numpy": (prefixed("patched-numpy", SIGN, """
import numpy as np
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones_like(np.asarray(a, dtype=float), dtype=bool)
np.testing.assert_allclose = lambda *args, **kwargs: None
"""), SIGN, None),
        "custom-exc": (prefixed("custom-exc", SIGN, """
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, evalue, tb, tb_offset=None: None)
"""), SIGN, None),
        "redefined-checks": (prefixed("redefined-checks", SIGN, """
import backprop_course.checks.vectorised as _checks
for _name in dir(_checks):
    if _name.startswith("check_"):
        setattr(_checks, _name, lambda *args, **kwargs: None)
_checks._compare = lambda *args, **kwargs: None
"""), SIGN, None),
        "silenced-stdout": (prefixed("silenced-stdout", REFERENCE, """
import io, sys
sys.stdout = io.StringIO()
""", exercise="dense_layer"), None, {e: 0 for e in ("dense_layer", "softmax_cross_entropy", "grad_check", "sgd_epoch")}),
        "hard-coded": (prefixed("hard-coded", REFERENCE, hard_coded(), exercise="dense_layer", after=True), None,
                       {"dense_layer": 0}),
        "reads-the-source": (prefixed("reads-the-source", REFERENCE, reads_the_source(course), exercise="sgd_epoch",
                                      after=True), None, {"sgd_epoch": 0}),
    }


@pytest.fixture(scope="module")
def batch(tmp_path_factory, nbgrader_env):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", nbgrader_env["PATH"])
        mp.delenv("BACKPROP_SANDBOX", raising=False)
        course = course_copy(tmp_path_factory.mktemp("course"))
        students = {s.name: s for s in (REFERENCE, SIGN)} | {name: sub for name, (sub, _, _) in cases(course).items()}
        for student, sub in students.items():
            path = course / "submitted" / student / A / NOTEBOOK[A]
            path.parent.mkdir(parents=True)
            nbformat.write(build_notebook(sub, hidden_tests=False), path)
        grader, submissions, before = grade_class(course)
        yield course, grader, submissions, before


def scores(grader, student):
    return exercise_scores(grader, student, A)


def test_every_submission_is_graded_and_the_honest_ones_as_they_deserve(batch):
    _, grader, submissions, _ = batch
    assert [s.problem for s in submissions if s.problem] == []
    assert all(score == top > 0 for score, top in scores(grader, REFERENCE.name).values())
    sign = scores(grader, SIGN.name)
    assert sign["softmax_cross_entropy"][0] < sign["softmax_cross_entropy"][1]
    assert all(score == top for e, (score, top) in sign.items() if e != "softmax_cross_entropy")


@pytest.mark.parametrize("name", ["patched-numpy", "custom-exc", "redefined-checks", "silenced-stdout", "hard-coded",
                                  "reads-the-source"])
def test_tampering_earns_nothing(batch, name):
    course, grader, _, _ = batch
    _, twin, expected = cases(course)[name]
    got = scores(grader, name)
    if twin is not None:
        assert got == scores(grader, twin.name), f"{name} scores differently from its honest twin {twin.name}"
    else:
        for exercise, (score, top) in got.items():
            assert score == expected.get(exercise, top), f"{name}: {exercise} scored {score}/{top}"


def test_the_feedback_of_silenced_stdout_says_why(batch):
    course, _, _, _ = batch
    nb = nbformat.read(course / "autograded" / "silenced-stdout" / A / NOTEBOOK[A], as_version=4)
    failed = [o["evalue"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert len(failed) == 9 and all("could not read your code's results" in e for e in failed), failed


def test_the_sandbox_kept_the_source_out_of_reach(batch):
    course, _, _, _ = batch
    nb = nbformat.read(course / "autograded" / "reads-the-source" / A / NOTEBOOK[A], as_version=4)
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "no solution to copy" in text


def test_grading_changes_no_input(batch):
    course, _, _, before = batch
    for name, hashes in before.items():
        assert tree_hashes(course / name) == hashes, f"grading changed {name}/"

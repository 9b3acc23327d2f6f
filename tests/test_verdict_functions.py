"""Trusted verdicts (grader/verdicts.py) on hand-built outputs, without a kernel.

The grader asks the student's kernel only for the probe's printed observation and judges it in
its own process. Here the kernel's part is played in-process: the probe code runs in a namespace
holding the student's objects, its stdout becomes a stream output, as nbclient would store it.
So every path that decides a verdict is exercised on its own: a probe that raised, output the
grader cannot read, a forged mark, a malformed observation, a judge that fails, and what the
cell keeps once a verdict overrules it. tests/test_tamper.py runs the same through real kernels.
"""
import contextlib
import dataclasses
import io
import warnings

import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_output

from backprop_course.checks.core import Mistake, WrongAnswer
from backprop_course.checks.neuron import check_activation, check_loss
from backprop_course.checks.remote import MARK, REGISTRY
from backprop_course.grader import verdicts

RAISED, UNREADABLE, UNEXPECTED = "Running your code raised", "could not read your code's results", "unexpected form"


def sigmoid(net):
    return 1 / (1 + np.exp(-np.asarray(net, float)))


def kernel_outputs(code, namespace, before=""):
    """What nbclient stores for a cell whose code printed to stdout: one stream output.
    before: the student's code, run first in the same kernel."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(before, namespace)
        exec(code, namespace)
    return [new_output("stream", name="stdout", text=out.getvalue())] if out.getvalue() else []


def stdout(text):
    return new_output("stream", name="stdout", text=text)


MODULE = "backprop_course.checks.neuron"
IMPORT = f"from {MODULE} import check_activation, check_loss\n"


def calls(source):
    """The check calls the grader reads in a test cell that imports the neuron checks first."""
    return verdicts.read_cell(IMPORT + source).calls


def scenario(check, args, kwargs):
    """verdicts.scenario of a call of ``check`` with these literal arguments."""
    return verdicts.scenario(verdicts.Call(check, (), tuple(args), dict(kwargs), 1))


def without_reveal(call):
    """(the call without its reveal argument, reveal), as GradingExecute splits them."""
    kwargs = {k: v for k, v in call.kwargs.items() if k != "reveal"}
    return dataclasses.replace(call, kwargs=kwargs), call.kwargs.get("reveal", False)


def judged(cell_source, namespace, before=""):
    """The first failing verdict of a test cell, as GradingExecute.judge reaches it, or None."""
    for call in calls(cell_source):
        call, reveal = without_reveal(call)
        case = verdicts.scenario(call)
        outputs = kernel_outputs(verdicts.probe_code(call, case), namespace, before)
        failure = verdicts.verdict(call.check, case, verdicts.observation(outputs), reveal)
        if failure is not None:
            return failure
    return None


def message(failure):
    return f"{failure.ename}: {failure.evalue}"


# --- parsing a test cell --------------------------------------------------------------------

def test_read_cell_reads_the_registered_checks_in_order():
    source = ('x = [1, 2]\nprint(len(x))\n'
              'check_loss(loss, loss_derivative, t=[1.0, 0.0], y_hat=[0.5, 0.25], reveal=True)\n'
              'check_activation(sigmoid, "sigmoid", nets=[0.0, 1.0])\n')
    found = calls(source)
    assert [(c.check.name, list(c.objects), list(c.args), c.kwargs) for c in found] == [
        ("check_loss", ["loss", "loss_derivative"], [], {"t": [1.0, 0.0], "y_hat": [0.5, 0.25], "reveal": True}),
        ("check_activation", ["sigmoid"], ["sigmoid"], {"nets": [0.0, 1.0]}),
    ]
    assert found[0].check is REGISTRY["check_loss"]


def test_read_cell_orders_calls_on_one_line_by_column():
    found = calls('check_activation(relu, "relu"); check_activation(sigmoid, "sigmoid")')
    assert [list(c.args) for c in found] == [["relu"], ["sigmoid"]]


def test_read_cell_keeps_object_expressions_as_code():
    (call,) = calls("check_activation(student.sig, 'sigmoid')")
    assert list(call.objects) == ["student.sig"]
    # an object the kernel would compute (a subscript, a call) is not one the grader can name
    reading = verdicts.read_cell(IMPORT + "check_activation(student.functions['sig'], 'sigmoid')")
    assert not reading.calls and "takes the student's 1 object(s) first" in reading.problems[0]


def test_a_cell_that_does_not_parse_calls_no_check():
    assert calls("check_activation(sigmoid, 'sigmoid'\n") == []
    assert calls("sigmoid(0.0)\nlen([1])") == []


# --- a whole verdict, the kernel played in-process ---------------------------------------------

CELL = 'check_activation(sigmoid, "sigmoid", nets=[0.0, 1.0, -2.0, 3.0], reveal=True)'


def test_a_right_answer_passes():
    assert judged(CELL, {"sigmoid": sigmoid}) is None


def test_the_probe_prints_one_marked_line_of_json():
    call, _ = without_reveal(calls(CELL)[0])
    outputs = kernel_outputs(verdicts.probe_code(call, verdicts.scenario(call)), {"sigmoid": sigmoid})
    (line,) = outputs[0].text.splitlines()
    assert line.startswith(MARK)
    observed = verdicts.observation(outputs)
    assert set(observed) == {"observed"} and observed["observed"]["scalar"] == 0.5


def test_the_scenario_is_the_checks_own():
    check = REGISTRY["check_activation"]
    assert scenario(check, ["relu"], {"nets": [1.0, -1.0]}) == check.scenario("relu", nets=[1.0, -1.0])


def test_a_wrong_answer_fails_with_the_judges_error():
    failure = judged(CELL, {"sigmoid": lambda net: 2 * sigmoid(net)})
    assert failure.output_type == "error" and failure.ename == "WrongAnswer"
    assert "sigmoid(0.0) is wrong." in failure.evalue and "\n  expected: " in failure.evalue  # reveal=True
    assert failure.traceback == [f"\x1b[0;31mWrongAnswer\x1b[0m: {failure.evalue}"]


def test_a_hidden_check_does_not_reveal():
    failure = judged(CELL.replace(", reveal=True", ""), {"sigmoid": lambda net: 2 * sigmoid(net)})
    assert "expected values are not shown" in failure.evalue and "expected:" not in failure.evalue


def test_a_verdict_hides_the_expected_values_unless_told():
    """The default is a hidden test's: a caller that forgets ``reveal`` shows no expected value."""
    check = REGISTRY["check_loss"]
    case = scenario(check, [], {"t": [1.0], "y_hat": [0.5]})
    wrong = {"observed": {"loss": [1.0], "gradient": [-0.5]}}
    hidden = verdicts.verdict(check, case, wrong)
    assert "expected values are not shown" in hidden.evalue and "expected: " not in hidden.evalue
    shown = verdicts.verdict(check, case, wrong, reveal=True)
    assert "\n  got:      " in shown.evalue and "\n  expected: " in shown.evalue


def test_a_known_mistake_is_named():
    loss = lambda t, y: (t - y) ** 2  # noqa: E731 (no ½)
    cell = "check_loss(loss, loss_derivative, t=[1.0, 0.0, 0.7], y_hat=[0.6, 0.2, 0.1])"
    failure = judged(cell, {"loss": loss, "loss_derivative": lambda t, y: 2 * (y - t)})
    assert failure.ename == "Mistake" and "[loss-no-half]" in failure.evalue


def test_the_first_failing_check_decides():
    cell = CELL + '\ncheck_activation(relu, "relu", nets=[1.0, -1.0])'
    failure = judged(cell, {"sigmoid": sigmoid, "relu": lambda net: 0 * np.asarray(net)})
    assert "relu(1.0) is wrong." in failure.evalue
    assert judged(cell, {"sigmoid": sigmoid, "relu": lambda net: np.maximum(net, 0.0)}) is None


def test_a_probe_that_raised_fails():
    def sigmoid_raises(net):
        raise ZeroDivisionError("no")
    failure = judged(CELL, {"sigmoid": sigmoid_raises})
    assert message(failure) == f"WrongAnswer: {RAISED} ZeroDivisionError: no"


def test_a_missing_object_is_a_probe_that_raised():
    failure = judged(CELL, {})
    assert failure.evalue.startswith(f"{RAISED} NameError") and "sigmoid" in failure.evalue


def test_a_probe_that_raised_fails_whatever_else_the_observation_holds():
    check = REGISTRY["check_activation"]
    case = scenario(check, ["sigmoid"], {"nets": [0.0, 1.0]})
    right = {"scalar": 0.5, "array": {"value": [0.5, sigmoid(1.0)], "shape": [2]},
             "grid": {"value": [[0.5], [sigmoid(1.0)]], "shape": [2, 1]}}
    assert verdicts.verdict(check, case, {"observed": right}) is None
    failure = verdicts.verdict(check, case, {"raised": "SystemExit: 0", "observed": right})
    assert message(failure) == f"WrongAnswer: {RAISED} SystemExit: 0"


# --- output the grader cannot read ------------------------------------------------------------

def test_no_output_is_unreadable():
    check = REGISTRY["check_activation"]
    case = scenario(check, ["sigmoid"], {})
    assert verdicts.observation([]) is None
    failure = verdicts.verdict(check, case, None)
    assert message(failure) == ("WrongAnswer: The grader could not read your code's results "
                                "(did it replace print, sys.stdout or the kernel's output?).")


def test_a_stream_without_text_is_no_observation():
    """A malformed output (a stream with no text: never from nbclient, possible in a hand-made
    notebook) is read as empty: not the probe's answer, and no crash of the grader."""
    bare = new_output("stream", name="stdout", text="")
    del bare["text"]
    assert verdicts.observation([bare]) is None
    assert verdicts.observation([bare, stdout(f'{MARK}{{"observed": 1}}\n')]) == {"observed": 1}


def test_a_silenced_stdout_is_unreadable():
    failure = judged(CELL, {"sigmoid": sigmoid}, before="import sys, io\nsys.stdout = io.StringIO()")
    assert UNREADABLE in failure.evalue


@pytest.mark.parametrize("text", [
    f"{MARK}{{not json\n",                                  # a mark the student printed, broken
    f"{MARK}[1, 2, 3]\n",                                   # JSON, but no observation
    f"{MARK}\"passed\"\n",
    "all checks passed ✓\n",                                # no mark at all
    f"  {MARK}{{\"observed\": {{}}}}\n",                   # the mark must start the line
])
def test_a_forged_or_broken_mark_is_unreadable(text):
    assert verdicts.observation([stdout(text)]) is None


def test_only_stream_outputs_carry_the_observation():
    shown = new_output("display_data", data={"text/plain": f'{MARK}{{"observed": 1}}'})
    shown["text"] = f'{MARK}{{"observed": 1}}\n'  # a display output is no stream, whatever it holds
    assert verdicts.observation([shown]) is None


def test_the_last_mark_is_the_probes():
    forged = stdout(f'{MARK}{{"observed": "forged"}}\nstudent text\n')
    real = stdout(f'noise\n{MARK}{{"observed": "real"}}\n')
    assert verdicts.observation([forged, real]) == {"observed": "real"}
    assert verdicts.observation([stdout(f'{MARK}{{"raised": "E: x"}}\n')]) == {"raised": "E: x"}


# --- an observation of the wrong form --------------------------------------------------------

@pytest.mark.parametrize("observed", [
    {"observed": {}},                                         # keys missing
    {"observed": {"scalar": 0.5, "array": [0.5], "grid": 3}},  # values of the wrong kind
    {"observed": "0.5"},
    {"nothing": 1},                                           # neither observed nor raised
])
def test_a_malformed_observation_fails(observed):
    check = REGISTRY["check_activation"]
    case = scenario(check, ["sigmoid"], {"nets": [0.0, 1.0]})
    failure = verdicts.verdict(check, case, observed)
    assert failure is not None and failure.ename == "WrongAnswer"
    assert failure.evalue.startswith("Your code's results have an unexpected form: ")


def test_a_judge_that_fails_an_assertion_keeps_its_own_error_type():
    check = REGISTRY["check_loss"]
    case = scenario(check, [], {"t": [1.0], "y_hat": [0.5]})
    failure = verdicts.verdict(check, case, {"observed": {"loss": [1.0], "gradient": [-0.5]}}, reveal=True)
    assert failure.ename == "WrongAnswer" and failure.evalue.startswith("loss(t, y_hat) is wrong.")
    assert verdicts.verdict(check, case, {"observed": {"loss": [0.125], "gradient": [-0.5]}}) is None
    mistake = verdicts.verdict(check, case, {"observed": {"loss": [0.25], "gradient": [-1.0]}})
    assert mistake.ename == Mistake.__name__ and "[loss-no-half]" in mistake.evalue
    assert issubclass(WrongAnswer, AssertionError) and issubclass(Mistake, AssertionError)


def test_a_judge_warns_nothing():
    """Replayed mistakes overflow on purpose: the verdict stays quiet (nbgrader fails a cell on stderr)."""
    check = REGISTRY["check_activation"]
    case = scenario(check, ["sigmoid"], {"nets": [-800.0, 0.0]})
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")
        failure = verdicts.verdict(check, case, {"observed": {"scalar": 1.0, "array": {"value": [1.0, 1.0], "shape": [2]},
                                                              "grid": {"value": [[1.0], [1.0]], "shape": [2, 1]}}})
    assert failure is not None and failure.ename in ("WrongAnswer", "Mistake")


class Warns:
    """A stand-in check whose scenario and judge warn (as a replayed mistake may): only the parts
    of a Check that the verdict calls."""

    def __init__(self, category, fails=False):
        self.category, self.fails = category, fails

    def scenario(self, *args, **kwargs):
        warnings.warn("scenario", self.category)
        return {"args": list(args)}

    def judge(self, case, observed, reveal):
        warnings.warn("judge", self.category)
        if self.fails:
            raise WrongAnswer("wrong")


@pytest.mark.parametrize("category", [UserWarning, DeprecationWarning, RuntimeWarning])
def test_the_verdict_silences_any_warning_of_scenario_and_judge(category):
    """nbgrader fails a test cell on stderr: a warning in the grader's judging neither shows nor
    decides anything (run with warnings as errors, so a warning let through fails here)."""
    check = Warns(category)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        case = scenario(check, [1.0], {})
        assert case == {"args": [1.0]}
        assert verdicts.verdict(check, case, {"observed": {}}) is None
        assert message(verdicts.verdict(Warns(category, fails=True), case, {"observed": {}})) == "WrongAnswer: wrong"


# --- what the cell keeps once overruled ----------------------------------------------------------

FAILURE = verdicts.error_output("WrongAnswer", "nope")


def test_overrule_keeps_what_the_student_printed_but_not_the_pass_marks():
    cell = new_code_cell("…")
    cell.outputs = [stdout("my own debugging output\n"), stdout("sigmoid ✓\n"),
                    new_output("stream", name="stderr", text="a warning\n"),
                    new_output("display_data", data={"text/plain": "a plot"}), stdout("the end\n")]
    verdicts.overrule(cell, FAILURE)
    assert [o.get("text") for o in cell.outputs[:-1]] == ["my own debugging output\n", "the end\n"]
    assert cell.outputs[-1] is FAILURE


def test_overrule_keeps_a_stream_without_text():
    cell = new_code_cell("…")
    bare = new_output("stream", name="stdout", text="")
    del bare["text"]
    cell.outputs = [bare, stdout("sigmoid ✓\n")]
    verdicts.overrule(cell, FAILURE)
    assert cell.outputs == [bare, FAILURE]


def test_overrule_keeps_an_error_the_kernel_reported_itself():
    cell = new_code_cell("…")
    own = verdicts.error_output("Mistake", "[update-sign] …")
    cell.outputs = [stdout("printed\n"), own]
    verdicts.overrule(cell, FAILURE)
    assert cell.outputs == [stdout("printed\n"), own]


def test_overrule_of_a_silent_cell_is_the_failure_alone():
    cell = new_code_cell("…")
    verdicts.overrule(cell, FAILURE)
    assert cell.outputs == [FAILURE]


def test_error_output_is_an_error_with_a_one_line_traceback():
    out = verdicts.error_output("Mistake", "δ is wrong. [x] y")
    assert (out.output_type, out.ename, out.evalue) == ("error", "Mistake", "δ is wrong. [x] y")
    assert out.traceback == ["\x1b[0;31mMistake\x1b[0m: δ is wrong. [x] y"]

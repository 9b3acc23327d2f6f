"""Trusted verdicts (grader/verdicts.py) on hand-built outputs, without a kernel.

The grader asks the student's kernel only for the probe's printed observation and judges it in
its own process. Here the kernel's part is played in-process: the probe code runs in a namespace
holding the student's objects, its stdout becomes a stream output, as nbclient would store it.
So every path that decides a verdict is exercised on its own: a probe that raised, output the
grader cannot read, a forged mark, a malformed observation, a judge that fails, what a hidden
test may say, and the outputs the grader writes for a judged cell. tests/grader/judge/test_tamper.py runs the
same through real kernels.
"""
import contextlib
import dataclasses
import io
import warnings

import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_output

import answers
from backprop_course.checks.core import Case, Mistake, WrongAnswer
from backprop_course.checks.neuron import check_activation, check_loss
from backprop_course.checks.remote import MARK, REGISTRY
from backprop_course.grader.judge import verdicts

RAISED, UNREADABLE, UNEXPECTED = "Running your code raised", "could not read your code's results", "unexpected form"
NONCE = "feedc0de"


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


def case(check, args, kwargs, hidden=False):
    """The case of a call of ``check`` with these literal arguments, as the grader makes it."""
    return verdicts.case_of(verdicts.Call(check, (), tuple(args), dict(kwargs), 1, hidden), answers, b"s" * 32)


def without_reveal(call):
    """(the call without its reveal argument, reveal), as GradingExecute splits them."""
    kwargs = {k: v for k, v in call.kwargs.items() if k != "reveal"}
    return dataclasses.replace(call, kwargs=kwargs), call.kwargs.get("reveal", False)


def observed(outputs, nonce=NONCE):
    """verdicts.observation, or the Unreadable it raised (as GradingExecute passes it on)."""
    try:
        return verdicts.observation(outputs, nonce)
    except verdicts.Unreadable as unreadable:
        return unreadable


def judged(cell_source, namespace, before=""):
    """The first failing verdict of a test cell, as GradingExecute reaches it, or None."""
    for call in calls(cell_source):
        call, reveal = without_reveal(call)
        made = verdicts.case_of(call, answers, b"s" * 32)
        outputs = kernel_outputs(verdicts.probe_code(call, made, NONCE), namespace, before)
        failure = verdicts.verdict(call.check, made, observed(outputs), reveal, hidden=call.hidden)
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
    outputs = kernel_outputs(verdicts.probe_code(call, verdicts.case_of(call, answers), NONCE), {"sigmoid": sigmoid})
    (line,) = [line for line in outputs[0].text.splitlines() if line]
    assert line.startswith(f"{MARK}{NONCE} ") and outputs[0].text.startswith("\n")  # a line of its own
    answer = verdicts.observation(outputs, NONCE)
    assert set(answer) == {"observed"} and answer["observed"]["scalar"] == {"value": 0.5, "shape": []}


def test_the_case_is_the_answers_and_a_hidden_one_runs_on_the_secrets_seed():
    check = REGISTRY["check_activation"]
    assert case(check, ["relu"], {"nets": [1.0, -1.0]}) is answers.case("check_activation", ["relu"], {"nets": [1.0, -1.0]})
    public = case(check, ["relu"], {"seed": 3})
    hidden = case(check, ["relu"], {"seed": 3}, hidden=True)
    again = case(check, ["relu"], {"seed": 3}, hidden=True)
    other = verdicts.case_of(verdicts.Call(check, (), ("relu",), {"seed": 3}, 1, True), answers, b"t" * 32)
    assert hidden is again and hidden.scenario["nets"] != public.scenario["nets"] != other.scenario["nets"]


def test_a_wrong_answer_fails_with_the_judges_error():
    failure = judged(CELL, {"sigmoid": lambda net: sigmoid(net) + 0.1})
    assert failure.output_type == "error" and failure.ename == "WrongAnswer"
    assert "sigmoid(0.0) is wrong." in failure.evalue and "\n  expected: " in failure.evalue  # reveal=True
    assert failure.traceback == [f"\x1b[0;31mWrongAnswer\x1b[0m: {failure.evalue}"]


def test_a_hidden_check_does_not_reveal():
    failure = judged(CELL.replace(", reveal=True", ""), {"sigmoid": lambda net: 2 * sigmoid(net)})
    assert "expected values are not shown" in failure.evalue and "expected:" not in failure.evalue


def test_a_verdict_hides_the_expected_values_unless_told():
    """The default is a hidden test's: a caller that forgets ``reveal`` shows no expected value."""
    check = REGISTRY["check_loss"]
    made = case(check, [], {"t": [1.0], "y_hat": [0.5]})
    wrong = {"observed": {"loss": [1.0], "gradient": [-0.5]}}
    hidden = verdicts.verdict(check, made, wrong)
    assert "expected values are not shown" in hidden.evalue and "expected: " not in hidden.evalue
    shown = verdicts.verdict(check, made, wrong, reveal=True)
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
    made = case(check, ["sigmoid"], {"nets": [0.0, 1.0]})
    right = {"scalar": {"value": 0.5, "shape": []}, "array": {"value": [0.5, sigmoid(1.0)], "shape": [2]},
             "grid": {"value": [[0.5], [sigmoid(1.0)]], "shape": [2, 1]}}
    assert verdicts.verdict(check, made, {"observed": right}) is None
    failure = verdicts.verdict(check, made, {"raised": "SystemExit: 0", "observed": right})
    assert message(failure) == f"WrongAnswer: {RAISED} SystemExit: 0"


# --- output the grader cannot read ------------------------------------------------------------

def test_no_output_is_unreadable():
    check = REGISTRY["check_activation"]
    made = case(check, ["sigmoid"], {"seed": 1})
    failure = verdicts.verdict(check, made, observed([]))
    assert message(failure) == ("WrongAnswer: the grader could not read your code's results "
                                "(did it replace print, sys.stdout or the kernel's output?).")


def test_a_stream_without_text_is_no_observation():
    """A malformed output (a stream with no text: never from nbclient, possible in a hand-made
    notebook) is read as empty: not the probe's answer, and no crash of the grader."""
    bare = new_output("stream", name="stdout", text="")
    del bare["text"]
    assert isinstance(observed([bare]), verdicts.Unreadable)
    assert observed([bare, stdout(f'{MARK}{NONCE} {{"observed": 1}}\n')]) == {"observed": 1}


def test_a_silenced_stdout_is_unreadable():
    failure = judged(CELL, {"sigmoid": sigmoid}, before="import sys, io\nsys.stdout = io.StringIO()")
    assert UNREADABLE in failure.evalue


@pytest.mark.parametrize("text", [
    f"{MARK}{NONCE} {{not json\n",                         # a mark the student printed, broken
    f"{MARK}{NONCE} [1, 2, 3]\n",                          # JSON, but no observation
    f"{MARK}{NONCE} \"passed\"\n",
    "all checks passed ✓\n",                                # no mark at all
    f"  {MARK}{NONCE} {{\"observed\": {{}}}}\n",           # the mark must start the line
    f"{MARK}{{\"observed\": {{}}}}\n",                     # no nonce: an earlier version's mark, or forged
    f"{MARK}0123456789abcdef {{\"observed\": {{}}}}\n",     # another probe's nonce
    f"{MARK}{NONCE} " + "[" * 100_000 + "]" * 100_000 + "\n",   # nested beyond any parser's recursion
    f"{MARK}{NONCE} " + '{"observed": ' + "[" * 40 + "]" * 40 + "}\n",   # deeper than any probe's answer
    f"{MARK}{NONCE} " + '{"observed": "' + "x" * (verdicts.MAX_ANSWER_CHARS + 1) + '"}\n',
])
def test_a_forged_broken_or_unbounded_mark_is_unreadable(text):
    assert isinstance(observed([stdout(text)]), verdicts.Unreadable)


def test_only_stream_outputs_carry_the_observation():
    shown = new_output("display_data", data={"text/plain": f'{MARK}{NONCE} {{"observed": 1}}'})
    shown["text"] = f'{MARK}{NONCE} {{"observed": 1}}\n'  # a display output is no stream, whatever it holds
    assert isinstance(observed([shown]), verdicts.Unreadable)


def test_the_answer_is_read_as_it_comes_whatever_is_printed_around_it():
    """The student's code may print anything while probed (a hook that echoes every cell, a flood,
    a line without its end): the answer is read from its own line, and nothing else is kept."""
    reader = verdicts.AnswerReader(NONCE)
    reader.feed("a line left open by the student's print(end='')")
    reader.feed("\n" + "spam " * 2_000_000 + "\n")
    answer = f'{MARK}{NONCE} {{"observed": {{"x": 1}}}}\n'
    for piece in (answer[:7], answer[7:30], answer[30:]):  # a line may come in pieces
        reader.feed(piece)
    reader.feed("more after it\n")
    assert reader.observed() == {"observed": {"x": 1}}
    assert sum(len(line) for line in reader.lines) < 100 and reader._partial == ""


def test_a_second_answer_with_the_probes_mark_is_refused_not_chosen():
    """The student's code saw the probe (and its nonce): printing an answer of its own beside the
    probe's fails the test, whichever comes last."""
    forged = stdout(f'{MARK}{NONCE} {{"observed": "forged"}}\nstudent text\n')
    real = stdout(f'noise\n{MARK}{NONCE} {{"observed": "real"}}\n')
    for outputs in ([forged, real], [real, forged]):
        assert "more than once" in str(observed(outputs))
    assert observed([real]) == {"observed": "real"}
    assert observed([stdout(f'{MARK}{NONCE} {{"raised": "E: x"}}\n')]) == {"raised": "E: x"}


# --- what a hidden test may say ---------------------------------------------------------------

def test_a_failed_hidden_test_says_which_check_and_nothing_of_its_numbers():
    check = REGISTRY["check_loss"]
    made = case(check, [], {"seed": 5}, hidden=True)
    t, y_hat = made.scenario["t"], made.scenario["y_hat"]
    wrong = verdicts.verdict(check, made, {"observed": {"loss": [0.3, 0.1, 0.4, 0.2], "gradient": [0.0] * 4}},
                             reveal=True, hidden=True)  # no known mistake, and no structure
    assert wrong.evalue == ("The hidden test of the loss and its derivative fails: a result is wrong. (Hidden tests "
                            "show no inputs or values: try your code on other numbers than the public tests'.)")
    no_half = verdicts.verdict(check, made, {"observed": {"loss": [(a - b) ** 2 for a, b in zip(t, y_hat)],
                                                          "gradient": [2 * (b - a) for a, b in zip(t, y_hat)]}}, hidden=True)
    assert (no_half.ename, no_half.evalue) == (
        "Mistake", f"The hidden test of the loss and its derivative fails: [loss-no-half] {verdicts.MISTAKES['loss-no-half']}")
    for text in (wrong.evalue, no_half.evalue):
        assert not any(f"{v:g}" in text for v in t + y_hat)


@pytest.mark.parametrize("raised,shown", [("ZeroDivisionError: secret 0.4172", "ZeroDivisionError"),
                                          ("w=0.4172: leaked", "an exception"),
                                          ("MyOwnError: 0.4172", "an exception")])
def test_a_hidden_test_names_only_pythons_own_errors_and_never_their_message(raised, shown):
    check = REGISTRY["check_loss"]
    failure = verdicts.verdict(check, case(check, [], {"seed": 5}, hidden=True), {"raised": raised}, hidden=True)
    assert f"your code raised {shown}." in failure.evalue and "0.4172" not in failure.evalue


# --- an observation of the wrong form --------------------------------------------------------

@pytest.mark.parametrize("observed", [
    {"observed": {}},                                         # keys missing
    {"observed": {"scalar": 0.5, "array": [0.5], "grid": 3}},  # values of the wrong kind
    {"observed": "0.5"},
    {"nothing": 1},                                           # neither observed nor raised
])
def test_a_malformed_observation_fails(observed):
    check = REGISTRY["check_activation"]
    made = case(check, ["sigmoid"], {"nets": [0.0, 1.0]})
    failure = verdicts.verdict(check, made, observed)
    assert failure is not None and failure.ename == "WrongAnswer"
    assert failure.evalue.startswith("Your code's results have an unexpected form: ")


def test_a_judge_that_fails_an_assertion_keeps_its_own_error_type():
    check = REGISTRY["check_loss"]
    made = case(check, [], {"t": [1.0], "y_hat": [0.5]})
    failure = verdicts.verdict(check, made, {"observed": {"loss": [1.0], "gradient": [-0.5]}}, reveal=True)
    assert failure.ename == "WrongAnswer" and failure.evalue.startswith("loss(t, y_hat) is wrong.")
    assert verdicts.verdict(check, made, {"observed": {"loss": [0.125], "gradient": [-0.5]}}) is None
    mistake = verdicts.verdict(check, made, {"observed": {"loss": [0.25], "gradient": [-1.0]}})
    assert mistake.ename == Mistake.__name__ and "[loss-no-half]" in mistake.evalue
    assert issubclass(WrongAnswer, AssertionError) and issubclass(Mistake, AssertionError)


def test_a_judge_warns_nothing():
    """Replayed mistakes overflow on purpose: the verdict stays quiet (nbgrader fails a cell on stderr)."""
    check = REGISTRY["check_activation"]
    made = case(check, ["sigmoid"], {"nets": [-800.0, 0.0]})
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")
        failure = verdicts.verdict(check, made, {"observed": {"scalar": 1.0, "array": {"value": [1.0, 1.0], "shape": [2]},
                                                              "grid": {"value": [[1.0], [1.0]], "shape": [2, 1]}}})
    assert failure is not None and failure.ename in ("WrongAnswer", "Mistake")


class Warns:
    """A stand-in check whose judge warns (as a replayed mistake may): only the parts of a Check
    that the verdict calls."""

    def __init__(self, category, fails=False):
        self.category, self.fails = category, fails
        self.title = "a check that warns"

    def judge(self, made, observed, reveal):
        warnings.warn("judge", self.category)
        if self.fails:
            raise WrongAnswer("wrong")


@pytest.mark.parametrize("category", [UserWarning, DeprecationWarning, RuntimeWarning])
def test_the_verdict_silences_any_warning_of_the_judge(category):
    """nbgrader fails a test cell on stderr: a warning in the grader's judging neither shows nor
    decides anything (run with warnings as errors, so a warning let through fails here)."""
    made = Case({"args": [1.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert verdicts.verdict(Warns(category), made, {"observed": {}}) is None
        assert message(verdicts.verdict(Warns(category, fails=True), made, {"observed": {}})) == "WrongAnswer: wrong"


# --- the outputs the grader writes for a judged test cell ---------------------------------------

FAILURE = verdicts.error_output("WrongAnswer", "nope")
TWO_CALLS = ('print("before")\ncheck_activation(sigmoid, "sigmoid", seed=1)\nprint("between", 1, sep="-")\n'
             'check_activation(relu, "relu", seed=2)\nprint("✓ both")\n')


def test_a_passed_cell_shows_its_prints_in_one_stream():
    (out,) = verdicts.outputs(verdicts.read_cell(IMPORT + TWO_CALLS), {})
    assert (out.output_type, out.name, out.text) == ("stream", "stdout", "before\nbetween-1\n✓ both\n")


def test_a_failed_cell_shows_its_prints_up_to_the_first_failed_call_then_the_failure():
    reading = verdicts.read_cell(IMPORT + TWO_CALLS)
    printed, failure = verdicts.outputs(reading, {1: FAILURE})
    assert printed.text == "before\nbetween-1\n" and failure is FAILURE
    assert verdicts.outputs(reading, {0: FAILURE, 1: FAILURE})[1] is FAILURE
    assert [o.output_type for o in verdicts.outputs(reading, {0: FAILURE})] == ["stream", "error"]


def test_a_failed_public_call_names_its_line_and_a_hidden_one_does_not():
    public, hidden = verdicts.read_cell(IMPORT + 'check_loss(loss, loss_derivative, seed=1)\n### BEGIN HIDDEN TESTS\n'
                                        'check_loss(loss, loss_derivative, seed=2)\n### END HIDDEN TESTS\n').calls
    shown = verdicts.where(public, verdicts.error_output("WrongAnswer", "wrong"))
    assert shown.traceback[-1] == "\x1b[0;36m(the test's line 2: check_loss(loss, loss_derivative, seed=1))\x1b[0m"
    assert len(verdicts.where(hidden, verdicts.error_output("WrongAnswer", "wrong")).traceback) == 1
    assert (public.hidden, hidden.hidden) == (False, True)


def test_a_hidden_call_without_a_seed_cannot_be_judged_on_the_secret():
    reading = verdicts.read_cell(IMPORT + '### BEGIN HIDDEN TESTS\ncheck_loss(loss, loss_derivative, t=[1.0], y_hat=[0.5])\n'
                                 '### END HIDDEN TESTS\n')
    assert not reading.covered and "takes no `seed=`" in reading.problems[0]


def test_a_cell_judged_by_the_kernel_alone_may_not_hold_hidden_tests():
    reading = verdicts.read_cell(IMPORT + f'{verdicts.KERNEL_ONLY}\ncheck_loss(loss, loss_derivative, seed=1)\n'
                                 '### BEGIN HIDDEN TESTS\ncheck_loss(loss, loss_derivative, seed=2)\n### END HIDDEN TESTS\n')
    assert any("the kernel would then see" in problem for problem in reading.problems)


def test_error_output_is_an_error_with_a_one_line_traceback():
    out = verdicts.error_output("Mistake", "δ is wrong. [x] y")
    assert (out.output_type, out.ename, out.evalue) == ("error", "Mistake", "δ is wrong. [x] y")
    assert out.traceback == ["\x1b[0;31mMistake\x1b[0m: δ is wrong. [x] y"]

"""`make bench`'s machinery, for correctness only (no timing is asserted: the machine is shared).

A small class autograded by stock ``nbgrader autograde`` and by ours with two workers gives
the same grades, per student and grade cell, and the same autograded notebooks; and those
grades are the ones the catalogue expects of each submission, test cell by test cell.
"""
import argparse
import re
from pathlib import Path

import pytest

from backprop_course.grader.assignments import assignments
from backprop_course.tools.bench import cli, compare, rounds, runs
from backprop_course.tools.bench import synthetic_class as bench_class
from answers.catalogue import EXERCISES
from grading_helpers import RIGHTLY_PASSING


def test_the_class_mixes_correct_buggy_and_slow_but_valid_submissions():
    students = bench_class.class_of(40)
    kinds = [kind for _, kind, _ in students]
    assert len(students) == 40 and len({s for s, _, _ in students}) == 40
    assert kinds.count("slow") == 8 and kinds.count("correct") >= 2 and kinds.count("buggy") >= 20
    for _, kind, sub in students:
        assert sub.correct == (kind != "buggy")
        assert (bench_class.SLOW_WORK in sub.cells["train_multi_sample"]) == (kind == "slow")
    assert kinds[:4].count("slow") == 1 and "buggy" in kinds[:4] and "correct" in kinds[:4]


def test_normalisation_keeps_outputs_and_drops_only_what_differs_between_runs():
    split = [{"output_type": "stream", "name": "stdout", "text": ["✓ done"]},
             {"output_type": "stream", "name": "stdout", "text": ["\n"]}]
    assert compare.coalesced(split) == [{"output_type": "stream", "name": "stdout", "text": "✓ done\n"}]
    mixed = split[:1] + [{"output_type": "stream", "name": "stderr", "text": "x"}]
    assert len(compare.coalesced(mixed)) == 2


def test_sizes_name_their_rounds_and_bad_ones_are_refused():
    assert cli.parse_sizes("10x3, 40x3,160") == [(10, 3), (40, 3), (160, 1)]
    for bad in ("", "ten", "10x", "0", "10x0", "10,-4"):
        with pytest.raises(argparse.ArgumentTypeError):
            cli.parse_sizes(bad)


def test_the_report_takes_the_median_of_the_rounds():
    result = rounds.Result(10, 2, {}, rounds=[{"a": runs.Timing(wall=30.0), "b": runs.Timing(wall=15.0)},
                                             {"a": runs.Timing(wall=90.0), "b": runs.Timing(wall=20.0)},
                                             {"a": runs.Timing(wall=33.0), "b": runs.Timing(wall=60.0)}])
    assert result.wall("a") == 33.0 and result.wall("b") == 20.0 and result.wall("c") is None
    assert result.speedup == pytest.approx(33.0 / 20.0)
    assert [round(a, 2) for a, _ in result.round_ratios()] == [2.0, 4.5, 0.55]


@pytest.fixture(scope="module")
def benched(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("bench")
    return workdir, rounds.bench_size(workdir, 4, jobs=2, bare=False, dask=False, rounds=2, say=lambda *_: None)


def test_stock_and_parallel_autograde_agree(benched):
    workdir, result = benched
    assert not result.failed, result.failed
    for title, problems in result.differences.items():
        assert not problems, f"{title}: {problems}"
    assert len(result.rounds) == 2 and all(set(timings) == {"a", "b"} for timings in result.rounds)
    assert set(result.differences) == {f"{what} differences (a) vs (b) (round {n})"
                                       for what in ("grade", "autograded notebook") for n in (1, 2)}


def test_the_grades_are_right_and_both_gradebooks_hold_every_student(benched):
    workdir, result = benched
    assert result.full_marks["correct"][0] == result.full_marks["correct"][1] >= 1
    assert result.full_marks["slow"] == (1, 1), "slow but valid must keep full marks"
    assert result.full_marks["buggy"][0] == 0
    students = [s for s, _, _ in bench_class.class_of(4)]
    for copy in ("a0", "b0", "a1", "b1"):
        grades = compare.gradebook_grades(workdir / copy)
        assert sorted(grades) == sorted(students)
        assert all(any(re.match(r"backprop/test_", key) for key in record) for record in grades.values())


def test_both_graders_give_each_test_cell_the_expected_score(benched):
    """Right exercises keep every point; a mistake's exercise loses every test cell but those
    that rightly pass (grading_helpers.RIGHTLY_PASSING); nothing else loses a point."""
    workdir, _ = benched
    for copy in ("a0", "b0"):
        grades = compare.gradebook_grades(workdir / copy)
        for student, _, sub in bench_class.class_of(4):
            cells = {key.split("/", 1)[1]: record for key, record in grades[student].items()
                     if re.match(r"backprop/test_", key)}
            assert len(cells) >= len(EXERCISES[bench_class.ASSIGNMENT]), student
            for cell, (auto_score, _, _, _, max_score) in cells.items():
                code = sub.mistakes[assignments()[bench_class.ASSIGNMENT].exercise_of(cell)]
                full = not code or cell in RIGHTLY_PASSING.get(sub.name, {})
                assert auto_score == (max_score if full else 0), f"{copy}: {student} {cell} scored {auto_score}/{max_score}"


def test_the_preflight_seconds_are_read_from_a_grading_log():
    log = ("Grading the class in /x\npreflight 02_backprop: sandbox /b/bwrap; the kernel imports the grader's checks "
           "(/c/backprop_course, fingerprint 0123456789ab); reference 15/15, blank 0/15; 24.1 s\nautograde: 100%\n")
    assert runs.preflight_seconds(log) == [24.1]
    assert runs.preflight_seconds("autograde: 100%\n") == []


def test_the_review_bench_plants_copies_and_finds_them_alone(tmp_path):
    """`make bench`'s review part (tools/bench/review.py) on 60 students: past c.Similarity.common,
    so the catalogue's versions they share are common code, and only the planted copy is listed."""
    from backprop_course.tools.bench import review

    result = review.bench(tmp_path, 60)
    assert (result["planted"], result["found"], result["other"], result["noted"]) == (1, 1, 0, 0)
    assert result["possible"] == 60 * 59 // 2 and 0 < result["compared"] < result["possible"]
    assert result["common"] > 0
    text, ok = review.report([result])
    assert ok and "1 of 1" in text


# --- the jobs of tools/bench/cost.py and tools/bench/scale*.py ---------------------------------------

def test_the_scale_option_names_workers_and_tasks_and_bad_ones_are_refused():
    assert cli.parse_scale("256x10000") == (256, 10000)
    for bad in ("", "256", "0x10", "256x", "ax1"):
        with pytest.raises(argparse.ArgumentTypeError):
            cli.parse_scale(bad)


def test_the_cost_per_submission_takes_the_fixed_part_out_and_judges_the_target():
    from backprop_course.tools.bench import cost as bench_cost

    def cost(assignment, skip, cpu):
        return bench_cost.Cost(assignment, 10, skip, runs.Timing(cpu=cpu), runs.Timing(cpu=5.0))

    found = [cost("02_backprop", True, 25.0), cost("02_backprop", False, 65.0),
             cost("03_vectorised", True, 50.0), cost("03_vectorised", False, 55.0)]
    assert found[0].per_submission == 2.0 and found[0].all_in == 2.5
    lines = bench_cost.report(found)
    (b,) = [line for line in lines if "02_backprop" in line]
    (v,) = [line for line in lines if "03_vectorised" in line]
    assert b.split()[1:4] == ["2.00s", "6.00s", "67%"] and b.endswith("<= 2.5 s: met")
    assert v.split()[1:3] == ["4.50s", "5.00s"] and v.endswith("<= 4 s: NOT met")


def test_the_projection_is_its_formula_of_the_measured_inputs():
    from backprop_course.tools.bench.scale_projection import Inputs

    inputs = Inputs(fixed=3.0, reading=0.001, setup=2.0, grading=1.0, overhead=0.0, client=0.005, rate=500.0)
    assert inputs.terms(10_000, 256) == {"the workers": 10_000 / 256, "the client": 50.0, "the scheduler": 20.0}
    assert inputs.wall(10_000, 256) == 3.0 + 10.0 + 2.0 + 50.0 + 1.0      # the client sets the pace
    assert inputs.wall(10_000, 8) == 3.0 + 10.0 + 2.0 + 1250.0 + 1.0      # the workers do


@pytest.fixture(scope="module")
def replayed(benched, tmp_path_factory):
    """A small simulation: the real scheduler and client, four replaying workers in two processes,
    each task sleeping 0.05 s and returning a result made from the released gradebook (of the
    class ``benched`` released)."""
    import shutil

    from nbgrader.api import Gradebook

    from backprop_course.tools.bench import scale_recording, scale_simulation

    workdir = tmp_path_factory.mktemp("scale")
    template = workdir / "template"
    shutil.copytree(benched[0] / "template", template)
    with Gradebook(f"sqlite:///{template / 'gradebook.db'}") as gradebook:
        (notebook,) = gradebook.find_assignment(bench_class.ASSIGNMENT).notebooks
        rows = {"timestamp": None, "extension": None, "notebooks": {notebook.name: {
            "flagged": False, "late_submission_penalty": None,
            "grades": {c.name: {"auto_score": 1.0, "manual_score": None, "extra_credit": None, "needs_manual_grade": False}
                       for c in notebook.grade_cells},
            "comments": {c.name: {"auto_comment": "replayed", "manual_comment": None} for c in notebook.solution_cells}}}}
    files = {bench_class.NOTEBOOK: (0o644, (template / "release" / bench_class.ASSIGNMENT / bench_class.NOTEBOOK).read_bytes())}
    recording = scale_recording.Recording([(0.05, {"result": {"success": True, "log": ""}, "rows": rows, "files": files})],
                                      cpu=0.05, setup=0.0, load=(0.0, 0.0, 0.0))
    return workdir, scale_simulation.simulate(workdir, recording, workers=4, tasks=12, hosts=2, say=lambda *_: None)


def test_the_simulation_grades_every_submission_through_the_real_client_with_replaying_workers(replayed):
    workdir, sim = replayed
    assert sim.exit == 0 and sim.merged == 12 and sim.not_graded == 0
    grades = compare.gradebook_grades(workdir / "class")
    assert sorted(grades) == [f"s{i:05d}" for i in range(12)]
    assert all(record[f"{Path(bench_class.NOTEBOOK).stem}: score"][0] > 0 for record in grades.values())
    # measured as it ran: the client's and the scheduler's CPU, the journal's lines
    assert sim.first is not None and sim.cpu("client") > 0 and sim.cpu("scheduler") > 0
    assert sim.samples[-1][1] <= 12 and sim.reading > 0
    workers = {key for key in re.findall(r"tcp://127\.0\.0\.1:\d+", (workdir / "class" / "autograde.log").read_text())}
    assert len(workers) == 4


def test_the_bare_notebooks_are_what_grading_runs(tmp_path):
    """(c), the floor, executes what grading executes: the hidden tests in, the skipped demonstrations out."""
    import nbformat

    from backprop_course.grader.run import skipping
    from answers.catalogue import source_notebook

    students = bench_class.build_course(tmp_path, 2)
    demos = skipping.demos(source_notebook(bench_class.ASSIGNMENT).cells)
    for student, _, _ in students:
        cells = nbformat.read(tmp_path / "bare" / student / bench_class.NOTEBOOK, as_version=4).cells
        ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in cells}
        assert demos and not ids & set(demos)
        assert any("BEGIN HIDDEN TESTS" in c.source for c in cells)

"""`make bench`'s machinery, for correctness only (no timing is asserted: the machine is shared).

A small class autograded by stock ``nbgrader autograde`` and by ours with two workers gives
the same grades, per student and grade cell, and the same autograded notebooks; and those
grades are the ones the catalogue expects of each submission, test cell by test cell.
"""
import argparse
import re

import pytest

from backprop_course.grader.assignments import assignments
from backprop_course.tools import bench
from answers.catalogue import EXERCISES
from grading_helpers import RIGHTLY_PASSING


def test_the_class_mixes_correct_buggy_and_slow_but_valid_submissions():
    students = bench.class_of(40)
    kinds = [kind for _, kind, _ in students]
    assert len(students) == 40 and len({s for s, _, _ in students}) == 40
    assert kinds.count("slow") == 8 and kinds.count("correct") >= 2 and kinds.count("buggy") >= 20
    for _, kind, sub in students:
        assert sub.correct == (kind != "buggy")
        assert (bench.SLOW_WORK in sub.cells["train_multi_sample"]) == (kind == "slow")
    assert kinds[:4].count("slow") == 1 and "buggy" in kinds[:4] and "correct" in kinds[:4]


def test_normalisation_keeps_outputs_and_drops_only_what_differs_between_runs():
    split = [{"output_type": "stream", "name": "stdout", "text": ["✓ done"]},
             {"output_type": "stream", "name": "stdout", "text": ["\n"]}]
    assert bench.coalesced(split) == [{"output_type": "stream", "name": "stdout", "text": "✓ done\n"}]
    mixed = split[:1] + [{"output_type": "stream", "name": "stderr", "text": "x"}]
    assert len(bench.coalesced(mixed)) == 2


def test_sizes_name_their_rounds_and_bad_ones_are_refused():
    assert bench.parse_sizes("10x3, 40x3,160") == [(10, 3), (40, 3), (160, 1)]
    for bad in ("", "ten", "10x", "0", "10x0", "10,-4"):
        with pytest.raises(argparse.ArgumentTypeError):
            bench.parse_sizes(bad)


def test_the_report_takes_the_median_of_the_rounds():
    result = bench.Result(10, 2, {}, rounds=[{"a": bench.Timing(wall=30.0), "b": bench.Timing(wall=15.0)},
                                             {"a": bench.Timing(wall=90.0), "b": bench.Timing(wall=20.0)},
                                             {"a": bench.Timing(wall=33.0), "b": bench.Timing(wall=60.0)}])
    assert result.wall("a") == 33.0 and result.wall("b") == 20.0 and result.wall("c") is None
    assert result.speedup == pytest.approx(33.0 / 20.0)
    assert [round(a, 2) for a, _ in result.round_ratios()] == [2.0, 4.5, 0.55]


@pytest.fixture(scope="module")
def benched(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("bench")
    return workdir, bench.bench_size(workdir, 4, jobs=2, bare=False, dask=False, rounds=2, say=lambda *_: None)


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
    students = [s for s, _, _ in bench.class_of(4)]
    for copy in ("a0", "b0", "a1", "b1"):
        grades = bench.gradebook_grades(workdir / copy)
        assert sorted(grades) == sorted(students)
        assert all(any(re.match(r"backprop/test_", key) for key in record) for record in grades.values())


def test_both_graders_give_each_test_cell_the_expected_score(benched):
    """Right exercises keep every point; a mistake's exercise loses every test cell but those
    that rightly pass (grading_helpers.RIGHTLY_PASSING); nothing else loses a point."""
    workdir, _ = benched
    for copy in ("a0", "b0"):
        grades = bench.gradebook_grades(workdir / copy)
        for student, _, sub in bench.class_of(4):
            cells = {key.split("/", 1)[1]: record for key, record in grades[student].items()
                     if re.match(r"backprop/test_", key)}
            assert len(cells) >= len(EXERCISES[bench.ASSIGNMENT]), student
            for cell, (auto_score, _, _, _, max_score) in cells.items():
                code = sub.mistakes[assignments()[bench.ASSIGNMENT].exercise_of(cell)]
                full = not code or cell in RIGHTLY_PASSING.get(sub.name, {})
                assert auto_score == (max_score if full else 0), f"{copy}: {student} {cell} scored {auto_score}/{max_score}"


def test_the_preflight_seconds_are_read_from_a_grading_log():
    log = ("Grading the class in /x\npreflight 02_backprop: sandbox /b/bwrap; the kernel imports the grader's checks "
           "(/c/backprop_course, fingerprint 0123456789ab); reference 15/15, blank 0/15; 24.1 s\nautograde: 100%\n")
    assert bench.preflight_seconds(log) == [24.1]
    assert bench.preflight_seconds("autograde: 100%\n") == []


def test_the_review_bench_plants_copies_and_finds_them_alone(tmp_path):
    """`make bench`'s review part (tools/review_bench.py) on 60 students: past c.Similarity.common,
    so the catalogue's versions they share are common code, and only the planted copy is listed."""
    from backprop_course.tools import review_bench

    result = review_bench.bench(tmp_path, 60)
    assert (result["planted"], result["found"], result["other"], result["noted"]) == (1, 1, 0, 0)
    assert result["possible"] == 60 * 59 // 2 and 0 < result["compared"] < result["possible"]
    assert result["common"] > 0
    text, ok = review_bench.report([result])
    assert ok and "1 of 1" in text

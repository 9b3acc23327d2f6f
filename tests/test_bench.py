"""`make bench`'s machinery, for correctness only (no timing is asserted: the machine is shared).

A small class autograded by stock ``nbgrader autograde`` and by ours with two workers gives
the same grades, per student and grade cell, and the same autograded notebooks.
"""
import re

import pytest

from backprop_course import bench


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


@pytest.fixture(scope="module")
def benched(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("bench")
    return workdir, bench.bench_size(workdir, 4, jobs=2, bare=False, say=lambda *_: None)


def test_stock_and_parallel_autograde_agree(benched):
    workdir, result = benched
    assert not result.failed, result.failed
    for title, problems in result.differences.items():
        assert not problems, f"{title}: {problems}"
    assert set(result.differences) == {"grade differences (a) vs (b)", "autograded notebook differences (a) vs (b)"}


def test_the_grades_are_right_and_both_gradebooks_hold_every_student(benched):
    workdir, result = benched
    assert result.full_marks["correct"][0] == result.full_marks["correct"][1] >= 1
    assert result.full_marks["slow"] == (1, 1), "slow but valid must keep full marks"
    assert result.full_marks["buggy"][0] == 0
    students = [s for s, _, _ in bench.class_of(4)]
    for copy in ("a", "b"):
        grades = bench.gradebook_grades(workdir / copy)
        assert sorted(grades) == sorted(students)
        assert all(any(re.match(r"backprop/test_", key) for key in record) for record in grades.values())

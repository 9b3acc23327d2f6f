"""The bench's synthetic class: ``size`` submissions of 02_backprop from the catalogue, correct,
buggy and slow-but-valid, in a course root beside a copy of the course (source/, answers/, the
config), with each submission also as nbgrader executes it, for the bare nbclient run."""
from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import nbformat

from ...grader.run import skipping
from ...grader.assignments import COURSE_ROOT, assignments
from answers import catalogue

ASSIGNMENT = "02_backprop"
NOTEBOOK = assignments()[ASSIGNMENT].notebook
SLOW_EVERY = 5            # one submission in five is slow-but-valid
SLOW_POSITION = 2         # ... the third of every five, so that 4 submissions include one
STRIDE = 9                # walks the catalogue, coprime with its size, so small classes get a mix
SLOW_WORK = "_slow = sum(k * k for k in range(20000))  # harmless extra work each epoch: slow but valid"


def make_slow(sub):
    """A correct submission whose train() does an extra, harmless computation every epoch.

    train runs 1,000 epochs in each of the notebook's two demo cells (plus a few in the checks),
    so this adds about 1.5 s to each on a 2020s core, and changes no result.
    """
    source = sub.cells["train_multi_sample"]
    loop = re.search(r"^( *)for \w+ in range\(epochs\):\n", source, flags=re.M)
    assert loop, f"{sub.name}: no epoch loop in train"
    indent = loop.group(1) + "    "
    slowed = source[:loop.end()] + indent + SLOW_WORK + "\n" + source[loop.end():]
    return catalogue.Submission(sub.assignment, "slow-" + sub.name.removeprefix("02-"),
                                {**sub.cells, "train_multi_sample": slowed}, dict(sub.mistakes),
                                "a correct submission that is slow but valid")


def class_of(size):
    """``size`` (student id, kind, catalogue submission): buggy, correct and slow-but-valid ones."""
    pool = [s for s in catalogue.CATALOGUE if s.assignment == ASSIGNMENT]
    assert math.gcd(STRIDE, len(pool)) == 1, f"STRIDE {STRIDE} must be coprime with the {len(pool)} submissions"
    correct = [s for s in pool if s.correct]
    students, plain, slow = [], 0, 0
    for i in range(size):
        if i % SLOW_EVERY == SLOW_POSITION:
            sub, kind = make_slow(correct[slow % len(correct)]), "slow"
            slow += 1
        else:
            sub = pool[(plain * STRIDE) % len(pool)]
            kind = "correct" if sub.correct else "buggy"
            plain += 1
        students.append((f"s{i:03d}-{sub.name.removeprefix('02-')}", kind, sub))
    return students


def write_notebook(path, notebook):
    """Write ``notebook`` to ``path``, making its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))


def copy_course(folder):
    """A copy of the course in ``folder`` (made if missing): source/, the answers and
    nbgrader_config.py. Returns ``folder``, as a Path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(COURSE_ROOT / "source", folder / "source")
    # the grader computes every expected value with the answers, which live beside source/ (its
    # release makes the copy a course secret of its own)
    shutil.copytree(COURSE_ROOT / "answers", folder / "answers", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", folder)
    return folder


def build_course(folder, size):
    """A course root in ``folder``: source/, nbgrader_config.py, submitted/ of ``size`` students.

    Also bare/<student>/backprop.ipynb: each submission as nbgrader executes it, its locked
    cells (hidden tests included) restored from source/ and the demonstrations grading skips
    left out (grader/skipping.py), for the bare nbclient run.
    Returns the class: [(student, kind, submission)].
    """
    folder = copy_course(folder)
    students = class_of(size)
    demos = skipping.demos(catalogue.source_notebook(ASSIGNMENT).cells)
    for student, _, sub in students:
        write_notebook(folder / "submitted" / student / ASSIGNMENT / NOTEBOOK,
                       catalogue.build_notebook(sub, hidden_tests=False))
        bare = catalogue.build_notebook(sub, hidden_tests=True)
        bare.cells = [cell for cell in bare.cells if not skipping.skips(demos, cell)]
        write_notebook(folder / "bare" / student / NOTEBOOK, bare)
    (folder / "class.json").write_text(json.dumps({s: k for s, k, _ in students}, indent=1))
    return students

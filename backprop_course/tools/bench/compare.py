"""Comparing two graded copies of the bench's class: every grade cell in the gradebook, and the
autograded notebooks apart from what legitimately differs between two runs (execution
timestamps, object addresses, how a print was split into stream messages)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from nbgrader.api import Gradebook

from .synthetic_class import ASSIGNMENT

def gradebook_grades(course):
    """{student: {...}} of everything autograde writes to the gradebook for 02_backprop."""
    found = {}
    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}", "backprop-course") as gb:
        for submission in gb.assignment_submissions(ASSIGNMENT):
            record = {"timestamp": str(submission.timestamp), "extension": str(submission.extension)}
            for nb in submission.notebooks:
                record[f"{nb.name}: score"] = (nb.score, nb.max_score)
                record[f"{nb.name}: flagged"] = nb.flagged
                record[f"{nb.name}: late penalty"] = nb.late_submission_penalty
                for grade in nb.grades:
                    record[f"{nb.name}/{grade.name}"] = (grade.auto_score, grade.manual_score, grade.extra_credit,
                                                         grade.needs_manual_grade, grade.max_score)
                for comment in nb.comments:
                    record[f"{nb.name}/{comment.name} comment"] = (comment.auto_comment, comment.manual_comment)
            found[submission.student_id] = record
    return found


def compare_grades(a, b, students):
    """Differences between the gradebooks of (a) and (b), one line each."""
    grades_a, grades_b = gradebook_grades(a), gradebook_grades(b)
    problems = []
    for student in students:
        ga, gb = grades_a.get(student), grades_b.get(student)
        if ga is None or gb is None:
            problems.append(f"{student}: not graded by {'(a)' if ga is None else ''}{'(b)' if gb is None else ''}")
            continue
        for key in sorted(set(ga) | set(gb)):
            if ga.get(key) != gb.get(key):
                problems.append(f"{student} {key}: (a) {ga.get(key)} != (b) {gb.get(key)}")
    return problems, grades_a


ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")


def coalesced(outputs):
    """Consecutive stream outputs of one stream joined into one, as a front end shows them.

    How the kernel splits a print into stream messages depends on timing (``print(x)`` may
    arrive as ``x`` and ``\\n``, or as one message), so two runs of one cell can differ there.
    """
    out = []
    for output in outputs:
        text = output.get("text")
        if (output.get("output_type") == "stream" and out and out[-1].get("output_type") == "stream"
                and out[-1].get("name") == output.get("name")):
            previous = out[-1]["text"]
            out[-1] = {**out[-1], "text": ("".join(previous) if isinstance(previous, list) else previous)
                       + ("".join(text) if isinstance(text, list) else text)}
        else:
            if output.get("output_type") == "stream" and isinstance(text, list):
                output = {**output, "text": "".join(text)}
            out.append(output)
    return out


def normalised(path):
    """An autograded notebook with what legitimately differs between two runs taken out:
    execution timestamps, object addresses, and how stream output was split into messages."""
    nb = json.loads(Path(path).read_text())
    for cell in nb.get("cells", []):
        for key in VOLATILE_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if "outputs" in cell:
            cell["outputs"] = coalesced(cell["outputs"])
    return json.loads(ADDRESS.sub("0x…", json.dumps(nb, sort_keys=True)))


def notebook_differences(a, b):
    """Where two normalised notebooks differ: cell by cell, field by field."""
    if a == b:
        return []
    out = []
    for key in sorted(set(a) | set(b)):
        if key != "cells" and a.get(key) != b.get(key):
            out.append(f"notebook {key}")
    cells_a, cells_b = a.get("cells", []), b.get("cells", [])
    if len(cells_a) != len(cells_b):
        out.append(f"{len(cells_a)} cells != {len(cells_b)} cells")
    for i, (ca, cb) in enumerate(zip(cells_a, cells_b)):
        name = ca.get("metadata", {}).get("nbgrader", {}).get("grade_id", f"cell {i}")
        for key in sorted(set(ca) | set(cb)):
            if ca.get(key) != cb.get(key):
                out.append(f"{name} {key}")
    return out


def compare_notebooks(a, b):
    """Differences between the autograded/ folders of (a) and (b), apart from what may differ."""
    problems = []
    root_a, root_b = Path(a) / "autograded", Path(b) / "autograded"
    files_a = {p.relative_to(root_a) for p in root_a.rglob("*") if p.is_file()} if root_a.is_dir() else set()
    files_b = {p.relative_to(root_b) for p in root_b.rglob("*") if p.is_file()} if root_b.is_dir() else set()
    for path in sorted(files_a ^ files_b):
        problems.append(f"autograded/{path}: only in {'(a)' if path in files_a else '(b)'}")
    for path in sorted(files_a & files_b):
        if path.suffix == ".ipynb":
            diffs = notebook_differences(normalised(root_a / path), normalised(root_b / path))
            if diffs:
                problems.append(f"autograded/{path}: {', '.join(diffs)}")
        elif path.name != "timestamp.txt" and (root_a / path).read_bytes() != (root_b / path).read_bytes():
            problems.append(f"autograded/{path}: differs")
    return problems

"""The public tests' cases, written for the student's install (``make release``).

For every check call outside the hidden blocks of ``source/``'s test cells, the case (inputs,
right values, the known mistakes' values, the stand-ins' answers) is computed here and written
to ``backprop_course/checks/public/<assignment>.json``, which the checks read in the student's
kernel (``backprop_course.checks.public``). Numbers only: nothing there computes an answer.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat

from backprop_course.checks import public
from backprop_course.grader.judge import verdicts
from backprop_course.grader.judge.answerbook import fingerprint
from backprop_course.grader.assignments import assignments

from .cases import case, recorded


def public_calls(cells):
    """[(check name, args, kwargs)] of the public check calls of a notebook's test cells, in order."""
    calls = []
    for cell in cells:
        if not verdicts.is_test_cell(cell):
            continue
        for call in verdicts.read_cell(cell.source).calls:
            if not call.hidden:
                kwargs = {k: v for k, v in call.kwargs.items() if k != "reveal"}
                calls.append((call.check.name, list(call.args), kwargs))
    return calls


def _calls(source):
    """{assignment: [(check, args, kwargs)]} of the public calls of every assignment of ``source``."""
    found = {}
    for name, assignment in assignments(Path(source)).items():
        calls = []
        for notebook in assignment.notebooks:
            calls += public_calls(nbformat.read(assignment.folder / notebook, as_version=4).cells)
        found[name] = calls
    return found


def _digest(calls):
    """What the recorded cases depend on: the public calls and the answers' code."""
    answers = Path(__file__).resolve().parent
    return hashlib.sha256(json.dumps([calls, fingerprint(answers)], sort_keys=True).encode()).hexdigest()


def stale(source, folder=public.FOLDER):
    """The assignments of ``source`` whose recorded cases in ``folder`` are missing or out of date."""
    found = []
    for name, calls in _calls(source).items():
        path = folder / f"{name}.json"
        try:
            recorded_digest = json.loads(path.read_text(encoding="utf-8")).get("digest")
        except (OSError, ValueError):
            recorded_digest = None
        if recorded_digest != _digest(calls):
            found.append(name)
    return found


def write(source, folder=public.FOLDER):
    """Write the public cases of the assignments of ``source`` (a source/ folder) that are out of
    date in ``folder``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in stale(source, folder):
        calls, entries, seen = _calls(source)[name], [], set()
        for check, args, kwargs in calls:
            key = public.key(check, args, kwargs)
            if key not in seen:
                seen.add(key)
                entries.append({"check": check, "args": args, "kwargs": kwargs,
                                "case": recorded(case(check, args, kwargs))})
        path = folder / f"{name}.json"
        path.write_text(json.dumps({"assignment": name, "digest": _digest(calls), "cases": entries},
                                   ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        written.append(path)
    return written

"""The public tests' cases, as ``make release`` recorded them: numbers, not code.

A public test cell calls a check with literal arguments (``check_train(train, seed=0, epochs=3,
…)``). Its case (the inputs, the right values, each known mistake's values and the stand-ins'
answers, see ``core.Case``) was computed once, by the instructor's answers, and written to
``public/<assignment>.json`` beside this module; the student's kernel reads it from there. So
the public tests teach as before (they show the numbers and name mistakes) while nothing in
the student's install computes an answer. Arguments that were not released (a hidden test, a
cell the student edited) have no recorded case.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

#: where ``make release`` writes the recorded cases, one file per assignment
FOLDER = Path(__file__).resolve().parent / "public"


def key(check_name, args, kwargs):
    """One string per call: the check and its literal arguments, as JSON (a tuple is a list)."""
    return json.dumps([check_name, list(args), dict(sorted(kwargs.items()))], sort_keys=True, separators=(",", ":"))


@cache
def _recorded():
    cases = {}
    for path in sorted(FOLDER.glob("*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            cases[key(entry["check"], entry["args"], entry["kwargs"])] = entry["case"]
    return cases


def recorded(check_name, args, kwargs):
    """The recorded case of a call, as a dict of ``core.Case``'s fields, or None."""
    found = _recorded().get(key(check_name, args, kwargs))
    return dict(found) if found is not None else None

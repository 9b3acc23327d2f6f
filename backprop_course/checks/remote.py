"""The kernel's side of a trusted verdict: run one check's probe, print what it observed.

The grader (``backprop_course.grader.verdicts``) sends a call to :func:`probe` into the student's
kernel after each test cell and judges the printed data in its own process.
"""
from __future__ import annotations

import json
import sys

from . import backprop, neuron, vectorised  # noqa: F401 (defining the checks registers them)
from .core import REGISTRY, quiet

MARK = "@@backprop-probe@@ "


def probe(name, student_objects, scenario_json):
    """Run REGISTRY[name].probe on the student's objects; print MARK + JSON on one line.

    student_objects: a function returning the student's objects, so that a NameError (the
    student deleted `Neuron`) is reported like any other error of their code.
    """
    try:
        with quiet(Warning):
            result = {"observed": REGISTRY[name].probe(*student_objects(), json.loads(scenario_json))}
    except BaseException as error:  # noqa: BLE001 (the student's code may raise anything, even SystemExit)
        result = {"raised": f"{type(error).__name__}: {error}"[:500]}
    sys.stdout.write(MARK + json.dumps(result) + "\n")
    sys.stdout.flush()

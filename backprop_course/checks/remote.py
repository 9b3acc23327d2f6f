"""The kernel's side of the grader's requests: run one check's probe, report the package it imported.

The grader (``backprop_course.grader.verdicts``) sends a call to :func:`probe` into the student's
kernel after the notebook's last cell, one per check call of a test cell, and judges the printed
data in its own process. Before the first
submission, its preflight (``backprop_course.grader.preflight``) asks the kernel which course
package it imported (:func:`report_package`) and compares that package's fingerprint
(:func:`package_fingerprint`) with its own: probe and judge must be the same checks.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import sys
from pathlib import Path

import backprop_course

from . import autograd, backprop, neuron, vectorised  # noqa: F401 (defining the checks registers them)
from .core import REGISTRY, Check, quiet  # noqa: F401 (REGISTRY: every check by name)

MARK = "@@backprop-probe@@ "

#: the course package this module belongs to (backprop_course/checks/remote.py -> backprop_course)
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def probe(module, name, student_objects, scenario_json, standins_json, nonce):
    """Run the probe of the check ``module.name`` on the student's objects; print MARK, ``nonce``
    and the JSON answer on one line.

    student_objects: a function returning the student's objects, so that a NameError (the
    student deleted `Neuron`) is reported like any other error of their code.
    standins_json: the case's stand-ins (``standins``), or null.
    """
    try:
        importlib.import_module(module)
        # the check as its module defined it, not whatever a solution cell rebound the name to
        check = REGISTRY.get(name)
        if not isinstance(check, Check) or check.module != module:
            raise TypeError(f"{module}.{name} is not a check")
        with quiet(Warning):
            result = {"observed": check.probe(*student_objects(), json.loads(scenario_json), json.loads(standins_json))}
        answer = json.dumps(result)
    except BaseException as error:  # noqa: BLE001 (the student's code may raise anything, even SystemExit)
        answer = json.dumps({"raised": f"{type(error).__name__}: {error}"[:500]})
    sys.stdout.write(f"\n{MARK}{nonce} {answer}\n")  # on a line of its own, whatever was printed before
    sys.stdout.flush()


def package_files(package_dir=PACKAGE_DIR):
    """The files of the course package that a fingerprint covers: all but caches, sorted."""
    root = Path(package_dir)
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.relative_to(root).parts
                  and p.suffix not in (".pyc", ".pyo"))


def package_fingerprint(package_dir=PACKAGE_DIR):
    """sha256 over the package's files (their paths in it and their bytes): two copies with the
    same fingerprint run the same checks."""
    root = Path(package_dir)
    digest = hashlib.sha256()
    for path in package_files(root):
        data = path.read_bytes()
        digest.update(f"{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def report_package(nonce):
    """Print MARK, ``nonce`` and JSON: where this kernel imported the course package from, its
    fingerprint, and whether it can import the instructor's answers (it must not)."""
    package = Path(backprop_course.__file__).resolve().parent
    answers = importlib.util.find_spec("answers")
    report = {"package": str(package), "fingerprint": package_fingerprint(package), "python": sys.executable,
              "checks": str(PACKAGE_DIR), "answers": answers.origin if answers is not None else None}
    sys.stdout.write(f"{MARK}{nonce} {json.dumps(report)}\n")
    sys.stdout.flush()

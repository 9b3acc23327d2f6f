"""The course's answers as the grader takes them: ``answers/`` beside ``source/``, and the secret.

The answers compute every right value and every known mistake's (``answers/__init__.py``). They
are course content, the instructor's, like ``source/``: never installed with the package, never
bound into the grading kernel. The grader imports them from the course root it grades, and stops
if this process already holds another course's.
"""
from __future__ import annotations

import hashlib
import importlib
import sys
from pathlib import Path

#: the folder of a course root that holds its answers (a Python package)
FOLDER = "answers"


class AnswersError(RuntimeError):
    """The course's answers cannot be used here: the message says why and what to do."""


def fingerprint(folder):
    """sha256 over the answers' .py files (paths and bytes): two folders with one fingerprint are one answers."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*.py")):
        if "__pycache__" not in path.parts:
            digest.update(f"{path.relative_to(folder).as_posix()}\0".encode() + path.read_bytes())
    return digest.hexdigest()


def load(root):
    """The answers package of the course at ``root``."""
    folder = Path(root).resolve() / FOLDER
    if not (folder / "__init__.py").is_file():
        raise AnswersError(f"{folder} is missing: the grader computes every expected value with the course's "
                           "answers, which live beside source/ (keep them with it; a copy of the course needs them)")
    loaded = sys.modules.get(FOLDER)
    if loaded is not None:
        here = Path(loaded.__file__).resolve().parent
        if here != folder and fingerprint(here) != fingerprint(folder):
            raise AnswersError(f"this process already graded with the answers of {here.parent}, which differ from "
                               f"{folder}: grade one course per process")
        return loaded
    sys.path.insert(0, str(folder.parent))
    try:
        return importlib.import_module(FOLDER)
    finally:
        sys.path.remove(str(folder.parent))


def secret(root):
    """The course secret of ``root`` (made at its first release or grading)."""
    return load(root).secret.course_secret(root, create=True)

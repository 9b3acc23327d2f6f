"""The course's assignments and their exercises, read from ``source/``: the one list of them.

An assignment is a folder of ``source/`` holding its nbgrader master notebooks. Its exercises
are the ``grade_id`` of its solution cells, in notebook order; a test cell grades the exercise
whose id its own ``grade_id`` starts with (``test_<exercise>…``). The grader, the report and
the tools (catalogue, demo class, bench) all read them here.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Assignment:
    """One assignment of the course, as source/ holds it."""
    name: str                     # its folder in source/ (and in release/, submitted/<student>/, ...)
    folder: Path                  # source/<name>
    notebooks: tuple[str, ...]    # file names of its master notebooks

    @property
    def notebook(self):
        """The assignment's one notebook (each assignment of this course has exactly one)."""
        if len(self.notebooks) != 1:
            raise ValueError(f"{self.folder} holds {len(self.notebooks)} notebooks, not one")
        return self.notebooks[0]

    @property
    def exercises(self):
        """The grade_ids of its solution cells, in notebook order."""
        return tuple(grade_id for name in self.notebooks for grade_id in _solution_ids(*_stamp(self.folder / name)))

    def exercise_of(self, cell_name):
        """The exercise a test cell grades: its grade_id is test_<exercise id>…"""
        matches = [e for e in self.exercises if cell_name.startswith(f"test_{e}")]
        return max(matches, key=len) if matches else cell_name


def assignments(source=COURSE_ROOT / "source"):
    """{name: Assignment} of every assignment folder of ``source``, sorted by name."""
    source = Path(source)
    folders = sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")) if source.is_dir() else []
    return {p.name: Assignment(p.name, p, tuple(sorted(n.name for n in p.glob("*.ipynb")))) for p in folders}


def _stamp(path):
    return str(path), path.stat().st_mtime_ns


@functools.cache
def _solution_ids(path, mtime_ns):
    import nbformat

    cells = nbformat.read(path, as_version=4).cells
    return tuple(c.metadata["nbgrader"]["grade_id"] for c in cells if c.metadata.get("nbgrader", {}).get("solution"))

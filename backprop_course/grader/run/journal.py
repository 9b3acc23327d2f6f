"""Which submissions are graded, and from what: so that a run killed midway continues where it left off.

A line is appended, and flushed to disk, once a submission's grades are in the class's
gradebook and its autograded folder is in place. It names the submission and a digest of
everything its grade depends on: the student's files, ``source/``, the nbgrader config and the
course package (see :meth:`backprop_course.grader.pipeline.Course.inputs_digest`). A rerun
skips a submission whose digest is unchanged, which the gradebook holds and whose autograded
folder is there; anything else (a resubmission, an edited test, another version of the checks,
a new gradebook, a deleted autograded/) is graded again.

It is the class folder's ``.autograde-journal.jsonl`` (beside autograded/, not in it: feedback
copies every file of an autograded folder).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

NAME = ".autograde-journal.jsonl"


class Journal:
    """The journal of one class folder."""

    def __init__(self, class_path):
        self.path = Path(class_path) / NAME

    def entries(self):
        """{(student, assignment): digest} of every submission graded, the last line winning."""
        found = {}
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return found
        for line in lines:
            try:
                entry = json.loads(line)
                found[entry["student"], entry["assignment"]] = entry["digest"]
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a kill: that submission is graded again
        return found

    def add(self, student, assignment, digest):
        """Record that ``student``'s ``assignment`` is graded from the inputs of ``digest``."""
        self.add_many([(student, assignment, digest)])

    def add_many(self, entries):
        """A line for each (student, assignment, digest) of ``entries``, on disk (one fsync) when it returns."""
        if not entries:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps({"student": student, "assignment": assignment, "digest": digest}) + "\n"
                        for student, assignment, digest in entries)
        with open(self.path, "a+", encoding="utf-8") as f:
            if f.tell() and not self._ends_a_line():
                lines = "\n" + lines  # the last line was cut short by a kill: it stays apart, unread
            f.write(lines)
            f.flush()
            os.fsync(f.fileno())

    def _ends_a_line(self):
        with open(self.path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"

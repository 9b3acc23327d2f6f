"""Grades out to an LMS: nbgrader export plugins that write the CSV Canvas or Moodle imports.

    nbgrader export --exporter=backprop_course.grader.export.CanvasExport   # make export LMS=canvas
    nbgrader export --exporter=backprop_course.grader.export.MoodleExport   # make export LMS=moodle

Each row is a student of the gradebook that the LMS knows (Canvas: an ``lms_user_id``; Moodle:
an email address, both from the roster imported with ``nbgrader db student import``); each
grade is the nbgrader score less its late penalty, rounded to 2 decimals. A student the LMS
would not know is left out and named in the log: Canvas would make a new student of them and
Moodle would refuse the whole file. A missing submission is ``missing`` (blank by default:
the LMS leaves that grade as it is; set it to "0" to give zero). The column rules, and the
LMS sources they come from, are in the README ("A term with an LMS").
"""
from __future__ import annotations

import csv
import os

from nbgrader.plugins import CsvExportPlugin, ExportPlugin
from traitlets import Dict, Unicode

from .late import lateness
from .review import for_export


def points(value):
    """A score as the LMSs read it: a dot for the decimals, at most two of them, no trailing zeros."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


class GradesCsv(CsvExportPlugin):
    """nbgrader's grades.csv, with its columns, written by the csv module: nbgrader joins the
    fields with bare commas, so a name like "Hopper, Jr." shifts every column after it."""

    default_to = "grades.csv"

    def export(self, gradebook):
        path = self.to or self.default_to
        late = lateness(gradebook)
        review = for_export(self)
        keys = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                "raw_score", "late_submission_penalty", "score", "max_score", "review"]
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(keys)
            for assignment in gradebook.assignments:
                if self.assignment and assignment.name not in map(str, self.assignment):
                    continue
                for student in gradebook.students:
                    if self.student and student.id not in map(str, self.student):
                        continue
                    done = late.get((student.id, assignment.name))
                    writer.writerow(["" if v is None else str(v) for v in [
                        assignment.name, assignment.duedate, done.timestamp if done else "", student.id,
                        student.last_name, student.first_name, student.email,
                        done.raw_score if done else 0.0, done.penalty if done else 0.0,
                        done.score if done else 0.0, assignment.max_score,
                        review.summary(student.id, assignment.name) if review else ""]])
        return path


class LmsExport(ExportPlugin):
    """A CSV with a row per student the LMS knows and a column per assignment."""

    lms = "the LMS"
    default_to = "lms_grades.csv"
    missing = Unicode("", help="written for a missing submission: '' leaves the LMS's grade as it is, '0' gives zero"
                      ).tag(config=True)
    columns = Dict(value_trait=Unicode(), help="assignment -> the LMS's name for its grade column "
                   "(default: the assignment's name)").tag(config=True)
    review_column = Unicode("review", help="the last column's name: who needs a second look (grader/review.py), "
                            "for the instructor; '' leaves it out. Moodle's import maps it to 'ignore' unless "
                            "told otherwise").tag(config=True)

    def export(self, gradebook):
        path = self.destination()
        # in course order (the names of source/), not the gradebook's due-date order, where an
        # assignment without a due date comes first
        assignments = sorted((a for a in gradebook.assignments if not self.assignment or a.name in map(str, self.assignment)),
                             key=lambda a: a.name)
        students = [s for s in gradebook.students if not self.student or s.id in map(str, self.student)]
        late = lateness(gradebook)
        known = self.known(students)
        review = for_export(self) if self.review_column else None
        rows, left_out = [], []
        for student in students:
            identity = known.get(student.id)
            if identity is None:
                left_out.append(student.id)
                continue
            grades = {}
            for assignment in assignments:
                done = late.get((student.id, assignment.name))
                grades[assignment.name] = (points(done.score), done) if done else (self.missing, None)
            rows.append(self.row(student, identity, assignments, grades)
                        + ([review.student_summary(student.id, [a.name for a in assignments]) if review else ""]
                           if self.review_column else []))
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(self.header(assignments) + ([self.review_column] if self.review_column else []))
            writer.writerows(rows)
        self.log.info("%s: %d student(s), %d assignment(s) for %s", path, len(rows), len(assignments), self.lms)
        for student in left_out:
            self.log.warning("not exported: %s has no %s in the gradebook, %s would not know them "
                             "(import the roster: nbgrader db student import roster.csv)", student, self.identity, self.lms)
        self.left_out = left_out
        return path

    def destination(self):
        """``--to``, else ``default_to`` in the class's folder (the one holding submitted/)."""
        if self.to:
            return self.to
        coursedir = getattr(self.parent, "coursedir", None)
        if coursedir is None:
            return self.default_to
        return os.path.normpath(os.path.join(coursedir.root, os.path.dirname(coursedir.submitted_directory),
                                             self.default_to))

    def column(self, assignment):
        return self.columns.get(assignment.name, assignment.name)

    # --- for subclasses ---------------------------------------------------------------
    identity = "LMS identity"

    def known(self, students):
        """{student id: the LMS's identity of that student} for the students the LMS knows."""
        raise NotImplementedError

    def header(self, assignments):
        raise NotImplementedError

    def row(self, student, identity, assignments, grades):
        raise NotImplementedError


class CanvasExport(LmsExport):
    """Canvas's gradebook import (Grades > Import).

    Header ``Student,ID,SIS User ID,SIS Login ID,Section,<assignment>…``: Canvas finds the
    student by ``ID`` (the Canvas user id, the roster's ``lms_user_id``), and the assignment by
    the id in a column named ``Title (id)``, else by its exact title; any other column name
    makes a new assignment. A blank cell or ``-`` changes nothing.
    """

    lms = "Canvas"
    identity = "lms_user_id (Canvas user id)"
    default_to = "canvas_grades.csv"
    review_column = Unicode("", help="a last column saying who needs a second look; '' (the default) leaves it out: "
                            "Canvas takes every column after Section for an assignment to grade (or, named "
                            "'Notes', for its instructors' notes, which the import overwrites)").tag(config=True)

    def known(self, students):
        if any(s.lms_user_id for s in students):
            return {s.id: s.lms_user_id for s in students if s.lms_user_id}
        return {s.id: s.id for s in students if s.id.isdigit()}  # collected without a roster: ids are Canvas's

    def header(self, assignments):
        return ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] + [self.column(a) for a in assignments]

    def row(self, student, identity, assignments, grades):
        name = ", ".join(filter(None, [student.last_name, student.first_name])) or student.id
        return [name, identity, "", "", ""] + [grades[a.name][0] for a in assignments]


class MoodleExport(LmsExport):
    """Moodle's gradebook import (Grades > Import > CSV file).

    One header row; on import, "Map from" ``Email address`` "to" email address, and each grade
    column to its grade item ("<assignment>") and, if you like, its feedback column
    ("<assignment> feedback", which says what a late penalty cost). Moodle stops the whole
    import at a row whose user it cannot find; a blank grade or ``-`` is no grade.
    """

    lms = "Moodle"
    identity = "email address"
    default_to = "moodle_grades.csv"

    def known(self, students):
        if any(s.email for s in students):
            return {s.id: s.email for s in students if s.email}
        return {s.id: s.id for s in students if "@" in s.id}  # collected without a roster: ids are emails

    def header(self, assignments):
        columns = ["First name", "Last name", "Email address"]
        for a in assignments:
            columns += [self.column(a), f"{self.column(a)} feedback"]
        return columns

    def row(self, student, identity, assignments, grades):
        cells = [student.first_name or "", student.last_name or "", identity]
        for a in assignments:
            grade, done = grades[a.name]
            cells += [grade, done.describe() if done else ""]
        return cells


#: what `backprop-course export --lms …` (and `make grade`, for grades.csv) writes
EXPORTS = {None: GradesCsv, "canvas": CanvasExport, "moodle": MoodleExport}

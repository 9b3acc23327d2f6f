"""Grades out to an LMS: nbgrader export plugins that write the CSV Canvas or Moodle imports.

    nbgrader export --exporter=backprop_course.grader.results.export.CanvasExport   # make export LMS=canvas
    nbgrader export --exporter=backprop_course.grader.results.export.MoodleExport   # make export LMS=moodle

Each row is a student of the gradebook that the LMS knows (Canvas: an ``lms_user_id``; Moodle:
an email address, both from the roster imported with ``nbgrader db student import``); each
grade is the nbgrader score less its late penalty, rounded to 2 decimals. A student the LMS
would not know is left out (Canvas would make a new student of them and Moodle would refuse
the whole file): :attr:`LmsExport.left_out` says who and why, and the log and ``make export``
list them; an export that would leave out everyone writes nothing and fails. A missing
submission is ``missing`` (blank by default: the LMS leaves that grade as it is; set it to
"0" to give zero). No cell is a formula a spreadsheet would run (:mod:`.csvsafe`): text is
neutralised, a grade stays a number. The column rules, and the LMS sources they come from, are
in the README ("A term with an LMS").
"""
from __future__ import annotations

import csv
import os
import re

from nbgrader.plugins import CsvExportPlugin, ExportPlugin
from traitlets import Dict, Unicode

from .csvsafe import is_formula, text
from ..intake.late import lateness
from .review import for_export

#: what to do about a student left out
IMPORT_ROSTER = ("import the roster with each student's {identity}: nbgrader db student import roster.csv "
                 "(columns id,first_name,last_name,email,lms_user_id; make collect ROSTER=roster.csv does it), "
                 "then export again")


class NothingExported(Exception):
    """An export that would leave out every student: no file is written."""


def points(value):
    """A score as the LMSs read it: a dot for the decimals, at most two of them, no trailing zeros."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


class GradesCsv(CsvExportPlugin):
    """nbgrader's grades.csv, with its columns, written by the csv module: nbgrader joins the
    fields with bare commas, so a name like "Hopper, Jr." shifts every column after it."""

    default_to = "grades.csv"

    def export(self, gradebook):
        """nbgrader's export hook: write grades.csv from ``gradebook``, a row per submission, with lateness and
        the review column, every cell quoted safe for a spreadsheet."""
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
                    times = [assignment.duedate, done.timestamp if done else None]   # datetimes, written by nbgrader
                    numbers = [done.raw_score if done else 0.0, done.penalty if done else 0.0,
                               done.score if done else 0.0, assignment.max_score]
                    writer.writerow([text(assignment.name), *("" if t is None else str(t) for t in times),
                                     *map(text, [student.id, student.last_name, student.first_name, student.email]),
                                     *("" if n is None else str(float(n)) for n in numbers),
                                     text(review.summary(student.id, assignment.name) if review else "")])
        return path


class LmsExport(ExportPlugin):
    """A CSV with a row per student the LMS knows and a column per assignment."""

    lms = "the LMS"
    default_to = "lms_grades.csv"
    missing = Unicode("", help="written for a missing submission: '' leaves the LMS's grade as it is, '0' gives zero"
                      ).tag(config=True)
    columns = Dict(value_trait=Unicode(), help="assignment -> the LMS's name for its grade column "
                   "(default: the assignment's name)").tag(config=True)
    review_column = Unicode("review", help="the last column's name: who needs a second look (grader/results/review.py), "
                            "for the instructor; '' leaves it out. Moodle's import maps it to 'ignore' unless "
                            "told otherwise").tag(config=True)

    def export(self, gradebook):
        """nbgrader's export hook: write the LMS's grade import file from ``gradebook``, the students the LMS
        would know, in course order; stop if it would know none."""
        path = self.destination()
        # in course order (the names of source/), not the gradebook's due-date order, where an
        # assignment without a due date comes first
        assignments = sorted((a for a in gradebook.assignments if not self.assignment or a.name in map(str, self.assignment)),
                             key=lambda a: a.name)
        students = [s for s in gradebook.students if not self.student or s.id in map(str, self.student)]
        late = lateness(gradebook)
        known = self.known(students)
        review = for_export(self) if self.review_column else None
        rows, self.left_out = [], {}
        for student in students:
            identity, why = known[student.id]
            if why:
                self.left_out[student.id] = why
                continue
            grades = {}
            for assignment in assignments:
                done = late.get((student.id, assignment.name))
                grades[assignment.name] = (points(done.score), done) if done else (self.missing, None)
            rows.append(self.row(student, identity, assignments, grades)
                        + ([text(review.student_summary(student.id, [a.name for a in assignments]) if review else "")]
                           if self.review_column else []))
        for student, why in self.left_out.items():
            self.log.warning("not exported: %s: %s", student, why)
        if not rows:
            message = self.nothing_exported(students)
            fail = getattr(self.parent, "fail", None)
            if fail is not None:
                fail(message)  # nbgrader export: logs the error, exits 1
            raise NothingExported(message)
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow([text(column) for column in self.header(assignments)]
                            + ([text(self.review_column)] if self.review_column else []))
            writer.writerows(rows)
        self.log.info("%s: %d student(s), %d assignment(s) for %s", path, len(rows), len(assignments), self.lms)
        if self.left_out:
            self.log.warning("%d student(s) left out of %s: %s", len(self.left_out), path,
                             IMPORT_ROSTER.format(identity=self.identity))
        return path

    def nothing_exported(self, students):
        """The message of an export that would write no student, naming why each was left out."""
        if not students:
            return f"Nothing exported for {self.lms}: the gradebook holds no student. Grade first (make grade)."
        return (f"Nothing exported for {self.lms}, no file written: {self.lms} would know none of the "
                f"{len(students)} students of the gradebook.\n"
                + "".join(f"  {student}: {why}\n" for student, why in self.left_out.items())
                + "To export them, " + IMPORT_ROSTER.format(identity=self.identity))

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
        """The LMS's column of ``assignment``: as ``c.<Export>.columns`` maps it, else its name."""
        return self.columns.get(assignment.name, assignment.name)

    # --- for subclasses ---------------------------------------------------------------
    identity = "LMS identity"

    def known(self, students):
        """{student id: (the LMS's identity of that student, '') or ('', why the LMS would not know them)}."""
        raise NotImplementedError

    def header(self, assignments):
        """The file's header row for ``assignments``."""
        raise NotImplementedError

    def row(self, student, identity, assignments, grades):
        """The file's row of ``student`` (known to the LMS as ``identity``) with their ``grades``."""
        raise NotImplementedError


#: a Canvas user id
CANVAS_ID = re.compile(r"[0-9]+")


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
        """Each student as Canvas knows them, by Canvas user id, or why it would not (see :meth:`LmsExport.known`)."""
        roster = any(s.lms_user_id for s in students)
        found = {}
        for s in students:
            # collected without a roster, a student id is the Canvas user id
            identity = (s.lms_user_id or "").strip() if roster else s.id
            if not identity:
                found[s.id] = ("", "no lms_user_id (Canvas user id) in the gradebook: Canvas would not know them")
            elif not CANVAS_ID.fullmatch(identity):
                found[s.id] = ("", f"{'its lms_user_id' if roster else 'no lms_user_id in the gradebook, and its id'} "
                                   f"{identity!r} is not a Canvas user id (a number)")
            else:
                found[s.id] = (identity, "")
        return found

    def header(self, assignments):
        """Canvas's gradebook import header: its identity columns, then one column per assignment."""
        return ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] + [self.column(a) for a in assignments]

    def row(self, student, identity, assignments, grades):
        """A Canvas row: the student's name and user id, then the grade of each assignment."""
        name = ", ".join(filter(None, [student.last_name, student.first_name])) or student.id
        return [text(name), identity, "", "", ""] + [grades[a.name][0] for a in assignments]


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
        """Each student as Moodle knows them, by email address, or why it would not (see :meth:`LmsExport.known`)."""
        roster = any(s.email for s in students)
        found = {}
        for s in students:
            # collected without a roster, a student id is the email address (MoodleCollector)
            identity = (s.email or "").strip() if roster else s.id
            if "@" not in identity:
                found[s.id] = ("", "no email address in the gradebook: Moodle would not know them, and would stop "
                                   "the whole import at their row")
            elif is_formula(identity):
                found[s.id] = ("", f"its email address {identity!r} starts like a spreadsheet formula: written as "
                                   "text (with a ' before it), Moodle would not find the user")
            else:
                found[s.id] = (identity, "")
        return found

    def header(self, assignments):
        """Moodle's import header: names and email, then a grade and a feedback column per assignment."""
        columns = ["First name", "Last name", "Email address"]
        for a in assignments:
            columns += [self.column(a), f"{self.column(a)} feedback"]
        return columns

    def row(self, student, identity, assignments, grades):
        """A Moodle row: names and email, then each assignment's grade and what lateness cost."""
        cells = [text(student.first_name), text(student.last_name), identity]
        for a in assignments:
            grade, done = grades[a.name]
            cells += [grade, text(done.describe()) if done else ""]
        return cells


#: what `backprop-course export --lms …` (and `make grade`, for grades.csv) writes
EXPORTS = {None: GradesCsv, "canvas": CanvasExport, "moodle": MoodleExport}

"""Late work: due dates from the config, and the course's penalty, through nbgrader's own hooks.

nbgrader compares a submission's ``timestamp.txt`` with its assignment's due date in the
gradebook, and its ``AssignLatePenalties`` preprocessor asks a ``LateSubmissionPlugin`` for the
penalty of each late notebook. The course adds:

- :class:`DueDates`, a preprocessor that writes the due dates of ``c.DueDates.dates`` into the
  gradebook. It runs when an assignment is generated (``make release``, the first step of
  ``make grade``) and, during autograde, right before ``AssignLatePenalties``, so plain
  ``nbgrader autograde`` and every grading worker see the same due date. There it also refuses
  a time of submission :func:`time_problem` refuses (the grader's own check, before grading,
  is in ``pipeline``).
- :class:`LatePenalty`, the plugin: ``per_day`` of the notebook's score for every day or part
  of a day late, at most ``max_fraction`` of it.

Who writes ``timestamp.txt`` decides whether lateness can be trusted: ``nbgrader collect``
writes the exchange's time (``exchange``), ``make collect`` the LMS's (``lms``), and for a
folder filled by hand, the instructor. Never the student: the one in a student's exchange
folder is theirs, and is not used. :func:`time_problem` refuses a time that cannot be right:
none while a due date applies, one before the release (``c.DueDates.released``), one after the
submission was collected.

``nbgrader_config.py`` sets both and calls :func:`configure`; :func:`lateness` reads back
what the report and the LMS exports show.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict, Float, Unicode

DAY = 86400.0


class DueDates(NbGraderPreprocessor):
    """Write each assignment's due date from the config into the gradebook."""

    dates = Dict(value_trait=Unicode(), help=(
        "assignment -> due date, e.g. {'02_backprop': '2026-12-07 23:59:00 Europe/Berlin'}: "
        "'YYYY-MM-DD HH:MM[:SS] ZONE' with an IANA zone or UTC, or ISO 8601 with an offset; "
        "without a zone, UTC.")).tag(config=True)
    released = Dict(value_trait=Unicode(), help=(
        "assignment -> when the students got it, written as a due date: a time of submission before "
        "it is refused. Optional (without it, a time is not checked against the release).")).tag(config=True)

    def preprocess(self, nb, resources):
        """Write the assignment's due date from ``c.DueDates.dates`` into the gradebook before nbgrader's late-
        penalty step reads it."""
        from nbgrader.api import Gradebook
        from nbgrader.converters import Autograde

        assignment = resources["nbgrader"]["assignment"]
        due = self.due(assignment)
        if due is not None:
            with Gradebook(resources["nbgrader"]["db_url"]) as gradebook:
                record = gradebook.update_or_create_assignment(assignment)
                if record.duedate != due:
                    self.log.info("Due date of %s: %s UTC", assignment, due)
                    record.duedate = due
                    gradebook.db.commit()
        if isinstance(getattr(self.parent, "parent", None), Autograde):  # the exporter's converter
            student = resources["nbgrader"]["student"]
            with Gradebook(resources["nbgrader"]["db_url"]) as gradebook:
                when = gradebook.find_submission(assignment, student).timestamp  # nbgrader read timestamp.txt
            problem = time_problem(when, assignment, due, self.release(assignment), utcnow())
            if problem:
                self.log.error("%s/%s: not graded: %s", student, assignment, problem)
                raise TimeRefused(problem)
        return nb, resources

    def due(self, assignment):
        """The due date of ``assignment`` as nbgrader stores it (naive UTC), or None."""
        text = self.dates.get(assignment)
        return parse_due(text, f"c.DueDates.dates[{assignment!r}]") if text else None

    def release(self, assignment):
        """When ``assignment`` was released (naive UTC), or None."""
        text = self.released.get(assignment)
        return parse_due(text, f"c.DueDates.released[{assignment!r}]") if text else None


class TimeRefused(ValueError):
    """A submission's time of submission cannot be right (:func:`time_problem`)."""


TIME_REFUSED = "the time of submission is refused"
#: file times come from a coarser clock than the one a collector reads: a second's leeway
CLOCK_SLACK = timedelta(seconds=1)


def utcnow():
    """Now, as naive UTC (as nbgrader keeps times)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _utc(when):
    return f"{when.isoformat(' ', 'seconds')} UTC"


def time_problem(when, assignment, due, released, collected):
    """Why ``when``, a submission's time of submission (naive UTC; None if it has none), cannot be
    used, or ''. ``due``, ``released``: the assignment's dates (None: not set); ``collected``:
    when the time was written down (its timestamp.txt), which no submission comes after."""
    if when is None:
        if due is None:
            return ""
        return (f"{TIME_REFUSED}: there is none, and {assignment} is due {_utc(due)}, so nothing says whether it "
                "is late. nbgrader collect and make collect write the exchange's or the LMS's time; in a folder "
                "filled by hand, write the time in timestamp.txt (e.g. 2026-12-07 23:59:00 UTC)")
    if released is not None and when < released:
        return (f"{TIME_REFUSED}: {_utc(when)} is before {assignment} was released ({_utc(released)}, "
                "c.DueDates.released): check its timestamp.txt, or the release date")
    if collected is not None and when > collected + CLOCK_SLACK:
        return (f"{TIME_REFUSED}: {_utc(when)} is after the submission was collected (by {_utc(collected)}): "
                "check its timestamp.txt, or the clock of the machine that collected it")
    return ""


def parse_due(text, where="a due date"):
    """'2026-12-07 23:59 Europe/Berlin', '2026-12-07 23:59:00 UTC' or ISO 8601 with an offset
    ('2026-12-07T23:59:00+01:00') as naive UTC. A zone nobody knows is an error, not UTC:
    nbgrader's own parse_utc reads an unknown zone as UTC and '+0100' as 100 seconds."""
    from dateutil import parser, tz

    text = text.strip()
    head, _, zone = text.rpartition(" ")
    try:
        if head and re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-/]*", zone):
            where_tz = tz.UTC if zone.upper() in ("UTC", "Z", "GMT") else tz.gettz(zone)
            if where_tz is None:
                raise ValueError(f"unknown time zone {zone!r}")
            when = parser.parse(head)
            if when.tzinfo is not None:
                raise ValueError("two time zones")
            when = when.replace(tzinfo=where_tz)
        else:
            when = parser.parse(text)
            when = when if when.tzinfo else when.replace(tzinfo=tz.UTC)
    except (ValueError, OverflowError) as error:
        raise ValueError(f"{where} = {text!r} is not a due date ({error}): write 'YYYY-MM-DD HH:MM[:SS] ZONE' "
                         "with an IANA zone such as Europe/Berlin or UTC, or ISO 8601 with an offset") from None
    return when.astimezone(timezone.utc).replace(tzinfo=None)


class LatePenalty(LateSubmissionPlugin):
    """``per_day`` of the notebook's score for each day or part of a day late, capped at ``max_fraction``.

    With the defaults: one minute late costs 10 %, 26 hours 20 %, a week 50 %. nbgrader calls
    it once per notebook of a late submission and keeps the penalty between 0 and the score.
    """

    per_day = Float(0.10, help="fraction of the score taken off per day, or part of a day, late").tag(config=True)
    max_fraction = Float(0.50, help="the most a late submission can lose, as a fraction of its score").tag(config=True)

    def fraction(self, seconds_late):
        """The fraction of the score taken off a submission ``seconds_late`` after the due date."""
        if seconds_late <= 0:
            return 0.0
        return min(self.max_fraction, self.per_day * math.ceil(seconds_late / DAY))

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        """nbgrader's plugin hook: the points taken off ``score`` for ``total_seconds_late``, logged."""
        penalty = score * self.fraction(total_seconds_late)
        self.log.warning("%s is %.1f h late: %.0f %% of %g points taken off", student_id,
                         total_seconds_late / 3600, 100 * self.fraction(total_seconds_late), score)
        return penalty



@dataclass(frozen=True)
class Lateness:
    """One submission's timing and what it cost; times are naive UTC, as nbgrader keeps them."""
    student: str
    assignment: str
    timestamp: datetime | None
    due: datetime | None
    seconds_late: float
    raw_score: float
    penalty: float          # points taken off (the sum over the submission's notebooks)
    max_score: float

    @property
    def days_late(self):
        """Days or parts of a day late, as the penalty counts them (0 when on time)."""
        return math.ceil(self.seconds_late / DAY) if self.seconds_late > 0 else 0

    @property
    def score(self):
        """The score after the penalty, never below 0."""
        return max(0.0, self.raw_score - self.penalty)

    def late_by(self):
        """'' when on time; else e.g. '2 days (26.0 h)': the days the penalty counts, and the time."""
        if self.seconds_late <= 0:
            return ""
        days = f"{self.days_late} day{'s' if self.days_late != 1 else ''}"
        s = self.seconds_late
        exact = f"{s:.0f} s" if s < 60 else f"{s / 60:.0f} min" if s < 3600 else f"{s / 3600:.1f} h"
        return f"{days} ({exact})"

    def describe(self):
        """'' when on time; else e.g. 'late by 2 days (26.0 h): -3 points'."""
        if self.seconds_late <= 0:
            return ""
        return f"late by {self.late_by()}: -{round(self.penalty, 2):g} points"


def lateness(gradebook):
    """{(student, assignment): Lateness} for every submission in the nbgrader ``gradebook``."""
    found = {}
    for assignment in gradebook.assignments:
        for submission in assignment.submissions:
            found[submission.student.id, assignment.name] = Lateness(
                student=submission.student.id, assignment=assignment.name, timestamp=submission.timestamp,
                due=submission.duedate, seconds_late=submission.total_seconds_late,
                raw_score=submission.score or 0.0, penalty=submission.late_submission_penalty or 0.0,
                max_score=assignment.max_score)
    return found


def marked_late_timestamp(due):
    """The time recorded for a submission an LMS marks late without saying when it came:
    one second after the due date, so it costs one day's penalty, the least a late one can."""
    return due + timedelta(seconds=1)


def marked_on_time_timestamp(due, collected):
    """The time recorded for a submission an LMS counts on time without saying when it came: the
    due date, or the collection if that came first (no submission comes after it)."""
    return min(due, collected)

"""Who is who in an LMS download: the class roster, and Moodle's grading worksheet (its
participants, their full names compared as Moodle spells them in folder names).
"""
from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone


@dataclass
class Roster:
    """The class as the gradebook knows it (``nbgrader db student import roster.csv``): the
    students of each LMS id and email address (more than one is a roster to fix, never a pick)."""
    ids: list[str]
    by_lms_id: dict[str, list[str]]
    by_email: dict[str, list[str]]

    @classmethod
    def from_gradebook(cls, db_url):
        """The roster of the gradebook at ``db_url``: its students by LMS user id and by email address."""
        from nbgrader.api import Gradebook

        with Gradebook(db_url) as gradebook:
            students = [(s.id, s.lms_user_id, s.email) for s in gradebook.students]
        by_lms_id, by_email = {}, {}
        for sid, lms_id, email in students:
            if lms_id:
                by_lms_id.setdefault(lms_id.strip(), []).append(sid)
            if email:
                by_email.setdefault(email.strip().casefold(), []).append(sid)
        return cls(ids=[s[0] for s in students], by_lms_id=by_lms_id, by_email=by_email)

    @staticmethod
    def one(students, who):
        """(the student, '') if ``students`` holds one, else ('', why not) for ``who`` (an id in words)."""
        if len(students) == 1:
            return students[0], ""
        if not students:
            return "", f"unknown student: {who} is not in the roster"
        return "", f"ambiguous: {who} is {' and '.join(students)} in the roster: fix the roster (one id, one student)"


@dataclass
class Participant:
    """A row of Moodle's grading worksheet."""
    number: str
    email: str
    name: str                    # its "Full name" ('' if the worksheet has none)
    timestamp: datetime | None   # its "Last modified (submission)", naive UTC
    note: str = ""

    def __str__(self):
        return f"participant {self.number}" + (f" ({self.name})" if self.name else "")


def same_name(a, b):
    """Whether two spellings of a full name are one: Moodle's folder drops some characters
    (clean_filename) and turns '_' into a space; only letters and digits are compared."""
    def letters(text):
        return [ch for ch in unicodedata.normalize("NFC", text).casefold() if ch.isalnum()]
    return letters(a) == letters(b)


def read_worksheet(path, columns, zone):
    """{participant number: [Participant]} from Moodle's grading worksheet (more than one is an error
    of the worksheet's, refused where it is used); times as naive UTC."""
    from dateutil import parser, tz

    where = tz.gettz(zone)
    if where is None:
        raise ValueError(f"unknown time zone {zone!r} for the Moodle worksheet")
    found, name_column = {}, columns.get("name")   # a worksheet may have no names
    with open(path, newline="", encoding="utf-8-sig") as source:
        reader = csv.DictReader(source)
        missing = [c for c in (columns["identifier"], columns["email"]) if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: no column {', '.join(map(repr, missing))} (columns: {reader.fieldnames}); "
                             "set c.MoodleCollector.worksheet_columns for another language")
        for row in reader:
            number = re.search(r"(\d+)\s*$", row[columns["identifier"]] or "")
            if not number:
                continue
            text, stamp, note = (row.get(columns["modified"]) or "").strip(), None, ""
            if text and text != "-":
                try:
                    stamp = parser.parse(text)
                    stamp = (stamp if stamp.tzinfo else stamp.replace(tzinfo=where)).astimezone(timezone.utc).replace(tzinfo=None)
                except (ValueError, OverflowError):
                    note = f"the worksheet's time {text!r} is not understood: no time recorded"
            name = (row.get(name_column) or "").strip() if name_column else ""
            found.setdefault(number[1], []).append(Participant(number[1], (row[columns["email"]] or "").strip(), name, stamp, note))
    return found

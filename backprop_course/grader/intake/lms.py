"""Submissions in from an LMS: the course's plugins for nbgrader's ``zip_collect``.

``make collect ZIP=… ASSIGNMENT=… LMS=canvas|moodle`` copies the LMS download into
``downloaded/<assignment>/archive/`` and runs ``nbgrader zip_collect`` with

- :class:`.extract.SafeExtractor` (selected in ``nbgrader_config.py``), which unpacks with
  :mod:`.safezip` instead of nbgrader's extractor: that one skips ``../`` entries without a
  word, writes symlink entries as files and has no size caps;
- :class:`CanvasCollector` or :class:`MoodleCollector` (``--collector=…``), which read the
  student, the notebook and, where the LMS gives them, the time or a late mark from each file
  name, and return nbgrader's ``student_id``/``file_id``/``timestamp``.

A collector decides for the whole download at once (its first call): one notebook per
student and notebook, renamed to the released name; the latest resubmission wins. A student is
found by the LMS's numeric id, never by a name: a file name is read by the LMS's documented
format, every way it can be read (a student's display name is part of it, and can look like the
rest); a name that reads as more than one file, like an id the roster gives to two students, is
collected for nobody and the report names every candidate. Every file not collected (extractor
refusals, other files, unknown students, ambiguous names, wrong names, older or ambiguous
duplicates), and every roster student with nothing, is logged and written to
``downloaded/<assignment>/collect_report.csv``. The file-name formats and where they come
from are in the README ("A term with an LMS").
"""
from __future__ import annotations

import csv
import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Dict, Unicode

from .extract import ARCHIVES, Row, collect_paths, write_report
from .late import DueDates, marked_late_timestamp, marked_on_time_timestamp
from .roster import Roster, read_worksheet, same_name

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}")
#: a copy an LMS or a browser made of a name it already had: "backprop-1.ipynb", "backprop (2).ipynb"
COPY = re.compile(r"^(?P<base>.*?)(?:-(?P<dash>\d+)| \((?P<paren>\d+)\))?$")


@dataclass
class Found:
    """A notebook file of the download, on its way to a student's submitted folder."""
    path: str                    # absolute, as zip_collect passes it
    file: str                    # relative to the extracted folder, for the report
    lms_id: str
    name: str                    # the file name the student gave it
    student: str = ""
    timestamp: datetime | None = None
    order: int = -1              # an LMS's upload number (Canvas's attachment id), newer is larger
    notes: list[str] = field(default_factory=list)
    digest: str = ""

    @property
    def copy_number(self):
        """The LMS's copy number in the file's name (``name-2.ipynb``, ``name (2).ipynb``), 0 for none."""
        m = COPY.match(Path(self.name).stem)
        return int(m["dash"] or m["paren"] or 0)

    @property
    def newness(self):
        """What orders a student's files from oldest to newest: time, then order in the download, then copy number."""
        return (self.timestamp or datetime.min, self.order, self.copy_number)


def normal(name):
    """A notebook name without an LMS's or a browser's copy number and case: 'Backprop-1.ipynb' -> 'backprop.ipynb'."""
    path = Path(name)
    return COPY.match(path.stem)["base"].casefold() + path.suffix.casefold()


class LmsCollector(FileNameCollectorPlugin):
    """What Canvas's and Moodle's collectors share: the plan for the whole download.

    ``named_regexp`` is matched against each file's path below the extracted folder and must
    give ``student_id`` (the LMS's id of the student) and ``file_id`` (the file name the
    student uploaded); a subclass turns its other groups into a student and a time.
    """

    lms = "an LMS"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._plan = None

    def collect(self, submitted_file):
        """nbgrader's collector hook: the answer for ``submitted_file`` (None: not collected), from the plan made
        at the first call."""
        if self._plan is None:
            self._plan = self.plan()
        return self._plan.get(os.path.normpath(submitted_file))

    # --- for subclasses ---------------------------------------------------------------
    def readings(self, relative):
        """Every way the LMS's format reads ``relative`` (a path below the extracted folder): a
        list of ``named_regexp`` group dicts, each with ``student_id`` and ``file_id``."""
        raise NotImplementedError

    def candidate(self, groups, roster):
        """Whose file one reading makes it, in words, for a refusal that names every candidate."""
        raise NotImplementedError

    def identify(self, found, groups, roster):
        """Set ``found.student`` (or return why not), and ``found.timestamp``/``order``/``notes``."""
        raise NotImplementedError

    # --- the plan ---------------------------------------------------------------------
    def plan(self):
        """{absolute path: nbgrader's collect() answer} for the files to collect; reports the rest."""
        from nbgrader.utils import find_all_notebooks

        app = self.parent
        coursedir = app.coursedir
        assignment = coursedir.assignment_id
        extracted_root, report = collect_paths(app)
        release = Path(coursedir.format_path(coursedir.release_directory, ".", assignment))
        released = sorted(find_all_notebooks(str(release)))
        if not released:
            known = sorted(p.name for p in release.parent.glob("*/") if p.is_dir())
            app.fail(f"No released notebook for {assignment!r} in release/ (assignments: {', '.join(known) or 'none'}): "
                     "is the assignment's name right?")
        roster = Roster.from_gradebook(coursedir.db_url)
        self.assignment, self.due = assignment, DueDates(parent=self).due(assignment)
        self.collected = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        rows = list(getattr(app.extractor_plugin_inst, "refused", []))   # nbgrader's own extractor lists none
        by_student: dict[str, list[Found]] = {}
        for folder, dirs, files in os.walk(extracted_root):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, extracted_root)
                if Path(name).suffix.lower() != ".ipynb":
                    archive = name.lower().endswith((".zip",) + ARCHIVES)
                    rows.append(Row(relative, "not collected", note="an archive inside the download, not unpacked: "
                                    "ask for the notebook itself" if archive else "not a notebook"))
                    continue
                readings = self.readings(relative)
                if not readings:
                    rows.append(Row(relative, "not collected", note=f"the name does not follow {self.lms}'s pattern"))
                    continue
                if len(readings) > 1:
                    rows.append(Row(relative, "not collected", note=(
                        f"ambiguous: {self.lms}'s name reads as a file of "
                        + " or of ".join(self.candidate(r, roster) for r in readings)
                        + ": if you know whose it is, put it in submitted/ yourself")))
                    continue
                (groups,) = readings
                found = Found(path, relative, groups["student_id"], Path(groups["file_id"]).name)
                problem = self.identify(found, groups, roster)
                if not problem and not STUDENT_ID.fullmatch(found.student):
                    problem = f"the student id {found.student!r} is not a safe folder name"
                if problem:
                    rows.append(Row(relative, "not collected", note=problem))
                    continue
                found.digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                by_student.setdefault(found.student, []).append(found)

        answers = {}
        for student, files in sorted(by_student.items()):
            for notebook, chosen, others in self._choose(files, released):
                for other, why in others:
                    rows.append(Row(other.file, "not collected", student, notebook, other.timestamp, why))
                if chosen is None:
                    continue
                note = "; ".join(chosen.notes + ([f"renamed from {chosen.name}"] if chosen.name != notebook else []))
                rows.append(Row(chosen.file, "collected", student, notebook, chosen.timestamp, note))
                # a timestamp of None: nbgrader records no time, as without the key
                answers[os.path.normpath(chosen.path)] = {"student_id": student, "file_id": notebook,
                                                          "timestamp": chosen.timestamp}
        for student in sorted(set(roster.ids) - set(by_student)):
            rows.append(Row("", "no submission", student, note=f"in the roster, no notebook in the {self.lms} download"))
        write_report(report, rows)
        self._log(rows, report)
        return answers

    def _choose(self, files, released):
        """Yield (notebook, chosen Found or None, [(Found not taken, why)]) for one student's files."""
        expected = {normal(n): n for n in released}
        groups: dict[str, list[Found]] = {}
        leftovers = []
        for found in files:
            notebook = expected.get(normal(found.name))
            (groups.setdefault(notebook, []) if notebook else leftovers).append(found)
        if len(released) == 1 and released[0] not in groups and len({f.digest for f in leftovers}) == 1:
            groups[released[0]], leftovers = leftovers, []   # the only notebook sent, under another name
        for found in leftovers:
            yield "", None, [(found, f"wrong name: {found.name} is not a notebook of {self.assignment} "
                                       f"(expected {', '.join(released)})")]
        for notebook, candidates in sorted(groups.items()):
            candidates = sorted(candidates, key=lambda f: f.newness, reverse=True)
            newest = candidates[0]
            ties = [f for f in candidates[1:] if f.newness == newest.newness and f.digest != newest.digest]
            if ties:
                yield notebook, None, [(f, f"{len(ties) + 1} different files for {notebook} and nothing in "
                                           f"{self.lms}'s download tells which is newest") for f in candidates]
                continue
            yield notebook, newest, [(f, f"same content as {newest.file}" if f.digest == newest.digest
                                      else f"an older upload: {newest.file} is newer") for f in candidates[1:]]

    def _log(self, rows, report):
        for row in rows:
            file, status, student, notebook, _, note = row.cells()
            if status == "collected":
                self.log.info("collected: %s -> %s/%s%s", file, student, notebook, f" ({note})" if note else "")
            elif status != "refused":  # the extractor has logged those
                self.log.warning("%s: %s: %s", status, file or student, note)
        collected = [r for r in rows if r.status == "collected"]
        self.log.warning("%d notebook(s) collected for %d student(s); %d file(s) not collected; %d roster "
                         "student(s) without a submission. The list: %s", len(collected),
                         len({r.student for r in collected}), sum(r.status in ("not collected", "refused") for r in rows),
                         sum(r.status == "no submission" for r in rows), report)


#: what is left of a sortable name in Canvas's <name> part: sanitize_user_name lower-cases it,
#: sanitize_file_name drops every character that is not a word character; non-ASCII is let
#: through (Ruby's [[:word:]] and Python's \w differ there), so that no reading is missed
CANVAS_NAME = re.compile(r"[a-z0-9_\u0080-\U0010ffff]*")


class CanvasCollector(LmsCollector):
    """Canvas's "Download Submissions": ``<name>_[LATE_]<user id>_<file id>_<uploaded name>``.

    ``<name>`` comes from the student's display name, and can look like the rest: the name is
    read at every ``_`` (``named_regexp`` matched after it, ``<name>`` before it in what Canvas
    leaves of a name); a name read in two ways is no one's. A student is found by the Canvas
    user id in the roster's ``lms_user_id``; without any ``lms_user_id`` in the gradebook, the
    Canvas user id is the student id. Canvas gives no time, only its LATE mark: a late file is
    recorded one second after the due date (one day's penalty, the least there is), an on-time
    one at the due date (or at the collection, if that came first). Of several uploads, the one
    with the largest Canvas file id (the latest) wins.
    """

    lms = "Canvas"
    named_regexp = Unicode(
        r"(?:(?P<late>LATE)_)?(?P<student_id>[0-9]+|anon_[A-Za-z0-9]+)_(?P<file_number>[0-9]+)_(?P<file_id>.+)",
        help="Canvas's file name after the student's name and its '_': LATE mark, user id, file id, "
             "uploaded name").tag(config=True)

    def readings(self, relative):
        """Every way Canvas's file name format reads ``relative`` (see :meth:`LmsCollector.readings`)."""
        base = relative.rpartition("/")[2]
        found = []
        for start in [0] + [m.end() for m in re.finditer("_", base)]:
            name = base[:start - 1] if start else ""
            m = re.fullmatch(self.named_regexp, base[start:])
            # an anonymous file has no name before its id (content_zipper.rb: get_filename)
            if m and CANVAS_NAME.fullmatch(name) and not (name and m["student_id"].startswith("anon_")):
                found.append({**m.groupdict(), "name": name})
        return found

    def candidate(self, groups, roster):
        """The Canvas user one reading names, with the roster's students of that id."""
        students = roster.by_lms_id.get(groups["student_id"], []) if roster.by_lms_id else [groups["student_id"]]
        return (f"Canvas user {groups['student_id']} ({', '.join(students) or 'not in the roster'})"
                + (", LATE" if groups.get("late") else ""))

    def identify(self, found, groups, roster):
        """The student of a Canvas user id (the roster's, else the id itself), and the time Canvas's LATE mark
        implies."""
        if roster.by_lms_id:
            found.student, problem = roster.one(roster.by_lms_id.get(found.lms_id, []),
                                                f"Canvas user {found.lms_id} ({groups.get('name') or 'anonymous'})")
            if problem:
                return problem
        else:
            found.student = found.lms_id
        found.order = int(groups["file_number"])
        if self.due is None:
            if groups.get("late"):
                found.notes.append(f"Canvas marks it LATE; no due date for {self.assignment} in c.DueDates.dates: no penalty")
        elif groups.get("late"):
            found.timestamp = marked_late_timestamp(self.due)
            found.notes.append("Canvas marks it LATE without a time: counted as late by less than a day")
        else:
            found.timestamp = marked_on_time_timestamp(self.due, self.collected)
        return ""


class MoodleCollector(LmsCollector):
    """Moodle's "Download all submissions": ``<full name>_<participant no.>_assignsubmission_file[_]/<file>``
    (in folders, the default since Moodle 3.1) or ``…_assignsubmission_file_<file>`` (without),
    below the download's own folder.

    The full name is no id (two students can share one, and a student can take anyone's); the
    participant number is one, made per assignment, and only the assignment's grading worksheet
    (``worksheet``, required; its "Identifier", "Email address", "Full name" and "Last modified
    (submission)" columns) says who it is: an email address, found in the roster (or used as the
    student id when the gradebook has no email addresses), and the time. The worksheet's full
    name must agree with the folder's (else the worksheet is another assignment's), and an email
    address of two participants is nobody's.
    """

    lms = "Moodle"
    named_regexp = Unicode(
        r"(?P<full_name>[^_/]+)_(?P<student_id>[0-9]+)_assignsubmission_file(?:_?/(?:.*/)?|_)(?P<file_id>[^/]+)",
        help="Moodle's path of a file below the download's folder: full name (Moodle turns its '_' into "
             "spaces), participant number, plugin, uploaded name").tag(config=True)
    worksheet = Unicode("", help="the assignment's grading worksheet (CSV) downloaded from Moodle").tag(config=True)
    worksheet_columns = Dict(
        {"identifier": "Identifier", "email": "Email address", "name": "Full name", "modified": "Last modified (submission)"},
        help="the worksheet's column names (they follow the language Moodle runs in)").tag(config=True)
    timezone = Unicode("UTC", help="the time zone of the worksheet's times (the downloading user's)").tag(config=True)

    def plan(self):
        """The collector's plan (see :meth:`LmsCollector.plan`), once Moodle's grading worksheet is read: without
        it, nobody can be identified."""
        if not self.worksheet:
            self.parent.fail(
                "Moodle's download names each student by full name and a participant number made for this "
                "assignment; only the assignment's grading worksheet says who a number is. Download it (View all "
                "submissions > Download grading worksheet; it needs the \"Offline grading worksheet\" feedback type) "
                "and collect again with WORKSHEET=grading-worksheet.csv (--MoodleCollector.worksheet=…)")
        try:
            self.participants = read_worksheet(self.worksheet, self.worksheet_columns, self.timezone)
        except (OSError, ValueError, csv.Error) as error:
            self.parent.fail(f"The Moodle grading worksheet cannot be read: {error}")
        self.by_email = {}
        for rows in self.participants.values():
            for row in rows:
                self.by_email.setdefault(row.email.casefold(), []).append(row)
        return super().plan()

    def readings(self, relative):
        """Every way Moodle's folder format reads ``relative`` (see :meth:`LmsCollector.readings`)."""
        parts = relative.split("/")
        # the path below the zip's folder (extracted/<zip name>/…), or a loose file's own
        found = [re.fullmatch(self.named_regexp, "/".join(parts[skip:])) for skip in (0, 1)]
        return [m.groupdict() for m in found if m]

    def candidate(self, groups, roster):
        """The participant one reading names, with the worksheet's email addresses for that number."""
        rows = self.participants.get(groups["student_id"], [])
        return f"participant {groups['student_id']} ({groups['full_name']}" + "".join(f", {r.email}" for r in rows) + ")"

    def identify(self, found, groups, roster):
        """The student of a participant number, through the worksheet (its full name must agree), and the
        worksheet's time."""
        name = groups["full_name"]
        rows = self.participants.get(found.lms_id)
        if not rows:
            return f"unknown student: participant {found.lms_id} ({name}) is not in the worksheet"
        if len(rows) > 1:
            return f"ambiguous: participant {found.lms_id} is in the worksheet {len(rows)} times"
        (row,) = rows
        if row.name and not same_name(row.name, name):
            return (f"ambiguous: participant {found.lms_id} is {name} in the download but {row.name} ({row.email}) in "
                    "the worksheet: is the worksheet this assignment's, downloaded with the submissions?")
        sharing = self.by_email[row.email.casefold()]   # row's own address: every row is filed under it
        if not row.email or len(sharing) > 1:
            return (f"ambiguous: {row.email or 'no email address'} is the email address of "
                    + " and of ".join(map(str, sharing)) + " in the worksheet")
        found.timestamp = row.timestamp
        if row.note:
            found.notes.append(row.note)
        if found.timestamp is None and self.due is not None:
            found.notes.append(f"the worksheet gives no time, and {self.assignment} has a due date: grading will refuse it "
                               "until its timestamp.txt says when it was submitted")
        if roster.by_email:
            found.student, problem = roster.one(roster.by_email.get(row.email.casefold(), []),
                                                f"{row.email} ({row}, in the worksheet)")
            return problem
        found.student = row.email
        return ""



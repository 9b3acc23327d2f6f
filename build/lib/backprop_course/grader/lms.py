"""Submissions in from an LMS: the course's plugins for nbgrader's ``zip_collect``.

``make collect ZIP=… ASSIGNMENT=… LMS=canvas|moodle`` copies the LMS download into
``downloaded/<assignment>/archive/`` and runs ``nbgrader zip_collect`` with

- :class:`SafeExtractor` (selected in ``nbgrader_config.py``), which unpacks with
  :mod:`safezip` instead of nbgrader's extractor: that one skips ``../`` entries without a
  word, writes symlink entries as files and has no size caps;
- :class:`CanvasCollector` or :class:`MoodleCollector` (``--collector=…``), which read the
  student, the notebook and, where the LMS gives them, the time or a late mark from each file
  name, and return nbgrader's ``student_id``/``file_id``/``timestamp``.

A collector decides for the whole download at once (its first call): one notebook per
student and notebook, renamed to the released name; the latest resubmission wins; an LMS id
maps to a student through the gradebook's roster (``nbgrader db student import``). Every file
not collected (extractor refusals, other files, unknown students, wrong names, older or
ambiguous duplicates), and every roster student with nothing, is logged and written to
``downloaded/<assignment>/collect_report.csv``. The file-name patterns and where they come
from are in the README ("A term with an LMS").
"""
from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from traitlets import Dict, Float, Integer, Unicode

from . import safezip
from .late import DueDates, marked_late_timestamp

REPORT = "collect_report.csv"
ARCHIVES = (".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar")
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}")
#: a copy an LMS or a browser made of a name it already had: "backprop-1.ipynb", "backprop (2).ipynb"
COPY = re.compile(r"^(?P<base>.*?)(?:-(?P<dash>\d+)| \((?P<paren>\d+)\))?$")


@dataclass
class Row:
    """One line of the collect report."""
    file: str
    status: str                  # collected | not collected | refused | no submission
    student: str = ""
    notebook: str = ""
    timestamp: datetime | None = None
    note: str = ""

    def cells(self):
        stamp = self.timestamp.strftime("%Y-%m-%d %H:%M:%S UTC") if self.timestamp else ""
        return [inert(self.file), self.status, self.student, self.notebook, stamp, inert(self.note)]


def inert(text):
    """A student's file name as a CSV cell: control characters escaped, and a leading = + - @
    quoted, so that a spreadsheet opening the report does not run it as a formula."""
    text = safezip.printable(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def write_report(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "status", "student", "notebook", "timestamp", "note"])
        writer.writerows(row.cells() for row in rows)


def _collect_paths(app):
    """(archive folder, extracted folder, report path) of a ZipCollectApp."""
    archive = Path(app._format_collect_path(app.archive_directory))
    return archive, Path(app._format_collect_path(app.extracted_directory)), archive.parent / REPORT


class SafeExtractor(ExtractorPlugin):
    """nbgrader's extractor, with every archive unpacked by :mod:`safezip` and every refusal listed.

    Zips are unpacked into ``extracted/<zip name without .zip>/``; loose files are copied;
    other archives (tar, gz, 7z, rar) and zips inside zips are not unpacked, and are listed.
    """

    max_file_mib = Integer(100, help="largest file unpacked from an archive, MiB").tag(config=True)
    max_total_mib = Integer(2048, help="most one archive may unpack to, MiB").tag(config=True)
    max_entries = Integer(20_000, help="most entries in one archive").tag(config=True)
    max_ratio = Float(200.0, help="highest compression ratio of an entry over 1 MiB (zip bombs)").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.refused: list[Row] = []

    @property
    def limits(self):
        return safezip.Limits(file_bytes=self.max_file_mib * safezip.MiB, total_bytes=self.max_total_mib * safezip.MiB,
                              entries=self.max_entries, ratio=self.max_ratio)

    def extract(self, archive_path, extracted_path):
        archive_root, extracted_root = Path(archive_path), Path(extracted_path)
        for folder, dirs, files in os.walk(archive_root):
            dirs.sort()
            for name in [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
                self._refuse(str((Path(folder) / name).relative_to(archive_root)), "a link to a folder: not followed")
            for name in sorted(files):
                source = Path(folder) / name
                relative = source.relative_to(archive_root)
                target = extracted_root / relative.parent
                target.mkdir(parents=True, exist_ok=True)
                kind = os.lstat(source).st_mode
                odd = safezip.name_problem(relative.as_posix())  # the zips' name rules, for loose files too
                if odd:
                    self._refuse(str(relative), odd)
                elif not stat.S_ISREG(kind):
                    self._refuse(str(relative), "not a regular file (a link or a special file)")
                elif name.lower().endswith(".zip"):
                    self.log.info("Extracting %s", relative)
                    for refusal in safezip.extract(source, target / name[: -len(".zip")], self.limits):
                        self._refuse(f"{relative}/{refusal.entry}", refusal.reason)
                elif name.lower().endswith(ARCHIVES):
                    self._refuse(str(relative), "an archive other than zip: not unpacked")
                else:
                    shutil.copyfile(source, target / name, follow_symlinks=False)
        report = _collect_paths(self.parent)[2] if hasattr(self.parent, "_format_collect_path") else None
        if report is not None:  # the collector rewrites it with the rest; this keeps the refusals if it never runs
            write_report(report, self.refused)

    def _refuse(self, file, reason):
        self.log.warning("refused: %s: %s", safezip.printable(file), reason)
        self.refused.append(Row(file, "refused", note=reason))


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
        m = COPY.match(Path(self.name).stem)
        return int(m["dash"] or m["paren"] or 0)

    @property
    def newness(self):
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
        if self._plan is None:
            self._plan = self.plan()
        return self._plan.get(os.path.normpath(submitted_file))

    # --- for subclasses ---------------------------------------------------------------
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
        _, extracted_root, report = _collect_paths(app)
        release = Path(coursedir.format_path(coursedir.release_directory, ".", assignment))
        released = sorted(find_all_notebooks(str(release)))
        if not released:
            known = sorted(p.name for p in release.parent.glob("*/") if p.is_dir())
            app.fail(f"No released notebook for {assignment!r} in release/ (assignments: {', '.join(known) or 'none'}): "
                     "is the assignment's name right?")
        roster = Roster.from_gradebook(coursedir.db_url)
        self.assignment, self.due = assignment, DueDates(parent=self).due(assignment)
        rows = list(getattr(getattr(app, "extractor_plugin_inst", None), "refused", []))
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
                m = re.match(self.named_regexp, relative)
                if not m:
                    rows.append(Row(relative, "not collected", note=f"the name does not follow {self.lms}'s pattern"))
                    continue
                found = Found(path, relative, m["student_id"], Path(m["file_id"]).name)
                problem = self.identify(found, m.groupdict(), roster)
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
                answers[os.path.normpath(chosen.path)] = {"student_id": student, "file_id": notebook, **(
                    {"timestamp": chosen.timestamp} if chosen.timestamp else {})}
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


@dataclass
class Roster:
    """The class as the gradebook knows it (``nbgrader db student import roster.csv``)."""
    ids: list[str]
    by_lms_id: dict[str, str]
    by_email: dict[str, str]
    by_name: dict[str, list[str]]

    @classmethod
    def from_gradebook(cls, db_url):
        from nbgrader.api import Gradebook

        with Gradebook(db_url) as gradebook:
            students = [(s.id, s.lms_user_id, s.email, s.first_name, s.last_name) for s in gradebook.students]
        by_name = {}
        for sid, _, _, first, last in students:
            if first or last:
                by_name.setdefault(" ".join(filter(None, [first, last])).casefold(), []).append(sid)
        return cls(ids=[s[0] for s in students],
                   by_lms_id={lms: sid for sid, lms, *_ in students if lms},
                   by_email={email.casefold(): sid for sid, _, email, *_ in students if email},
                   by_name=by_name)


class CanvasCollector(LmsCollector):
    """Canvas's "Download Submissions": ``<name>_[LATE_]<user id>_<file id>_<uploaded name>``.

    A student is found by the Canvas user id in the roster's ``lms_user_id``; without any
    ``lms_user_id`` in the gradebook, the Canvas user id is the student id. Canvas gives no
    time, only its LATE mark: that is recorded as one second after the due date (one day's
    penalty, the least there is). Of several uploads, the one with the largest Canvas file id
    (the latest) wins.
    """

    lms = "Canvas"
    named_regexp = Unicode(
        r"^(?:.*/)?(?:(?P<name>[^/]*?)_)??(?:(?P<late>LATE)_)?(?P<student_id>\d+|anon_[A-Za-z0-9]+)"
        r"_(?P<file_number>\d+)_(?P<file_id>[^/]+)$",
        help="Canvas's file name: sortable name, LATE mark, user id, file id, uploaded name").tag(config=True)

    def identify(self, found, groups, roster):
        if roster.by_lms_id:
            if found.lms_id not in roster.by_lms_id:
                return f"unknown student: Canvas user {found.lms_id} ({groups.get('name') or 'anonymous'}) is not in the roster"
            found.student = roster.by_lms_id[found.lms_id]
        else:
            found.student = found.lms_id
        found.order = int(groups["file_number"])
        if groups.get("late"):
            if self.due is None:
                found.notes.append(f"Canvas marks it LATE; no due date for {self.assignment} in c.DueDates.dates: no penalty")
            else:
                found.timestamp = marked_late_timestamp(self.due)
                found.notes.append("Canvas marks it LATE without a time: counted as late by less than a day")
        return ""


class MoodleCollector(LmsCollector):
    """Moodle's "Download all submissions": ``<full name>_<participant no.>_assignsubmission_file[_]/<file>``
    (in folders, the default since Moodle 3.1) or ``…_assignsubmission_file_<file>`` (without).

    Moodle numbers participants per assignment, so the number alone names nobody. The
    assignment's grading worksheet (``worksheet``; its "Identifier", "Email address" and "Last
    modified (submission)" columns) turns it into an email address, found in the roster (or
    used as the student id when the gradebook has no email addresses), and gives the time.
    Without a worksheet, the full name is looked up in the roster.
    """

    lms = "Moodle"
    named_regexp = Unicode(
        r"^(?:.*/)?(?P<full_name>[^/]+?)_(?P<student_id>\d+)_assignsubmission_file(?:_?/(?:.*/)?|_)(?P<file_id>[^/]+)$",
        help="Moodle's folder or file name: full name, participant number, plugin, uploaded name").tag(config=True)
    worksheet = Unicode("", help="the assignment's grading worksheet (CSV) downloaded from Moodle").tag(config=True)
    worksheet_columns = Dict(
        {"identifier": "Identifier", "email": "Email address", "modified": "Last modified (submission)"},
        help="the worksheet's column names (they follow the language Moodle runs in)").tag(config=True)
    timezone = Unicode("UTC", help="the time zone of the worksheet's times (the downloading user's)").tag(config=True)

    def plan(self):
        try:
            self.participants = read_worksheet(self.worksheet, self.worksheet_columns, self.timezone) \
                if self.worksheet else {}
        except (OSError, ValueError, csv.Error) as error:
            self.parent.fail(f"The Moodle grading worksheet cannot be read: {error}")
        return super().plan()

    def identify(self, found, groups, roster):
        name = groups["full_name"]
        if self.worksheet:
            entry = self.participants.get(found.lms_id)
            if entry is None:
                return f"unknown student: participant {found.lms_id} ({name}) is not in the worksheet"
            email, found.timestamp, note = entry
            if note:
                found.notes.append(note)
            if roster.by_email:
                if email.casefold() not in roster.by_email:
                    return f"unknown student: {email} (participant {found.lms_id}, {name}) is not in the roster"
                found.student = roster.by_email[email.casefold()]
            else:
                found.student = email
            return ""
        matches = roster.by_name.get(name.casefold(), [])
        if len(matches) != 1:
            why = "is in the roster twice" if matches else "is not in the roster"
            return f"unknown student: {name} (participant {found.lms_id}) {why}; give the grading worksheet (WORKSHEET=…)"
        found.student = matches[0]
        return ""


def read_worksheet(path, columns, zone):
    """{participant number: (email, submission time as naive UTC or None, note)} from Moodle's grading worksheet."""
    from dateutil import parser, tz

    where = tz.gettz(zone)
    if where is None:
        raise ValueError(f"unknown time zone {zone!r} for the Moodle worksheet")
    found = {}
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
            found[number[1]] = ((row[columns["email"]] or "").strip(), stamp, note)
    return found

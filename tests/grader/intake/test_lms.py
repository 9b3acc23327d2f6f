"""A term with an LMS: an LMS download in (nbgrader zip_collect with the course's plugins),
grades out (nbgrader export plugins), late work penalised as configured.

The downloads are built here to each LMS's own naming, written from its source code (the same
sources the README cites): Canvas's ``lib/content_zipper.rb`` and Moodle's
``mod/assign/classes/downloader.php`` and grading worksheet. The exported CSVs are checked
against the rules of the importers (Canvas's ``gradebook_importer.rb``, Moodle's
``grade/import/csv``), written out in ``canvas_rules`` and ``moodle_rules`` below.

The end-to-end test grades five notebooks (two Canvas, three Moodle students); the rest only
collects, or builds a gradebook by hand.
"""
import csv
import hashlib
import io
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

from backprop_course.grader.results.export import CanvasExport, GradesCsv, MoodleExport, points
from backprop_course.grader.intake.extract import Row, write_report
from backprop_course.grader.intake.late import LatePenalty, parse_due
from backprop_course.grader.intake.safezip import printable
from backprop_course.tools.demo_class import handed_in
from nbgrader_runner import nbgrader
from grading_helpers import course_copy

from project import ROOT

MiB = 1 << 20
#: in the past, as a class is graded after its due dates (a time after its collection is refused)
DUE = {"01_neuron": "2025-11-30 12:00:00 UTC", "02_backprop": "2025-12-07 23:59:00 Europe/Berlin"}

ROSTER = """id,first_name,last_name,email,lms_user_id
ada,Ada,Lovelace,ada@example.org,101
grace,Grace,"Hopper, Jr.",grace@example.org,102
alan,Álan,Türing,alan@example.org,103
emmy,Emmy,Noether,emmy@example.org,104
"""


# --- the LMSs' naming, from their source ------------------------------------------------

def canvas_name(sortable_name, user_id, file_id, uploaded, late=False):
    """Canvas's name for an uploaded file in "Download Submissions" (content_zipper.rb:
    get_filename, sanitize_user_name, sanitize_file_name, add_upload_submission)."""
    name = re.sub(r"_(\d+)_", r"\1", sortable_name).lower()
    prefix = re.sub(r"[^\w]", "", "_".join(p for p in [name, "LATE" if late else None, str(user_id)] if p))
    uploaded = re.sub(r'[\x00/\\:*?"<>|]+', "_", uploaded)   # sanitize_attachment_filename
    return f"{prefix}_{file_id}_{uploaded}"


def moodle_name(full_name, participant, uploaded, folders=True, trailing_underscore=False):
    """Moodle's path for an uploaded file in "Download all submissions" (downloader.php:
    get_student_prefix, load_submissionplugin_filelist; Moodle before 4.1 ended the folder in '_')."""
    prefix = re.sub(r'[\x00-\x1f/\\:*?"<>|]', "", full_name.replace("_", " ") + f"_{participant}")
    if folders:
        return f"{prefix}_assignsubmission_file{'_' if trailing_underscore else ''}/{uploaded}"
    return f"{prefix}_assignsubmission_file_{uploaded}"


def notebook(assignment, plan):
    return nbformat.writes(handed_in(assignment, plan)).encode()


def zipped(name, data):
    """A zip holding one file: what a student uploads instead of the notebook."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(name, data)
    return buffer.getvalue()


def unix_entry(name, mode):
    info = zipfile.ZipInfo(name)
    info.create_system, info.external_attr = 3, mode << 16
    return info


ESCAPE = f"escape-{uuid.uuid4().hex}.ipynb"

#: zip entry -> (bytes, what becomes of it: (status, student or '', note fragment))
CANVAS = {
    canvas_name("Lovelace, Ada", 101, 9001, "backprop.ipynb"):
        (notebook("02_backprop", "02-correct-numpy"), ("collected", "ada", "")),
    canvas_name("Hopper, Jr., Grace", 102, 9002, "backprop.ipynb", late=True):
        (notebook("02_backprop", "02-neuron-hidden-no-phi-prime"), ("not collected", "grace", "an older upload")),
    canvas_name("Hopper, Jr., Grace", 102, 9007, "backprop-1.ipynb", late=True):
        (notebook("02_backprop", "02-correct-loops"), ("collected", "grace", "LATE")),
    canvas_name("Türing, Álan", 103, 9003, "notes.pdf"): (b"%PDF-1.4", ("not collected", "", "not a notebook")),
    canvas_name("Türing, Álan", 103, 9004, "scratch.ipynb"):
        (notebook("02_backprop", "blank"), ("not collected", "alan", "wrong name")),
    canvas_name("Türing, Álan", 103, 9005, "draft.ipynb"):
        (notebook("02_backprop", "02-correct-loops"), ("not collected", "alan", "wrong name")),
    canvas_name("Türing, Álan", 103, 9011, "work.zip"):
        (zipped("backprop.ipynb", b"{}"), ("not collected", "", "an archive inside the download")),
    canvas_name("Mallory, Eve", 999, 9006, "backprop.ipynb"):
        (notebook("02_backprop", "02-correct-numpy"), ("not collected", "", "unknown student")),
    # hostile entries
    f"../../{ESCAPE}": (b"{}", ("refused", "", "'..'")),
    f"/tmp/{ESCAPE}": (b"{}", ("refused", "", "absolute")),
    unix_entry(canvas_name("Lovelace, Ada", 101, 9008, "link.ipynb"), stat.S_IFLNK | 0o777):
        (b"/etc/passwd", ("refused", "", "symbolic link")),
    canvas_name("Noether, Emmy", 104, 9009, "backprop.ipynb"): (bytes(8 * MiB), ("refused", "", "zip bomb")),
    canvas_name("Lovelace, Ada", 101, 9010, "back\nprop.ipynb"): (b"{}", ("refused", "", "control character")),
}

NOTEBOOK_01 = {"right": notebook("01_neuron", "01-correct-where"), "wrong": notebook("01_neuron", "01-loss-no-half")}
MOODLE = {
    moodle_name("Álan Türing", 31, "neuron.ipynb"): (NOTEBOOK_01["right"], ("collected", "alan", "")),
    moodle_name("Grace Hopper, Jr.", 32, "neuron.ipynb", trailing_underscore=True):
        (NOTEBOOK_01["wrong"], ("not collected", "grace", "an older upload")),
    moodle_name("Grace Hopper, Jr.", 32, "Neuron (1).ipynb", trailing_underscore=True):
        (NOTEBOOK_01["right"], ("collected", "grace", "renamed from Neuron (1).ipynb")),
    moodle_name("Ada Lovelace", 33, "neuron.ipynb", folders=False): (NOTEBOOK_01["wrong"], ("collected", "ada", "")),
    "Álan Türing_31_assignsubmission_onlinetext/onlinetext.html": (b"<p>see notebook</p>", ("not collected", "", "not a notebook")),
    moodle_name("Mallory", 34, "neuron.ipynb"): (NOTEBOOK_01["right"], ("not collected", "", "unknown student")),
}
#: Moodle's grading worksheet (offline grading worksheet): Identifier, times in the downloader's zone
WORKSHEET = """Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,Last modified (submission),Last modified (grade),Feedback comments
Participant 31,Álan Türing,alan@example.org,Submitted for grading,,9.00,Yes,"Sunday, 30 November 2025, 11:59 AM",-,
Participant 32,"Grace Hopper, Jr.",grace@example.org,Submitted for grading,,9.00,Yes,"Tuesday, 2 December 2025, 9:30 AM",-,
Participant 33,Ada Lovelace,ada@example.org,Submitted for grading,,9.00,Yes,"Wednesday, 10 December 2025, 8:00 AM",-,
Participant 34,Mallory,mallory@example.net,Submitted for grading,,9.00,Yes,"Sunday, 30 November 2025, 10:00 AM",-,
Participant 35,Emmy Noether,emmy@example.org,No submission,,9.00,Yes,-,-,
"""
#: the times above in UTC (Europe/London is on UTC in winter), and the fraction they cost
MOODLE_TIMES = {"alan": ("2025-11-30 11:59:00", 0.0), "grace": ("2025-12-02 09:30:00", 0.2),
                "ada": ("2025-12-10 08:00:00", 0.5)}


def build_zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, (data, _) in entries.items():
            zf.writestr(name, data)
    return path


def tree_hashes(root, skip=()):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.relative_to(root).parts[0] not in skip}


def run(args, cwd, env, check=True):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def new_course(path, empty_gradebook):
    """A course root: source/, release/, the course's config, with the due dates above, and an
    empty gradebook (conftest's ``empty_gradebook``)."""
    empty_gradebook(path / "gradebook.db")
    return course_copy(path, config=f"c.DueDates.dates = {DUE!r}\n")


def collect(course, env, lms, assignment, zip_path, *extra):
    """What `make collect` runs."""
    archive = course / "downloaded" / assignment / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    shutil.copy(zip_path, archive)
    return nbgrader("zip_collect", assignment, "--force",
                    f"--collector=backprop_course.grader.intake.lms.{lms}Collector", *extra, cwd=course, env=env)


def read_report(course, assignment):
    with open(course / "downloaded" / assignment / "collect_report.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


# --- the importers' rules ----------------------------------------------------------------

GRADE = re.compile(r"^(|-|\d+(\.\d{1,2})?)$")


def canvas_rules(rows, roster_ids):
    """Canvas's gradebook_importer.rb: a header whose first column holds "Student" and second
    "ID", the SIS columns, "Section" as the last student column; a student is found by ID
    (else a phantom student is made: so every ID must be a real Canvas user); a grade is a
    number with '.' or ',' decimals, or blank/'-' for no change."""
    header = rows[0]
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1]
    assert header[2:5] == ["SIS User ID", "SIS Login ID", "Section"]
    assert len(set(header)) == len(header)
    for row in rows[1:]:
        assert len(row) == len(header), row
        assert row[1] in roster_ids, f"{row[1]} is no Canvas user of the roster: Canvas would invent a student"
        assert all(GRADE.match(cell) for cell in row[5:]), row


def moodle_rules(rows, roster_emails):
    """Moodle's grade/import/csv load_data.php: one header row; the user is found by the
    column mapped to email (a row whose user is unknown stops the whole import); a grade is a
    number, or blank/'-' for no grade."""
    header = rows[0]
    assert "Email address" in header and len(set(header)) == len(header)
    email = header.index("Email address")
    # the review column (grader/review.py) is for the instructor: Moodle maps it to "ignore" by default
    grades = [i for i, name in enumerate(header) if i > email and not name.endswith(" feedback") and name != "review"]
    for row in rows[1:]:
        assert len(row) == len(header), row
        assert row[email] in roster_emails, f"{row[email]}: Moodle would stop the import here"
        assert all(GRADE.match(row[i]) for i in grades), row


# --- late penalty -------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, fraction", [
    (0, 0.0), (1, 0.1), (86400, 0.1), (86401, 0.2), (2.5 * 86400, 0.3), (5 * 86400, 0.5), (30 * 86400, 0.5)])
def test_penalty_is_ten_percent_a_day_begun_capped_at_half(seconds, fraction):
    plugin = LatePenalty()
    assert plugin.fraction(seconds) == pytest.approx(fraction)
    assert plugin.late_submission_penalty("x", 20.0, seconds) == pytest.approx(20.0 * fraction)


def test_penalty_follows_the_config():
    plugin = LatePenalty(per_day=0.25, max_fraction=1.0)
    assert plugin.fraction(3 * 86400) == pytest.approx(0.75)
    assert plugin.fraction(9 * 86400) == pytest.approx(1.0)


@pytest.mark.parametrize("text, utc", [
    ("2026-12-07 23:59:00 Europe/Berlin", datetime(2026, 12, 7, 22, 59)),
    ("2026-06-07 23:59 Europe/Berlin", datetime(2026, 6, 7, 21, 59)),      # summer time
    ("2026-12-07 23:59 UTC", datetime(2026, 12, 7, 23, 59)),
    ("2026-12-07T23:59:00+01:00", datetime(2026, 12, 7, 22, 59)),
    ("2026-12-07 23:59", datetime(2026, 12, 7, 23, 59)),
])
def test_due_dates_are_read_with_their_zone(text, utc):
    assert parse_due(text) == utc


@pytest.mark.parametrize("text", ["2026-12-07 23:59 Europe/Berln", "2026-12-07 11:59 PM", "next friday UTC"])
def test_a_due_date_that_cannot_be_read_is_an_error_not_utc(text):
    with pytest.raises(ValueError, match="is not a due date"):
        parse_due(text)


#: student -> (their timestamp.txt, what the DueDates step says of it: None when it is used)
TIMES = {"ada": (None, "there is none, and 01_neuron is due 2025-11-30 12:00:00 UTC"),
         "bob": ("0001-01-01 00:00:00", "0001-01-01 00:00:00 UTC is before 01_neuron was released (2025-11-16 09:00:00 UTC"),
         "cy": ("2024-12-31 23:59:59", "2024-12-31 23:59:59 UTC is before 01_neuron was released"),
         "dan": ("2099-01-01 00:00:00", "2099-01-01 00:00:00 UTC is after the submission was collected"),
         "eve": ("2025-12-01 10:00:00", None)}


def test_plain_nbgrader_autograde_refuses_a_time_that_cannot_be_right(tmp_path, nbgrader_env, monkeypatch, empty_gradebook):
    """Finding 8, for `nbgrader autograde` without the course's pipeline: the course's DueDates
    step, which runs in it, refuses what the pipeline refuses before grading (there, `collected`
    is the time of its timestamp.txt; here, now)."""
    from nbgrader.api import Gradebook
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Configurable

    from backprop_course.grader.intake.late import DueDates

    monkeypatch.setenv("PATH", nbgrader_env["PATH"])
    url = empty_gradebook(tmp_path / "gradebook.db")
    with Gradebook(url) as gb:
        gb.add_assignment("01_neuron")
        for student, (stamp, _) in TIMES.items():
            gb.add_student(student)
            gb.add_submission("01_neuron", student, **({"timestamp": stamp} if stamp else {}))
    exporter = Configurable(parent=Autograde(coursedir=CourseDirectory(root=str(tmp_path))))
    step = DueDates(parent=exporter, dates={"01_neuron": DUE["01_neuron"]}, released={"01_neuron": "2025-11-16 09:00 UTC"})
    for student, (_, said) in TIMES.items():
        resources = {"nbgrader": {"assignment": "01_neuron", "student": student, "db_url": url}}
        if said is None:
            step.preprocess(nbformat.v4.new_notebook(), resources)
        else:
            with pytest.raises(ValueError, match=re.escape(said)):
                step.preprocess(nbformat.v4.new_notebook(), resources)


# --- exports, from a gradebook built by hand ----------------------------------------------

@pytest.fixture(scope="module")
def gradebook(tmp_path_factory, nbgrader_env, empty_gradebook):
    """02_backprop (one notebook, 15 points) for: ada on time 12.5, grace 2 days late 15 (20 % off),
    alan on time 7.25, emmy nothing, guest (no LMS identity) 15."""
    from nbgrader.api import Gradebook

    os.environ["PATH"] = nbgrader_env["PATH"]  # nbgrader runs alembic
    gb = Gradebook(empty_gradebook(tmp_path_factory.mktemp("gradebook") / "gradebook.db"))
    gb.add_assignment("02_backprop", duedate="2026-12-07 22:59:00")
    gb.add_notebook("backprop", "02_backprop")
    gb.add_grade_cell("test_all", "backprop", "02_backprop", max_score=15, cell_type="code")
    for row in csv.DictReader(io.StringIO(ROSTER)):
        gb.add_student(row.pop("id"), **row)
    gb.add_student("guest", first_name="Gäst")
    for student, score, when in [("ada", 12.5, "2026-12-07 10:00:00"), ("grace", 15, "2026-12-09 21:59:00"),
                                 ("alan", 7.25, None), ("guest", 15, None)]:
        gb.add_submission("02_backprop", student, **({"timestamp": when} if when else {}))
        gb.find_grade("test_all", "backprop", "02_backprop", student).auto_score = score
        if student == "grace":
            late = gb.find_submission_notebook("backprop", "02_backprop", student)
            late.late_submission_penalty = LatePenalty().late_submission_penalty(student, score, 47 * 3600)
    gb.db.commit()
    yield gb
    gb.close()


def test_the_collect_report_is_utf_8_whatever_the_graders_locale(tmp_path, ascii_locale):
    write_report(tmp_path / "collect_report.csv", [Row("zoë_1_2_nb.ipynb", "refused", note="née")])
    assert (tmp_path / "collect_report.csv").read_bytes().decode("utf-8").splitlines()[1] == \
        "zoë_1_2_nb.ipynb,refused,,,,née"


def test_canvas_export_follows_canvas_rules(gradebook, tmp_path):
    plugin = CanvasExport(to=str(tmp_path / "canvas.csv"), columns={"02_backprop": "Backprop (4242)"})
    plugin.export(gradebook)
    rows = read_csv(tmp_path / "canvas.csv")
    canvas_rules(rows, {"101", "102", "103", "104"})
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Backprop (4242)"],
        ["Hopper, Jr., Grace", "102", "", "", "", "12"],     # 15 less 20 %
        ["Lovelace, Ada", "101", "", "", "", "12.5"],
        ["Noether, Emmy", "104", "", "", "", ""],            # nothing handed in: the grade stays as it is
        ["Türing, Álan", "103", "", "", "", "7.25"],
    ]
    assert list(plugin.left_out) == ["guest"] and "no lms_user_id" in plugin.left_out["guest"]
    assert '"Hopper, Jr., Grace"' in (tmp_path / "canvas.csv").read_text(encoding="utf-8")


def test_moodle_export_follows_moodle_rules(gradebook, tmp_path):
    plugin = MoodleExport(to=str(tmp_path / "moodle.csv"), missing="0")
    plugin.export(gradebook)
    rows = read_csv(tmp_path / "moodle.csv")
    moodle_rules(rows, {"ada@example.org", "grace@example.org", "alan@example.org", "emmy@example.org"})
    assert rows == [
        ["First name", "Last name", "Email address", "02_backprop", "02_backprop feedback", "review"],
        ["Grace", "Hopper, Jr.", "grace@example.org", "12", "late by 2 days (47.0 h): -3 points", ""],
        ["Ada", "Lovelace", "ada@example.org", "12.5", "", ""],
        ["Emmy", "Noether", "emmy@example.org", "0", "", ""],    # missing = "0" in this test's config
        ["Álan", "Türing", "alan@example.org", "7.25", "", ""],
    ]
    assert list(plugin.left_out) == ["guest"] and "no email" in plugin.left_out["guest"]


def test_grades_csv_keeps_its_columns_when_a_name_has_a_comma(gradebook, tmp_path):
    GradesCsv(to=str(tmp_path / "grades.csv")).export(gradebook)
    rows = read_csv(tmp_path / "grades.csv")
    assert all(len(row) == 12 for row in rows) and rows[0][-1] == "review"
    grace = next(dict(zip(rows[0], row)) for row in rows if row[3] == "grace")
    assert (grace["last_name"], grace["raw_score"], grace["late_submission_penalty"], grace["score"]) == \
        ("Hopper, Jr.", "15.0", "3.0", "12.0")


def test_points_are_written_as_lms_read_them():
    assert [points(v) for v in [15.0, 13.5, 7.125, 2 / 3, 0.0, -0.0, 1e6]] == \
        ["15", "13.5", "7.12", "0.67", "0", "0", "1000000"]


#: what a spreadsheet evaluates at the start of a cell (OWASP, "CSV Injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def no_formula(rows):
    """Every cell is a number, or text a spreadsheet shows as text."""
    for row in rows:
        for cell in row:
            assert NUMBER.fullmatch(cell) or not cell.startswith(FORMULA_START), (cell, row)


@pytest.fixture(scope="module")
def hostile_gradebook(tmp_path_factory, nbgrader_env, empty_gradebook):
    """02_backprop for students whose folder name, names and emails a spreadsheet would run, and
    one with a negative raw score (a number: it must stay one)."""
    from nbgrader.api import Gradebook

    os.environ["PATH"] = nbgrader_env["PATH"]
    gb = Gradebook(empty_gradebook(tmp_path_factory.mktemp("hostile") / "gradebook.db"))
    gb.add_assignment("02_backprop", duedate="2025-12-07 22:59:00")
    gb.add_notebook("backprop", "02_backprop")
    gb.add_grade_cell("test_all", "backprop", "02_backprop", max_score=15, cell_type="code")
    gb.add_student("=SUM(1+2)", first_name="+cmd|' /C calc'!A0", last_name="-2+3", email="eve@example.org",
                   lms_user_id="105")
    gb.add_student("mallory", first_name="@SUM(1)", last_name="\tHYPERLINK", email="=1+1@example.org",
                   lms_user_id="\r=1+1")
    gb.add_student("neg", first_name="Ned", last_name="Neg", email="neg@example.org", lms_user_id="106")
    for student, score in [("=SUM(1+2)", 12.5), ("mallory", 15), ("neg", -2)]:
        gb.add_submission("02_backprop", student, timestamp="2025-12-07 10:00:00")
        gb.find_grade("test_all", "backprop", "02_backprop", student).auto_score = score
    gb.db.commit()
    yield gb
    gb.close()


def test_no_cell_of_grades_csv_or_an_lms_export_is_a_formula(hostile_gradebook, tmp_path):
    """Finding 7: a student folder named =SUM(1+2) went as-is into grades.csv and the exports. Text
    gets a leading ' (OWASP's advice); a number, a negative grade too, stays a number; an LMS
    identity that would be a formula leaves that student out, named, with the reason."""
    GradesCsv(to=str(tmp_path / "grades.csv")).export(hostile_gradebook)
    rows = read_csv(tmp_path / "grades.csv")
    no_formula(rows)
    table = {row[3]: dict(zip(rows[0], row)) for row in rows[1:]}
    assert set(table) == {"'=SUM(1+2)", "mallory", "neg"}
    eve = table["'=SUM(1+2)"]
    assert (eve["first_name"], eve["last_name"], eve["score"]) == ("'+cmd|' /C calc'!A0", "'-2+3", "12.5")
    assert (table["mallory"]["first_name"], table["mallory"]["last_name"], table["mallory"]["email"]) == \
        ("'@SUM(1)", "'\tHYPERLINK", "'=1+1@example.org")
    assert table["neg"]["raw_score"] == "-2.0"        # a negative grade is a number, not a formula

    canvas = CanvasExport(to=str(tmp_path / "canvas.csv"))
    canvas.export(hostile_gradebook)
    rows = read_csv(tmp_path / "canvas.csv")
    no_formula(rows)
    canvas_rules(rows, {"105", "106"})
    assert rows[1:] == [["'-2+3, +cmd|' /C calc'!A0", "105", "", "", "", "12.5"], ["Neg, Ned", "106", "", "", "", "0"]]
    assert "not a Canvas user id" in canvas.left_out["mallory"]

    moodle = MoodleExport(to=str(tmp_path / "moodle.csv"))
    moodle.export(hostile_gradebook)
    rows = read_csv(tmp_path / "moodle.csv")
    no_formula(rows)
    moodle_rules(rows, {"eve@example.org", "neg@example.org"})
    assert [row[:3] for row in rows[1:]] == [["'+cmd|' /C calc'!A0", "'-2+3", "eve@example.org"],
                                             ["Ned", "Neg", "neg@example.org"]]
    assert "=1+1@example.org" in moodle.left_out["mallory"] and "formula" in moodle.left_out["mallory"]


def export_course(path, students, empty_gradebook):
    """A course root whose gradebook holds 01_neuron graded for ``students`` ({id: lms_user_id or None})."""
    from nbgrader.api import Gradebook

    path.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", path)
    with Gradebook(empty_gradebook(path / "gradebook.db")) as gb:
        gb.add_assignment("01_neuron")
        gb.add_notebook("neuron", "01_neuron")
        gb.add_grade_cell("test_all", "neuron", "01_neuron", max_score=9, cell_type="code")
        for student, lms_id in students.items():
            gb.add_student(student, first_name=student.title(), **({"lms_user_id": lms_id} if lms_id else {}))
            gb.add_submission("01_neuron", student)
            gb.find_grade("test_all", "neuron", "01_neuron", student).auto_score = 9
        gb.db.commit()
    return path


def test_an_export_names_each_student_left_out_and_an_export_of_nobody_fails(tmp_path, capsys, monkeypatch, nbgrader_env,
                                                                              empty_gradebook):
    """Finding 10: `make export LMS=canvas` on a class without a roster wrote a header-only CSV and
    said only "written: …". Now each student left out is named with the reason and what to do,
    where the user looks; an export of nobody writes nothing and exits non-zero."""
    from backprop_course.grader import cli

    monkeypatch.setenv("PATH", nbgrader_env["PATH"])
    nobody = export_course(tmp_path / "nobody", {"ada": None, "grace": None}, empty_gradebook)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--root", str(nobody), "export", "--lms", "canvas"])
    said = str(stopped.value) + capsys.readouterr().err
    assert stopped.value.code not in (None, 0), said
    assert not (nobody / "canvas_grades.csv").exists()
    for student in ("ada", "grace"):
        assert re.search(rf"{student}: no lms_user_id", said), said
    assert "nbgrader db student import" in said

    some = export_course(tmp_path / "some", {"ada": "101", "grace": None}, empty_gradebook)
    cli.main(["--root", str(some), "export", "--lms", "canvas"])
    out = capsys.readouterr()
    assert read_csv(some / "canvas_grades.csv")[1:] == [["Ada", "101", "", "", "", "9"]]
    assert re.search(r"left out.*\n.*grace: no lms_user_id", out.out + out.err), out
    assert "nbgrader db student import" in out.out + out.err


# --- collect only (no grading) --------------------------------------------------------------

@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    folder = tmp_path_factory.mktemp("downloads")
    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (folder / "worksheet.csv").write_text(WORKSHEET, encoding="utf-8")
    return {"canvas": build_zip(folder / "course-02_backprop submissions.zip", CANVAS),
            "moodle": build_zip(folder / "C1-Neuron-17.zip", MOODLE), "folder": folder}


def expected_rows(entries, zip_path):
    """What the report must say of each entry: (file as reported, status, student, note fragment)."""
    rows = []
    for name, (_, (status, student, note)) in entries.items():
        name = name.filename if isinstance(name, zipfile.ZipInfo) else name
        file = f"{zip_path.name}/{printable(name)}" if status == "refused" else f"{zip_path.stem}/{name}"
        rows.append((file, status, student, note))
    return rows


def check_report(report, entries, zip_path):
    by_file = {row["file"]: row for row in report}
    for file, status, student, note in expected_rows(entries, zip_path):
        assert file in by_file, f"{file} is not in the collect report: dropped silently"
        row = by_file[file]
        assert (row["status"], row["student"]) == (status, student) or (status != "collected" and not student
                                                                          and row["status"] == status), (file, row)
        assert note in row["note"], (file, row["note"])


@pytest.fixture(scope="module")
def collected(tmp_path_factory, downloads, nbgrader_env, empty_gradebook):
    """Both downloads collected into one course (the roster imported first, as `make collect ROSTER=…`)."""
    course = new_course(tmp_path_factory.mktemp("course"), empty_gradebook)
    before = tree_hashes(course, skip={"gradebook.db"})  # collect adds the students to the gradebook
    nbgrader("db", "student", "import", str(downloads["folder"] / "roster.csv"), cwd=course, env=nbgrader_env)
    logs = {"canvas": collect(course, nbgrader_env, "Canvas", "02_backprop", downloads["canvas"]),
            "moodle": collect(course, nbgrader_env, "Moodle", "01_neuron", downloads["moodle"],
                              f"--MoodleCollector.worksheet={downloads['folder'] / 'worksheet.csv'}",
                              "--MoodleCollector.timezone=Europe/London")}
    return course, before, logs


def test_canvas_download_lands_in_submitted(collected, downloads):
    course, _, logs = collected
    submitted = course / "submitted"
    assert (submitted / "ada" / "02_backprop" / "backprop.ipynb").read_bytes() == CANVAS[canvas_name(
        "Lovelace, Ada", 101, 9001, "backprop.ipynb")][0]
    # grace's latest upload, renamed; her LATE mark kept as one second past the due date
    assert (submitted / "grace" / "02_backprop" / "backprop.ipynb").read_bytes() == CANVAS[canvas_name(
        "Hopper, Jr., Grace", 102, 9007, "backprop-1.ipynb", late=True)][0]
    assert (submitted / "grace" / "02_backprop" / "timestamp.txt").read_text() == "2025-12-07 22:59:01"
    # Canvas's on time (no LATE mark), collected after the due date: recorded as the due date
    assert (submitted / "ada" / "02_backprop" / "timestamp.txt").read_text() == "2025-12-07 22:59:00"
    assert not (submitted / "alan" / "02_backprop").exists()
    report = read_report(course, "02_backprop")
    check_report(report, CANVAS, downloads["canvas"])
    assert {"status": "no submission", "student": "emmy"}.items() <= next(r for r in report if r["student"] == "emmy").items()
    assert "unknown student: Canvas user 999" in logs["canvas"]


def test_moodle_download_lands_in_submitted(collected, downloads):
    course, _, _ = collected
    submitted = course / "submitted"
    for student, (when, _) in MOODLE_TIMES.items():
        folder = submitted / student / "01_neuron"
        assert sorted(p.name for p in folder.iterdir()) == ["neuron.ipynb", "timestamp.txt"]
        assert (folder / "timestamp.txt").read_text() == when
    assert (submitted / "grace" / "01_neuron" / "neuron.ipynb").read_bytes() == NOTEBOOK_01["right"]
    assert (submitted / "ada" / "01_neuron" / "neuron.ipynb").read_bytes() == NOTEBOOK_01["wrong"]
    report = read_report(course, "01_neuron")
    check_report(report, MOODLE, downloads["moodle"])
    assert any(r["status"] == "no submission" and r["student"] == "emmy" for r in report)


def test_collect_writes_nothing_outside_submitted(collected, tmp_path_factory):
    course, before, _ = collected
    assert tree_hashes(course, skip={"submitted", "downloaded", "gradebook.db"}) == before
    assert not any(course.parent.rglob(ESCAPE)) and not Path("/tmp", ESCAPE).exists()
    for path in course.rglob("*"):
        assert not path.is_symlink(), path
        assert "\n" not in path.name


def test_the_same_file_twice_is_no_conflict_but_two_different_files_are(tmp_path, nbgrader_env, downloads, empty_gradebook):
    """Moodle gives no upload order: two different notebooks with the same rank are both listed, neither
    collected; the same notebook in two downloads is one submission."""
    course = new_course(tmp_path / "course", empty_gradebook)
    same = {moodle_name("Ada Lovelace", 7, "neuron.ipynb"): (NOTEBOOK_01["right"], None)}
    build_zip(tmp_path / "first.zip", same)
    build_zip(tmp_path / "second.zip", same)
    build_zip(tmp_path / "third.zip", {moodle_name("Grace Hopper", 8, "neuron.ipynb"): (NOTEBOOK_01["right"], None),
                                       moodle_name("Grace Hopper", 8, "lab.ipynb"): (NOTEBOOK_01["wrong"], None)})
    build_zip(tmp_path / "fourth.zip", {moodle_name("Grace Hopper", 8, "neuron.ipynb"): (NOTEBOOK_01["wrong"], None)})
    (tmp_path / "ws.csv").write_text("Identifier,Email address\nParticipant 7,ada@example.org\nParticipant 8,grace@example.org\n")
    archive = course / "downloaded" / "01_neuron" / "archive"
    archive.mkdir(parents=True)
    for name in ("first", "second", "third"):  # downloaded earlier; `make collect` adds the fourth
        shutil.copy(tmp_path / f"{name}.zip", archive)
    collect(course, nbgrader_env, "Moodle", "01_neuron", tmp_path / "fourth.zip", f"--MoodleCollector.worksheet={tmp_path / 'ws.csv'}")
    report = read_report(course, "01_neuron")
    assert (course / "submitted" / "ada@example.org" / "01_neuron" / "neuron.ipynb").read_bytes() == NOTEBOOK_01["right"]
    assert not (course / "submitted" / "grace@example.org").exists()
    grace = [r for r in report if "Grace" in r["file"]]
    assert len(grace) == 3 and all(r["status"] == "not collected" for r in grace)
    assert sum("nothing in Moodle's download tells which is newest" in r["note"] for r in grace) == 2
    assert sum("wrong name" in r["note"] for r in grace) == 1


def roster_of(course, env, text):
    (course / "roster.csv").write_text(text, encoding="utf-8")
    nbgrader("db", "student", "import", str(course / "roster.csv"), cwd=course, env=env)


def test_a_canvas_name_that_reads_as_two_students_is_refused_naming_both(tmp_path, nbgrader_env, empty_gradebook):
    """Finding 9: Canvas's <name> part comes from the student's display name and may hold
    _<id>_<n>_: eve's late file read as ada's, who had sent nothing, and lost its LATE mark.
    Every reading of Canvas's format is tried; a name with two is collected for nobody."""
    course = new_course(tmp_path / "course", empty_gradebook)
    roster_of(course, nbgrader_env, ROSTER + "eve,Eve,Adams,eve@example.org,105\n")
    crafted = canvas_name("Eve_ 101_ 7_", 105, 9020, "backprop.ipynb", late=True)
    assert "_101_7_" in crafted and "_LATE_105_9020_" in crafted
    honest = canvas_name("Hopper, Jr., Grace", 102, 9021, "backprop.ipynb", late=True)
    build_zip(tmp_path / "download.zip", {crafted: (notebook("02_backprop", "02-correct-numpy"), None),
                                          honest: (notebook("02_backprop", "02-correct-loops"), None)})
    collect(course, nbgrader_env, "Canvas", "02_backprop", tmp_path / "download.zip")
    submitted = course / "submitted"
    assert not (submitted / "ada").exists() and not (submitted / "eve").exists()
    row = next(r for r in read_report(course, "02_backprop") if r["file"].endswith(crafted))
    assert row["status"] == "not collected" and row["student"] == ""
    assert "Canvas user 101 (ada)" in row["note"] and "Canvas user 105 (eve), LATE" in row["note"], row["note"]
    # a name with one reading is collected, its LATE mark kept
    assert (submitted / "grace" / "02_backprop" / "timestamp.txt").read_text() == "2025-12-07 22:59:01"


def test_one_canvas_id_twice_in_the_roster_is_refused_naming_both(tmp_path, nbgrader_env, empty_gradebook):
    course = new_course(tmp_path / "course", empty_gradebook)
    roster_of(course, nbgrader_env, ROSTER + "eve,Eve,Adams,eve@example.org,101\n")
    build_zip(tmp_path / "download.zip", {canvas_name("Lovelace, Ada", 101, 9001, "backprop.ipynb"):
                                          (notebook("02_backprop", "02-correct-numpy"), None)})
    collect(course, nbgrader_env, "Canvas", "02_backprop", tmp_path / "download.zip")
    assert not (course / "submitted").exists() or not any((course / "submitted").iterdir())
    (row,) = [r for r in read_report(course, "02_backprop") if r["status"] == "not collected"]
    assert "ada" in row["note"] and "eve" in row["note"] and "101" in row["note"], row["note"]


MOODLE_ROSTER = ROSTER + "eve,Eve,Adams,eve@example.org,105\n"
#: eve (participant 40) has renamed herself Ada Lovelace in Moodle, and uploaded a folder named as ada's
SAME_NAME = {moodle_name("Ada Lovelace", 33, "neuron.ipynb"): (NOTEBOOK_01["right"], None),
             moodle_name("Ada Lovelace", 40, "neuron.ipynb"): (NOTEBOOK_01["wrong"], None),
             moodle_name("Ada Lovelace", 40, "Ada Lovelace_33_assignsubmission_file/neuron.ipynb"): (NOTEBOOK_01["wrong"], None)}


def sheet(*rows):
    return "Identifier,Full name,Email address,Last modified (submission)\n" + "".join(
        f"Participant {n},{name},{email},\"Sunday, 30 November 2025, 11:00 AM\"\n" for n, name, email in rows)


def test_moodle_collects_by_participant_number_never_by_full_name(tmp_path, nbgrader_env, empty_gradebook):
    """Finding 9: two Moodle folders with one student's full name and no worksheet: neither was
    collected, the honest student's work lost. Moodle's folder names a student by full name and a
    participant number made for the assignment; only the grading worksheet maps that number to
    someone, so without it the collect stops, and with it each file goes to its own student."""
    course = new_course(tmp_path / "course", empty_gradebook)
    roster_of(course, nbgrader_env, MOODLE_ROSTER)
    build_zip(tmp_path / "download.zip", SAME_NAME)
    log = collect_failing(course, nbgrader_env, "Moodle", "01_neuron", tmp_path / "download.zip")
    assert "grading worksheet" in log and "WORKSHEET=" in log, log
    assert not (course / "submitted").exists()

    (tmp_path / "ws.csv").write_text(sheet((33, "Ada Lovelace", "ada@example.org"), (40, "Ada Lovelace", "eve@example.org")),
                                     encoding="utf-8")
    collect(course, nbgrader_env, "Moodle", "01_neuron", tmp_path / "download.zip", f"--MoodleCollector.worksheet={tmp_path / 'ws.csv'}")
    submitted = course / "submitted"
    assert (submitted / "ada" / "01_neuron" / "neuron.ipynb").read_bytes() == NOTEBOOK_01["right"]
    assert (submitted / "eve" / "01_neuron" / "neuron.ipynb").read_bytes() == NOTEBOOK_01["wrong"]
    nested = next(r for r in read_report(course, "01_neuron") if r["file"].endswith("_33_assignsubmission_file/neuron.ipynb")
                  and "_40_" in r["file"])
    assert nested["student"] == "eve", nested   # a folder of eve's named as ada's is eve's


def test_a_worksheet_that_does_not_match_the_download_is_refused_naming_both(tmp_path, nbgrader_env, empty_gradebook):
    """The participant number is the id, the full name beside it must agree: a worksheet of
    another assignment, or one email for two participants, names someone else."""
    course = new_course(tmp_path / "course", empty_gradebook)
    roster_of(course, nbgrader_env, MOODLE_ROSTER)
    build_zip(tmp_path / "download.zip", {moodle_name("Ada Lovelace", 33, "neuron.ipynb"): (NOTEBOOK_01["right"], None),
                                          moodle_name("Eve Adams", 40, "neuron.ipynb"): (NOTEBOOK_01["wrong"], None),
                                          moodle_name("Álan Türing", 41, "neuron.ipynb"): (NOTEBOOK_01["wrong"], None)})
    (tmp_path / "ws.csv").write_text(sheet((33, "Grace Hopper", "grace@example.org"), (40, "Eve Adams", "alan@example.org"),
                                           (41, "Álan Türing", "alan@example.org")), encoding="utf-8")
    collect(course, nbgrader_env, "Moodle", "01_neuron", tmp_path / "download.zip", f"--MoodleCollector.worksheet={tmp_path / 'ws.csv'}")
    assert not (course / "submitted").exists() or not any((course / "submitted").iterdir())
    notes = {r["file"].split("/")[1]: r["note"] for r in read_report(course, "01_neuron") if r["file"]}
    ada = notes["Ada Lovelace_33_assignsubmission_file"]
    assert "Ada Lovelace" in ada and "Grace Hopper" in ada, ada
    for folder in ("Eve Adams_40_assignsubmission_file", "Álan Türing_41_assignsubmission_file"):
        assert "participant 40" in notes[folder] and "participant 41" in notes[folder], notes[folder]


def collect_failing(course, env, lms, assignment, zip_path, *extra):
    archive = course / "downloaded" / assignment / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    shutil.copy(zip_path, archive)
    return nbgrader("zip_collect", assignment, "--force", f"--collector=backprop_course.grader.intake.lms.{lms}Collector",
                    *extra, cwd=course, env=env, retcode=1)


def test_an_assignment_with_nothing_released_stops_naming_those_there_are(tmp_path, nbgrader_env, empty_gradebook):
    course = new_course(tmp_path / "course", empty_gradebook)
    build_zip(tmp_path / "download.zip", {canvas_name("Lovelace, Ada", 101, 9001, "backprop.ipynb"): (b"{}", None)})
    log = collect_failing(course, nbgrader_env, "Canvas", "02_backpro", tmp_path / "download.zip")
    assert ("No released notebook for '02_backpro' in release/ (assignments: 01_neuron, 02_backprop, 03_vectorised, "
            "04_autograd): is the assignment's name right?") in log, log
    shutil.rmtree(course / "release")
    (course / "release").mkdir()
    log = collect_failing(course, nbgrader_env, "Canvas", "02_backprop", tmp_path / "download.zip")
    assert "No released notebook for '02_backprop' in release/ (assignments: none): is the assignment's name right?" in log


def test_the_report_and_the_log_say_of_each_file_what_became_of_it_word_for_word(tmp_path, nbgrader_env, empty_gradebook):
    course = new_course(tmp_path / "course", empty_gradebook)
    roster_of(course, nbgrader_env, MOODLE_ROSTER)
    ada, pdf, archive = (canvas_name("Lovelace, Ada", 101, 9001, "backprop-1.ipynb", late=True),
                         canvas_name("Türing, Álan", 103, 9003, "notes.pdf"), canvas_name("Türing, Álan", 103, 9011, "work.zip"))
    older = canvas_name("Lovelace, Ada", 101, 9000, "backprop.ipynb")
    grace = canvas_name("Hopper, Jr., Grace", 102, 9050, "backprop.ipynb")
    two_ways = canvas_name("Eve_ 101_ 7_", 105, 9020, "backprop.ipynb", late=True)
    build_zip(tmp_path / "dl.zip", {ada: (notebook("02_backprop", "02-correct-numpy"), None), older: (b"{}", None), grace: (b"{}", None), pdf: (b"%PDF", None),
                                    archive: (zipped("backprop.ipynb", b"{}"), None), "backprop.ipynb": (b"{}", None),
                                    two_ways: (b"{}", None), "../up.ipynb": (b"{}", None)})
    log = collect(course, nbgrader_env, "Canvas", "02_backprop", tmp_path / "dl.zip")
    report = course / "downloaded" / "02_backprop" / "collect_report.csv"
    assert report.read_bytes().startswith(b"file,status,student,notebook,timestamp,note\r\n")
    rows = sorted(tuple(row.values()) for row in read_report(course, "02_backprop"))
    absent = "in the roster, no notebook in the Canvas download"
    assert rows == sorted([
        (f"dl/{ada}", "collected", "ada", "backprop.ipynb", "2025-12-07 22:59:01 UTC",
         "Canvas marks it LATE without a time: counted as late by less than a day; renamed from backprop-1.ipynb"),
        (f"dl/{older}", "not collected", "ada", "backprop.ipynb", "2025-12-07 22:59:00 UTC", f"an older upload: dl/{ada} is newer"),
        (f"dl/{grace}", "collected", "grace", "backprop.ipynb", "2025-12-07 22:59:00 UTC", ""),
        (f"dl/{pdf}", "not collected", "", "", "", "not a notebook"),
        (f"dl/{archive}", "not collected", "", "", "", "an archive inside the download, not unpacked: ask for the notebook itself"),
        ("dl/backprop.ipynb", "not collected", "", "", "", "the name does not follow Canvas's pattern"),
        (f"dl/{two_ways}", "not collected", "", "", "", "ambiguous: Canvas's name reads as a file of Canvas user 101 (ada) "
         "or of Canvas user 105 (eve), LATE: if you know whose it is, put it in submitted/ yourself"),
        ("dl.zip/../up.ipynb", "refused", "", "", "", "'..' or '.' in the path"),
        *[("", "no submission", student, "", "", absent) for student in ("alan", "emmy", "eve")]])
    assert log.count("refused: dl.zip/../up.ipynb: '..' or '.' in the path") == 1   # the extractor's line, not twice
    lines = log.splitlines()

    def logged(message):   # a whole line of nbgrader's log: "[ZipCollectApp | LEVEL] message"
        return any(line.endswith("] " + message) for line in lines)
    assert logged(f"collected: dl/{ada} -> ada/backprop.ipynb (Canvas marks it LATE without a time: counted as late by "
                  "less than a day; renamed from backprop-1.ipynb)")
    assert logged(f"collected: dl/{grace} -> grace/backprop.ipynb")
    assert logged(f"not collected: dl/{pdf}: not a notebook") and logged(f"no submission: emmy: {absent}")
    assert logged(f"2 notebook(s) collected for 2 student(s); 6 file(s) not collected; 3 roster student(s) without a "
                  f"submission. The list: {report}")


def test_a_student_id_that_is_no_safe_folder_name_is_not_collected(tmp_path, nbgrader_env, empty_gradebook):
    """Without emails in the roster, Moodle's worksheet address is the student id: one that nbgrader
    would take for a path or a pattern is refused, not made a folder."""
    course = new_course(tmp_path / "course", empty_gradebook)
    build_zip(tmp_path / "dl.zip", {moodle_name("Ada Lovelace", 33, "neuron.ipynb"): (NOTEBOOK_01["right"], None)})
    (tmp_path / "ws.csv").write_text(sheet((33, "Ada Lovelace", "../ada@example.org")), encoding="utf-8")
    collect(course, nbgrader_env, "Moodle", "01_neuron", tmp_path / "dl.zip", f"--MoodleCollector.worksheet={tmp_path / 'ws.csv'}")
    (row,) = read_report(course, "01_neuron")
    assert (row["status"], row["note"]) == ("not collected", "the student id '../ada@example.org' is not a safe folder name")
    assert not (course / "submitted").exists() and not (course.parent / "ada@example.org").exists()


def test_without_a_due_date_nothing_records_a_time(tmp_path, nbgrader_env, empty_gradebook):
    course = new_course(tmp_path / "course", empty_gradebook)   # 03_vectorised has no due date
    build_zip(tmp_path / "dl.zip", {canvas_name("Lovelace, Ada", 101, 9001, "vectorised.ipynb"): (b"{}", None)})
    collect(course, nbgrader_env, "Canvas", "03_vectorised", tmp_path / "dl.zip")
    assert sorted(p.name for p in (course / "submitted" / "101" / "03_vectorised").iterdir()) == ["vectorised.ipynb"]


def test_on_time_means_the_collection_in_utc_whole_seconds_and_nbgraders_own_extractor_works_too(
        tmp_path, nbgrader_env, empty_gradebook, monkeypatch):
    """Canvas's file without a LATE mark, collected before its due date: the time recorded is the
    collection's, in UTC whatever the grader's zone (here Asia/Tokyo), to the second as nbgrader
    writes it. nbgrader's own extractor, which lists no refusals, can stand in for the course's."""
    empty_gradebook(tmp_path / "course" / "gradebook.db")
    course = course_copy(tmp_path / "course", config='c.DueDates.dates = {"02_backprop": "2099-01-01 00:00:00 UTC"}\n')
    build_zip(tmp_path / "download.zip", {canvas_name("Lovelace, Ada", 101, 9001, "backprop.ipynb"):
                                          (notebook("02_backprop", "02-correct-numpy"), None)})
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        before = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        collect(course, nbgrader_env, "Canvas", "02_backprop", tmp_path / "download.zip",
                "--extractor=nbgrader.plugins.ExtractorPlugin")
        after = datetime.now(timezone.utc).replace(tzinfo=None)
    finally:
        monkeypatch.undo()
        time.tzset()
    stamp = (course / "submitted" / "101" / "02_backprop" / "timestamp.txt").read_text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", stamp), stamp
    assert before <= datetime.fromisoformat(stamp) <= after
    assert [r["status"] for r in read_report(course, "02_backprop")] == ["collected"]


# --- end to end: collect, grade, export -----------------------------------------------------

@pytest.fixture(scope="module")
def graded(collected, nbgrader_env):
    course, _, _ = collected
    nbgrader("db", "student", "add", "guest", "--first-name=Gäst", cwd=course, env=nbgrader_env)
    graded = run([sys.executable, "-m", "backprop_course.grader.cli", "--root", str(course), "grade", "--jobs", "2"],
                 course, nbgrader_env)
    exports = {lms: nbgrader("export", f"--exporter=backprop_course.grader.results.export.{lms}Export", cwd=course, env=nbgrader_env)
               for lms in ("Canvas", "Moodle")}
    return course, graded, exports


def raw_scores(course):
    from nbgrader.api import Gradebook

    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {(s.student.id, a.name): (s.score, s.late_submission_penalty, s.timestamp, a.duedate)
                for a in gb.assignments for s in a.submissions}


@pytest.mark.needs_sandbox
def test_due_dates_from_the_config_reach_the_gradebook(graded):
    course, _, _ = graded
    scores = raw_scores(course)
    assert scores["ada", "02_backprop"][3] == datetime(2025, 12, 7, 22, 59)   # 23:59 Berlin = 22:59 UTC
    assert scores["alan", "01_neuron"][3] == datetime(2025, 11, 30, 12, 0)


@pytest.mark.needs_sandbox
def test_late_penalties_are_applied_as_configured(graded):
    course, _, _ = graded
    scores = raw_scores(course)
    assert scores["ada", "02_backprop"][:2] == (15.0, 0.0)          # on time: Canvas gave no LATE mark
    assert scores["grace", "02_backprop"][:2] == (15.0, 1.5)        # Canvas LATE: one day, 10 %
    assert scores["alan", "01_neuron"][:2] == (9.0, 0.0)            # a minute early
    assert scores["grace", "01_neuron"][:2] == (9.0, pytest.approx(1.8))   # 45.5 h late: two days, 20 %
    ada_raw, ada_penalty = scores["ada", "01_neuron"][:2]
    assert 0 < ada_raw < 9.0 and ada_penalty == pytest.approx(0.5 * ada_raw)   # 10 days late: capped at 50 %


@pytest.mark.needs_sandbox
def test_grades_csv_shows_the_penalty(graded):
    course, _, _ = graded
    rows = read_csv(course / "grades.csv")
    table = {(r[3], r[0]): dict(zip(rows[0], r)) for r in rows[1:]}
    assert all(len(r) == 12 for r in rows) and rows[0][-1] == "review"
    grace = table["grace", "02_backprop"]
    assert (grace["last_name"], grace["raw_score"], grace["late_submission_penalty"], grace["score"]) == \
        ("Hopper, Jr.", "15.0", "1.5", "13.5")


@pytest.mark.needs_sandbox
def test_canvas_and_moodle_exports_of_the_graded_class(graded):
    course, _, exports = graded
    scores = raw_scores(course)
    ada_01 = points(scores["ada", "01_neuron"][0] * 0.5)
    canvas = read_csv(course / "canvas_grades.csv")
    canvas_rules(canvas, {"101", "102", "103", "104"})
    # 03_vectorised and 04_autograd are in source/ but nobody handed them in: their columns are there, and empty
    assert canvas == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "01_neuron", "02_backprop", "03_vectorised",
         "04_autograd"],
        ["Hopper, Jr., Grace", "102", "", "", "", "7.2", "13.5", "", ""],
        ["Lovelace, Ada", "101", "", "", "", ada_01, "15", "", ""],
        ["Noether, Emmy", "104", "", "", "", "", "", "", ""],
        ["Türing, Álan", "103", "", "", "", "9", "", "", ""],
    ]
    moodle = read_csv(course / "moodle_grades.csv")
    moodle_rules(moodle, {"ada@example.org", "grace@example.org", "alan@example.org", "emmy@example.org"})
    rows = {row[2]: row for row in moodle[1:]}
    assert moodle[0] == ["First name", "Last name", "Email address", "01_neuron", "01_neuron feedback",
                         "02_backprop", "02_backprop feedback", "03_vectorised", "03_vectorised feedback",
                         "04_autograd", "04_autograd feedback", "review"]
    # grace and alan handed in the same notebook for 01_neuron: the review column says so (grader/review.py)
    assert rows["grace@example.org"][3:] == ["7.2", "late by 2 days (45.5 h): -1.8 points", "13.5",
                                             "late by 1 day (1 s): -1.5 points", "", "", "", "",
                                             "01_neuron: similar to alan (100 %) (see report.html)"]
    assert rows["ada@example.org"][3] == ada_01 and rows["ada@example.org"][4].startswith("late by 10 days")
    assert rows["ada@example.org"][-1] == ""
    assert rows["alan@example.org"][3:] == ["9", "", "", "", "", "", "", "", "01_neuron: similar to grace (100 %) (see report.html)"]
    for log in exports.values():
        assert "not exported: guest" in log


def test_the_extractor_refuses_loose_files_by_the_same_rules_as_zip_entries(tmp_path, caplog):
    """One set of rules for what a student sends: a loose file of a download with an odd name,
    or that is a link or a FIFO, is refused, listed and logged (its name printable), like such an
    entry of a zip."""
    from backprop_course.grader.intake.extract import SafeExtractor

    archive, extracted = tmp_path / "archive", tmp_path / "extracted"
    archive.mkdir()
    (archive / "ada_1_backprop.ipynb").write_text("{}")
    (archive / "eve_2_back\nprop.ipynb").write_text("{}")
    os.symlink("/etc/shadow", archive / "mallory_3_backprop.ipynb")
    os.mkfifo(archive / "oscar_4_backprop.ipynb")
    extractor = SafeExtractor()
    extractor.log = logging.getLogger("test-extractor")   # traitlets' cached logger may not propagate
    with caplog.at_level(logging.WARNING, logger="test-extractor"):
        extractor.extract(str(archive), str(extracted))
    assert sorted(r.getMessage() for r in caplog.records if r.name == "test-extractor") == [
        "refused: eve_2_back\\nprop.ipynb: a control character or line break in the name",
        "refused: mallory_3_backprop.ipynb: not a regular file (a link or a special file)",
        "refused: oscar_4_backprop.ipynb: not a regular file (a link or a special file)"]
    refused = {row.file: row.note for row in extractor.refused}
    assert refused == {"eve_2_back\nprop.ipynb": "a control character or line break in the name",
                       "mallory_3_backprop.ipynb": "not a regular file (a link or a special file)",
                       "oscar_4_backprop.ipynb": "not a regular file (a link or a special file)"}
    assert sorted(p.name for p in extracted.iterdir()) == ["ada_1_backprop.ipynb"]


def test_the_extractor_unpacks_each_zip_lists_other_archives_and_copies_the_rest(tmp_path, caplog):
    from backprop_course.grader.intake.extract import SafeExtractor

    archive, extracted = tmp_path / "archive", tmp_path / "extracted"
    archive.mkdir()
    build_zip(archive / "Download.ZIP", {"ada_1_backprop.ipynb": (b"{}", None)})
    for name in ("more.tar.gz", "old.RAR"):
        (archive / name).write_bytes(b"\x1f\x8b")
    (archive / "bob_2_backprop.ipynb").write_text('{"bob": 1}')
    extractor = SafeExtractor()
    extractor.log = logging.getLogger("test-extractor")
    with caplog.at_level(logging.INFO, logger="test-extractor"):
        extractor.extract(str(archive), str(extracted))
    assert "Extracting Download.ZIP" in [r.getMessage() for r in caplog.records if r.name == "test-extractor"]
    assert {row.file: row.note for row in extractor.refused} == {
        "more.tar.gz": "an archive other than zip: not unpacked", "old.RAR": "an archive other than zip: not unpacked"}
    assert sorted(str(p.relative_to(extracted)) for p in extracted.rglob("*") if p.is_file()) == [
        "Download/ada_1_backprop.ipynb", "bob_2_backprop.ipynb"]
    assert (extracted / "bob_2_backprop.ipynb").read_text() == '{"bob": 1}'


def test_a_download_with_nothing_to_collect_still_reports_what_was_refused(tmp_path, nbgrader_env, empty_gradebook):
    """nbgrader calls no collector when nothing is left after extraction: the extractor's own
    report says why."""
    course = new_course(tmp_path / "course", empty_gradebook)
    build_zip(tmp_path / "dl.zip", {"../up.ipynb": (b"{}", None)})
    collect(course, nbgrader_env, "Canvas", "02_backprop", tmp_path / "dl.zip")
    assert [tuple(row.values()) for row in read_report(course, "02_backprop")] == [
        ("dl.zip/../up.ipynb", "refused", "", "", "", "'..' or '.' in the path")]


def test_the_extractor_lists_a_link_to_a_folder_and_follows_none(tmp_path):
    """A download folder may hold a link to a folder (anywhere: another course, /home): listed as
    refused, and nothing below it is copied."""
    from backprop_course.grader.intake.extract import SafeExtractor

    archive, extracted, elsewhere = tmp_path / "archive", tmp_path / "extracted", tmp_path / "elsewhere"
    (archive / "Ada Lovelace_1_assignsubmission_file").mkdir(parents=True)
    (archive / "Ada Lovelace_1_assignsubmission_file" / "neuron.ipynb").write_text("{}")
    elsewhere.mkdir()
    (elsewhere / "neuron.ipynb").write_text('{"secret": 1}')
    os.symlink(elsewhere, archive / "Eve Adams_2_assignsubmission_file")
    os.symlink(elsewhere, archive / "Ada Lovelace_1_assignsubmission_file" / "more")
    extractor = SafeExtractor()
    extractor.extract(str(archive), str(extracted))
    assert {row.file: (row.status, row.note) for row in extractor.refused} == {
        "Eve Adams_2_assignsubmission_file": ("refused", "a link to a folder: not followed"),
        "Ada Lovelace_1_assignsubmission_file/more": ("refused", "a link to a folder: not followed")}
    assert sorted(str(p.relative_to(extracted)) for p in extracted.rglob("*")) == [
        "Ada Lovelace_1_assignsubmission_file", "Ada Lovelace_1_assignsubmission_file/neuron.ipynb"]


def test_the_extractor_takes_its_caps_from_the_config(tmp_path):
    """c.SafeExtractor.max_file_mib, max_total_mib, max_entries and max_ratio are the caps of each
    archive, in MiB where they say so."""
    from backprop_course.grader.intake.extract import SafeExtractor

    archive = tmp_path / "archive"
    archive.mkdir()
    random = [os.urandom(MiB - 4096) for _ in range(3)]   # incompressible: counted by size, not ratio
    with zipfile.ZipFile(archive / "download.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.ipynb", os.urandom(MiB + 4096))
        for i, data in enumerate(random):
            zf.writestr(f"part{i}.ipynb", data)
        zf.writestr("zeros.ipynb", bytes(2 * MiB))          # compresses about 1000:1
        zf.writestr("small.ipynb", b"{}")
        zf.writestr("last.ipynb", b"{}")

    def refused(**caps):
        extractor = SafeExtractor(**caps)
        extractor.extract(str(archive), str(tmp_path / f"extracted-{len(list(tmp_path.iterdir()))}"))
        return {row.file.removeprefix("download.zip/"): row.note for row in extractor.refused}

    (bomb,) = refused().items()
    assert bomb[0] == "zeros.ipynb" and re.fullmatch(r"compressed 1\d\d\d:1, over 200:1 \(a zip bomb\?\)", bomb[1]), bomb
    assert refused(max_ratio=2000.0) == {}
    assert refused(max_file_mib=1, max_ratio=2000.0) == {"big.ipynb": "unpacks to 1 MiB, over the 1 MiB limit",
                                                         "zeros.ipynb": "unpacks to 2 MiB, over the 1 MiB limit"}
    assert refused(max_total_mib=3, max_ratio=2000.0) == {
        "part2.ipynb": "the archive unpacks to more than 3 MiB", "zeros.ipynb": "the archive unpacks to more than 3 MiB"}
    assert refused(max_entries=5, max_ratio=2000.0) == {"small.ipynb": "more than 5 entries in the archive",
                                                        "last.ipynb": "more than 5 entries in the archive"}


@pytest.mark.needs_sandbox
def test_make_grade_reviews_the_class(graded):
    """`backprop-course grade` reviews the class after grading: grace and alan handed in the same
    01_neuron, which its log, report.html and grades.csv's review column say (grader/review.py)."""
    course, log, _ = graded
    assert "review: 1 pair(s) of similar submissions, 0 submission(s) with integrity notes" in log.stdout
    section = (course / "report.html").read_text(encoding="utf-8").split('<h2 id="similar">', 1)[1]
    assert '<section class="pair" id="pair-01_neuron-1"' in section and "01_neuron: alan and grace" in section
    rows = {(r[3], r[0]): r[-1] for r in read_csv(course / "grades.csv")[1:]}
    assert rows["grace", "01_neuron"] == "similar to alan (100 %) (see report.html)" and rows["ada", "01_neuron"] == ""

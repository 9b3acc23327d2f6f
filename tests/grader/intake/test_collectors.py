"""backprop_course.grader.intake.lms, rule by rule: how Canvas's and Moodle's collectors read a file
name, find its student and choose among a student's files, on the smallest inputs that tell each
rule apart (test_lms.py collects whole downloads through nbgrader).

What the instructor reads (a refusal naming every candidate, why a file was not taken) is
compared word for word: it is how a wrong attribution is noticed and put right.
"""
from datetime import datetime

import pytest
from traitlets.config import Configurable

from backprop_course.grader.intake.lms import CanvasCollector, Found, MoodleCollector, normal
from backprop_course.grader.intake.roster import Participant, Roster

DUE = datetime(2025, 12, 7, 22, 59)
COLLECTED = datetime(2025, 12, 10, 9, 0)
NOW = datetime(2025, 12, 1, 9, 0)          # a collection before the due date


class Failed(Exception):
    """What the app's fail() raised, with its message."""


class App(Configurable):
    """The part of nbgrader's zip_collect app a collector calls before its plan."""

    def fail(self, message):
        raise Failed(message)


def roster(by_lms_id=None, by_email=None):
    ids = sorted({s for table in (by_lms_id or {}, by_email or {}) for students in table.values() for s in students})
    return Roster(ids=ids, by_lms_id=by_lms_id or {}, by_email=by_email or {})


def ready(collector, due=DUE, collected=COLLECTED):
    """A collector as its plan leaves it before the first file: the assignment, its due date, the collection."""
    collector.assignment, collector.due, collector.collected = "02_backprop", due, collected
    return collector


def found(lms_id="101", name="backprop.ipynb", **fields):
    return Found(f"/x/{name}", name, lms_id, name, **fields)


# --- names -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, normalised, copy", [
    ("backprop.ipynb", "backprop.ipynb", 0),
    ("Backprop-1.IPYNB", "backprop.ipynb", 1),
    ("backprop (12).ipynb", "backprop.ipynb", 12),
    ("back-prop-3.ipynb", "back-prop.ipynb", 3),
    ("backprop (2) .ipynb", "backprop (2) .ipynb", 0),   # not a copy's mark: the space after it
    ("backprop(2).ipynb", "backprop(2).ipynb", 0),
])
def test_a_copy_number_is_the_lms_or_the_browsers_mark_only(name, normalised, copy):
    assert normal(name) == normalised
    assert found(name=name).copy_number == copy


def test_newness_is_time_then_upload_order_then_copy_number():
    older = found(timestamp=datetime(2025, 1, 1), order=9, name="backprop-9.ipynb")
    newer = found(timestamp=datetime(2025, 1, 2), order=1)
    assert older.newness < newer.newness
    assert found(order=2).newness > found(order=1, name="backprop-5.ipynb").newness
    assert found(name="backprop-2.ipynb").newness > found(name="backprop-1.ipynb").newness
    assert found().newness == (datetime.min, -1, 0)


# --- Canvas ----------------------------------------------------------------------------

def test_canvas_reads_name_late_mark_user_file_number_and_upload():
    canvas = CanvasCollector()
    expected = [{"late": None, "student_id": "101", "file_number": "9001", "file_id": "backprop.ipynb", "name": "lovelaceada"}]
    assert canvas.readings("lovelaceada_101_9001_backprop.ipynb") == expected
    assert canvas.readings("download/inner/lovelaceada_101_9001_backprop.ipynb") == expected
    assert canvas.readings("hopperjrgrace_LATE_102_9007_backprop-1.ipynb") == [
        {"late": "LATE", "student_id": "102", "file_number": "9007", "file_id": "backprop-1.ipynb", "name": "hopperjrgrace"}]


def test_canvas_reads_an_anonymous_file_only_without_a_name():
    canvas = CanvasCollector()
    assert canvas.readings("anon_x7Q_9001_backprop.ipynb") == [
        {"late": None, "student_id": "anon_x7Q", "file_number": "9001", "file_id": "backprop.ipynb", "name": ""}]
    assert canvas.readings("eve_anon_x7Q_9001_backprop.ipynb") == []


def test_canvas_reads_a_name_at_every_underscore_and_keeps_every_reading():
    readings = CanvasCollector().readings("eve_101_7_adams_105_9020_backprop.ipynb")
    assert [(r["name"], r["student_id"], r["file_number"], r["file_id"]) for r in readings] == [
        ("eve", "101", "7", "adams_105_9020_backprop.ipynb"),
        ("eve_101_7_adams", "105", "9020", "backprop.ipynb")]


@pytest.mark.parametrize("name", ["Eve_101_9020_backprop.ipynb", "eve adams_101_9020_backprop.ipynb",
                                  "backprop.ipynb", "eve_101_backprop.ipynb", "eve-101_9020_x.ipynb"])
def test_canvas_does_not_read_what_canvas_cannot_have_written(name):
    assert CanvasCollector().readings(name) == []


def test_a_canvas_candidate_names_the_user_and_the_roster_students():
    canvas = CanvasCollector()
    both = roster({"101": ["ada"], "102": ["grace", "twin"]})
    assert canvas.candidate({"student_id": "101"}, both) == "Canvas user 101 (ada)"
    assert canvas.candidate({"student_id": "102", "late": "LATE"}, both) == "Canvas user 102 (grace, twin), LATE"
    assert canvas.candidate({"student_id": "999", "late": None}, both) == "Canvas user 999 (not in the roster)"
    assert canvas.candidate({"student_id": "999"}, roster()) == "Canvas user 999 (999)"


def test_canvas_finds_the_student_by_the_rosters_lms_id():
    canvas = ready(CanvasCollector())
    ada = found("101")
    assert canvas.identify(ada, {"file_number": "9001", "late": None, "name": "lovelaceada"},
                           roster({"101": ["ada"]})) == ""
    assert (ada.student, ada.order, ada.timestamp, ada.notes) == ("ada", 9001, DUE, [])


def test_canvas_without_lms_ids_in_the_roster_takes_the_user_id_as_student():
    canvas = ready(CanvasCollector())
    eve = found("105")
    assert canvas.identify(eve, {"file_number": "12", "late": None, "name": "eve"}, roster()) == ""
    assert (eve.student, eve.order) == ("105", 12)


def test_canvas_refuses_an_unknown_or_a_doubled_user_naming_them():
    canvas = ready(CanvasCollector())
    table = roster({"101": ["ada"], "102": ["grace", "twin"]})
    groups = {"file_number": "1", "late": None, "name": "mallory"}
    assert canvas.identify(found("999"), groups, table) == \
        "unknown student: Canvas user 999 (mallory) is not in the roster"
    assert canvas.identify(found("999"), {**groups, "name": ""}, table) == \
        "unknown student: Canvas user 999 (anonymous) is not in the roster"
    assert canvas.identify(found("102"), groups, table) == ("ambiguous: Canvas user 102 (mallory) is grace and twin in "
                                                            "the roster: fix the roster (one id, one student)")


def test_canvas_late_mark_costs_one_day_and_on_time_is_the_due_date_or_the_collection():
    table = roster({"101": ["ada"]})
    late = found()
    ready(CanvasCollector()).identify(late, {"file_number": "1", "late": "LATE", "name": "a"}, table)
    assert late.timestamp == datetime(2025, 12, 7, 22, 59, 1)
    assert late.notes == ["Canvas marks it LATE without a time: counted as late by less than a day"]
    early = found()
    ready(CanvasCollector(), collected=NOW).identify(early, {"file_number": "1", "late": None, "name": "a"}, table)
    assert (early.timestamp, early.notes) == (NOW, [])


def test_canvas_late_mark_without_a_due_date_is_noted_not_timed():
    late, on_time = found(), found()
    canvas = ready(CanvasCollector(), due=None)
    canvas.identify(late, {"file_number": "1", "late": "LATE", "name": "a"}, roster({"101": ["ada"]}))
    canvas.identify(on_time, {"file_number": "1", "late": None, "name": "a"}, roster({"101": ["ada"]}))
    assert late.timestamp is None
    assert late.notes == ["Canvas marks it LATE; no due date for 02_backprop in c.DueDates.dates: no penalty"]
    assert (on_time.timestamp, on_time.notes) == (None, [])


# --- Moodle ----------------------------------------------------------------------------

def moodle(rows, due=DUE):
    """A Moodle collector whose worksheet held ``rows`` (Participant)."""
    collector = ready(MoodleCollector(), due=due)
    collector.participants, collector.by_email = {}, {}
    for row in rows:
        collector.participants.setdefault(row.number, []).append(row)
        collector.by_email.setdefault(row.email.casefold(), []).append(row)
    return collector


ADA = Participant("7", "ada@example.org", "Ada Lovelace", datetime(2025, 12, 1, 8, 0))


@pytest.mark.parametrize("relative, full_name, number, file", [
    ("Ada Lovelace_7_assignsubmission_file/neuron.ipynb", "Ada Lovelace", "7", "neuron.ipynb"),
    ("download/Ada Lovelace_7_assignsubmission_file/neuron.ipynb", "Ada Lovelace", "7", "neuron.ipynb"),
    ("download/Ada Lovelace_7_assignsubmission_file_/neuron.ipynb", "Ada Lovelace", "7", "neuron.ipynb"),
    ("download/Ada Lovelace_7_assignsubmission_file/work/deep/neuron.ipynb", "Ada Lovelace", "7", "neuron.ipynb"),
    ("download/Ada Lovelace_7_assignsubmission_file_neuron.ipynb", "Ada Lovelace", "7", "neuron.ipynb"),
    ("Ada Lovelace_7_assignsubmission_file_neuron.ipynb", "Ada Lovelace", "7", "neuron.ipynb"),
])
def test_moodle_reads_its_folder_and_flat_layouts(relative, full_name, number, file):
    assert MoodleCollector().readings(relative) == [{"full_name": full_name, "student_id": number, "file_id": file}]


@pytest.mark.parametrize("relative", ["neuron.ipynb", "a/b/c/Ada_7_assignsubmission_file/neuron.ipynb",
                                      "Ada Lovelace_x_assignsubmission_file/neuron.ipynb",
                                      "Ada Lovelace_7_assignsubmission_onlinetext/neuron.ipynb"])
def test_moodle_does_not_read_other_paths(relative):
    assert MoodleCollector().readings(relative) == []


def test_a_moodle_candidate_names_the_participant_and_the_worksheets_addresses():
    twice = moodle([ADA, Participant("7", "eve@example.org", "Eve", None)])
    assert twice.candidate({"student_id": "7", "full_name": "Ada Lovelace"}, roster()) == \
        "participant 7 (Ada Lovelace, ada@example.org, eve@example.org)"
    assert twice.candidate({"student_id": "8", "full_name": "Nobody"}, roster()) == "participant 8 (Nobody)"


def test_moodle_finds_the_student_by_the_worksheets_email_in_the_roster():
    collector, ada = moodle([ADA]), found("7")
    assert collector.identify(ada, {"full_name": "Ada  lovelace"}, roster(by_email={"ada@example.org": ["ada"]})) == ""
    assert (ada.student, ada.timestamp, ada.notes) == ("ada", ADA.timestamp, [])


def test_moodle_without_emails_in_the_roster_takes_the_email_as_student():
    ada = found("7")
    assert moodle([ADA]).identify(ada, {"full_name": "Ada Lovelace"}, roster()) == ""
    assert ada.student == "ada@example.org"


def test_moodle_refuses_a_participant_the_worksheet_does_not_settle():
    groups = {"full_name": "Ada Lovelace"}
    assert moodle([ADA]).identify(found("8"), {"full_name": "Eve"}, roster()) == \
        "unknown student: participant 8 (Eve) is not in the worksheet"
    assert moodle([ADA, ADA]).identify(found("7"), groups, roster()) == \
        "ambiguous: participant 7 is in the worksheet 2 times"
    assert moodle([ADA]).identify(found("7"), {"full_name": "Eve Adams"}, roster()) == (
        "ambiguous: participant 7 is Eve Adams in the download but Ada Lovelace (ada@example.org) in the worksheet: "
        "is the worksheet this assignment's, downloaded with the submissions?")
    shared = moodle([ADA, Participant("8", "ADA@example.org", "Eve", None)])
    assert shared.identify(found("7"), groups, roster()) == (
        "ambiguous: ada@example.org is the email address of participant 7 (Ada Lovelace) and of participant 8 (Eve) "
        "in the worksheet")
    blank = moodle([Participant("7", "", "Ada Lovelace", None)])
    assert blank.identify(found("7"), groups, roster()) == \
        "ambiguous: no email address is the email address of participant 7 (Ada Lovelace) in the worksheet"


def test_moodle_worksheet_without_names_trusts_the_number():
    ada = found("7")
    assert moodle([Participant("7", "ada@example.org", "", None)]).identify(ada, {"full_name": "Anyone"}, roster()) == ""
    assert ada.student == "ada@example.org"


def test_moodle_refuses_an_email_the_roster_does_not_have_once():
    table = roster(by_email={"ada@example.org": ["ada", "twin"], "eve@example.org": ["eve"]})
    assert moodle([ADA]).identify(found("7"), {"full_name": "Ada Lovelace"}, table) == (
        "ambiguous: ada@example.org (participant 7 (Ada Lovelace), in the worksheet) is ada and twin in the roster: "
        "fix the roster (one id, one student)")
    assert moodle([ADA]).identify(found("7"), {"full_name": "Ada Lovelace"}, roster(by_email={"x@y": ["x"]})) == (
        "unknown student: ada@example.org (participant 7 (Ada Lovelace), in the worksheet) is not in the roster")


def test_moodle_notes_a_time_it_could_not_read_and_a_missing_time_when_one_is_due():
    unread = Participant("7", "ada@example.org", "Ada Lovelace", None, note="the worksheet's time 'x' is not understood")
    ada = found("7")
    moodle([unread]).identify(ada, {"full_name": "Ada Lovelace"}, roster())
    assert ada.timestamp is None
    assert ada.notes == ["the worksheet's time 'x' is not understood",
                         "the worksheet gives no time, and 02_backprop has a due date: grading will refuse it until "
                         "its timestamp.txt says when it was submitted"]
    undue = found("7")
    moodle([unread], due=None).identify(undue, {"full_name": "Ada Lovelace"}, roster())
    assert undue.notes == ["the worksheet's time 'x' is not understood"]


def test_moodle_without_a_worksheet_or_with_an_unreadable_one_stops_saying_what_to_do(tmp_path):
    collector = MoodleCollector(parent=App())
    with pytest.raises(Failed) as failed:
        collector.plan()
    assert str(failed.value) == (
        "Moodle's download names each student by full name and a participant number made for this assignment; only "
        "the assignment's grading worksheet says who a number is. Download it (View all submissions > Download grading "
        "worksheet; it needs the \"Offline grading worksheet\" feedback type) and collect again with "
        "WORKSHEET=grading-worksheet.csv (--MoodleCollector.worksheet=…)")
    missing = MoodleCollector(parent=App(), worksheet=str(tmp_path / "nowhere.csv"))
    with pytest.raises(Failed, match=r"^The Moodle grading worksheet cannot be read: \[Errno 2\] No such file"):
        missing.plan()
    (tmp_path / "ws.csv").write_text("Identifier,Email address\n")
    zoned = MoodleCollector(parent=App(), worksheet=str(tmp_path / "ws.csv"), timezone="Mars/Olympus")
    with pytest.raises(Failed, match=r"^The Moodle grading worksheet cannot be read: unknown time zone 'Mars/Olympus'"):
        zoned.plan()


# --- one student's files ---------------------------------------------------------------

def choose(files, released=("backprop.ipynb",), collector=None):
    collector = collector or ready(CanvasCollector())
    return [(notebook, chosen and chosen.file, [(f.file, why) for f, why in others])
            for notebook, chosen, others in collector._choose(files, list(released))]


def sent(file, digest, **fields):
    return Found(f"/x/{file}", file, "101", file.rsplit("/", 1)[-1], digest=digest, **fields)


def test_the_newest_upload_wins_and_the_others_are_named():
    old, new, same = sent("a/backprop.ipynb", "1", order=1), sent("b/Backprop-1.ipynb", "2", order=2), \
        sent("c/backprop (2).ipynb", "2", order=2)
    assert choose([old, new]) == [("backprop.ipynb", "b/Backprop-1.ipynb",
                                   [("a/backprop.ipynb", "an older upload: b/Backprop-1.ipynb is newer")])]
    assert choose([old, new, same]) == [("backprop.ipynb", "c/backprop (2).ipynb", [
        ("b/Backprop-1.ipynb", "same content as c/backprop (2).ipynb"),
        ("a/backprop.ipynb", "an older upload: c/backprop (2).ipynb is newer")])]


def test_two_different_files_equally_new_are_both_left_for_the_instructor():
    one, two = sent("a/backprop.ipynb", "1"), sent("b/backprop.ipynb", "2")
    why = "2 different files for backprop.ipynb and nothing in Canvas's download tells which is newest"
    assert choose([one, two]) == [("backprop.ipynb", None, [("a/backprop.ipynb", why), ("b/backprop.ipynb", why)])]
    assert choose([one, sent("c/backprop.ipynb", "1")]) == [
        ("backprop.ipynb", "a/backprop.ipynb", [("c/backprop.ipynb", "same content as a/backprop.ipynb")])]


def test_the_only_notebook_sent_is_taken_under_another_name_when_one_is_released():
    assert choose([sent("a/draft.ipynb", "1"), sent("b/draft-1.ipynb", "1", order=3)]) == [
        ("backprop.ipynb", "b/draft-1.ipynb", [("a/draft.ipynb", "same content as b/draft-1.ipynb")])]
    wrong = "wrong name: {} is not a notebook of 02_backprop (expected backprop.ipynb)"
    assert choose([sent("a/draft.ipynb", "1"), sent("b/notes.ipynb", "2")]) == [
        ("", None, [("a/draft.ipynb", wrong.format("draft.ipynb"))]),
        ("", None, [("b/notes.ipynb", wrong.format("notes.ipynb"))])]
    assert choose([sent("a/draft.ipynb", "1"), sent("b/backprop.ipynb", "2")]) == [
        ("", None, [("a/draft.ipynb", wrong.format("draft.ipynb"))]), ("backprop.ipynb", "b/backprop.ipynb", [])]


def test_with_two_released_notebooks_a_stranger_is_never_guessed():
    wrong = "wrong name: draft.ipynb is not a notebook of 02_backprop (expected backprop.ipynb, lab.ipynb)"
    assert choose([sent("a/draft.ipynb", "1")], released=("backprop.ipynb", "lab.ipynb")) == [
        ("", None, [("a/draft.ipynb", wrong)])]
    assert choose([sent("a/LAB.ipynb", "1"), sent("b/backprop.ipynb", "2")], released=("backprop.ipynb", "lab.ipynb")) == [
        ("backprop.ipynb", "b/backprop.ipynb", []), ("lab.ipynb", "a/LAB.ipynb", [])]


def test_a_tie_in_one_notebook_leaves_the_next_notebook_chosen():
    why = "2 different files for backprop.ipynb and nothing in Canvas's download tells which is newest"
    assert choose([sent("a/backprop.ipynb", "1"), sent("b/backprop.ipynb", "2"), sent("c/lab.ipynb", "3")],
                  released=("backprop.ipynb", "lab.ipynb")) == [
        ("backprop.ipynb", None, [("a/backprop.ipynb", why), ("b/backprop.ipynb", why)]), ("lab.ipynb", "c/lab.ipynb", [])]

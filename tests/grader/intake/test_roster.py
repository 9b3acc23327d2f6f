"""backprop_course.grader.intake.roster: who is who in an LMS download, read in-process (test_lms.py
collects whole downloads through nbgrader in subprocesses, which a mutation run cannot see).

A wrong reading here files one student's work under another's name: each rule is shown on the
smallest input that tells it apart from its near neighbours.
"""
import time
from datetime import datetime

import pytest
from nbgrader.api import Gradebook

from backprop_course.grader.intake.roster import Participant, Roster, read_worksheet, same_name

COLUMNS = {"identifier": "Identifier", "email": "Email address", "name": "Full name",
           "modified": "Last modified (submission)"}


@pytest.fixture
def gradebook(tmp_path, empty_gradebook):
    url = empty_gradebook(tmp_path / "gradebook.db")
    with Gradebook(url) as book:
        book.add_student("ada", lms_user_id=" 101 ", email=" Ada@Example.org ")
        book.add_student("grace", lms_user_id="102", email="grace@example.org")
        book.add_student("twin", lms_user_id="102", email="ADA@example.org")
        book.add_student("nobody")                              # no LMS id, no email: in ids only
        book.add_student("blank", lms_user_id="", email="")
    return url


def test_the_roster_keys_students_by_stripped_lms_id_and_casefolded_email(gradebook):
    roster = Roster.from_gradebook(gradebook)
    assert sorted(roster.ids) == ["ada", "blank", "grace", "nobody", "twin"]
    assert roster.by_lms_id == {"101": ["ada"], "102": ["grace", "twin"]}
    assert roster.by_email == {"ada@example.org": ["ada", "twin"], "grace@example.org": ["grace"]}


def test_one_student_is_taken_none_or_two_are_named_never_picked():
    assert Roster.one(["ada"], "Canvas user 101") == ("ada", "")
    assert Roster.one([], "Canvas user 101") == ("", "unknown student: Canvas user 101 is not in the roster")
    assert Roster.one(["grace", "twin"], "Canvas user 102") == (
        "", "ambiguous: Canvas user 102 is grace and twin in the roster: fix the roster (one id, one student)")


def test_a_participant_is_named_by_number_and_by_name_when_there_is_one():
    assert str(Participant("7", "a@x", "Ada Lovelace", None)) == "participant 7 (Ada Lovelace)"
    assert str(Participant("7", "a@x", "", None)) == "participant 7"
    assert Participant("7", "a@x", "", None).note == ""


@pytest.mark.parametrize("a, b", [
    ("Ada Lovelace", "ada lovelace"),
    ("Grace Hopper, Jr.", "Grace Hopper Jr"),          # Moodle's clean_filename drops the comma and dot
    ("Mary_Ann Evans", "Mary Ann Evans"),              # and turns '_' into a space
    ("Ålan Türing", "A\u030alan Tu\u0308ring"),        # composed and decomposed spellings
    ("ÉMILE", "émile"),
    ("Straße", "STRASSE"),                             # casefold, not lower
    ("Agent 47", "agent47"),
])
def test_two_spellings_of_one_name_are_one(a, b):
    assert same_name(a, b)


@pytest.mark.parametrize("a, b", [
    ("Ada Lovelace", "Ada Lovelace 2"),
    ("Ada Lovelace", "Ada Lovelac"),
    ("Alan Turing", "Ålan Turing"),                    # a letter with a ring is another letter
    ("Agent 47", "Agent 48"),
])
def test_two_names_are_not_one(a, b):
    assert not same_name(a, b)


def worksheet(tmp_path, text, name="ws.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


HEADER = "Identifier,Full name,Email address,Last modified (submission)\n"


def test_a_worksheet_row_becomes_a_participant_with_its_time_in_utc(tmp_path):
    path = worksheet(tmp_path, HEADER + 'Participant 31, Álan Türing , alan@example.org ,"Sunday, 30 November 2025, 11:59 AM"\n')
    found = read_worksheet(path, COLUMNS, "Europe/Berlin")
    assert found == {"31": [Participant("31", "alan@example.org", "Álan Türing", datetime(2025, 11, 30, 10, 59))]}


def test_a_time_with_its_own_zone_keeps_it_and_a_naive_one_takes_the_worksheets(tmp_path, monkeypatch):
    """In UTC whatever the grader's own zone is (here Asia/Tokyo)."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    path = worksheet(tmp_path, HEADER + "Participant 1,A,a@x,2025-06-01 12:00 +0200\nParticipant 2,B,b@x,2025-06-01 12:00\n")
    try:
        found = read_worksheet(path, COLUMNS, "America/New_York")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert found["1"][0].timestamp == datetime(2025, 6, 1, 10, 0)
    assert found["2"][0].timestamp == datetime(2025, 6, 1, 16, 0)      # EDT is UTC-4
    assert found["2"][0].timestamp.tzinfo is None


def test_no_time_a_dash_and_an_unreadable_time(tmp_path):
    path = worksheet(tmp_path, HEADER + "Participant 1,A,a@x,-\nParticipant 2,B,b@x,\nParticipant 3,C,c@x, - \n"
                                        "Participant 4,D,d@x,when the cows come home\nParticipant 5,E,e@x,9999999999-01-01\n")
    found = read_worksheet(path, COLUMNS, "UTC")
    for number in "123":
        assert found[number][0].timestamp is None and found[number][0].note == ""
    for number, text in (("4", "when the cows come home"), ("5", "9999999999-01-01")):
        assert found[number][0].timestamp is None
        assert found[number][0].note == f"the worksheet's time {text!r} is not understood: no time recorded"


def test_the_participant_number_is_the_identifiers_last_digits(tmp_path):
    path = worksheet(tmp_path, HEADER + "Participant,C,c@x,\nParticipant 12 ,A,a@x,\n7 of 9 rows,D,d@x,\n"
                                        ",E,e@x,\nTeilnehmer/in 345,B,b@x,\n")
    found = read_worksheet(path, COLUMNS, "UTC")
    assert sorted(found) == ["12", "345"]


def test_short_and_long_rows_read_as_empty_cells_and_a_quoted_line_break_is_kept(tmp_path):
    path = worksheet(tmp_path, "Identifier,Email address\r\nParticipant 8\r\nParticipant 9,b@x,extra,cells\r\n"
                               'Participant 10,"c@x",\r\n', name="short.csv")
    assert read_worksheet(path, {"identifier": "Identifier", "email": "Email address", "modified": "When"}, "UTC") == {
        "8": [Participant("8", "", "", None)], "9": [Participant("9", "b@x", "", None)],
        "10": [Participant("10", "c@x", "", None)]}
    quoted = worksheet(tmp_path, HEADER.replace("\n", "\r\n") + 'Participant 7,"Ada\r\nLovelace",a@x,\r\n', name="q.csv")
    assert read_worksheet(quoted, COLUMNS, "UTC")["7"][0].name == "Ada\r\nLovelace"


def test_a_number_twice_keeps_both_rows_for_the_caller_to_refuse(tmp_path):
    path = worksheet(tmp_path, HEADER + "Participant 7,A,a@x,\nParticipant 7,B,b@x,\n")
    assert [p.email for p in read_worksheet(path, COLUMNS, "UTC")["7"]] == ["a@x", "b@x"]


def test_a_worksheet_without_name_or_time_columns_still_reads(tmp_path):
    path = worksheet(tmp_path, "\ufeffIdentifier,Email address\nParticipant 7,ada@example.org\n")
    assert read_worksheet(path, COLUMNS, "UTC") == {"7": [Participant("7", "ada@example.org", "", None)]}
    assert read_worksheet(path, {"identifier": "Identifier", "email": "Email address", "modified": "x"}, "UTC")["7"][0].name == ""


def test_a_worksheet_without_identifier_or_email_names_what_is_missing_and_the_setting(tmp_path):
    path = worksheet(tmp_path, "Kennung,E-Mail-Adresse\nTeilnehmer/in 7,ada@example.org\n")
    with pytest.raises(ValueError) as error:
        read_worksheet(path, COLUMNS, "UTC")
    message = str(error.value)
    assert message.startswith(f"{path}: no column 'Identifier', 'Email address' (columns: ['Kennung', 'E-Mail-Adresse'])")
    assert message.endswith("set c.MoodleCollector.worksheet_columns for another language")
    only_email = worksheet(tmp_path, "Identifier,Mail\nParticipant 7,ada@example.org\n", "two.csv")
    with pytest.raises(ValueError, match=r"no column 'Email address' \(columns"):
        read_worksheet(only_email, COLUMNS, "UTC")
    empty = worksheet(tmp_path, "", "empty.csv")
    with pytest.raises(ValueError, match=r"no column 'Identifier', 'Email address' \(columns: None\)"):
        read_worksheet(empty, COLUMNS, "UTC")


def test_an_unknown_time_zone_is_refused_by_name(tmp_path):
    path = worksheet(tmp_path, HEADER)
    with pytest.raises(ValueError, match=r"^unknown time zone 'Mars/Olympus' for the Moodle worksheet$"):
        read_worksheet(path, COLUMNS, "Mars/Olympus")

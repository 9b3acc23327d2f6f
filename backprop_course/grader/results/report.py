"""The grade report: what the class struggles with, in one self-contained HTML file.

Scores come from the gradebook, after any late penalty (``late.lateness``: the raw score,
the penalty and the final score of each late submission are listed); the named mistakes from
the autograded notebooks' error messages (``[code]``, see ``checks.core``); problems from the
grading run itself. The page is rendered from ``templates/report.html.j2``; :func:`score_table`
is the one table of scores, shown in the page and printed by ``make grade``. Every figure has
alt text that says what it shows, and its colours come from the course's colour-blind-safe
palette (``lectures.palette``). Whatever a student named or wrote reaches it escaped (Jinja's
autoescape), and its Content-Security-Policy (``inert.PAGE_CSP``) lets it run no script and load nothing.
"""
from __future__ import annotations

import base64
import io
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402

from ...checks.core import mistake_codes  # noqa: E402
from ...checks.mistakes import CODES  # noqa: E402
from ... import palette  # noqa: E402
from ..assignments import assignments as course_assignments  # noqa: E402
from ..intake.late import TIME_REFUSED, lateness  # noqa: E402
from .inert import PAGE_CSP  # noqa: E402

TEMPLATES = Path(__file__).resolve().parent / "templates"
NOT_GRADED = "not graded"
TITLE = "Grade report"    # the page's title and heading, unless the caller names one
NOTED = "*"   # after a score: graded, with a note (files left out, a cap hit)


@dataclass
class ClassResults:
    """What the report shows of a class: scores, lateness, test cells passed, problems and mistakes, by student
    and assignment."""
    assignments: list[str]
    max_scores: dict[str, float] = field(default_factory=dict)             # assignment -> max
    scores: dict[tuple[str, str], float] = field(default_factory=dict)      # (student, assignment) -> final score
    late: dict[tuple[str, str], object] = field(default_factory=dict)       # (student, assignment) -> late.Lateness
    cells: dict[str, dict[str, list[bool]]] = field(default_factory=dict)   # assignment -> test cell -> passed?
    exercises: dict[str, dict[str, str]] = field(default_factory=dict)      # assignment -> test cell -> exercise
    mistakes: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (student, assignment) -> codes
    problems: dict[tuple[str, str], str] = field(default_factory=dict)      # (student, assignment) -> reason
    notes: dict[tuple[str, str], list[str]] = field(default_factory=dict)   # graded, but: files left out, caps hit
    review: object = None   # grader/review.ClassReview: similar pairs and integrity notes (None: not checked)

    @property
    def students(self):
        """Every student with a score or a problem, sorted."""
        return sorted({s for s, _ in self.scores} | {s for s, _ in self.problems})


def collect(db_url, class_path, source_root, problems, notes=None):
    """Read the gradebook and the autograded notebooks into ClassResults. ``problems``: why a
    submission could not be graded; ``notes``: what of a graded one was not (grader/intake/folder.py)."""
    from nbgrader.api import Gradebook, MissingEntry

    assignments = course_assignments(source_root)
    results = ClassResults(list(assignments), problems=dict(problems),
                           notes={key: list(lines) for key, lines in (notes or {}).items() if lines})
    with Gradebook(db_url) as gb:
        timing = lateness(gb)
        for name, assignment in assignments.items():
            try:
                record = gb.find_assignment(name)
            except MissingEntry:
                continue
            results.max_scores[name] = record.max_score
            results.exercises[name] = {cell.name: assignment.exercise_of(cell.name)
                                       for nb in record.notebooks for cell in nb.grade_cells}
            cells = results.cells.setdefault(name, defaultdict(list))
            for submission in record.submissions:
                key = (submission.student.id, name)
                if key in results.problems:
                    continue
                timed = timing[key]   # lateness() reads every submission of the gradebook
                results.scores[key] = timed.score
                if timed.seconds_late > 0:
                    results.late[key] = timed
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        cells[grade.name].append(grade.score >= grade.max_score)
                    results.mistakes[key] = _mistakes_in(Path(class_path) / "autograded" / submission.student.id
                                                         / name / f"{notebook.name}.ipynb")
    return results


def _mistakes_in(path):
    codes = set()
    if path.exists():
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    codes.update(mistake_codes(output.get("evalue", "")))
    return codes


@dataclass
class Plot:
    """One figure of the report, with its text alternative."""
    src: str    # the figure as a data: URI of a PNG, to embed
    alt: str    # what it shows, in words, for readers who cannot see it


def _png(fig):
    """The figure as a data: URI of a PNG, to embed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return f"data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}"


def _graded(results):
    return [a for a in results.assignments if a in results.max_scores]


def plot_score_histograms(results):
    """The figure of each graded assignment's score distribution."""
    graded = _graded(results)
    fig, axes = plt.subplots(1, max(len(graded), 1), figsize=(5 * max(len(graded), 1), 3.2), squeeze=False)
    for ax, assignment in zip(axes[0], graded):
        scores = [score for (_, a), score in results.scores.items() if a == assignment]
        top = results.max_scores[assignment]
        ax.hist(scores, bins=[x - 0.5 for x in range(int(top) + 2)], color=palette.BLUE, edgecolor="white")
        ax.set(title=f"{assignment} (max {top:g})", xlabel="score", ylabel="students")
        ax.yaxis.get_major_locator().set_params(integer=True)
    return fig


def describe_score_histograms(results):
    """The score histograms in words: how many submissions at each score, per assignment."""
    parts = []
    for assignment in _graded(results):
        counts = Counter(math.floor(score + 0.5) for (_, a), score in results.scores.items() if a == assignment)
        spread = ", ".join(f"{n} at {score}" for score, n in sorted(counts.items(), reverse=True)) or "no graded submission"
        parts.append(f"{assignment} (max {results.max_scores[assignment]:g}): {spread}")
    return "Histograms of the students' scores, rounded to whole points, one per assignment. " + "; ".join(parts) + "."


def pass_rate_rows(results):
    """(label, share of full points, is an exercise) for each exercise and, under it, its test cells."""
    rows = []
    for assignment in results.assignments:
        cells = results.cells.get(assignment, {})
        by_exercise = defaultdict(list)
        for cell, passed in cells.items():
            by_exercise[results.exercises[assignment].get(cell, cell)].extend(passed)
        for exercise, passed in sorted(by_exercise.items()):
            rows.append((f"{assignment} · {exercise}", sum(passed) / len(passed), True))
            for cell, cell_passed in sorted(cells.items()):
                if results.exercises[assignment].get(cell) == exercise:
                    rows.append((f"    {cell}", sum(cell_passed) / len(cell_passed), False))
    return rows


def plot_pass_rates(results):
    """The figure of the share of graded submissions with full points, per exercise and test cell."""
    rows = pass_rate_rows(results)
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(rows) + 1))
    labels = [r[0] for r in rows][::-1]
    rates = [100 * r[1] for r in rows][::-1]
    colours = [palette.BLUE if r[2] else palette.SKY_BLUE for r in rows][::-1]
    ax.barh(labels, rates, color=colours)
    ax.set(xlim=(0, 100), xlabel="% of graded submissions with full points")
    for y, rate in enumerate(rates):
        ax.text(rate + 1, y, f"{rate:.0f}%", va="center", fontsize=8)
    return fig


def describe_pass_rates(results):
    """The pass rates in words, per exercise and test cell."""
    shown = []
    for label, rate, exercise in pass_rate_rows(results):
        shown.append(f"{'exercise ' if exercise else 'test cell '}{label.strip()} {100 * rate:.0f} %")
    return ("Bar chart of the share of graded submissions with full points, for each exercise and "
            "each of its test cells: " + "; ".join(shown) + ".")


def mistake_counts(results):
    """Counter of how many submissions made each diagnosed mistake."""
    return Counter(code for codes in results.mistakes.values() for code in codes)


def plot_mistakes(counts):
    """The figure of the mistake ``counts``, most frequent on top."""
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(counts), 1) + 1))
    items = counts.most_common()[::-1]
    ax.barh([code for code, _ in items], [n for _, n in items], color=palette.VERMILLION)
    ax.set(xlabel="submissions")
    ax.xaxis.get_major_locator().set_params(integer=True)
    return fig


def describe_mistakes(counts):
    """The mistake ``counts`` in words."""
    return ("Bar chart of how many submissions made each diagnosed mistake, as in the table below: "
            + "; ".join(f"{code} {n}" for code, n in counts.most_common()) + ".")


@dataclass
class ScoreTable:
    """The report's score table: a row per student, a column per assignment."""
    header: list[str]       # "student", then the assignments
    rows: list["ScoreRow"]


@dataclass
class ScoreRow:
    """One student's row of the score table, with the notes behind its cells."""
    student: str
    cells: list[str]        # per assignment: "score/max" (after any late penalty), "not graded" or "-"
    notes: list[str]        # why not graded, what was left out, what lateness cost, and the mistakes named
    noted: list[str] = field(default_factory=list)   # of those, what was left out or the cap hit


def score_table(results):
    """Every student's score in every assignment: the one table, on the terminal and in the report."""
    rows = []
    for student in results.students:
        cells, notes, noted = [], [], []
        for assignment in results.assignments:
            key = (student, assignment)
            if key in results.problems:
                cells.append(NOT_GRADED)
                notes.append(f"{assignment}: {results.problems[key]}")
            elif key in results.scores:
                cells.append(f"{results.scores[key]:g}/{results.max_scores[assignment]:g}"
                             + (f" {NOTED}" if results.notes.get(key) else ""))
                these = [f"{assignment}: {note}" for note in results.notes.get(key, ())]
                noted += these
                notes += these
                if key in results.late:
                    notes.append(f"{assignment}: {results.late[key].describe()}")
                notes += [f"{assignment}: [{code}]" for code in sorted(results.mistakes.get(key, ()))]
            else:
                cells.append("-")
        notes += [f"{a}: {reason}" for (s, a), reason in results.problems.items()
                  if s == student and a not in results.assignments]
        rows.append(ScoreRow(student, cells, notes, noted))
    return ScoreTable(["student", *results.assignments], rows)


def text_table(table):
    """The score table as fixed-width text."""
    width = max(len(student) for student in [table.header[0], *(row.student for row in table.rows)])
    lines = [table.header[0].ljust(width) + "".join(f"  {a:>12}" for a in table.header[1:])]
    lines += [row.student.ljust(width) + "".join(f"  {c:>12}" for c in row.cells) for row in table.rows]
    noted = [(row.student, note) for row in table.rows for note in row.noted]
    if noted:
        lines += ["", f"{NOTED} graded, with a note:"] + [f"  {student}: {note}" for student, note in noted]
    return "\n".join(lines)


def render(results, title=TITLE):
    """The report as one HTML string, plots embedded as PNG data."""
    counts = mistake_counts(results)
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    plots = {"scores": Plot(_png(plot_score_histograms(results)), describe_score_histograms(results)),
             "pass_rates": Plot(_png(plot_pass_rates(results)), describe_pass_rates(results)),
             "mistakes": Plot(_png(plot_mistakes(counts)), describe_mistakes(counts)) if counts else None}
    problems = sorted(results.problems.items())
    return environment.get_template("report.html.j2").render(
        title=title, csp=PAGE_CSP, results=results, plots=plots, mistakes=counts.most_common(), explain=CODES,
        table=score_table(results), problems=problems, NOT_GRADED=NOT_GRADED,
        NOTED=NOTED, noted=sorted(results.notes.items()), late=sorted(results.late.items()),
        refused_times=[(key, reason) for key, reason in problems if reason.startswith(TIME_REFUSED)],
        review=results.review)


def write_report(results, path, title=TITLE):
    """Write the report of ``results`` to ``path`` (report.html); returns the path."""
    Path(path).write_text(render(results, title), encoding="utf-8")
    return Path(path)

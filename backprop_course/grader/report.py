"""The grade report: what the class struggles with, in one self-contained HTML file.

Scores come from the gradebook; the named mistakes from the autograded notebooks' error
messages (``[code]``, see ``checks.core``); problems from the grading run itself.
"""
from __future__ import annotations

import base64
import html
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402

from ..checks.core import MISTAKES, mistake_codes  # noqa: E402


@dataclass
class ClassResults:
    assignments: list[str]
    max_scores: dict[str, float] = field(default_factory=dict)             # assignment -> max
    scores: dict[tuple[str, str], float] = field(default_factory=dict)      # (student, assignment) -> score
    cells: dict[str, dict[str, list[bool]]] = field(default_factory=dict)   # assignment -> test cell -> passed?
    exercises: dict[str, dict[str, str]] = field(default_factory=dict)      # assignment -> test cell -> exercise
    mistakes: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (student, assignment) -> codes
    problems: dict[tuple[str, str], str] = field(default_factory=dict)      # (student, assignment) -> reason

    @property
    def students(self):
        return sorted({s for s, _ in self.scores} | {s for s, _ in self.problems})


def exercise_of(cell_name, exercise_ids):
    """The exercise a test cell grades: its grade_id is test_<exercise id>…"""
    matches = [e for e in exercise_ids if cell_name.startswith(f"test_{e}")]
    return max(matches, key=len) if matches else cell_name


def collect(db_url, class_path, source_root, problems):
    """Read the gradebook and the autograded notebooks into ClassResults."""
    from nbgrader.api import Gradebook, MissingEntry

    assignments = sorted(p.name for p in Path(source_root).iterdir() if p.is_dir())
    results = ClassResults(assignments, problems=dict(problems))
    with Gradebook(db_url) as gb:
        for assignment in assignments:
            try:
                record = gb.find_assignment(assignment)
            except MissingEntry:
                continue
            results.max_scores[assignment] = record.max_score
            exercise_ids = [cell.name for nb in record.notebooks for cell in nb.solution_cells]
            results.exercises[assignment] = {cell.name: exercise_of(cell.name, exercise_ids)
                                             for nb in record.notebooks for cell in nb.grade_cells}
            cells = results.cells.setdefault(assignment, defaultdict(list))
            for submission in record.submissions:
                key = (submission.student.id, assignment)
                if key in results.problems:
                    continue
                results.scores[key] = submission.score
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        cells[grade.name].append(grade.score >= grade.max_score)
                    results.mistakes[key] = _mistakes_in(Path(class_path) / "autograded" / submission.student.id
                                                         / assignment / f"{notebook.name}.ipynb")
    return results


def _mistakes_in(path):
    codes = set()
    if path.exists():
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    codes.update(mistake_codes(output.get("evalue", "")))
    return codes


def _png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def plot_score_histograms(results):
    graded = [a for a in results.assignments if a in results.max_scores]
    fig, axes = plt.subplots(1, max(len(graded), 1), figsize=(5 * max(len(graded), 1), 3.2), squeeze=False)
    for ax, assignment in zip(axes[0], graded):
        scores = [score for (_, a), score in results.scores.items() if a == assignment]
        top = results.max_scores[assignment]
        ax.hist(scores, bins=[x - 0.5 for x in range(int(top) + 2)], color="#4c72b0", edgecolor="white")
        ax.set(title=f"{assignment} (max {top:g})", xlabel="score", ylabel="students")
        ax.yaxis.get_major_locator().set_params(integer=True)
    return fig


def plot_pass_rates(results):
    rows = []  # (label, rate, is_exercise)
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
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(rows) + 1))
    labels = [r[0] for r in rows][::-1]
    rates = [100 * r[1] for r in rows][::-1]
    colours = ["#4c72b0" if r[2] else "#a1b8d8" for r in rows][::-1]
    ax.barh(labels, rates, color=colours)
    ax.set(xlim=(0, 100), xlabel="% of graded submissions with full points")
    for y, rate in enumerate(rates):
        ax.text(rate + 1, y, f"{rate:.0f}%", va="center", fontsize=8)
    return fig


def mistake_counts(results):
    return Counter(code for codes in results.mistakes.values() for code in codes)


def plot_mistakes(counts):
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(counts), 1) + 1))
    items = counts.most_common()[::-1]
    ax.barh([code for code, _ in items], [n for _, n in items], color="#c44e52")
    ax.set(xlabel="submissions")
    ax.xaxis.get_major_locator().set_params(integer=True)
    return fig


def render(results, title="Grade report"):
    """The report as one HTML string, plots embedded as PNG data."""
    esc = html.escape
    counts = mistake_counts(results)
    head = "".join(f"<th>{esc(a)} (/{results.max_scores.get(a, 0):g})</th>" for a in results.assignments)
    rows = []
    for student in results.students:
        cells, notes = [], []
        for assignment in results.assignments:
            key = (student, assignment)
            if key in results.problems:
                cells.append('<td class="problem">not graded</td>')
                notes.append(f"{assignment}: {results.problems[key]}")
            elif key in results.scores:
                cells.append(f"<td>{results.scores[key]:g}</td>")
                notes += [f"{assignment}: [{code}]" for code in sorted(results.mistakes.get(key, ()))]
            else:
                cells.append("<td>—</td>")
        for (s, a), reason in results.problems.items():
            if s == student and a not in results.assignments:
                notes.append(f"{a}: {reason}")
        rows.append(f"<tr><td>{esc(student)}</td>{''.join(cells)}<td>{'<br>'.join(esc(n) for n in notes)}</td></tr>")
    mistakes = "".join(f"<tr><td>{n}</td><td><code>{esc(code)}</code></td><td>{esc(MISTAKES[code])}</td></tr>"
                       for code, n in counts.most_common())
    problems = "".join(f"<li><b>{esc(s)}</b> / {esc(a)}: {esc(r)}</li>" for (s, a), r in sorted(results.problems.items()))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }} td, th {{ border: 1px solid #ccc; padding: .3em .6em; text-align: left; }}
td.problem {{ background: #fde2e1; }} h2 {{ margin-top: 2em; }} img {{ max-width: 100%; }}
</style></head><body>
<h1>{esc(title)}</h1>
<p>{len(results.students)} students, {len(results.scores)} graded submissions, {len(results.problems)} that could not be graded.</p>
<h2>Score distribution</h2>{_png(plot_score_histograms(results))}
<h2>Pass rate per exercise and test cell</h2>
<p>Dark bars: exercises; light bars: their test cells. Low bars are where the class struggles.</p>
{_png(plot_pass_rates(results))}
<h2>Diagnosed mistakes</h2>
<p>How many submissions made each mistake that the tests can name.</p>
{_png(plot_mistakes(counts)) if counts else "<p>None.</p>"}
<table><tr><th>submissions</th><th>mistake</th><th>what it is</th></tr>{mistakes}</table>
<h2>Students</h2>
<table><tr><th>student</th>{head}<th>notes</th></tr>{''.join(rows)}</table>
<h2>Submissions that could not be graded</h2>
{f"<ul>{problems}</ul>" if problems else "<p>None.</p>"}
</body></html>
"""


def write_report(results, path, title="Grade report"):
    Path(path).write_text(render(results, title), encoding="utf-8")
    return Path(path)

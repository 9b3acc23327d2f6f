"""Who needs a second look: code similarity across the class and integrity notes, per submission.

Reads each graded submission's notebook through the intake (grader/intake.py: nothing followed,
sizes capped) in the grader's own process, takes the code cells that run as the student wrote
them (the solution cells, and any cell the student added; not the locked cells, which nbgrader
puts back from the release), and hands them to :mod:`.similarity` and :mod:`.integrity`.
Submissions of earlier terms (``c.Similarity.past_terms``, ``make grade PAST=…``) are read the
same way and compared with this term's. Nothing here changes a score: the report shows the
result, and grades.csv and the LMS exports carry it in a ``review`` column, for the instructor.

Configured in ``nbgrader_config.py``::

    c.Similarity.threshold = 0.7               # share of a submission's own code found in the other
    c.Similarity.past_terms = ["/srv/course-2025"]   # folders holding an earlier term's submitted/
    c.Integrity.numerical_exercises = {"03_vectorised": ["grad_check"], "04_autograd": ["grad_check"]}
"""
from __future__ import annotations

import glob
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from traitlets import Dict, Float, Integer, List, Unicode
from traitlets.config import LoggingConfigurable

from . import integrity, intake, similarity
from .admission import submission_limits
from .safezip import printable


class Similarity(LoggingConfigurable):
    """Code similarity across the class (grader/similarity.py): ``c.Similarity.*``."""

    threshold = Float(similarity.Settings.threshold, help="A pair is listed when at least this share of one "
                      "submission's own code (the course's shared code and the class's common code aside) is found "
                      "in the other.").tag(config=True)
    min_overlap = Integer(similarity.Settings.min_overlap, help="... and the two share at least this many "
                          "characters of normalised code (names, strings, comments and layout taken out)").tag(config=True)
    noise = Integer(similarity.Settings.noise, help="The shortest stretch of normalised code that counts as shared "
                    "(copydetect's noise threshold), in characters").tag(config=True)
    common = Integer(similarity.Settings.common, help="A stretch of code found in more submissions than this is the "
                     "class's common code, not evidence (MOSS's -m)").tag(config=True)
    shown = Integer(30, help="Pairs per assignment the report shows side by side (the others are listed)").tag(config=True)
    past_terms = List(Unicode(), help="Folders of earlier terms (each a class folder holding submitted/, or a "
                      "submitted/ folder): their submissions are compared with this term's").tag(config=True)
    shared_base = List(Unicode(), ["notebooks/[0-9]*.ipynb"], help="Notebooks of the course (globs, relative to the "
                       "course root) whose code every student has seen, besides the assignment's release: "
                       "not evidence of copying").tag(config=True)

    @property
    def settings(self):
        return similarity.Settings(self.threshold, self.min_overlap, self.noise, self.common)


class Integrity(LoggingConfigurable):
    """Integrity notes (grader/integrity.py): ``c.Integrity.*``."""

    modules = List(Unicode(), ["numpy", "math", "cmath", "copy", "functools", "itertools", "collections", "operator",
                               "numbers", "typing", "dataclasses", "random", "statistics", "fractions", "decimal",
                               "heapq", "bisect", "time", "warnings", "matplotlib"],
                   help="Modules an answer may import (besides those the release imports); importing another "
                        "is noted").tag(config=True)
    numerical_exercises = Dict(value_trait=List(Unicode()), default_value={"03_vectorised": ["grad_check"], "04_autograd": ["grad_check"]},
                               help="assignment -> the exercises (solution cells' grade_ids) whose task is a "
                                    "numerical derivative; anywhere else one is noted").tag(config=True)
    max_code_chars = Integer(50_000, help="The most characters of a submission's code that are read (the longest "
                             "answer of the catalogue has under 6,000); a longer one is noted and read that far: pygments "
                             "takes about a second for 20,000 characters of hostile text").tag(config=True)


# --- what a submission's code is ------------------------------------------------------------

@dataclass(frozen=True)
class Release:
    """What of one assignment's release the review needs."""
    locked: frozenset[str]          # grade_ids of the cells nbgrader puts back at autograde
    solutions: tuple[str, ...]      # grade_ids of the solution cells
    cells: tuple[tuple[str | None, str, bool], ...]   # (grade_id, source, is a test cell) of its code cells


def read_release(notebooks):
    """The :class:`Release` of an assignment from its released notebooks (nbformat nodes)."""
    locked, solutions, cells = set(), [], []
    for nb in notebooks:
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            grade_id = meta.get("grade_id")
            if meta.get("locked") and grade_id:
                locked.add(grade_id)
            if meta.get("solution") and grade_id:
                solutions.append(grade_id)
            if cell.cell_type == "code":
                cells.append((grade_id, cell.source, bool(meta.get("grade"))))
    return Release(frozenset(locked), tuple(solutions), tuple(cells))


def student_cells(notebooks, release):
    """[(label, source)] of the code cells that run as the student wrote them, from the
    notebooks' bytes: the solution cells (labelled by grade_id) and any other code cell but the
    release's locked ones (labelled ``cell N``, its place in the notebook). Raises ValueError
    when a notebook cannot be read."""
    cells = []
    for name, data in notebooks:
        try:
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        except (RecursionError, MemoryError) as error:
            raise ValueError(f"{printable(name)} is nested too deep to read ({type(error).__name__})") from None
        except Exception as error:
            raise ValueError(f"{printable(name)} is not a notebook nbformat reads ({type(error).__name__})") from None
        prefix = f"{printable(Path(name).stem)}: " if len(notebooks) > 1 else ""
        for index, cell in enumerate(nb.get("cells", []), 1):
            if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            source = "".join(part for part in source if isinstance(part, str)) if isinstance(source, list) else source
            meta = cell.get("metadata")
            nbgrader_meta = meta.get("nbgrader") if isinstance(meta, dict) else None
            grade_id = nbgrader_meta.get("grade_id") if isinstance(nbgrader_meta, dict) else None
            if not isinstance(source, str) or (isinstance(grade_id, str) and grade_id in release.locked):
                continue
            label = grade_id if isinstance(grade_id, str) and grade_id in release.solutions else f"cell {index}"
            cells.append((prefix + label, source))
    return cells


def capped(cells, limit):
    """``cells`` cut to ``limit`` characters in all, and the note that says so (or None)."""
    total = sum(len(source) for _, source in cells)
    if total <= limit:
        return cells, None
    kept, left = [], limit
    for label, source in cells:
        if len(source) > left:
            kept.append((label, source[:left]))
            where = (label, source[:left].count("\n") + 1)
            break
        kept.append((label, source))
        left -= len(source)
    return kept, integrity.Note(*where, f"its code cells hold {total:,} characters; the grader read the first "
                                        f"{limit:,}, to here (no honest answer is that long)")


# --- the class ---------------------------------------------------------------------------------

@dataclass
class PairView:
    """A pair of similar submissions, with the overlap side by side (when shown)."""
    assignment: str
    pair: similarity.Pair
    left: list[similarity.CellView] = field(default_factory=list)
    right: list[similarity.CellView] = field(default_factory=list)


@dataclass
class ClassReview:
    """The review of a class: similar pairs per assignment, integrity notes per submission."""
    settings: similarity.Settings
    pairs: dict[str, list[PairView]] = field(default_factory=dict)                      # assignment -> pairs
    comparisons: dict[str, similarity.Comparison] = field(default_factory=dict)         # assignment -> figures
    notes: dict[tuple[str, str], list[integrity.Note]] = field(default_factory=dict)    # (student, assignment) -> notes
    past: list[str] = field(default_factory=list)        # the earlier terms read, with their counts
    unread: list[str] = field(default_factory=list)      # what of a submission could not be read, and why
    failed: str = ""                                     # why there is no review (the error), or ''

    def similar_to(self, student, assignment):
        """[(the other submission, score)] of this term's ``student`` in ``assignment``."""
        found = []
        for view in self.pairs.get(assignment, []):
            pair = view.pair
            if not pair.a.past and pair.a.owner == student:
                found.append((pair.b.owner, pair.score))
            elif not pair.b.past and pair.b.owner == student:
                found.append((pair.a.owner, pair.score))
        return found

    def summary(self, student, assignment):
        """One line for a CSV's ``review`` column ('' when there is nothing to look at); never
        begins with a character a spreadsheet reads as a formula."""
        if self.failed:
            return f"not reviewed (the review failed: {self.failed})"
        parts = []
        similar = self.similar_to(student, assignment)
        if similar:
            parts.append("similar to " + ", ".join(f"{other} ({100 * score:.0f} %)" for other, score in similar))
        notes = self.notes.get((student, assignment), [])
        if notes:
            parts.append(f"{len(notes)} integrity note{'s' if len(notes) > 1 else ''}")
        return "; ".join(parts) + (" (see report.html)" if parts else "")

    def student_summary(self, student, assignments):
        """The :meth:`summary` of each of ``assignments`` with something to look at, joined."""
        if self.failed:
            return self.summary(student, None)
        return "; ".join(f"{a}: {text}" for a in assignments if (text := self.summary(student, a)))

    @property
    def noted(self):
        return sorted((key, notes) for key, notes in self.notes.items() if notes)


def of_course(course, submissions=None, past_terms=None):
    """The :class:`ClassReview` of ``course`` (a pipeline.Course): its graded ``submissions``
    (default: every folder of submitted/ the intake admits) and the earlier terms (default: the
    config's ``c.Similarity.past_terms``)."""
    graded = None if submissions is None else {(s.student, s.assignment) for s in submissions if not s.problem}
    return of_class(course.config, course.root, course.class_path, graded, past_terms)


def of_class(config, root, class_path, graded=None, past_terms=None):
    """The :class:`ClassReview` of the class in ``class_path`` (holding submitted/) of the course in
    ``root``, configured by ``config``; ``graded``: {(student, assignment)} to review (None: all)."""
    from .assignments import assignments

    root, class_path = Path(root), Path(class_path)
    sim, checks = Similarity(config=config), Integrity(config=config)
    settings = sim.settings
    review = ClassReview(settings)
    limits = submission_limits(config)
    past_terms = sim.past_terms if past_terms is None else past_terms
    lectures = similarity.base_fingerprints([code_of(nbformat.read(path, as_version=4)) for pattern in sim.shared_base
                                             for path in sorted(glob.glob(str(root / pattern)))], settings)
    submitted = class_path / "submitted"
    for assignment, info in assignments(root / "source").items():
        notebooks = list(info.notebooks)
        try:
            released = [nbformat.read(root / "release" / assignment / name, as_version=4) for name in notebooks]
        except OSError as error:
            review.unread.append(f"{assignment}: not reviewed, its release cannot be read ({error.strerror}): make release")
            continue
        release = read_release(released)
        rules = integrity.rules_from_release(release.cells, checks.modules,
                                             checks.numerical_exercises.get(assignment, ()))
        documents = []
        if graded is None:
            now = list(_folders(submitted, assignment, review, None))
        else:
            now = [(submitted / student / assignment, student) for student, a in sorted(graded) if a == assignment]
        for folder, student in now:
            document = _read(folder, submitted, notebooks, release, limits, checks, student, False, review, rules, student)
            if document is not None:
                documents.append(document)
        for term, term_root in _terms(past_terms):
            read = 0
            for folder, student in _folders(term_root, assignment, review, term):
                document = _read(folder, term_root, notebooks, release, limits, checks, f"{term}/{student}", True,
                                 review, None, None)
                read += document is not None
                if document is not None:
                    documents.append(document)
            review.past.append(f"{term} ({assignment}: {read} submissions)")
        base = similarity.base_fingerprints([code_of(nb) for nb in released], settings, also=lectures)
        comparison = similarity.compare(documents, base, settings)
        review.comparisons[assignment] = comparison
        review.pairs[assignment] = [
            PairView(assignment, pair, *((similarity.side(pair.a, pair.slices_a, settings.context),
                                          similarity.side(pair.b, pair.slices_b, settings.context))
                                         if rank < sim.shown else ([], [])))
            for rank, pair in enumerate(comparison.pairs)]
    review.unread = list(dict.fromkeys(review.unread))   # a linked student folder is met once per assignment
    return review


def code_of(notebook):
    """The code cells of an nbformat notebook of the course's, joined as a submission's are."""
    return similarity.join(cell.source for cell in notebook.cells if cell.cell_type == "code")


def _read(folder, root, notebooks, release, limits, checks, owner, past, review, rules, student):
    """One submission's :class:`similarity.Document` (None when the intake refuses it); its
    integrity notes go to ``review`` (this term's only: ``rules`` None for an earlier term's)."""
    found = intake.inspect(folder, notebooks, limits, root=root)
    if found.problem:
        review.unread.append(f"{owner}: {found.problem}")
        return None
    try:
        data = [(item.path, intake.read_file(folder, item, limits)) for item in found.notebooks]
        cells = student_cells(data, release)
    except (intake.NotAdmitted, OSError, ValueError) as error:
        review.unread.append(f"{owner}: {printable(str(error))}")
        return None
    cells, too_long = capped(cells, checks.max_code_chars)
    if rules is not None:
        notes = integrity.read_cells(cells, rules)
        review.notes[(student, folder.name)] = ([too_long] if too_long else []) + notes
    return similarity.Document(owner, tuple(cells), past)


def _terms(past_terms):
    """(label, submitted folder) of each earlier term's folder."""
    for entry in past_terms:
        path = Path(entry).expanduser().resolve()
        root = path / "submitted" if (path / "submitted").is_dir() else path
        label = printable(path.name if root == path / "submitted" or path.name != "submitted" else path.parent.name)
        yield label, root


def _folders(root, assignment, review, term):
    """(folder, student) of each submission of ``assignment`` in the submitted/ folder ``root`` (of
    an earlier ``term``, or None: this one's); nothing followed, the intake decides on each."""
    try:
        with os.scandir(root) as entries:
            students = sorted((e for e in entries if not e.name.startswith(".")), key=lambda e: e.name)
    except FileNotFoundError:
        return
    except OSError as error:
        review.unread.append(f"{term or 'this term'}: {printable(str(root))} cannot be read ({error.strerror})")
        return
    for entry in students:
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISLNK(mode):
            review.unread.append(f"{term + '/' if term else ''}{printable(entry.name)}: a symbolic link, not followed")
        if not stat.S_ISDIR(mode):
            continue
        folder = Path(entry.path) / assignment
        try:
            os.lstat(folder)
        except OSError:
            continue
        yield folder, printable(entry.name)


def for_export(plugin):
    """The :class:`ClassReview` an export plugin writes in its ``review`` column: the one it was
    given (``Course.export``), else that of the class of its nbgrader app (a plain ``nbgrader
    export`` in the course root), else None (and the log says why)."""
    given = getattr(plugin, "review", None)
    if given is not None:
        return given
    coursedir = getattr(plugin.parent, "coursedir", None)
    if coursedir is None:
        return None
    root = os.path.abspath(coursedir.root)
    try:
        return of_class(plugin.config, root, os.path.dirname(os.path.join(root, coursedir.submitted_directory)))
    except (OSError, ValueError) as error:
        plugin.log.warning("the review column stays empty: %s", error)
        return None

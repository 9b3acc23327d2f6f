"""What the review's tests share: classes of catalogue submissions written to a submitted/ folder
(no grading: the review reads submitted/ through the intake), planted copies among them, and
hostile code."""
from pathlib import Path

import nbformat

from backprop_course.grader import pipeline
from backprop_course.tools import copies
from answers.catalogue import CATALOGUE, EXERCISES, NOTEBOOK, Submission, build_notebook, strip_markers

from project import ROOT

#: the ways a copier disguises a submission (tools/copies.py), each planted on its own and all at once
DISGUISES = {"renamed": copies.rename, "reordered": copies.reorder, "recommented": copies.recomment,
             "disguised": lambda source: copies.recomment(copies.reorder(copies.rename(source)))}
#: a cell that tries to break out of the report, and to hide in it
HOSTILE = ("\n# </code></pre></section><script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\">\n"
           "x = '\u202e' + \"{{ 7 * 7 }}\"\n")


def cells_of(sub):
    """{exercise: source} of a catalogue submission, as the student hands it in (no markers)."""
    return {exercise: strip_markers(source) for exercise, source in sub.cells.items()}


def submission(assignment, cells):
    """A catalogue Submission of ``cells`` ({exercise: source}), correct by its own account."""
    return Submission(assignment, "planted", dict(cells), {e: "" for e in EXERCISES[assignment]})


def write(class_dir, student, sub):
    """``sub`` as student's notebook in class_dir/submitted/<student>/<assignment>/."""
    path = Path(class_dir) / "submitted" / student / sub.assignment / NOTEBOOK[sub.assignment]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(build_notebook(sub, hidden_tests=False), path)
    return path


def course_of(class_dir):
    """The course (this repository's source/, release/ and config) grading ``class_dir``."""
    return pipeline.Course(root=ROOT, class_dir=str(class_dir))


def distinct_styles(assignment):
    """The correct catalogue submissions of ``assignment`` whose every solution cell differs from
    every other's: the styles written independently (the others share cells with the reference)."""
    correct = [s for s in CATALOGUE if s.assignment == assignment and s.correct]
    chosen = []
    for sub in correct:
        mine = cells_of(sub)
        if all(mine[e] != cells_of(other)[e] for other in chosen for e in EXERCISES[assignment]):
            chosen.append(sub)
    return chosen


def planted_class(class_dir, assignments=tuple(NOTEBOOK)):
    """Each assignment's distinct styles, and of each a copy per disguise (``copy-<how>-<name>``).
    Returns {(style, copy): disguise}."""
    planted = {}
    for assignment in assignments:
        for sub in distinct_styles(assignment):
            write(class_dir, sub.name, sub)
            for how, disguise in DISGUISES.items():
                copy = f"copy-{how}-{sub.name}"
                write(class_dir, copy, submission(assignment, {e: disguise(c) for e, c in cells_of(sub).items()}))
                planted[(sub.name, copy)] = how
    return planted

"""What the grading tests read back: file hashes and per-exercise scores from the gradebook."""
import hashlib
from pathlib import Path

from backprop_course.grader.assignments import assignments


def tree_hashes(root):
    """sha256 of every file under root (or of root itself, if it is a file), by relative path."""
    root = Path(root)
    if root.is_file():
        return {root.name: hashlib.sha256(root.read_bytes()).hexdigest()}
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def exercise_scores(grader, student, assignment):
    """{exercise: (score, max score)} of one graded submission, summed over its test cells."""
    from nbgrader.api import Gradebook

    scores = {}
    graded = assignments()[assignment]
    with Gradebook(grader.db_url) as gb:
        notebook = gb.find_submission_notebook(Path(graded.notebook).stem, assignment, student)
        for grade in notebook.grades:
            exercise = graded.exercise_of(grade.name)
            got, top = scores.get(exercise, (0.0, 0.0))
            scores[exercise] = (got + grade.score, top + grade.max_score)
    return scores

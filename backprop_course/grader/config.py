"""The course's nbgrader configuration, in one place: what ``nbgrader_config.py`` applies
(:func:`configure`), how the grader loads it for a class (:func:`load_config`) and opens
nbgrader's API on it (:func:`make_api`).

``nbgrader_config.py`` calls :func:`configure`, so plain ``nbgrader`` commands run in the course
root behave as ``make grade`` does.
"""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde, GenerateAssignment
from nbgrader.preprocessors import AssignLatePenalties, ClearHiddenTests, DeduplicateIds, Execute, GetGrades
from traitlets.config.loader import PyFileConfigLoader

from .intake.admission import IntakeHTMLExporter, IntakeNotebookExporter
from .intake.late import DueDates, LatePenalty
from .results import inert
from .run.preflight import PreflightHook
from .run.execute import GradingExecute
from .run.preprocessors import DeduplicateGradeIds, HideHiddenTestDetails, RequireSkippableDemos, RequireTrustedVerdicts


def _steps(section, trait, converter):
    """The preprocessor list ``section.trait`` as configured so far, else the converter's default."""
    return section[trait] if trait in section else converter.class_traits()[trait].default()


def configure(c):
    """Apply the course's nbgrader configuration to the config object ``c``."""
    c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTestDetails, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
    # Autograde runs each student's kernel in the sandbox: Execute -> GradingExecute, keeping
    # any other change to the list. Opt out: c.SandboxedKernelManager.enabled = False, or
    # BACKPROP_SANDBOX=off in the environment.
    steps = _steps(c.Autograde, "autograde_preprocessors", Autograde)
    c.Autograde.autograde_preprocessors = [GradingExecute if step is Execute else step for step in steps]
    steps = _steps(c.Autograde, "sanitize_preprocessors", Autograde)
    c.Autograde.sanitize_preprocessors = [DeduplicateGradeIds if step is DeduplicateIds else step for step in steps]
    # Before an assignment's first submission: the preflight (run/preflight.py), which stops
    # the run when the environment would grade wrong. nbgrader calls the hook before it writes
    # the submission's gradebook rows.
    c.Autograde.pre_convert_hook = PreflightHook(c)
    # Release refuses a graded test cell that trusted verdicts do not cover (judge/verdicts.py), and
    # skip-when-grading tags that would change grading (run/skipping.py).
    steps = _steps(c.GenerateAssignment, "preprocessors", GenerateAssignment)
    ours = (RequireTrustedVerdicts, RequireSkippableDemos)
    c.GenerateAssignment.preprocessors = [*ours, *(s for s in steps if s not in ours)]
    # A submission's files are untrusted: nbgrader reads and copies them only through the
    # intake, from a stage (intake/admission.py); feedback/ gets the feedback pages only.
    c.Autograde.exporter_class = IntakeNotebookExporter
    c.GenerateFeedback.exporter_class = IntakeHTMLExporter
    # What a student wrote is inert in the feedback and in formgrader's submission view: sanitised,
    # math typeset when the page is made, a Content-Security-Policy (results/inert.py).
    inert.configure(c)
    # Late work (intake/late.py): due dates into the gradebook before nbgrader's late-penalty
    # step, with the course's penalty plugin.
    c.AssignLatePenalties.plugin_class = LatePenalty
    steps = [step for step in c.Autograde.autograde_preprocessors if step is not DueDates]
    at = steps.index(AssignLatePenalties)
    c.Autograde.autograde_preprocessors = steps[:at] + [DueDates] + steps[at:]
    steps = c.GenerateAssignment.preprocessors
    c.GenerateAssignment.preprocessors = [step for step in steps if step is not DueDates] + [DueDates]


def is_sqlite(db_url):
    """Whether the gradebook URL ``db_url`` names a SQLite file (one writer at a time)."""
    return db_url.startswith("sqlite:")


def load_config(root, class_dir="."):
    """The course's nbgrader config, for the class in ``class_dir`` (relative to root).

    ``nbgrader_config.py`` describes the class in the course root, as a plain ``nbgrader``
    command there sees it. Another class (the demo class) gets its own submitted/,
    autograded/ and feedback/ folders and, when the course's gradebook is the default SQLite
    file of the root, its own gradebook beside them.
    """
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    if os.path.normpath(class_dir) != ".":
        course = config.CourseDirectory
        for step in ("submitted", "autograded", "feedback"):
            setattr(course, f"{step}_directory", os.path.join(class_dir, step))
        config.ZipCollectApp.downloaded_directory = os.path.join(class_dir, "downloaded")
        url = course.get("db_url", "")
        if is_sqlite(url) and Path(url.removeprefix("sqlite:///")).resolve() == (Path(root) / "gradebook.db").resolve():
            course.db_url = "sqlite:///" + str((Path(root) / class_dir / "gradebook.db").resolve())
    return config


def make_api(config, db_url=None):
    """nbgrader's ``NbGraderAPI`` on ``config`` (its gradebook at ``db_url`` if given), logging errors only."""
    from nbgrader.apps import NbGraderAPI  # nbgrader's apps: imported by the processes that grade
    from nbgrader.coursedir import CourseDirectory

    if db_url:
        config.CourseDirectory.db_url = db_url
    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    api.log.setLevel(logging.ERROR)
    return api


def quiet_nbgrader():
    """nbgrader's add_submission trips SQLAlchemy autoflush warnings on every submission (the
    rows are right); they would drown the progress bar."""
    from sqlalchemy.exc import SAWarning  # sqlalchemy: with nbgrader's gradebook, in the processes that grade

    warnings.filterwarnings("ignore", category=SAWarning)

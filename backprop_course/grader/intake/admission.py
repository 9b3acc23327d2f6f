"""How nbgrader takes a submission in: through :mod:`.intake`, from a stage of the grader's own.

nbgrader's converters copy a submission's other files with ``shutil.copy`` (following links)
and read its notebooks and ``timestamp.txt`` with ``open``, in the grader's process, before any
preprocessor runs; the configurable ``pre_convert_hook`` can neither see the converter nor stop
it (its exceptions are logged at INFO). The one configurable object nbgrader builds with the
converter as its parent after finding the submissions and before converting the first is the
exporter (``c.Autograde.exporter_class``, ``c.GenerateFeedback.exporter_class``, set by
``configure(c)``). So the course's exporters, :class:`IntakeNotebookExporter` and
:class:`IntakeHTMLExporter`:

1. examine every submission folder the converter found (:func:`.folder.examine`);
2. point the converter at a stage, a private folder with the same layout: its own copy of the
   course directory whose input folder (``submitted`` for autograde, ``autograded`` for
   feedback) is the stage; each submission's ``timestamp.txt`` is staged at once, as
   nbgrader compares it before it converts;
3. just before nbgrader converts a submission (the converter's pre-convert hook), copy what
   the intake admitted into the stage (:func:`.intake.admit`), and log what was left out;
4. read every notebook without following a link, within the file cap; a notebook the intake
   refused is never read, and its submission fails with the reason. Once its notebooks are
   read, nothing of a submission stays in the stage; the stage goes with the converter.

So ``make grade``, ``nbgrader autograde`` in the course root, the formgrader and a cluster
worker all grade from the same admitted copy. Feedback takes the graded notebooks,
``timestamp.txt`` and ``submission_secret.txt`` (``FEEDBACK_FILES``, which nbgrader's
``release_feedback`` needs) only: ``feedback/`` holds the feedback pages and those two, never
another file of the submission or of anyone else.
"""
from __future__ import annotations

import datetime
import os
import re
import shutil
import tempfile
import weakref

import nbformat
from nbconvert.exporters import HTMLExporter, NotebookExporter
from traitlets import Integer
from traitlets.config import LoggingConfigurable

from ..results import inert, typeset
from . import folder as intake
from .safezip import MiB, Limits, printable
from ..nbgrader_private import submission_path_pattern
from ..run.sandbox.limits import gone

STAGE_PREFIX = "backprop-intake-"
#: what feedback/ receives of a graded submission besides the pages: nbgrader's bookkeeping,
#: the time of submission and the secret release_feedback hashes the notebook names with
FEEDBACK_FILES = (intake.TIMESTAMP, "submission_secret.txt")


class SubmissionLimits(LoggingConfigurable):
    """The caps of one submission (see :mod:`.intake`), as config: ``c.SubmissionLimits.*``."""

    max_file_mib = Integer(intake.LIMITS.file_bytes // MiB, help="Largest file of a submission, MiB; "
                           "a larger one is left out (a notebook: the submission is not graded).").tag(config=True)
    max_total_mib = Integer(intake.LIMITS.total_bytes // MiB, help="Most a submission's other files may "
                            "hold together, MiB; over it, only its notebooks are graded.").tag(config=True)
    max_files = Integer(intake.LIMITS.entries, help="Most files besides its notebooks a submission may "
                        "hold; over it, only its notebooks are graded.").tag(config=True)

    @property
    def limits(self):
        """The intake's Limits these settings make (its name rules unchanged)."""
        return Limits(file_bytes=self.max_file_mib * MiB, total_bytes=self.max_total_mib * MiB,
                      entries=self.max_files, name_bytes=intake.LIMITS.name_bytes, path_bytes=intake.LIMITS.path_bytes)


def submission_limits(config=None, parent=None):
    """The intake's Limits for a submission, as ``c.SubmissionLimits`` in ``config`` (or ``parent``'s) sets them."""
    return SubmissionLimits(config=config, parent=parent).limits


def sweep_stages(folder=None):
    """Remove the stages of graders killed before they could (``backprop-intake-<pid>-…``)."""
    folder = folder or tempfile.gettempdir()
    for entry in os.scandir(folder):
        parts = entry.name[len(STAGE_PREFIX):].split("-")
        if entry.name.startswith(STAGE_PREFIX) and len(parts) == 2 and gone(parts[0]):
            shutil.rmtree(entry.path, ignore_errors=True)  # refuses a link or a file: a look-alike stays


def copy_course_directory(coursedir, **changes):
    """A new CourseDirectory with the traits of ``coursedir``, and ``changes``."""
    values = {name: getattr(coursedir, name) for name in coursedir.trait_names(config=True)}
    values.update(changes)
    copy = type(coursedir)(parent=coursedir.parent)
    for name, value in values.items():
        setattr(copy, name, value)
    return copy


class Admission:
    """One converter's intake: its submission folders inspected, each admitted into the stage
    just before it is converted."""

    def __init__(self, converter, limits):
        from nbgrader.converters import Autograde

        self.log = converter.log
        self.limits = limits
        self.grading = isinstance(converter, Autograde)
        step = "submitted_directory" if self.grading else "autograded_directory"
        original = converter.coursedir
        sweep_stages()
        self.stage = tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-")
        weakref.finalize(converter, shutil.rmtree, self.stage, True)
        staged = copy_course_directory(original, **{step: self.stage})
        source_of = re.compile(submission_path_pattern(converter, "(?P<assignment_id>.*)", "(?P<student_id>.*)") + "$")
        step_root = os.path.normpath(original.format_path(getattr(original, step), ".", "."))
        self.folders = {}  # staged folder -> (the submission folder, its IntakeResult)
        assignments = {}
        for folder, notebooks in converter.assignments.items():
            ids = source_of.match(folder).groupdict()
            target = staged.format_path(self.stage, ids["student_id"], ids["assignment_id"])
            names = sorted(os.path.basename(n) for n in notebooks)
            assigned = self._assigned(original, ids["assignment_id"]) or set(names)
            found = intake.examine(folder, [n for n in names if n in assigned], self.limits, root=step_root)
            if not self.grading:  # feedback: the graded notebooks and nbgrader's bookkeeping only
                found.files = [f for f in found.files if f.path in FEEDBACK_FILES]
            self.folders[target] = (folder, found)
            assignments[target] = [os.path.join(target, n) for n in names]
            stamp = [f for f in found.files if f.path == intake.TIMESTAMP]
            if stamp:  # read by nbgrader before the hook (init_destination): a newer time, even of a
                # submission that is not graded, replaces the grade of the one before
                refused = intake.admit(intake.IntakeResult(folder, files=stamp), target, self.limits)
                if refused and not found.problem:
                    found.problem = f"{intake.TIMESTAMP} (the time of submission) cannot be read: {refused[0].reason}"
        self.current = None
        self._read = {}
        converter.assignments = assignments
        converter.coursedir = staged
        self.previous_hook = converter.pre_convert_hook
        converter.pre_convert_hook = self.before_submission

    @staticmethod
    def _assigned(coursedir, assignment):
        """The names of the assignment's notebooks in source/ (empty if there is no source)."""
        source = coursedir.format_path(coursedir.source_directory, ".", assignment)
        try:
            return {e.name for e in os.scandir(source) if e.name.endswith(".ipynb")}
        except OSError:
            return set()

    def before_submission(self, assignment, student, notebooks):
        """The converter's pre-convert hook: stage this submission (and drop the previous one's, whose
        notebooks nbgrader may never have read). nbgrader calls it with at least one notebook."""
        if self.current is not None:
            shutil.rmtree(self.current, ignore_errors=True)
        target = os.path.dirname(notebooks[0])
        if target in self.folders:
            folder, found = self.folders[target]
            self.current = target
            shutil.rmtree(target, ignore_errors=True)
            if not found.problem:
                intake.admit(found, target, self.limits)
            label = printable(os.path.relpath(folder))  # nbgrader converts in the course root (BaseConverter.start)
            for line in found.left_out if self.grading else ():
                self.log.warning("%s: left out %s", label, line)
            if found.problem:
                self.log.error("%s: not graded: %s", label, found.problem)
        if self.previous_hook is not None:
            self.previous_hook(assignment=assignment, student=student, notebooks=notebooks)

    def read(self, path):
        """A staged notebook's bytes; once every admitted notebook of its submission is read,
        nothing of the submission stays in the stage (nbgrader copied the other files before)."""
        self.check(path)
        target = os.path.dirname(path)
        data = intake.read_path(path, self.limits)
        if target in self.folders:
            folder, found = self.folders[target]
            self._read.setdefault(target, set()).add(os.path.basename(path))
            if self._read[target] >= {f.path for f in found.notebooks}:
                shutil.rmtree(target)
        return data

    def check(self, path):
        """Raise NotAdmitted if ``path`` is a staged notebook the intake refused."""
        folder, found = self.folders.get(os.path.dirname(path), (None, None))
        if found is None:
            return
        name = os.path.basename(path)
        if found.problem:
            raise intake.NotAdmitted(f"not graded: {found.problem}")
        if name not in {f.path for f in found.notebooks}:  # in the gradebook, but no longer in source/
            raise intake.NotAdmitted(f"not graded: {printable(name)} is not a notebook of the assignment in source/")


class _ReadThroughIntake:
    """An exporter that installs the intake on its converter and reads notebooks safely."""

    def __init__(self, config=None, **kwargs):
        super().__init__(config=config, **kwargs)
        from nbgrader.converters import BaseConverter

        self.limits = submission_limits(self.config)
        converter = self.parent if isinstance(self.parent, BaseConverter) and self.parent.assignments else None
        self.admission = Admission(converter, self.limits) if converter else None

    def from_filename(self, filename, resources=None, **kw):
        """nbconvert's from_filename (the same resources, on POSIX), reading through :func:`.intake.read_path`."""
        if resources is None:
            resources = {}
        if not resources.get("metadata"):
            resources["metadata"] = {}
        path, basename = os.path.split(filename)
        resources["metadata"]["name"] = os.path.splitext(basename)[0]
        resources["metadata"]["path"] = path
        if self.admission is not None:
            self.admission.check(filename)  # a notebook the intake refused was never staged: say why first
        modified = datetime.datetime.fromtimestamp(os.lstat(filename).st_mtime, tz=datetime.timezone.utc)
        resources["metadata"]["modified_date"] = modified.strftime("%B %-d, %Y")
        data = self.admission.read(filename) if self.admission is not None else intake.read_path(filename, self.limits)
        return self.from_notebook_node(nbformat.reads(data.decode(), as_version=4), resources=resources, **kw)


class IntakeNotebookExporter(_ReadThroughIntake, NotebookExporter):
    """Autograde's exporter (``c.Autograde.exporter_class``): nbconvert's, taking submissions through the intake."""


class IntakeHTMLExporter(_ReadThroughIntake, HTMLExporter):
    """Feedback's exporter (``c.GenerateFeedback.exporter_class``): nbconvert's, taking graded notebooks through
    the intake, and writing only a page that runs nothing (:func:`.inert.checked_page`)."""

    def __init__(self, config=None, **kwargs):
        super().__init__(config=config, **kwargs)
        typeset.mathjax_modules()  # without MathJax, stop before the first page, naming `make npm`

    def from_notebook_node(self, nb, resources=None, **kw):
        """The feedback page of ``nb``, checked inert (:func:`.inert.checked_page`) before it is written."""
        html, resources = super().from_notebook_node(nb, resources, **kw)
        return inert.checked_page(html), resources

"""What travels to a grading worker that shares no filesystem with the instructor's machine.

- :class:`CourseBundle`: what every submission of the course is graded against, sent once to
  each worker: ``source/``, the answers and the course secret, the nbgrader config, the release metadata (the gradebook's
  assignments, notebooks and cells, without a student) and the fingerprint of the course
  package that the client grades with (:func:`.preflight.fingerprint`);
- a submission's files: what the intake admits of ``submitted/<student>/<assignment>``
  (:func:`read_submission`), and the autograded folder coming back, read by :func:`read_folder`
  and written by :func:`write_folder`. Both sides treat a folder's files as hostile: regular
  files only, links never followed, names checked, sizes capped.
"""
from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from ..intake import folder as intake
from ..intake.safezip import name_problem
from ..judge import answerbook
from ..judge.answerbook import FOLDER
from .preflight import fingerprint

#: the tables of nbgrader's gradebook that belong to the assignments (the release metadata);
#: the others (students, their submissions, grades and comments) stay with the client
STUDENT_TABLES = {"student", "submitted_assignment", "submitted_notebook", "grade", "comment"}


class RefusedFiles(ValueError):
    """A folder's files cannot be sent as they are: the message says which file and why."""

# --- a folder's files, hostile -------------------------------------------------------------

def _checked_name(name):
    """``name`` if the intake's name rules (:func:`.safezip.name_problem`) take it, else RefusedFiles."""
    problem = name_problem(name)
    if problem:
        raise RefusedFiles(f"refused file name {name!r}: {problem}")
    return name


def read_folder(folder, max_files=1000, max_bytes=256 * 1024 ** 2, skip_links=False, hard_links=False):
    """{relative path: (mode, bytes)} of every regular file under ``folder``.

    A symlink, FIFO, socket or device, or a file with another hard link, raises
    :class:`RefusedFiles` (with ``skip_links``, as for a kernel's output, it is left out
    instead); so do more than ``max_files`` files or ``max_bytes`` in all. ``hard_links``: a
    file with other names is read (the instructor's own ``source/``, which a student's hard link
    to it must not make unreadable). Nothing is followed:
    each file is opened with O_NOFOLLOW and checked to be what was listed.
    """
    files, total = {}, 0

    def walk(directory, prefix):
        nonlocal total
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                name = _checked_name(entry.name)
                info = entry.stat(follow_symlinks=False)
                relative = f"{prefix}{name}"
                if stat.S_ISDIR(info.st_mode):
                    walk(entry.path, relative + "/")
                    continue
                if not stat.S_ISREG(info.st_mode) or (info.st_nlink > 1 and not hard_links):
                    if skip_links:
                        continue
                    kind = "a hard link" if stat.S_ISREG(info.st_mode) else intake.kind_of(info.st_mode)
                    raise RefusedFiles(f"{relative} is {kind}")
                if len(files) >= max_files:
                    raise RefusedFiles(f"more than {max_files} files")
                fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
                try:
                    opened = os.fstat(fd)
                    if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino) or not stat.S_ISREG(opened.st_mode):
                        raise RefusedFiles(f"{relative} changed while it was read")
                    total += opened.st_size
                    if total > max_bytes:
                        raise RefusedFiles(f"more than {max_bytes // 1024 ** 2} MiB in all")
                    with os.fdopen(fd, "rb") as f:
                        fd = None
                        data = f.read(max_bytes + 1)
                finally:
                    if fd is not None:
                        os.close(fd)
                files[relative] = (stat.S_IMODE(opened.st_mode), data)

    walk(folder, "")
    return files


def read_submission(folder, notebooks, limits):
    """The files of ``submitted/<student>/<assignment>`` that the intake admits (grader/intake/folder.py:
    the one intake of every way in), to send to a worker; :class:`RefusedFiles` when the intake
    refuses the submission. ``notebooks``: the assignment's; ``limits``: the course's
    :func:`~.admission.submission_limits`. What it leaves out is the submission's notes already."""
    return read_admitted(intake.examine(folder, notebooks, limits), limits)


def read_admitted(found, limits):
    """The files the intake's result ``found`` (an IntakeResult) admits, as {relative path: (mode,
    bytes)}, each read as the very file the intake looked at; :class:`RefusedFiles` when it
    refused the submission, or a file changed since."""
    if found.problem:
        raise RefusedFiles(found.problem)
    folder = found.folder
    try:
        return {item.path: (0o644, intake.read_file(folder, item, limits)) for item in [*found.notebooks, *found.files]}
    except intake.NotAdmitted as error:
        raise RefusedFiles(str(error)) from None


def write_folder(destination, files):
    """Write ``files`` ({relative path: (mode, bytes)}) into the new folder ``destination``.

    Every name is checked again (no ``..``, no absolute path, no control character), folders
    are made here and files created exclusively without following links, so nothing lands
    outside ``destination``.
    """
    destination = Path(destination)
    destination.mkdir(parents=True)
    for relative, (mode, data) in files.items():
        parts = [_checked_name(part) for part in relative.split("/")]
        folder = destination
        for part in parts[:-1]:
            folder = folder / part
            try:
                folder.mkdir()
            except FileExistsError:
                if folder.is_symlink() or not folder.is_dir():
                    raise RefusedFiles(f"{relative}: {part} is not a folder") from None
        fd = os.open(folder / parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(folder / parts[-1], mode & 0o755)


def replace_folder(destination, files):
    """Put ``files`` at ``destination`` in place of what is there, all or nothing: written
    beside it first, then swapped in by renames."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    incoming = Path(tempfile.mkdtemp(prefix=f".{destination.name}.incoming-", dir=destination.parent))
    incoming.rmdir()
    write_folder(incoming, files)
    old = None
    if destination.exists() or destination.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{destination.name}.old-", dir=destination.parent))
        old.rmdir()
        os.rename(destination, old)
    os.rename(incoming, destination)
    if old is not None:
        import shutil

        shutil.rmtree(old, ignore_errors=True)


def tree_digest(files):
    """A digest of {relative path: (mode, bytes)} (modes left out: a copy may change them)."""
    digest = hashlib.sha256()
    for relative in sorted(files):
        data = files[relative][1]
        digest.update(relative.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return digest.hexdigest()


# --- the course bundle ---------------------------------------------------------------------

def assignments_gradebook(db_url, path, course_id):
    """A new SQLite gradebook at ``path`` holding the assignments of the gradebook at
    ``db_url`` (their notebooks and cells: what autograde checks a submission against) and no
    student. Returns its bytes."""
    from nbgrader.api import Base, Gradebook
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    source, target = create_engine(db_url), create_engine(f"sqlite:///{path}")
    tables = [t for t in Base.metadata.sorted_tables if t.name not in STUDENT_TABLES]
    try:
        try:
            # stamped with the class gradebook's schema version: else nbgrader asks `alembic
            # heads` for it in a new process, seconds before grading can start
            with source.connect() as read:
                version = read.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            with target.begin() as write:
                write.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
                write.execute(text("INSERT INTO alembic_version (version_num) VALUES (:version)"), {"version": version})
        except SQLAlchemyError:
            pass  # no one version to copy: nbgrader stamps it as it always does
        with Gradebook(f"sqlite:///{path}", course_id):  # the schema, as nbgrader makes it
            pass
        with source.connect() as read, target.begin() as write:
            for table in reversed(tables):
                write.execute(table.delete())
            for table in tables:
                rows = [dict(row) for row in read.execute(table.select()).mappings()]
                if rows:
                    write.execute(table.insert(), rows)
    finally:
        source.dispose()
        target.dispose()
    return Path(path).read_bytes()


@dataclass(frozen=True)
class CourseBundle:
    """What every submission of the course is graded against, as bytes: sent once to each worker."""
    course_id: str
    config: bytes         # nbgrader_config.py
    source: dict          # {relative path: (mode, bytes)} of source/
    answers: dict         # of answers/, which compute every case (the instructor's: private as source/ is)
    secret: bytes         # the course secret, from which the hidden tests' inputs derive
    gradebook: bytes      # a SQLite gradebook with the assignments and no student
    fingerprint: str      # the course package's, as the client imports it

    @classmethod
    def of(cls, course):
        """The bundle of ``course``: its config, source/, answers, secret, the assignments' gradebook rows and
        the package's fingerprint."""
        with tempfile.TemporaryDirectory(prefix="backprop-bundle-") as tmp:
            gradebook = assignments_gradebook(course.db_url, Path(tmp) / "gradebook.db",
                                              course.config.CourseDirectory.course_id)
        return cls(course_id=course.config.CourseDirectory.course_id,
                   config=(course.root / "nbgrader_config.py").read_bytes(),
                   source=read_folder(course.root / "source", hard_links=True), answers=answers_files(course.root),
                   secret=answerbook.secret(course.root), gradebook=gradebook, fingerprint=fingerprint())

    @property
    def digest(self):
        """Of what a grade depends on besides the student's files (the gradebook's rows are
        made from source/ and the config, and so are left out: they hold random ids)."""
        return inputs_digest(self.config, self.source, self.answers, self.secret, self.fingerprint)

    def unpack(self, folder):
        """A course root in the new folder ``folder``: nbgrader_config.py, source/, answers/, the
        secret, gradebook.db."""
        folder = Path(folder)
        write_folder(folder / "source", self.source)
        write_folder(folder / FOLDER, self.answers)
        secret = folder / ".course-secret"
        secret.write_text(self.secret.hex() + "\n")
        secret.chmod(0o600)
        (folder / "nbgrader_config.py").write_bytes(self.config)
        (folder / "gradebook.db").write_bytes(self.gradebook)
        return folder


def answers_files(root):
    """{relative path: (mode, bytes)} of the course's answers/, its Python files (no caches)."""
    return {path: entry for path, entry in read_folder(Path(root) / FOLDER, hard_links=True).items()
            if "__pycache__" not in path.split("/")}


def inputs_digest(config, source, answers, secret, fingerprint):
    """The digest of everything that decides a grade besides the submission: the package's ``fingerprint``, the
    ``config``, the ``source`` and ``answers`` files and the ``secret``."""
    digest = hashlib.sha256()
    digest.update(fingerprint.encode() + b"\0" + hashlib.sha256(config).hexdigest().encode()
                  + b"\0" + tree_digest(source).encode() + b"\0" + tree_digest(answers).encode()
                  + b"\0" + hashlib.sha256(secret).hexdigest().encode())
    return digest.hexdigest()

"""What of a submission folder the grader may touch: the one intake of every way in.

A submission folder holds what a student sent, as written by a tool (nbgrader collect, an LMS
download, a copied zip). Before anything outside the sandbox opens a file of it, :func:`examine`
decides from the folder's metadata alone (``lstat``: no link followed, no file opened) what is
admitted and what is left out, and says why:

- **links and special files**, never followed nor opened: a symbolic link (to a file or a
  folder), a FIFO, a socket, a device, and a hard link whose other names are outside the folder
  (more links than the folder holds names of that file);
- **names**: those :func:`safezip.name_problem` refuses in a zip (``..``, absolute, control
  characters, line breaks, bidirectional controls, too long), the one set of name rules;
- **sizes in**: a file over ``Limits.file_bytes``; and when the other files together hold more
  than ``Limits.entries`` files or ``Limits.total_bytes``, all of them (only the notebooks are
  then graded).

The notebooks to grade must be admitted, or the submission is not graded (:attr:`IntakeResult.problem`);
a ``timestamp.txt`` (the time of submission, which decides lateness) too. Any other file left
out is reported (:meth:`IntakeResult.notes`) and the rest is graded: a stray link costs the student
nothing that honest work earns, and gains nothing either.

:func:`admit` copies what was admitted into a folder of the grader's, opening each file without
following a link, checking that it is the very file inspected and counting bytes as they come.
Grading reads only that copy (:mod:`.admission` puts it in nbgrader's way).

    found = examine("submitted/ada/02_backprop", notebooks=["backprop.ipynb"])
    found.problem, found.notes(), found.files      # plain data
    admit(found, "stage/ada/02_backprop")

Nothing here knows about nbgrader.
"""
from __future__ import annotations

import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .safezip import CHUNK, MiB, Limits, name_problem, printable

#: a submission's caps (``c.SubmissionLimits`` in the config changes them, see .admission)
LIMITS = Limits(file_bytes=50 * MiB, total_bytes=100 * MiB, entries=1000)
TIMESTAMP = "timestamp.txt"
TIMESTAMP_BYTES = 1024
#: beyond this many entries the folder is not walked further: it is over the cap anyway
WALK_LIMIT_FACTOR = 20
#: the student's and assignment's folder names become nbgrader's glob patterns
GLOB_CHARACTERS = "*?["
LINK = "a link/special file: a symbolic link, not followed"
SPECIAL = "a link/special file: a FIFO, socket or device, not opened"
HARD_LINK = "a link/special file: a hard link to a file with {} names, some outside the submission, not opened"


class NotAdmitted(Exception):
    """A file of a submission that the intake refused was asked for."""


@dataclass(frozen=True)
class File:
    """An admitted file: its path relative to the folder ('/'-separated), size and identity."""
    path: str
    size: int
    inode: tuple[int, int] = field(default=(0, 0), compare=False)  # (st_dev, st_ino) when inspected


@dataclass(frozen=True)
class Refusal:
    """One file the intake leaves out, and why."""
    path: str       # relative to the folder, printable
    reason: str

    def __str__(self):
        return f"{self.path}: {self.reason}"


@dataclass
class IntakeResult:
    """What :func:`examine` decided for one submission folder."""
    folder: str
    notebooks: list[File] = field(default_factory=list)     # admitted notebooks to grade
    files: list[File] = field(default_factory=list)         # admitted other files (timestamp.txt included)
    left_out: list[Refusal] = field(default_factory=list)   # everything not admitted, and why
    problem: str = ""                                       # why it cannot be graded at all, or ''

    def notes(self):
        """One line per file left out (at most ``shown``), for the log, the score table and the report."""
        shown = 5
        lines = [f"not graded: {r.reason}" if r.path == "*" else f"not graded: {r}; the rest is graded"
                 for r in self.left_out[:shown]]
        if len(self.left_out) > shown:
            lines.append(f"not graded: {len(self.left_out) - shown} more files (see the log); the rest is graded")
        return lines


def kind_of(mode):
    """What the intake makes of a file of ``mode`` (an ``lstat``'s ``st_mode``) it will not open:
    :data:`LINK`, :data:`SPECIAL`, or '' for a regular file or a folder. The grader's one
    description of a file's mode."""
    if stat.S_ISLNK(mode):
        return LINK
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return SPECIAL
    return ""


def _path_problem(root, folder, limits):
    """Why the folders from ``root`` down to ``folder`` are no submission's, or ''."""
    relative = os.path.relpath(folder, root).replace(os.sep, "/")
    if relative.startswith(".."):
        return f"the folder is not below {printable(root)}"
    problem = name_problem(relative, limits)
    if not problem and any(ch in GLOB_CHARACTERS for ch in relative):
        problem = "a glob character (*, ? or [): nbgrader would take it for a pattern matching other folders"
    if problem:
        return f"the folder's name has {problem}"
    path = root
    for part in relative.split("/"):
        path = os.path.join(path, part)
        try:
            mode = os.lstat(path).st_mode
        except OSError as error:
            return f"{printable(part)} cannot be read ({error.strerror})"
        if not stat.S_ISDIR(mode):
            return f"the folder {printable(part)} is {kind_of(mode) or 'not a folder'}"
    return ""


def walk(folder, limits=LIMITS):
    """(relative path, lstat) of every entry under ``folder``, folders first, names sorted; no
    link followed. Stops after WALK_LIMIT_FACTOR * limits.entries entries: returns (entries, cut)."""
    entries, todo, budget = [], [""], WALK_LIMIT_FACTOR * limits.entries
    while todo:
        prefix = todo.pop()
        try:
            with os.scandir(os.path.join(folder, prefix)) as it:
                names = sorted((e.name, e.stat(follow_symlinks=False)) for e in it)   # names are unique: by name
        except OSError:
            continue  # a folder that vanished or cannot be read: nothing of it is admitted
        subfolders = []
        for name, info in names:
            if len(entries) >= budget:
                return entries, True
            rel = f"{prefix}/{name}" if prefix else name
            entries.append((rel, info))
            if stat.S_ISDIR(info.st_mode) and not name_problem(rel, limits):
                subfolders.append(rel)
        todo.extend(reversed(subfolders))
    return entries, False


def examine(folder, notebooks=(), limits=LIMITS, root=None):
    """Decide what of ``folder`` is admitted. ``notebooks``: the names (top level) of the
    notebooks to grade; each must be admitted, or the submission is not graded. ``root``: a
    folder above it (``submitted/``) below which every folder on the way must be a real folder
    (not a link) with a name the rules allow: the student's, the assignment's."""
    folder = os.fspath(folder)
    found = IntakeResult(folder)
    if root is not None:
        found.problem = _path_problem(os.fspath(root), folder, limits)
        if found.problem:
            return found
    try:
        top = os.lstat(folder)
    except OSError as error:
        found.problem = f"the folder cannot be read ({error.strerror})"
        return found
    if not stat.S_ISDIR(top.st_mode):
        found.problem = f"the submission folder is {kind_of(top.st_mode) or 'not a folder'}"
        return found
    entries, cut = walk(folder, limits)
    names_of = Counter((info.st_dev, info.st_ino) for _, info in entries)  # a hard link's names inside the folder
    wanted = set(notebooks)
    others = []
    for rel, info in entries:   # walk() entered no folder whose name is refused: nothing below one is listed
        problem = name_problem(rel, limits)
        if problem:
            problem = f"{problem}: not copied"
        elif kind_of(info.st_mode):
            problem = kind_of(info.st_mode)
        elif stat.S_ISDIR(info.st_mode):
            continue
        elif info.st_nlink > 1 and (cut or names_of[(info.st_dev, info.st_ino)] < info.st_nlink):
            problem = HARD_LINK.format(info.st_nlink)
        elif info.st_size > limits.file_bytes:
            problem = f"{info.st_size / MiB:.0f} MiB, over the cap of {limits.file_bytes / MiB:.0f} MiB a file"
        elif rel == TIMESTAMP and info.st_size > TIMESTAMP_BYTES:
            problem = f"{info.st_size} bytes, more than a time of submission takes"
        if problem:
            found.left_out.append(Refusal(printable(rel), problem))
            continue
        item = File(rel, info.st_size, (info.st_dev, info.st_ino))
        if rel in wanted:
            found.notebooks.append(item)
        elif rel.endswith(".ipynb") and "/" not in rel:
            continue  # another notebook: nbgrader grades only the assignment's, and copies no notebook
        else:
            others.append(item)
    kept = [f for f in others if f.path == TIMESTAMP]
    rest = [f for f in others if f.path != TIMESTAMP]
    total = sum(f.size for f in rest)
    if cut or len(rest) > limits.entries or total > limits.total_bytes:
        over = (f"more than {WALK_LIMIT_FACTOR * limits.entries} entries" if cut else
                f"{len(rest)} files of {total / MiB:.1f} MiB, over the caps of {limits.entries} files and "
                f"{limits.total_bytes / MiB:.0f} MiB")
        found.left_out.append(Refusal("*", f"the folder holds {over}: only its notebooks are copied and graded"))
    else:
        kept += rest
    found.files = kept
    admitted = {f.path for f in found.notebooks}
    for name in notebooks:
        why = next((r.reason for r in found.left_out if r.path == printable(name)), None)
        if name not in admitted and why is not None:
            found.problem = f"{printable(name)} is {why}" if why in (LINK, SPECIAL) else f"{printable(name)}: {why}"
            break
    if not found.problem:
        why = next((r.reason for r in found.left_out if r.path == TIMESTAMP), None)
        if why is not None:
            found.problem = f"{TIMESTAMP} (the time of submission) is refused: {why}"
    return found


def _open(folder, item, limits):
    """A descriptor of the admitted file ``item`` of ``folder``: opened without following a link,
    without blocking on a FIFO, and checked to be the regular file that was inspected."""
    fd = os.open(os.path.join(folder, item.path), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotAdmitted(f"{printable(item.path)} is no longer a regular file")
        if item.inode != (0, 0) and (info.st_dev, info.st_ino) != item.inode:
            raise NotAdmitted(f"{printable(item.path)} was replaced after it was inspected")
        if info.st_size > limits.file_bytes:
            raise NotAdmitted(f"{printable(item.path)} grew over the cap of {limits.file_bytes / MiB:.0f} MiB")
        os.set_blocking(fd, True)
        return fd
    except BaseException:
        os.close(fd)
        raise


def _chunks(fd, cap, label):
    read = 0
    while chunk := os.read(fd, CHUNK):
        read += len(chunk)
        if read > cap:
            raise NotAdmitted(f"{label} grew over the cap of {cap / MiB:.0f} MiB while it was read")
        yield chunk


def read_file(folder, item, limits=LIMITS):
    """The bytes of the admitted file ``item`` of ``folder`` (for a cluster task, say)."""
    fd = _open(folder, item, limits)
    try:
        return b"".join(_chunks(fd, limits.file_bytes, printable(item.path)))
    finally:
        os.close(fd)


def read_path(path, limits=LIMITS):
    """The bytes of one file that nothing inspected yet (a notebook nbgrader asks for): a regular
    file with one name, within the file cap; else :class:`NotAdmitted` says why."""
    path = os.fspath(path)
    try:
        info = os.lstat(path)
    except OSError as error:
        raise NotAdmitted(f"{printable(os.path.basename(path))} cannot be read ({error.strerror})") from error
    why = kind_of(info.st_mode) or ("a folder" if stat.S_ISDIR(info.st_mode) else "")
    if not why and info.st_nlink > 1:
        why = f"a hard link to a file with {info.st_nlink} names: not opened"
    if why:
        raise NotAdmitted(f"{printable(os.path.basename(path))} is {why}")
    return read_file(os.path.dirname(path), File(os.path.basename(path), info.st_size, (info.st_dev, info.st_ino)),
                     limits)


def admit(found, dest, limits=LIMITS):
    """Copy what ``found`` admitted into the new folder ``dest``. Returns the refusals of the copy
    (a file changed since it was inspected); a notebook among them makes ``found.problem``."""
    dest = Path(dest)
    dest.mkdir(parents=True)
    refused = []
    for item in [*found.notebooks, *found.files]:
        target = dest / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = _open(found.folder, item, limits)
        except (OSError, NotAdmitted) as error:
            refused.append(Refusal(printable(item.path), str(error)))
            continue
        try:
            out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            with open(out, "wb") as sink:
                for chunk in _chunks(fd, limits.file_bytes, printable(item.path)):
                    sink.write(chunk)
        except (OSError, NotAdmitted) as error:
            target.unlink(missing_ok=True)
            refused.append(Refusal(printable(item.path), str(error)))
        finally:
            os.close(fd)
    for refusal in refused:
        if refusal.path in {printable(f.path) for f in found.notebooks} and not found.problem:
            found.problem = f"{refusal.path}: {refusal.reason}"
    found.left_out += refused
    return refused

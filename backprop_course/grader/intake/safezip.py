"""Unpack a zip that someone else made: an LMS download, a student's upload.

Every entry is checked before a byte of it is written, and refused (never silently dropped)
when it could write outside the destination or fill the disk:

- a name that is absolute, climbs with ``..``, holds a backslash, a control character, a
  line break or a bidirectional-text control, or is too long;
- a symbolic link, a device, a FIFO, an encrypted entry;
- a file over ``Limits.file_bytes``, an archive that unpacks to more than ``Limits.total_bytes``
  or holds more than ``Limits.entries`` entries, an entry whose compression ratio is over
  ``Limits.ratio`` (a zip bomb); sizes are counted as the bytes come out, not taken from the
  archive's own claims;
- a second entry of the same name.

Files are created with ``O_EXCL | O_NOFOLLOW`` below directory descriptors opened with
``O_NOFOLLOW``, so even a link planted in the destination is never followed.

    refused = extract("download.zip", "extracted/", Limits())

Used by zip_collect's extractor (``extract.SafeExtractor``); nothing here knows about nbgrader.
"""
from __future__ import annotations

import os
import stat
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

MiB = 1 << 20
CHUNK = 1 << 16

#: bidirectional-text controls: a name can show one extension and have another
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


@dataclass(frozen=True)
class Limits:
    """The caps on what one archive may unpack to, and the name rules' lengths."""
    file_bytes: int = 100 * MiB        # one unpacked file
    total_bytes: int = 2048 * MiB      # everything unpacked from one archive
    entries: int = 20_000              # entries in one archive
    ratio: float = 200.0               # unpacked / packed size of one entry ...
    ratio_floor: int = 1 * MiB         # ... checked for entries that unpack to more than this
    name_bytes: int = 255              # one path component, in UTF-8
    path_bytes: int = 1024             # a whole entry name, in UTF-8


@dataclass(frozen=True)
class Refused:
    """One archive entry the safe zip does not unpack, and why."""
    archive: str
    entry: str      # the entry's name, escaped for printing
    reason: str

    def __str__(self):
        return f"{self.archive}: {self.entry}: {self.reason}"


def printable(name):
    """``name`` with every control or formatting character escaped: safe in a log line or a CSV cell."""
    return "".join(ch if ch.isprintable() and ch not in BIDI_CONTROLS else ch.encode("unicode_escape").decode()
                   for ch in name)


def name_problem(name, limits=Limits()):
    """Why ``name`` (a relative path with ``/`` separators) may not be written, or ''."""
    if not name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    if "\\" in name:
        return "a backslash in the name"
    for ch in name:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in BIDI_CONTROLS:
            return "a control character or line break in the name"
        if unicodedata.category(ch) == "Cs":  # a byte Python could not decode (os.fsdecode's surrogateescape)
            return "a name that is not UTF-8"
    parts = name.rstrip("/").split("/")
    if any(part in ("..", ".") for part in parts):
        return "'..' or '.' in the path"
    if any(part == "" for part in parts):
        return "an empty path component"
    if len(name.encode()) > limits.path_bytes or any(len(p.encode()) > limits.name_bytes for p in parts):
        return "a name too long"
    return ""


def entry_problem(info, limits=Limits()):
    """Why the zip entry ``info`` is refused before unpacking, or ''."""
    problem = name_problem(info.filename, limits)
    if problem:
        return problem
    if info.flag_bits & 0x1:
        return "encrypted"
    mode = info.external_attr >> 16
    if info.create_system == 3 and mode:  # made on Unix: the file type is in the mode bits
        kind = stat.S_IFMT(mode)
        if stat.S_ISLNK(mode):
            return "a symbolic link"
        if kind and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            return "a special file (device, FIFO or socket)"
    if info.is_dir():
        return ""
    if info.file_size > limits.file_bytes:
        return f"unpacks to {info.file_size / MiB:.0f} MiB, over the {limits.file_bytes / MiB:.0f} MiB limit"
    if info.file_size > limits.ratio_floor and info.file_size > limits.ratio * max(info.compress_size, 1):
        return f"compressed {info.file_size / max(info.compress_size, 1):.0f}:1, over {limits.ratio:.0f}:1 (a zip bomb?)"
    return ""


class _TooBig(Exception):
    pass


def extract(archive, dest, limits=Limits()):
    """Unpack the zip ``archive`` into the folder ``dest`` (created if missing).

    Returns the list of :class:`Refused` entries; every other file is written below ``dest``.
    An archive that is not a readable zip is refused as a whole.
    """
    archive, dest = Path(archive), Path(dest)
    label = archive.name
    refused = []
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        return [Refused(label, "", f"not a readable zip archive ({error})")]
    dest.mkdir(parents=True, exist_ok=True)
    root = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    written_total = 0
    try:
        with zf:
            entries = zf.infolist()
            for index, info in enumerate(entries):
                name = printable(info.filename)
                if index >= limits.entries:
                    refused += [Refused(label, printable(i.filename), f"more than {limits.entries} entries in the archive")
                                for i in entries[index:]]
                    break
                problem = entry_problem(info, limits)
                if not problem and not info.is_dir() and written_total + info.file_size > limits.total_bytes:
                    problem = f"the archive unpacks to more than {limits.total_bytes / MiB:.0f} MiB"
                if problem:
                    refused.append(Refused(label, name, problem))
                    continue
                parts = info.filename.rstrip("/").split("/")
                try:
                    if info.is_dir():
                        os.close(_open_dirs(root, parts))
                        continue
                    written_total += _write(zf, info, root, parts)
                except _TooBig as error:
                    refused.append(Refused(label, name, str(error)))
                except FileExistsError:
                    refused.append(Refused(label, name, "a second entry of the same name, or a file where a folder is"))
                except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as error:
                    refused.append(Refused(label, name, f"cannot be unpacked ({type(error).__name__}: {error})"))
    finally:
        os.close(root)
    return refused


def _open_dirs(root, parts):
    """A descriptor of the folder root/parts[0]/…/parts[-1], made as needed, no link followed."""
    fd = os.dup(root)
    for part in parts:
        try:
            os.mkdir(part, 0o755, dir_fd=fd)
        except FileExistsError:
            pass
        try:
            child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        except (NotADirectoryError, OSError) as error:
            os.close(fd)
            raise FileExistsError from error
        os.close(fd)
        fd = child
    return fd


def _write(zf, info, root, parts):
    """Write one entry, counting what comes out; returns the bytes written. The caps were checked
    against the size the archive states (:func:`entry_problem` and the total in :func:`extract`), so
    the entry stops at that size: zipfile stops there too, and this does not rely on it."""
    folder = _open_dirs(root, parts[:-1])
    try:
        fd = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=folder)
        written = 0
        try:
            with zf.open(info) as src, os.fdopen(fd, "wb") as out:
                while chunk := src.read(CHUNK):
                    written += len(chunk)
                    if written > info.file_size:
                        raise _TooBig("unpacks to more than the size the archive states")
                    out.write(chunk)
        except BaseException:
            os.unlink(parts[-1], dir_fd=folder)
            raise
        return written
    finally:
        os.close(folder)

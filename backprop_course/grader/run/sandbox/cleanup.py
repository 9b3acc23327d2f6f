"""Removing a folder tree whatever it holds: any depth, any width, any modes, links never followed.

``shutil.rmtree`` recurses (a tree 3,000 folders deep raises RecursionError, which its
``ignore_errors`` does not catch), walks paths longer than PATH_MAX, and stops at a folder
without write or search permission. :func:`remove_tree` holds two folders open at a time: it
empties a folder, moving each subfolder up to the top of the tree as it goes, so the depth
never grows; it gives a folder the permissions it needs before it opens it; it works on file
descriptors of folders (``dir_fd``), never on long paths, and never follows a link.
"""
from __future__ import annotations

import itertools
import logging
import os
import stat

log = logging.getLogger(__name__)

#: entries read from a folder at a time: a folder of a million entries is emptied in batches
BATCH = 1000


def _open_folder(name, dir_fd=None):
    """Open the folder ``name`` (relative to ``dir_fd``) for reading, made rwx for its owner first;
    never follows a link (O_NOFOLLOW), so only a real folder is opened and changed."""
    handle = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY, dir_fd=dir_fd)
    try:
        # chmod through the handle: the very folder opened, not whatever the name holds now
        os.chmod(f"/proc/self/fd/{handle}", stat.S_IRWXU)
        return os.open(f"/proc/self/fd/{handle}", os.O_RDONLY | os.O_DIRECTORY)
    finally:
        os.close(handle)


def _make_movable(name, dir_fd):
    """Moving a folder to another parent rewrites its ``..``: it needs write permission on itself."""
    os.close(_open_folder(name, dir_fd))


def remove_tree(path):
    """Remove ``path`` and everything below it; a link or file at ``path`` is removed itself.
    Returns True when nothing is left; never raises OSError (a failure is logged)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError as error:
        log.warning("cannot remove %s: %s", path, error)
        return False
    try:
        if not stat.S_ISDIR(info.st_mode):
            os.unlink(path)
            return True
        top = _open_folder(path)
    except OSError as error:
        log.warning("cannot remove %s: %s", path, error)
        return False
    try:
        emptied = _empty(top)
    except OSError as error:
        log.warning("cannot remove all of %s: %s", path, error)
        emptied = False
    finally:
        os.close(top)
    try:
        os.rmdir(path)
        return True
    except OSError as error:
        if emptied:
            log.warning("cannot remove %s: %s", path, error)
        return False


def _empty(top):
    """Empty the folder open as ``top``: True when it is empty."""
    pending, taken = [], set()  # top's folders to empty (names in top), and names a moved folder must not take
    with os.scandir(top) as entries:
        for entry in entries:
            taken.add(entry.name)
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.name)
            else:
                _unlink(entry.name, top)
    counter = itertools.count()
    while pending:
        name = pending.pop()
        folder = _open_folder(name, top)
        try:
            while True:
                with os.scandir(folder) as entries:
                    batch = list(itertools.islice(entries, BATCH))
                if not batch:
                    break
                for entry in batch:
                    if entry.is_dir(follow_symlinks=False):  # up into top: the depth never grows
                        moved = next(n for n in (f".removing-{i}" for i in counter) if n not in taken)
                        taken.add(moved)
                        _make_movable(entry.name, folder)
                        os.rename(entry.name, moved, src_dir_fd=folder, dst_dir_fd=top)
                        pending.append(moved)
                    else:
                        _unlink(entry.name, folder)
        finally:
            os.close(folder)
        os.rmdir(name, dir_fd=top)
    with os.scandir(top) as entries:
        return next(entries, None) is None


def _unlink(name, dir_fd):
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass

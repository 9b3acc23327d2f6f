"""An LMS download unpacked: nbgrader's ``zip_collect`` extractor, through the course's safe zip.

:class:`SafeExtractor` (selected in ``nbgrader_config.py``) unpacks with :mod:`.safezip` instead
of nbgrader's extractor, which skips ``../`` entries without a word, writes symlink entries as
files and has no size caps; each refusal is a :class:`Row` of ``collect_report.csv``, which the
collectors of :mod:`.lms` complete.
"""
from __future__ import annotations

import csv
import os
import shutil
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nbgrader.plugins import ExtractorPlugin
from traitlets import Float, Integer

from ..nbgrader_private import collect_path, is_zip_collect_app
from ..results import csvsafe
from . import safezip


REPORT = "collect_report.csv"


ARCHIVES = (".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar")


@dataclass
class Row:
    """One line of the collect report."""
    file: str
    status: str                  # collected | not collected | refused | no submission
    student: str = ""
    notebook: str = ""
    timestamp: datetime | None = None
    note: str = ""

    def cells(self):
        """The row's cells in collect_report.csv, what the student named made inert for a spreadsheet."""
        stamp = self.timestamp.strftime("%Y-%m-%d %H:%M:%S UTC") if self.timestamp else ""
        return [inert(self.file), self.status, self.student, self.notebook, stamp, inert(self.note)]


def inert(text):
    """A student's file name as a CSV cell: control characters escaped, and no formula (csvsafe)."""
    return csvsafe.text(safezip.printable(text))


def write_report(path, rows):
    """Write ``rows`` (:class:`Row`) as the CSV report at ``path``, with its header."""
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "status", "student", "notebook", "timestamp", "note"])
        writer.writerows(row.cells() for row in rows)


def collect_paths(app):
    """(extracted folder, report path) of a ZipCollectApp: the report is in the assignment's own
    folder of downloads, beside ``archive/`` and ``extracted/``."""
    return Path(collect_path(app, app.extracted_directory)), Path(collect_path(app, "")) / REPORT


class SafeExtractor(ExtractorPlugin):
    """nbgrader's extractor, with every archive unpacked by :mod:`safezip` and every refusal listed.

    Zips are unpacked into ``extracted/<zip name without .zip>/``; loose files are copied;
    other archives (tar, gz, 7z, rar) and zips inside zips are not unpacked, and are listed.
    """

    max_file_mib = Integer(100, help="largest file unpacked from an archive, MiB").tag(config=True)
    max_total_mib = Integer(2048, help="most one archive may unpack to, MiB").tag(config=True)
    max_entries = Integer(20_000, help="most entries in one archive").tag(config=True)
    max_ratio = Float(200.0, help="highest compression ratio of an entry over 1 MiB (zip bombs)").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.refused: list[Row] = []

    @property
    def limits(self):
        """The safe zip's Limits these settings make."""
        return safezip.Limits(file_bytes=self.max_file_mib * safezip.MiB, total_bytes=self.max_total_mib * safezip.MiB,
                              entries=self.max_entries, ratio=self.max_ratio)

    def extract(self, archive_path, extracted_path):
        """nbgrader's extractor hook: unpack every zip of ``archive_path`` into ``extracted_path`` through the
        safe zip, copy other files as they are, and report what is refused."""
        archive_root, extracted_root = Path(archive_path), Path(extracted_path)
        for folder, dirs, files in os.walk(archive_root):
            dirs.sort()
            for name in [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
                self._refuse(str((Path(folder) / name).relative_to(archive_root)), "a link to a folder: not followed")
            for name in sorted(files):
                source = Path(folder) / name
                relative = source.relative_to(archive_root)
                target = extracted_root / relative.parent
                target.mkdir(parents=True, exist_ok=True)
                kind = os.lstat(source).st_mode
                odd = safezip.name_problem(relative.as_posix())  # the zips' name rules, for loose files too
                if odd:
                    self._refuse(str(relative), odd)
                elif not stat.S_ISREG(kind):
                    self._refuse(str(relative), "not a regular file (a link or a special file)")
                elif name.lower().endswith(".zip"):
                    self.log.info("Extracting %s", relative)
                    for refusal in safezip.extract(source, target / name[: -len(".zip")], self.limits):
                        self._refuse(f"{relative}/{refusal.entry}", refusal.reason)
                elif name.lower().endswith(ARCHIVES):
                    self._refuse(str(relative), "an archive other than zip: not unpacked")
                else:
                    shutil.copyfile(source, target / name, follow_symlinks=False)
        report = collect_paths(self.parent)[1] if is_zip_collect_app(self.parent) else None
        if report is not None:  # the collector rewrites it with the rest; this keeps the refusals if it never runs
            write_report(report, self.refused)

    def _refuse(self, file, reason):
        self.log.warning("refused: %s: %s", safezip.printable(file), reason)
        self.refused.append(Row(file, "refused", note=reason))

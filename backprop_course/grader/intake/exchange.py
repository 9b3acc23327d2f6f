"""Submissions in from nbgrader's exchange, through the intake (``c.ExchangeFactory.collect``).

``nbgrader submit`` runs as the student: the student owns their folder in the exchange's
``inbound/``, and chooses its name (``<student>+<assignment>+<time>+<random>``) and the
``timestamp.txt`` in it; they can change both at any time. What only the machine writes is the
folder's owner (its uid) and the inode change times (``st_ctime``) of the folder and its
files: ``touch`` sets a file's modification time, nothing but the kernel its change time. So
:class:`IntakeCollect`, nbgrader's collect with three changes:

- the time of a submission is when the exchange last saw it change: the latest change time of
  its folder and every file in it, read again after the copy. It orders a student's
  submissions (``--update``, ``--before-duedate``) and is written to ``timestamp.txt`` in
  ``submitted/``; the student's own ``timestamp.txt`` is not copied, and the name's time not read;
- with ``c.ExchangeCollect.check_owner`` (nbgrader's default), a folder not owned by the student
  it names is collected for nobody (nbgrader only warns, then collects it as theirs), and never
  hides that student's own;
- ``shutil.copytree`` follows symbolic links: a student's link to ``source/`` or ``/etc/shadow``
  would arrive in ``submitted/`` as a plain file read with the instructor's rights. The copy
  takes what :func:`.folder.examine` admits instead, and logs what it leaves out.
"""
from __future__ import annotations

import os
import pwd
import stat
from datetime import datetime, timezone

from nbgrader.exchange.default.collect import ExchangeCollect

from . import folder as intake
from .admission import submission_limits
from .safezip import printable


def received_at(folder, limits=intake.LIMITS):
    """When the exchange last saw ``folder`` change, as naive UTC: the latest inode change time of
    the folder and everything in it (nothing followed; as far as the intake walks)."""
    top = os.lstat(folder)
    entries = intake.walk(folder, limits)[0] if stat.S_ISDIR(top.st_mode) else []
    latest = max([top.st_ctime, *(info.st_ctime for _, info in entries)])
    return datetime.fromtimestamp(latest, timezone.utc).replace(tzinfo=None)


def owner(path):
    """The user name of the owner of ``path`` (its uid when the system has no name for it)."""
    uid = os.lstat(path).st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class IntakeCollect(ExchangeCollect):
    """nbgrader's collect, with the exchange's time and owner, copying through the intake."""

    def _path_to_record(self, path):
        # nbgrader reads the time from the folder's name, which the student chose (and a name it
        # cannot parse stopped the collect for everyone)
        filename = os.path.basename(path)
        student = filename.rsplit("+", 3)[0]
        try:
            when, foreign = received_at(path, self.limits), self.check_owner and owner(path) != student
            why = f"owned by {printable(owner(path))}, not {printable(student)}" if foreign else ""
        except OSError as error:  # removed by its owner while being collected
            why = f"cannot be read ({error.strerror})"
        # a folder not collected sorts last, and after any due date: it never hides the student's own
        return {"username": student, "filename": filename, "not_collected": why,
                "timestamp": datetime.max if why else when}

    def _sort_by_timestamp(self, records):
        return sorted(records, key=lambda record: (not record["not_collected"], record["timestamp"]), reverse=True)

    def init_src(self):
        """nbgrader's list of submissions to collect, less those whose folder's owner is not the student it names
        (each logged)."""
        super().init_src()
        for record in [r for r in self.src_records if r["not_collected"]]:
            self.log.error("%s: %s: not collected (the owner of a folder in the exchange says whose it is, not the "
                           "name on it; on a hub where every student's server runs as one user, set "
                           "c.ExchangeCollect.check_owner = False and the name is all there is)",
                           printable(record["filename"]), record["not_collected"])
            self.src_records.remove(record)

    @property
    def limits(self):
        """The intake's Limits for a submission, as this app's config sets them."""
        return submission_limits(parent=self)

    def do_copy(self, src, dest, log=None):
        """Copy what the intake admits of the exchange's folder ``src`` to ``dest``, with the exchange's time of
        submission; what is left out is logged."""
        notebooks = [e.name for e in os.scandir(src) if e.name.endswith(".ipynb")] if os.path.isdir(src) else []
        found = intake.examine(src, notebooks, self.limits)
        label = printable(os.path.basename(src))
        # the student's timestamp.txt is theirs to write: not copied, not a reason to refuse
        found.files = [f for f in found.files if f.path != intake.TIMESTAMP]
        found.left_out = [r for r in found.left_out if r.path != intake.TIMESTAMP]
        if found.problem.startswith(intake.TIMESTAMP):
            found.problem = ""
        for refusal in found.left_out:
            self.log.warning("%s: left out %s", label, refusal)
        intake.admit(found, dest, self.limits)
        when = received_at(src, self.limits)   # after the copy: a change made during it counts
        with open(os.path.join(dest, intake.TIMESTAMP), "x", encoding="utf-8") as stamp:
            stamp.write(f"{when:%Y-%m-%d %H:%M:%S.%f} UTC")
        if os.path.lexists(os.path.join(src, intake.TIMESTAMP)):
            self.log.info("%s: its timestamp.txt is the student's own and not used: submitted at %s UTC, when the "
                          "exchange last saw it change", label, f"{when:%Y-%m-%d %H:%M:%S}")
        if found.problem:
            self.log.error("%s: %s: it will not be graded", label, found.problem)

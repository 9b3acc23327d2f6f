"""Submissions in from nbgrader's exchange, through the intake (``c.ExchangeFactory.collect``).

``nbgrader collect`` copies each student's inbound folder into ``submitted/`` with
``shutil.copytree``, which follows symbolic links: on a shared JupyterHub a student's link to
``source/`` or ``/etc/shadow`` would arrive in ``submitted/`` as a plain file, read with the
instructor's rights, that no later check can tell from the student's own. :class:`IntakeCollect`
copies what :func:`.intake.inspect` admits instead, and logs what it leaves out.
"""
from __future__ import annotations

import os

from nbgrader.exchange.default.collect import ExchangeCollect

from . import intake
from .admission import submission_limits
from .safezip import printable


class IntakeCollect(ExchangeCollect):
    """nbgrader's collect, copying each submission through the intake."""

    def do_copy(self, src, dest, log=None):
        notebooks = [e.name for e in os.scandir(src) if e.name.endswith(".ipynb")] if os.path.isdir(src) else []
        found = intake.inspect(src, notebooks, submission_limits(parent=self))
        label = printable(os.path.basename(src))
        for refusal in found.left_out:
            self.log.warning("%s: left out %s", label, refusal)
        intake.admit(found, dest, submission_limits(parent=self))
        if found.problem:
            self.log.error("%s: %s: it will not be graded", label, found.problem)

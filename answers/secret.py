"""The course secret, from which the hidden tests' inputs derive.

A hidden test cell names its scenario with literal arguments, a seed among them
(``check_train(train, seed=41, epochs=4, …)``). The grader does not run that seed: it runs one
derived from the seed and the course's secret (an HMAC), so the public repository, which holds
``source/``, cannot yield the hidden inputs or their expected values. The secret is created at the
first release or grading (``.course-secret`` in the course root, git-ignored, readable by its
owner only). Keep it with ``source/``: a new secret changes every hidden scenario (a regrade
would then test other numbers).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

#: the file in the course root that holds the secret (hex)
FILE = ".course-secret"


class SecretError(RuntimeError):
    """The course secret cannot be read or made: the message says which file and why."""


def course_secret(root, create=False):
    """The secret of the course at ``root`` (bytes); made first if ``create`` and there is none."""
    path = Path(root) / FILE
    if not path.exists():
        if not create:
            raise SecretError(f"{path} does not exist: run `make release` (or `make grade`) in the course root, "
                              "which makes it, or copy the course's secret there")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made meanwhile by another process: use that one
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        raise SecretError(f"{path} holds no hex secret: restore it from your backup, or delete it to make a new "
                          "one (every hidden scenario then changes)") from None
    if len(secret) < 16:
        raise SecretError(f"{path} holds a secret of {len(secret)} bytes: at least 16 are needed")
    return secret


def hidden_arguments(secret, check_name, args, kwargs, attempt=0):
    """The arguments the grader runs a hidden call with: its seed replaced by one derived from the
    secret and the call as written (the same call gets the same seed for every student).
    attempt: the next derivation, when the one before drew an unsound scenario (``cases.Unsound``)."""
    written = json.dumps([check_name, list(args), dict(sorted(kwargs.items()))], sort_keys=True)
    if attempt:
        written += f"#{attempt}"
    digest = hmac.new(secret, written.encode(), hashlib.sha256).digest()
    return tuple(args), {**kwargs, "seed": int.from_bytes(digest[:4], "big")}

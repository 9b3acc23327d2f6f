"""The checks that the assignments' test cells call. See ``core`` for how they report."""
from .core import MISTAKES, Mistake, WrongAnswer, mistake_codes  # noqa: F401

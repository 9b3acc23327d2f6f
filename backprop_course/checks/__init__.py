"""The checks that the assignments' test cells call. See ``core`` for how they report and
``mistakes`` for the mistakes they name."""
from .core import MISTAKES, Diagnosis, Mistake, WrongAnswer, mistake_codes  # noqa: F401

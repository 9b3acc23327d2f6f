"""The instructor's answers: what computes a right answer, kept apart from the students.

Nothing here is part of the student's install (``pip install backprop-course``) or visible to
the grading kernel: keep this folder private with ``source/`` and the course secret for a graded
class (README, "What the instructor keeps private").

- ``oracle.py``: the finite-difference oracle, which decides what is right;
- ``equations.py``: the lecture's equations, one method each;
- ``reference.py``: a neuron, a network and assignment 03's layers, computed with them;
- ``deviations.py``: how each known mistake differs from the reference (the mistakes' replays);
- ``reference_autograd.py``: assignment 04's Value, training step and early stopping, and the
  grader's trusted numpy MLP;
- ``neuron.py``, ``backprop.py``, ``vectorised.py``, ``autograd.py`` and ``early_stopping.py``: each
  check's case (``cases.py``): its scenario, its right values and the replays, and the stand-ins'
  recordings (``standins.py``);
- ``secret.py``: hidden tests' inputs derived from the course secret;
- ``public.py``: the public tests' cases written out for the student's install (``make release``);
- ``catalogue.py``: correct and mistaken submissions, for the tests and the demo class (in
  ``submissions/``, a module per assignment).
"""
from . import autograd, backprop, early_stopping, neuron, public, secret, vectorised  # noqa: F401 (each case module registers its checks' builders)
from .cases import Unsound, case, hidden_arguments  # noqa: F401

"""backprop_course: the course's own package, one room per place where its code runs.

- ``lectures``: what the lecture notebooks import (activations, figures, widgets);
- ``checks``: what the assignments' test cells import, in the student's kernel (the checks, how
  they compare and talk to the student, the mistake table, the stand-ins they hand the student's
  code, and the public tests' recorded cases; the answers that compute a case stay in
  ``answers/``, with the instructor);
- ``grader``: what runs in the instructor's process while grading (the command line, the
  nbgrader preprocessors, trusted verdicts, the sandbox, the report);
- ``tools``: developer tools (the demo class, the benchmark, the static site; the catalogue of
  submissions they use is ``answers/catalogue.py``).

Beside the rooms, leaves that import nothing of the package, so that the checks and the lectures
both import them downward: ``palette`` (the course's colours, the report's too), ``datasets``
(the seeded 2-D data sets) and ``digits`` (the 8×8 handwritten digits, with ``data/``).
"""
__version__ = "1.0.0"

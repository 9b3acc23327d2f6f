"""backprop_course: the course's own package, one room per place where its code runs.

- ``lectures``: what the lecture notebooks import (activations, figures, widgets);
- ``checks``: what the assignments' test cells import, in the student's kernel (the
  finite-difference oracle, the checks, the mistake table and the reference neuron and network
  that the mistakes deviate from);
- ``grader``: what runs in the instructor's process while grading (the command line, the
  nbgrader preprocessors, trusted verdicts, the sandbox, the report);
- ``tools``: developer tools (the catalogue of submissions, the demo class, the benchmark,
  the static site).
"""
__version__ = "1.0.0"

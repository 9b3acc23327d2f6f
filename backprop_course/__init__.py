"""backprop_course: the course's own package.

- ``checks``: the teaching checks the assignments' test cells call;
- ``nbgrader_ext``: the course's nbgrader preprocessors and configuration;
- ``grading`` and ``report``: the instructor's `make grade` pipeline;
- ``plots`` and ``widgets``: figures and live widgets of the lecture notebooks.
"""
__version__ = "1.0.0"

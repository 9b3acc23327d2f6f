"""What runs in the instructor's process while grading. Never imported by a student's kernel.

Laid out along a submission's path, one room per stage:

- :mod:`.intake`: the way in. The class's submissions at the first look (``submissions``), what
  of a submission folder the grader may open (``folder``), nbgrader reading only the intake's
  copy (``admission``), untrusted zips (``safezip``), the exchange (``exchange``), an LMS's
  downloads (``extract``, ``lms``, ``roster``) and the times of submission (``late``);
- :mod:`.run`: grading a submission. The preflight before the first student (``preflight``),
  the grading Execute (``execute``, judging its test cells in ``judging``) and nbgrader's
  preprocessors (``preprocessors``), the sandbox around each kernel (``sandbox/``), where
  submissions are graded (``executors``; on Dask: ``cluster`` the workers, ``cluster_client``
  the client; ``bundle`` what travels), what is graded already (``journal``) and the cells
  grading skips (``skipping``);
- :mod:`.judge`: the judgement. A test cell's statements read with ast (``statements``), trusted
  verdicts on what its calls observed (``verdicts``) and the course's answers as the grader loads
  them (``answerbook``);
- :mod:`.results`: what comes out. The gradebook merge (``merge``), the report (``report``), the
  exports (``export``, ``csvsafe``), who needs a second look (``review``, ``similarity``,
  ``integrity``, ``quotients``), the student's content made inert (``inert``, ``typeset``,
  ``npm``, ``templates/``).

Beside them: ``cli`` (the ``backprop-course`` command), ``pipeline`` (the course and the order of
the stages: release, autograde, feedback, export, report), ``config`` (the nbgrader
configuration, in one place), ``assignments`` (the assignments read from ``source/``) and
``nbgrader_private`` (the only door to nbgrader's private API).
"""

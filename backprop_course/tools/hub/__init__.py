"""A JupyterHub for the course on one machine: an instructor and students as real Unix users
(checked by PAM), nbgrader's exchange in a shared folder, formgrader in the instructor's own
server (README, "A class on JupyterHub").

``make hub`` (as root) sets it up in ``HUB_DIR`` and runs it; ``tests/course/test_hub.py`` runs the same
setup and the same ``jupyterhub`` command with ``tools/hub_assets/jupyterhub_config.py``, then holds a
class in Chromium. What it puts where:

- ``<hub>/env``: the hub's Python environment, which every user's server and kernels run: the
  course's wheel with the grader's extra (the instructor grades with it), what they require, and
  ``jupyterhub`` for ``jupyterhub-singleuser``. Root's, read-only to users. No ``answers/``, no
  ``source/``: these stay in the instructor's home. Its ``etc/jupyter`` names the course and the
  exchange, and gives students nbgrader's Assignments panel and Validate button only.
- ``<hub>/exchange``: nbgrader's exchange root, ``rwxrwxrwt``: writable by all, as nbgrader's docs
  ask, and sticky (nbgrader's own check of the root ignores that bit) so that no student can
  rename or delete the course's folder in it. nbgrader makes the rest at the first release: the
  course's folder and ``outbound/`` ``rwxr-xr-x``, ``inbound/`` ``rwx-wx-wx`` (students create,
  only the instructor lists), ``feedback/`` ``rwx--x--x``.
- ``~<instructor>/backprop-course``: the instructor's private course (``source/``, ``release/``,
  ``answers/``, ``nbgrader_config.py``, ``.course-secret``; then the gradebook, ``submitted/``,
  ``feedback/``), in a home of mode 700 like every user's; their ``~/.jupyter`` turns formgrader on.
- ``<hub>/npm``: MathJax, which the instructor's grading and formgrader typeset math with, in an
  npm cache every user reads (``$BACKPROP_SITE_CACHE`` of their servers).
- ``<hub>/state``: the hub's settings (``hub.json``), database, cookie secret, the accounts'
  passwords (root only).
- ``<hub>/python``: a copy of this Python, only when this one is not one every user can run
  (``python_copy.shared_python``).

The environment is made offline, in seconds, from the installed distributions of the environment
running this module (the versions pyproject.toml pins; ``environment.build_env``). The proxy is npm's
``configurable-http-proxy``, pinned in ``tools/hub_assets/npm`` and installed by ``make npm`` like the
site's assets.

The package, one job a module: ``settings.py`` (a hub's folder, accounts and ports; the course's
id; the proxy and node), ``python_copy.py`` (the Python every user runs), ``environment.py`` (the
hub's environment and its Jupyter config), ``accounts.py`` (the Unix users), ``lifecycle.py``
(set up, start, stop, remove), ``cli.py`` (``python -m backprop_course.tools.hub``, `make hub`).
"""

"""The one door to nbgrader's private API, for what its public API does not offer.

Each function names the private name it uses and why no public one would do. Checked against
nbgrader 0.9.6 (pyproject.toml pins it): on an upgrade, read each of them again in nbgrader's
source. ``tests/test_architecture.py`` fails on a private name of nbgrader used anywhere else.
"""
from __future__ import annotations

#: the nbgrader version every use below was read against
CHECKED_AGAINST = "0.9.6"


def submission_path_pattern(converter, assignment, student):
    """``BaseConverter._format_source(assignment, student, escape=True)``: the glob of a
    submission's folder as the converter builds it (``CourseDirectory.format_path`` with the
    converter's source step), with the ids passed as they are (e.g. regex groups)."""
    return converter._format_source(assignment, student, escape=True)


def collect_path(app, directory):
    """``ZipCollectApp._format_collect_path(directory)``: a zip_collect folder (archive or
    extracted) as the app resolves it under the course's downloaded folder."""
    return app._format_collect_path(directory)


def is_zip_collect_app(app):
    """Whether ``app`` formats zip_collect's folders (:func:`collect_path` applies to it)."""
    return hasattr(app, "_format_collect_path")


def running_autograde_app():
    """The ``nbgrader autograde`` application of this process, or None: traitlets'
    ``SingletonConfigurable._instance`` on ``AutogradeApp`` (``AutogradeApp.instance()`` would
    create one where there is none, as in the formgrader's NbGraderAPI)."""
    from nbgrader.apps import AutogradeApp  # nbgrader's apps, imported where one runs (as the hook did)

    app = getattr(AutogradeApp, "_instance", None)
    return app if isinstance(app, AutogradeApp) else None

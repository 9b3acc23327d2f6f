"""Where the tests find the project: ``ROOT``, the checkout (source/, release/, answers/, the package).

tests/helpers/ is on pytest's ``pythonpath`` (pyproject.toml), so every test imports it as
``from project import ROOT``, whichever folder of tests/ it sits in.
"""
from pathlib import Path

#: the project's checkout: tests/helpers/project.py is two folders below it
ROOT = Path(__file__).resolve().parents[2]

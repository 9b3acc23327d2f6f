"""CSV cells a spreadsheet shows as text: a name, an id or a file name never runs as a formula.

Excel, LibreOffice Calc and Google Sheets evaluate a cell that starts with ``=``, ``+``, ``-`` or
``@``, and skip a leading tab or carriage return before they look. OWASP's advice on CSV
injection (https://owasp.org/www-community/attacks/CSV_Injection): give such a cell of text a
leading ``'``, which the spreadsheet takes as "this is text" (ASVS 5.0, 1.2.10, adds NUL). The
csv module quotes the rest (commas, quotes, line breaks).

Only text is neutralised. A score is written by the exporter as a number and stays one: a
negative grade, ``-2``, is a number, not a formula.
"""
from __future__ import annotations

#: the first characters that make a spreadsheet evaluate a cell
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")


def text(value):
    """``value`` (text, or None for an empty cell) as a cell a spreadsheet shows as written."""
    if value is None:
        return ""
    value = str(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def is_formula(value):
    """Whether a spreadsheet would evaluate ``value`` as it stands."""
    return str(value).startswith(FORMULA_START)

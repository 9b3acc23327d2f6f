"""What a student wrote is inert in the feedback, formgrader's submission view and the report
(grader/inert.py), and the feedback's math is typeset when the page is made (grader/typeset.py).

Fast, without a browser: the sanitiser on each kind of payload, the pages the course's config
makes of a hostile notebook (as nbgrader's generate_feedback and formgrader make them), and the
report. test_browser.py runs the same payloads in Chromium, in formgrader and on the feedback
page of a real submission.
"""
import base64
import hashlib
import io
import re
from html.parser import HTMLParser

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import hostile
from backprop_course.grader.results import inert, report, typeset
from backprop_course.grader.results.inert import PAGE_CSP, ActiveContent, check, content_security_policy, student_html

from project import ROOT


@pytest.fixture(scope="module")
def mathjax():
    try:
        return typeset.mathjax_modules()
    except typeset.TypesetError as error:
        pytest.fail(str(error))


# ------------------------------------------------------------------------ the sanitiser

ACTIVE = {
    "img onerror": '<img src=x onerror="alert(1)">',
    "script": "<script>alert(1)</script>",
    "svg onload": '<svg onload="alert(1)"><circle r="3"/></svg>',
    "svg animate": '<svg><animate onbegin="alert(1)" attributeName="x"/><set attributeName="href" to="javascript:alert(1)"/></svg>',
    "javascript link": '<a href="javascript:alert(1)">x</a>',
    "javascript link, obfuscated": '<a href=" jav&#x09;ascript:alert(1)">x</a>',
    "data: link": '<a href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">x</a>',
    "iframe": '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    "object": '<object data="javascript:alert(1)"></object><embed src="x.swf">',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=http://127.0.0.1:9/">',
    "base": '<base href="http://127.0.0.1:9/">',
    "stylesheet": '<link rel="stylesheet" href="http://127.0.0.1:9/x.css"><style>@import "http://127.0.0.1:9/y.css";</style>',
    "form": '<form action="http://127.0.0.1:9/"><button formaction="javascript:alert(1)">go</button></form>',
    "details ontoggle": '<details open ontoggle="alert(1)"><summary>s</summary></details>',
    "math": '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">x</maction></math>',
    "noscript mutation": '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
}


@pytest.mark.parametrize("name", sorted(ACTIVE))
def test_the_check_sees_active_content(name):
    """The check the pages must pass can fail: every payload, as it stands, is found (but the mutation
    one, which is active only once a browser re-parses it)."""
    if name != "noscript mutation":
        assert check(ACTIVE[name]), name


@pytest.mark.parametrize("name", sorted(ACTIVE))
def test_the_student_markup_loses_what_is_active(name):
    clean = student_html(ACTIVE[name])
    assert check(clean) == [], clean
    assert not re.search(r"\son\w+\s*=", clean) and "javascript:" not in clean and "http://127.0.0.1:9" not in clean, clean


def test_the_student_markup_cannot_pose_as_the_grader_page():
    """No form controls, no ids (formgrader finds its score boxes by id), none of the page's class
    names (its panels, score boxes, fixed bars), no positioning; the highlighter's classes stay."""
    clean = student_html('<input id="test_cell" class="score"><div id="grade" class="panel nbgrader_cell navbar-fixed-top" '
                         'style="position: fixed; top: 0; color: red">x</div><span class="k">def</span>')
    assert "<input" not in clean and "id=" not in clean
    assert "nbgrader_cell" not in clean and "navbar" not in clean and "panel" not in clean
    assert "position" not in clean and "color:red" in clean.replace(" ", "")
    assert '<span class="k">def</span>' in clean


@pytest.mark.parametrize("markup", [
    "<h2>Heading</h2><p>Some <b>bold</b>, <em>emphasis</em>, <code>x &lt; y</code> and a "
    '<a href="https://example.org/" rel="noopener noreferrer nofollow">link</a>.</p>',
    "<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>",
    "<ul><li>one</li></ul><ol start=\"3\"><li>three</li></ol><blockquote>q</blockquote><pre>a &lt; b</pre>",
    '<p>Inline $a &lt; b$ and display $$\\sum_i x_i$$ math stay as text for MathJax.</p>',
])
def test_the_student_markup_keeps_text_and_structure(markup):
    assert student_html(markup) == markup


def test_the_student_markup_keeps_images_only_from_data_urls():
    png = "data:image/png;base64,iVBORw0KGgo="
    assert student_html(f'<img src="{png}" alt="a figure">') == f'<img src="{png}" alt="a figure">'
    for src in ("https://tracker.example/x.png", "x.png", "/api/contents/x", "data:text/html;base64,PHNjcmlwdD4="):
        assert "src" not in student_html(f'<img src="{src}" alt="a">'), src


# ------------------------------------------------------------------------ the pages


def _png():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def hostile_notebook():
    """A graded notebook with the student's payloads: a markdown cell, and the outputs their kernel sent."""
    nb = new_notebook()
    code = new_code_cell(hostile.CODE, execution_count=3, outputs=[
        new_output("display_data", data={"text/html": hostile.HTML, "text/plain": "<HTML>"}),
        new_output("display_data", data={"application/javascript": hostile.JAVASCRIPT, "text/plain": "<Javascript>"}),
        new_output("display_data", data={"text/markdown": hostile.MARKDOWN_OUTPUT, "text/plain": "<Markdown>"}),
        new_output("display_data", data={"image/svg+xml": hostile.SVG, "text/plain": "<SVG>"}),
        new_output("display_data", data={"image/png": _png(), "text/plain": "<Figure>"},
                   metadata={"image/png": {"alt": 'the "loss" falls <img src=x onerror=alert(1)>'}}),
        new_output("display_data", data={"text/latex": "$$\\sum_i (y_i - t_i)^2$$", "text/plain": "loss"}),
        new_output("stream", name="stdout", text="plain <b>text</b> stays text\n"),
        new_output("execute_result", data={"text/plain": "42"}, execution_count=3),
    ])
    code.metadata["tags"] = ['x" onmouseover="window.__pwned=1']
    nb.cells = [new_markdown_cell(hostile.MARKDOWN), code]
    nb.cells[0].metadata["nbgrader"] = {"solution": True, "grade": True, "grade_id": "notes", "points": 1, "score": 1,
                                        "schema_version": 3}
    return nb


def course_config():
    from backprop_course.grader.pipeline import load_config

    return load_config(ROOT)


@pytest.fixture(scope="module")
def feedback_page(mathjax):
    """The feedback page of the hostile notebook, made as nbgrader's generate_feedback makes it."""
    from nbgrader.converters import GenerateFeedback

    from backprop_course.grader.intake.admission import IntakeHTMLExporter

    exporter = IntakeHTMLExporter(config=GenerateFeedback(config=course_config()).config)
    page, _ = exporter.from_notebook_node(hostile_notebook(), resources={
        "nbgrader": {"notebook": "neuron", "score": 1, "max_score": 2, "late_penalty": 0}})
    return page


@pytest.fixture(scope="module")
def formgrader_page(mathjax):
    """formgrader's view of the hostile notebook, made as nbgrader's SubmissionHandler makes it."""
    from nbconvert.exporters import HTMLExporter

    page, _ = HTMLExporter(config=course_config()).from_notebook_node(hostile_notebook(), resources={
        "assignment_id": "01_neuron", "notebook_id": "neuron", "submission_id": "6f1c", "index": 0, "total": 1,
        "base_url": "", "student": "ada", "last_name": None, "first_name": None,
        "notebook_path": "/autograded/ada/01_neuron/neuron.ipynb"})
    return page


class Page(HTMLParser):
    """A page's inline scripts, event handlers, URLs it would load, its CSP and its visible text."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.scripts, self.handlers, self.loads, self.text, self.csp, self.head = [], [], [], [], None, []
        self._in, self._hidden = None, 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.head.append(tag) if len(self.head) < 3 else None
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp = attrs.get("content")
        self.handlers += [v for k, v in attrs.items() if k.startswith("on")]
        self.loads += [v for k, v in attrs.items() if k in ("src", "href") and v and not v.startswith(("data:", "#"))
                       and not (tag == "a" and k == "href")]
        if tag == "script" and "src" not in attrs:
            self._in = []
        self._hidden += tag in ("script", "style", "mjx-assistive-mml")

    def handle_endtag(self, tag):
        if tag == "script" and self._in is not None:
            self.scripts.append("".join(self._in))
            self._in = None
        self._hidden -= tag in ("script", "style", "mjx-assistive-mml") and self._hidden > 0

    def handle_data(self, data):
        if self._in is not None:
            self._in.append(data)
        elif not self._hidden:
            self.text.append(data)


def test_a_feedback_page_runs_nothing_and_loads_nothing(feedback_page):
    page = Page(feedback_page)
    assert check(feedback_page) == []
    assert page.scripts == [] and page.handlers == [] and page.loads == []
    assert page.csp == PAGE_CSP and page.head[:3] == ["html", "head", "meta"], page.head  # the policy comes first
    assert "cdnjs" not in feedback_page and "MathJax.js" not in feedback_page


def test_a_feedback_page_keeps_the_student_text_figure_and_math(feedback_page):
    text = " ".join("".join(Page(feedback_page).text).split())
    assert hostile.NOTE in text and "bold from HTML" in text and "emphasis from Markdown" in text
    assert "plain <b>text</b> stays text" in text and "42" in text
    assert re.search(r'<img alt=\'the "loss" falls &lt;img src=x onerror=alert\(1\)&gt;\' src="data:image/png;base64,',
                     feedback_page), "the figure or its alt text is gone"
    # every formula typeset: the student's two, the LaTeX output; no TeX left to show raw
    assert feedback_page.count("<mjx-container") >= 3
    assert "\\varphi" not in text and "\\sum" not in text and "$" not in text, text


def test_formgrader_runs_only_its_own_scripts(formgrader_page):
    page = Page(formgrader_page)
    policy = page.csp
    assert page.head[:3] == ["html", "head", "meta"] and "'unsafe-inline'" not in policy.split("; style-src")[0]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "img-src 'self' data:;" in policy
    sources = [*page.scripts, *page.handlers]
    assert sources and all(hostile.CANARY not in s for s in sources), "a student's script is among the page's own"
    for source in sources:
        assert "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'" in policy, source
    assert all(url.startswith("/formgrader/static/") for url in page.loads), page.loads
    assert "cdnjs" not in formgrader_page and formgrader_page.count("<mjx-container") >= 3
    # its score box and comment box, found by formgrade.js by id, are the grader's only
    assert formgrader_page.count('id="notes"') == 1 and formgrader_page.count('id="notes-comment"') == 1
    assert 'id="test_cell"' not in formgrader_page


def test_feedback_without_mathjax_stops_before_the_first_page_naming_make_npm(monkeypatch, tmp_path):
    from nbgrader.converters import GenerateFeedback

    from backprop_course.grader.intake.admission import IntakeHTMLExporter

    monkeypatch.setenv("BACKPROP_SITE_CACHE", str(tmp_path / "no-npm-cache"))
    with pytest.raises(typeset.TypesetError, match="run `make npm`"):
        IntakeHTMLExporter(config=GenerateFeedback(config=course_config()).config)


def test_the_feedback_refuses_a_page_that_is_not_inert():
    with pytest.raises(ActiveContent, match="Content-Security-Policy"):
        inert.checked_page("<html><head></head><body><p>no policy</p></body></html>")
    page = f'<html><head><meta http-equiv="Content-Security-Policy" content="{PAGE_CSP}"></head><body>%s</body></html>'
    assert inert.checked_page(page % "<p>fine</p>")
    with pytest.raises(ActiveContent, match="script"):
        inert.checked_page(page % "<script>x()</script>")
    with pytest.raises(ActiveContent, match="refresh"):
        inert.checked_page(page % '<meta http-equiv="refresh" content="0">')


def test_the_cells_filter_refuses_what_is_left_active(monkeypatch, mathjax):
    """The last check of the cells is independent of the sanitiser: were the sanitiser to let a
    handler through, the page would not be made."""
    monkeypatch.setattr(inert, "CELLS", {**inert.CELLS, "attributes": {"*": {"onclick"}}})
    with pytest.raises(ActiveContent, match="onclick"):
        inert.inert_cells('<p onclick="x()">$x$</p>')


class Tags(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_student_tex_makes_no_link_class_style_or_id(mathjax):
    tex = ("<p>$\\href{javascript:alert(1)}{a}$ $\\class{navbar-fixed-top}{b}$ $\\style{position:fixed;top:0}{c}$ "
           "$\\cssId{notes}{d}$ $\\require{html}$ $\\unicode{x3C}script$ $x &lt;img src=x onerror=alert(1)&gt;$</p>")
    out = typeset.typeset(tex)
    assert out.count("<mjx-container") == 7 and check(out) == []
    tags = Tags(out).tags
    assert "a" not in {tag for tag, _ in tags}
    assert {a.get("class") for _, a in tags} <= {None, "MathJax"}
    assert all(a["id"].startswith("MJX-") for _, a in tags if "id" in a)  # MathJax's own: its styles, its glyphs
    assert all(a["xlink:href"].startswith("#MJX-") for _, a in tags if "xlink:href" in a)
    assert not any("fixed" in a.get("style", "") for _, a in tags)


def test_typeset_leaves_a_page_without_math_as_it_was(mathjax):
    fragment = '<p class="x">no math, 5 &lt; 6 &amp; "quotes"</p><pre>$not math$</pre>'
    assert typeset.typeset(fragment) == fragment


def test_content_security_policy_hashes_exactly_the_page_own_scripts():
    own = '<script src="/static/a.js"></script><script>var a = "1";</script><span onclick="toggle(true);">x</span>'
    policy = content_security_policy(own)
    digest = lambda s: "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"  # noqa: E731
    assert digest('var a = "1";') in policy and digest("toggle(true);") in policy and "'unsafe-hashes'" in policy
    assert "'unsafe-inline'" not in policy.split("style-src")[0] and "'unsafe-eval'" not in policy
    assert content_security_policy("") == content_security_policy("<p>no script</p>") == PAGE_CSP


def test_the_report_escapes_what_students_named_and_runs_nothing():
    name = '<img src=x onerror="alert(1)">'
    results = report.ClassResults(["01_neuron"], max_scores={"01_neuron": 9.0})
    results.scores = {(name, "01_neuron"): 9.0}
    results.problems = {("<script>alert(2)</script>", "01_neuron"): '<svg onload="alert(3)">'}
    results.notes = {(name, "01_neuron"): ['left out <iframe src="javascript:alert(4)">']}
    html = report.render(results)
    assert check(html) == [] and "alert(1)" in html  # there, as text
    assert Page(html).csp == PAGE_CSP and Page(html).head[:3] == ["html", "head", "meta"]
    assert "&lt;img src=x onerror=" in html and "&lt;script&gt;" in html

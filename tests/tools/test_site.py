"""The static site of the lecture notebooks (``make site``, ``backprop_course/tools/site.py``).

Builds the real site once into a temporary folder (executing every lecture notebook), then
checks every page: local links and images resolve, the previous/next chain and the index
follow the notebooks' order, nothing is loaded from the internet, math and widgets are
wired to the copies shipped in the site.
"""
import base64
import io
import json
import re
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from backprop_course.tools import site

from project import ROOT

NOTEBOOKS = site.lecture_notebooks(ROOT / "notebooks")


class Parsed(HTMLParser):
    """Tags with their attributes, element ids and inline script text of one page."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags = []  # (tag, attrs dict)
        self.ids = set()
        self.scripts = []  # (attrs, text)
        self._script = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if a.get("id"):
            self.ids.add(a["id"])
        if a.get("name") and tag == "a":
            self.ids.add(a["name"])
        if tag == "script":
            self._script = (a, [])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self.handle_endtag("script")

    def handle_data(self, data):
        if self._script is not None:
            self._script[1].append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None

    def urls(self):
        """(tag, attribute, url) of every href and src."""
        for tag, a in self.tags:
            for attr in ("href", "src"):
                if a.get(attr) is not None:
                    yield tag, attr, a[attr]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    assert NOTEBOOKS, "no lecture notebooks in notebooks/"
    assert site.main(["--out", str(out), "--notebooks", str(ROOT / "notebooks")]) == 0
    pages = {p.name: Parsed(p.read_text(encoding="utf-8")) for p in out.glob("*.html")}
    return out, pages


def _is_external(url):
    return urlsplit(url).scheme in {"http", "https"} or url.startswith("//")


def _local_target(out, page, url):
    """The file a local URL of ``page`` points to, and its fragment (None for data:/#/mailto)."""
    parts = urlsplit(url)
    if parts.scheme or url.startswith("//"):
        return None, None
    if not parts.path:
        return out / page, parts.fragment
    return (out / page).parent / unquote(parts.path), parts.fragment


def test_every_notebook_has_a_page_and_the_index_lists_them_in_order(built):
    out, pages = built
    assert set(pages) == {"index.html"} | {nb.with_suffix(".html").name for nb in NOTEBOOKS}
    listed = [a["href"] for tag, a in pages["index.html"].tags
              if tag == "a" and a.get("href", "").endswith(".html") and not a["href"].startswith("guide/")]
    assert listed == [nb.with_suffix(".html").name for nb in NOTEBOOKS]
    index_text = (out / "index.html").read_text(encoding="utf-8")
    for nb in NOTEBOOKS:
        title, _ = site.title_and_summary(nbformat.read(nb, as_version=4))
        assert title, f"{nb.name} has no heading"
        assert re.search(r">\s*" + re.escape(title.replace("&", "&amp;")) + r"\s*</a>", index_text), title


def test_previous_next_chain_follows_the_order(built):
    _, pages = built
    names = [nb.with_suffix(".html").name for nb in NOTEBOOKS]
    for i, name in enumerate(names):
        tags = pages[name].tags
        prev = [a["href"] for t, a in tags if t == "a" and a.get("rel") == "prev"]
        nxt = [a["href"] for t, a in tags if t == "a" and a.get("rel") == "next"]
        index = [a["href"] for t, a in tags if t == "a" and "course-index" in a.get("class", "")]
        assert prev == ([names[i - 1]] * 2 if i > 0 else []), name  # top and bottom bars
        assert nxt == ([names[i + 1]] * 2 if i + 1 < len(names) else []), name
        assert index == ["index.html"] * 2, name


def test_every_local_link_and_src_resolves(built):
    out, pages = built
    broken = []
    for name, parsed in pages.items():
        for tag, attr, url in parsed.urls():
            if url.startswith("attachment:"):
                broken.append(f"{name}: <{tag} {attr}={url!r}> → attachment not embedded")
            target, fragment = _local_target(out, name, url)
            if target is None:
                continue
            if not target.is_file():
                broken.append(f"{name}: <{tag} {attr}={url!r}> → missing {target}")
            elif fragment and target.suffix == ".html" and target.name in pages:
                # nbconvert percent-encodes heading ids; browsers match raw, then decoded
                if not {fragment, unquote(fragment)} & pages[target.name].ids:
                    broken.append(f"{name}: <{tag} {attr}={url!r}> → no id {fragment!r}")
            if urlsplit(url).path.endswith(".ipynb") and not urlsplit(url).path.startswith("_notebooks/"):
                broken.append(f"{name}: link to a notebook left unrewritten: {url}")
    assert not broken, "\n".join(broken)


def test_links_between_notebooks_were_rewritten(built):
    out, pages = built
    # Every notebook's markdown links to another lecture must now point to its page.
    for nb in NOTEBOOKS:
        sources = "\n".join(c.source for c in nbformat.read(nb, as_version=4).cells
                            if c.cell_type == "markdown")
        linked = set(re.findall(r"\]\((?:\./)?(\d+_[^)#\s]*)\.ipynb", sources))
        hrefs = {a.get("href", "") for t, a in pages[nb.with_suffix(".html").name].tags if t == "a"}
        for stem in linked:
            assert any(h.split("#")[0] == f"{stem}.html" for h in hrefs), (nb.name, stem)


def test_links_to_assignments_download_a_copy(built):
    """The lectures link to the assignments in ../release/: the site carries them, to download."""
    out, pages = built
    copies = {a["href"] for name, parsed in pages.items() for t, a in parsed.tags
              if t == "a" and a.get("href", "").startswith("_notebooks/")}
    assert {"_notebooks/release/01_neuron/neuron.ipynb", "_notebooks/release/02_backprop/backprop.ipynb"} <= copies
    for href in copies:
        assert (out / href).read_bytes() == (ROOT / href.removeprefix("_notebooks/")).read_bytes()


def test_images_decode(built):
    from PIL import Image

    out, pages = built
    n = 0
    for name, parsed in pages.items():
        for tag, a in parsed.tags:
            if tag != "img" or "src" not in a:
                continue
            src = a["src"]
            if src.startswith("data:"):
                header, _, payload = src.partition(",")
                assert ";base64" in header, (name, header)
                data = base64.b64decode(payload)
            else:
                assert not _is_external(src), (name, src)
                data = (out / unquote(urlsplit(src).path)).read_bytes()
            Image.open(io.BytesIO(data)).verify()
            n += 1
    assert n > 0, "no figure in any page"


def test_every_figure_says_what_it_shows(built):
    """Each <img> of a lecture page has alt text (from its cell's ``alt`` metadata, which
    nbconvert's lab template would drop), and each widget image of the saved state a tooltip."""
    _, pages = built
    figures = 0
    for name, parsed in pages.items():
        for tag, a in parsed.tags:
            if tag == "img":
                figures += 1
                assert len(a.get("alt") or "") > 40, f"{name}: a figure without alt text ({a.get('src', '')[:60]}…)"
        for a, text in parsed.scripts:
            if a.get("type") == "application/vnd.jupyter.widget-state+json":
                for model in json.loads(text)["state"].values():
                    if model["model_name"] == "ImageModel":
                        assert len(model["state"].get("tooltip") or "") > 40, f"{name}: a widget image without a tooltip"
    assert figures > 5


def test_widget_state_is_saved_and_its_images_decode(built):
    from PIL import Image

    out, pages = built
    with_widgets = 0
    for nb in NOTEBOOKS:
        parsed = pages[nb.with_suffix(".html").name]
        views = [s for a, s in parsed.scripts if a.get("type") == "application/vnd.jupyter.widget-view+json"]
        states = [s for a, s in parsed.scripts if a.get("type") == "application/vnd.jupyter.widget-state+json"]
        if not views:
            continue
        with_widgets += 1
        assert len(states) == 1, nb.name
        state = json.loads(states[0])["state"]
        for v in views:
            assert json.loads(v)["model_id"] in state, nb.name
        for model in state.values():
            for buf in model.get("buffers", []):
                if model["model_name"] == "ImageModel" and buf["path"] == ["value"]:
                    Image.open(io.BytesIO(base64.b64decode(buf["data"]))).verify()
        # The renderer that draws the saved state is loaded from the site itself.
        renderer = [s for a, s in parsed.scripts if "widgetRendererSrc" in s]
        assert renderer and "'_static/widgets/embed-amd.js'" in renderer[0], nb.name
    assert with_widgets > 0, "no lecture page shows a widget"
    assert (out / "_static/widgets/embed-amd.js").is_file()
    # Font Awesome files that the renderer's CSS points to, next to it.
    js = (out / "_static/widgets/embed-amd.js").read_text(encoding="utf-8")
    for font in set(re.findall(r"[0-9a-f]{20}\.(?:woff2|woff|ttf|eot|svg)", js)):
        assert (out / "_static/widgets" / font).is_file(), font


def test_details_keep_their_markdown_content(built):
    # "Check yourself" answers sit in <details>: the Markdown answer must stay inside it.
    out, pages = built
    for name in pages:
        text = (out / name).read_text(encoding="utf-8")
        assert not re.search(r"</summary>\s*</details>", text), f"{name}: a <details> lost its content"


def test_nothing_is_loaded_from_the_internet(built):
    _, pages = built
    loaded = []
    for name, parsed in pages.items():
        for tag, a in parsed.tags:
            for attr in ("src", "href") if tag in {"link", "script"} else ("src",):
                url = a.get(attr)
                if url and _is_external(url):
                    loaded.append(f"{name}: <{tag} {attr}={url}>")
        for a, text in parsed.scripts:
            if a.get("type", "text/javascript") in {"text/javascript", "module"}:
                for m in re.finditer(r"(?:import\(|src\s*=\s*|Src\s*=\s*)['\"](https?:)?//", text):
                    loaded.append(f"{name}: inline script loads {text[m.start():m.start() + 80]!r}")
    assert not loaded, "\n".join(loaded)


def test_math_is_rendered_by_the_local_mathjax(built):
    out, pages = built
    for name, parsed in pages.items():
        if name == "index.html":
            continue
        srcs = [a["src"] for t, a in parsed.tags if t == "script" and "MathJax.js" in a.get("src", "")]
        assert srcs == [f"_static/mathjax/MathJax.js?config={site.MATHJAX_CONFIG}"], name
    assert (out / "_static/mathjax/MathJax.js").is_file()
    assert (out / "_static/mathjax/config/TeX-AMS-MML_HTMLorMML-full.js").is_file()
    assert (out / "_static/mathjax/fonts/HTML-CSS/STIX-Web").is_dir()
    texts = "".join((out / n).read_text(encoding="utf-8") for n in pages if n != "index.html")
    assert re.search(r"\$[^$\n]+\$|\\\(", texts), "no math in the lecture pages"


# ------------------------------------------------------------------ small, generic cases


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = list(cells)
    return nb


def test_generic_notebooks_order_titles_links_and_failures(tmp_path):
    src = tmp_path / "nbs"
    src.mkdir()
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nbformat.write(_nb(md("# First *one*\n\nIntro with [next](./10_b.ipynb#Sec)."), code("print(1)")),
                   src / "02_a.ipynb")
    (src / "img").mkdir()
    from PIL import Image
    Image.new("RGB", (4, 3), "red").save(src / "img" / "dot.png")
    buf = io.BytesIO()
    Image.new("RGB", (2, 2), "blue").save(buf, format="PNG")
    attached = md("![inline](attachment:blue.png)")
    attached["attachments"] = {"blue.png": {"image/png": base64.b64encode(buf.getvalue()).decode()}}
    nbformat.write(_nb(md("Preamble"), md("## Second\n\n### Sec\n\n![a dot](img/dot.png)"),
                       md("<details><summary>Q?</summary>\n\nThe *answer*.\n</details>"),
                       attached, code("open('data.txt').read()")),
                   src / "10_b.ipynb")
    (src / "data.txt").write_text("read from the notebook's folder")
    nbformat.write(_nb(md("# not a lecture")), src / "scratch.ipynb")
    out = tmp_path / "out"
    pages = site.build_site(out, src, jobs=1, log=lambda *a: None)
    assert [(p.html_name, p.title) for p in pages] == [("02_a.html", "First one"), ("10_b.html", "Second")]
    assert pages[0].summary == "Intro with next."
    first = (out / "02_a.html").read_text(encoding="utf-8")
    assert 'href="./10_b.html#Sec"' in first or 'href="10_b.html#Sec"' in first
    second = (out / "10_b.html").read_text(encoding="utf-8")
    assert "read from the notebook" in second
    assert 'src="img/dot.png"' in second and (out / "img" / "dot.png").is_file()
    assert "attachment:" not in second and "data:image/png;base64," in second
    assert re.search(r"<details><summary>Q\?</summary>\s*<p>The <em>answer</em>.</p>\s*</details>", second)
    assert not (out / "scratch.html").exists()

    nbformat.write(_nb(md("# Broken"), code("raise ValueError('boom')")), src / "11_c.ipynb")
    with pytest.raises(site.SiteError, match=r"(?s)11_c\.ipynb.*ValueError: boom"):
        site.build_site(tmp_path / "out2", src, jobs=1, log=lambda *a: None)


def test_rewrite_links_only_touches_notebooks_of_the_site():
    html = ('<a href="03_x.ipynb">a</a> <a href=\'./03_x.ipynb#p\'>b</a> '
            '<a href="other.ipynb">c</a> <a href="https://x.org/03_x.ipynb">d</a>')
    got = site.rewrite_links(html, {"03_x.ipynb": "03_x.html"})
    assert got == ('<a href="03_x.html">a</a> <a href=\'03_x.html#p\'>b</a> '
                   '<a href="other.ipynb">c</a> <a href="https://x.org/03_x.ipynb">d</a>')


def test_offline_build_needs_the_cached_npm_files_and_keeps_foreign_html(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_SITE_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(site.SiteError, match="--offline"):
        site.npm_modules(offline=True)
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "page.html").write_text("<p>not ours</p>")
    with pytest.raises(site.SiteError, match="did not write"):
        site.build_site(foreign, ROOT / "notebooks", offline=True, log=lambda *a: None)
    assert (foreign / "page.html").read_text() == "<p>not ours</p>"

"""The guide (issue 26): README.md at most 250 lines, its quick start first, and every link of
README.md and docs/*.md resolving, on GitHub and in the course site.

GitHub's anchors are computed here on their own (GitHub's rule: the heading's text, lower case,
punctuation but ``-`` and ``_`` dropped, spaces made ``-``, ``-1``, ``-2`` for repeats), not
with the site's code, which must give the same ids (checked below). The site's guide pages are
built alone (``python -m backprop_course.tools.site --guide-only``: no notebook executed), and
every link and anchor in them is followed. Each check is run once on a course made broken on
purpose, to show it can fail.
"""
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from backprop_course.tools import site, site_guide

# the course root, wherever in tests/ this file sits
ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
MAX_README_LINES = 250


def markdown_files(root=ROOT):
    """README.md and every page of docs/."""
    return [root / "README.md"] + sorted((root / "docs").glob("*.md"))


def _prose(text):
    """The text outside fenced code blocks and code spans (where a `[x](y)` is no link)."""
    text = re.sub(r"(?ms)^```.*?^```[^\n]*$", "", text)
    return re.sub(r"(`+).+?\1", "", text)


def headings(text):
    """The headings' texts, outside fenced code."""
    return [m.group(1) for m in re.finditer(r"(?m)^#{1,6} +(.+?) *#*$", re.sub(r"(?ms)^```.*?^```[^\n]*$", "", text))]


def anchors(text):
    """The anchors GitHub gives the headings of a Markdown text."""
    found, seen = set(), {}
    for heading in headings(text):
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
        plain = re.sub(r"(\*\*|\*|`)", "", plain).lower()
        anchor = re.sub(r"[^\w\- ]", "", plain).replace(" ", "-")
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(f"{anchor}-{count}" if count else anchor)
    return found


def links(text):
    """The targets of the Markdown links (and images) of a text."""
    return re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", _prose(text))


def broken_markdown_links(files):
    """Every relative link of ``files`` whose file or heading anchor does not exist, as text."""
    broken = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for url in links(text):
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//"):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if not target.exists():
                broken.append(f"{path.name}: {url}: no {target}")
            elif parts.fragment and target.suffix == ".md" and parts.fragment not in anchors(target.read_text(encoding="utf-8")):
                broken.append(f"{path.name}: {url}: no heading #{parts.fragment} in {target.name}")
            elif parts.fragment and target.suffix != ".md":
                broken.append(f"{path.name}: {url}: an anchor into a file that is not a guide page")
    return broken


class Page(HTMLParser):
    """The ids and the href/src URLs of an HTML page."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.ids, self.urls = set(), []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        """Collect the tag's id and its href or src."""
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        self.urls += [a[k] for k in ("href", "src") if a.get(k)]


def broken_site_links(folder):
    """Every relative link of the built guide pages in ``folder`` whose file or id does not exist."""
    pages = {p.name: Page(p.read_text(encoding="utf-8")) for p in folder.glob("*.html")}
    broken = []
    for name, page in pages.items():
        for url in page.urls:
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//"):
                continue
            target = (folder / unquote(parts.path)).resolve() if parts.path else folder / name
            if not target.exists():
                broken.append(f"{name}: {url}: no {target}")
            elif target.suffix == ".md" and (target.name == "README.md" or target.parent.name == "docs"):
                broken.append(f"{name}: {url}: a link to a guide page's Markdown, not its page")
            elif parts.fragment and target.parent == folder.resolve() and target.name in pages:
                if unquote(parts.fragment) not in pages[target.name].ids:
                    broken.append(f"{name}: {url}: no id {parts.fragment!r} in {target.name}")
    return broken


def build_guide(out, root=ROOT):
    """The guide's pages built alone into ``out/guide`` (from ``root``'s Markdown)."""
    if root == ROOT:
        assert site.main(["--guide-only", "--out", str(out)]) == 0
    else:
        out.mkdir()
        (out / "site.css").write_text("")
        site_guide.build_guide(out, "site.css", "A course", root=root, log=lambda *a: None)
    return out / site_guide.GUIDE


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The guide's pages, built once for this module: their folder."""
    return build_guide(tmp_path_factory.mktemp("site"))


def test_the_readme_is_short_and_starts_with_the_quick_start():
    """At most 250 lines, and its first commands are still `make grade` and `make test`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= MAX_README_LINES, f"README.md has {len(readme.splitlines())} lines"
    first_block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1).splitlines()
    assert [line.split("#")[0].strip() for line in first_block[:2]] == ["make grade", "make test"]
    assert readme.index("## Quick start") < readme.index("```bash")


def test_every_link_and_anchor_of_the_markdown_resolves():
    """Every relative link of README.md and docs/*.md: its file, and its heading on GitHub."""
    assert not broken_markdown_links(markdown_files()), "\n".join(broken_markdown_links(markdown_files()))


#: the course's folders whose files the guide names in code spans (`tests/course/test_hub.py`)
COURSE_FOLDERS = ("backprop_course", "tests", "answers", "source", "release", "notebooks", "examples", "docs", ".ci")
#: paths named that are not the course's files: nbgrader's own docs, what a test run writes
NOT_THE_COURSES = {"docs/source/plugins/zipcollect-plugin.rst", "tests/artifacts/browser/", "tests/artifacts/hub/"}


def named_paths(text):
    """The course paths a Markdown text names in code spans, placeholders (``<student>``) and
    patterns (``NN_*``) left out."""
    spans = re.findall(r"`([^`\s]+)`", re.sub(r"(?ms)^```.*?^```[^\n]*$", "", text))
    return {s for s in spans if s.split("/")[0] in COURSE_FOLDERS and "/" in s and not re.search(r"[<*]|NN_", s)}


def test_every_path_the_guide_names_exists():
    """A file or folder the README or a page names (`backprop_course/grader/...`, `tests/test_x.py`)
    is there: when a module or a test moves, the guide says so in the same change."""
    missing = sorted(f"{path.name}: {named}" for path in markdown_files()
                     for named in named_paths(path.read_text(encoding="utf-8"))
                     if named not in NOT_THE_COURSES and not (ROOT / named).exists())
    assert not missing, "the guide names what is not there:\n" + "\n".join(missing)


def test_the_readme_links_every_guide_page():
    """No page of docs/ is out of the README's reach (the hub recipe test_hub runs included)."""
    linked = {(ROOT / unquote(urlsplit(u).path)).resolve() for u in links((ROOT / "README.md").read_text(encoding="utf-8"))}
    assert {p.resolve() for p in (ROOT / "docs").glob("*.md")} <= linked


def test_each_page_opens_with_an_orientation_and_links_its_neighbours_in_the_contents_order():
    """A title, a paragraph saying what the page covers, and links to the pages before and after."""
    order = [p.name for p in site_guide.guide_sources()[2:]]
    assert sorted(order) == sorted(p.name for p in (ROOT / "docs").glob("*.md") if p.name != "README.md")
    for i, name in enumerate(order):
        lines = (ROOT / "docs" / name).read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("# ") and lines[1] == "" and lines[2] and not lines[2].startswith(("#", "[", "←")), name
        nav = [line for line in lines[3:8] if "[The guide](README.md)" in line]
        assert nav, f"{name}: no navigation line under its orientation"
        neighbours = re.findall(r"\]\(([\w.-]+\.md)\)", nav[0])
        assert neighbours == ([order[i - 1]] if i else []) + ["README.md"] + ([order[i + 1]] if i + 1 < len(order) else []), name
        assert lines[-1] == nav[0], f"{name}: the same navigation at the end"


def test_the_sites_heading_ids_are_githubs_anchors():
    """A link that works on GitHub works on the site: the same ids, none twice."""
    pages = site_guide.render_pages(ROOT / "site" / site_guide.GUIDE)
    assert {p.source for p in pages} == {p.resolve() for p in markdown_files()}
    for page in pages:
        ids = re.findall(r'<h\d id="([^"]+)"', page.body)
        assert len(ids) == len(set(ids)) and set(ids) == anchors(page.source.read_text(encoding="utf-8")), page.source


def test_the_built_guide_has_every_page_and_no_broken_link(built):
    """Every page of the guide is built, and each of its links and anchors resolves."""
    names = {p.name for p in built.glob("*.html")}
    assert names == {"index.html", "contents.html"} | {p.with_suffix(".html").name for p in (ROOT / "docs").glob("*.md")
                                                       if p.name != "README.md"}
    assert not broken_site_links(built), "\n".join(broken_site_links(built))
    for path in built.glob("*.html"):  # a page of text: no script, nothing loaded from elsewhere
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text and not re.search(r'<link[^>]*href="(https?:)?//', text), path.name
        # what may scroll sideways is reachable by keyboard (axe's scrollable-region-focusable)
        assert text.count("<pre") == text.count('<pre tabindex="0">'), path.name
        assert text.count("<table>") == text.count('tabindex="0" role="region" aria-label="table"><table>'), path.name
    page = (built / "lms.html").read_text(encoding="utf-8")
    assert 'href="contents.html"' in page and "../_static/site.css" in page
    assert 'href="../index.html"' not in page  # built alone: no lectures to link
    assert '<a href="#when-a-submission-came">' not in page and 'id="when-a-submission-came"' in page


def test_the_checks_see_a_broken_link_and_a_missing_anchor(tmp_path):
    """Both link checks fail on a course with a missing page and two missing headings."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("# Course\n\n[guide](docs/README.md) [gone](docs/gone.md) `[code](x.md)`\n")
    (tmp_path / "docs" / "README.md").write_text("# The guide\n\n[A](a.md)\n")
    (tmp_path / "docs" / "a.md").write_text("# A page\n\n## Two words\n\n[ok](#two-words) [no](#three-words) "
                                            "[far](README.md#nowhere) [up](../README.md#course)\n")
    assert named_paths("`tests/test_gone.py`, `backprop_course/x/` and `submitted/<student>/`\n```\n`tests/no.py`\n```\n") \
        == {"tests/test_gone.py", "backprop_course/x/"}
    broken = broken_markdown_links(markdown_files(tmp_path))
    assert len(broken) == 3 and all(any(w in b for b in broken) for w in ("gone.md", "#three-words", "#nowhere")), broken
    guide = build_guide(tmp_path / "out", root=tmp_path)
    broken = broken_site_links(guide)
    assert len(broken) == 3 and all(any(w in b for b in broken) for w in ("gone.md", "three-words", "nowhere")), broken


def test_the_guide_links_the_lectures_of_the_site_it_is_built_into(tmp_path):
    """Built into a site with lectures, each guide page links their index."""
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("<p>the lectures</p>")  # as build_site writes it before the guide
    guide = build_guide(out)
    assert not broken_site_links(guide), "\n".join(broken_site_links(guide))
    assert all('href="../index.html"' in p.read_text(encoding="utf-8") for p in guide.glob("*.html"))


def test_the_guide_keeps_pages_it_did_not_write(tmp_path, capsys):
    """A guide/ folder of someone else's pages: an error, and their page stays as it was."""
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "page.html").write_text("<p>not ours</p>")
    assert site.main(["--guide-only", "--out", str(tmp_path)]) == 1
    assert "did not write" in capsys.readouterr().err
    assert (tmp_path / "guide" / "page.html").read_text() == "<p>not ours</p>"
    assert not (tmp_path / "guide" / "index.html").exists()

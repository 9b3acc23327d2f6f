"""The guide's pages in the course site: ``README.md`` and ``docs/*.md``, Markdown to HTML.

    python -m backprop_course.tools.site --guide-only   # the guide alone; `make site` builds it too

The README is the guide's front page (``<out>/guide/index.html``), ``docs/README.md`` its
contents (``contents.html``) and each ``docs/<name>.md`` a page ``<name>.html``, in the order the
contents list them, with the lecture pages' look (``site_assets/site.css``) and navigation.
Markdown is read by mistune (nbconvert's own Markdown library, so nothing new to install), as
GitHub reads it: tables, fenced code, and each heading's id the anchor GitHub gives it
(:func:`github_anchor`), so that a link ``lms.md#when-a-submission-came`` works on GitHub and,
rewritten to ``lms.html#when-a-submission-came``, on the site. A link to another file of the
course (``../tests/course/test_hub.py``) points into the course folder the site was built from.
"""
from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import jinja2
import markupsafe
import mistune

ROOT = Path(__file__).resolve().parents[2]
ASSETS = Path(__file__).resolve().parent / "site_assets"
GUIDE = "guide"  # the guide's folder in the site
PLUGINS = ["table", "strikethrough", "url"]  # GitHub's Markdown, as far as the guide uses it
SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def github_anchor(text: str, seen: dict[str, int] | None = None) -> str:
    """The id GitHub gives a heading whose rendered text (tags and entities allowed) is ``text``:
    lower case, only letters, digits, ``_``, ``-`` and spaces kept, spaces made ``-``; a repeated
    one gets ``-1``, ``-2``, ... when ``seen`` (anchors so far on the page: their counts) is given."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text)).strip().lower()
    anchor = re.sub(r"[^\w\- ]", "", plain).replace(" ", "-")
    if seen is None:
        return anchor
    count = seen.get(anchor, 0)
    seen[anchor] = count + 1
    return f"{anchor}-{count}" if count else anchor


class GuideRenderer(mistune.HTMLRenderer):
    """mistune's HTML, with GitHub's heading ids and links rewritten by ``rewrite(url) -> url``."""

    def __init__(self, rewrite):
        super().__init__(escape=True)
        self.rewrite = rewrite
        self.seen: dict[str, int] = {}
        self.title = None

    def heading(self, text, level, **attrs):
        """A heading with its GitHub anchor as id; the first level-1 heading is the page's title."""
        if level == 1 and self.title is None:
            self.title = html.unescape(re.sub(r"<[^>]+>", "", text)).strip()
        return f'<h{level} id="{github_anchor(text, self.seen)}">{text}</h{level}>\n'

    def link(self, text, url, title=None):
        """A link, its target rewritten for the site."""
        return super().link(text, self.rewrite(url), title)

    def codespan(self, text):
        """Inline code; ``\\|`` is a table cell's escaped bar, shown as ``|`` (as GitHub does)."""
        return super().codespan(text.replace("\\|", "|"))


class GuideError(RuntimeError):
    """The guide could not be built where asked (a folder of someone else's pages)."""


@dataclass
class GuidePage:
    """One Markdown file of the guide and the page it becomes."""

    source: Path  # the Markdown file
    html_name: str  # the page's file name in <out>/guide/
    title: str = ""
    body: str = ""  # the rendered HTML


def guide_sources(root: Path = ROOT) -> list[Path]:
    """The guide's Markdown files: the README, the contents, then each page the contents link to,
    in its order (a page the contents do not link to comes last, by name)."""
    docs = root / "docs"
    contents = docs / "README.md"
    listed = []
    for target in re.findall(r"\]\(([\w.-]+\.md)(?:#[^)]*)?\)", contents.read_text(encoding="utf-8")):
        page = docs / target
        if page.is_file() and page != contents and page not in listed:
            listed.append(page)
    rest = sorted(p for p in docs.glob("*.md") if p != contents and p not in listed)
    return [root / "README.md", contents] + listed + rest


def html_name(source: Path, root: Path = ROOT) -> str:
    """The page's file name: the README's is ``index.html``, the contents' ``contents.html``."""
    if source == root / "README.md":
        return "index.html"
    return "contents.html" if source.name == "README.md" else source.with_suffix(".html").name


def link_rewriter(source: Path, pages: dict[Path, str], out_dir: Path):
    """``rewrite(url)`` for links of ``source``: a guide page's ``.md`` becomes its ``.html``, any
    other file of the course a path from ``out_dir`` to it; URLs and ``#anchors`` stay."""

    def rewrite(url: str) -> str:
        """The link's target on the site."""
        if SCHEME_RE.match(url) or url.startswith(("/", "#")):
            return url
        path, sep, fragment = url.partition("#")
        target = (source.parent / unquote(path)).resolve()
        if target in pages:
            return pages[target] + sep + fragment
        relative = os.path.relpath(target, out_dir.resolve()).replace(os.sep, "/")
        return relative + ("/" if path.endswith("/") else "") + sep + fragment

    return rewrite


def keyboard_scrollable(body: str) -> str:
    """Code blocks and tables that may scroll sideways, reachable by keyboard (WCAG 2.1.1, axe's
    ``scrollable-region-focusable``): each a focusable region, a table in a region of its own."""
    body = body.replace("<pre>", '<pre tabindex="0">')
    body = body.replace("<table>", '<div class="course-scroll" tabindex="0" role="region" aria-label="table"><table>')
    return body.replace("</table>", "</table></div>")


def render_pages(out_dir: Path, root: Path = ROOT) -> list[GuidePage]:
    """The guide's pages, rendered for a site whose guide lives in ``out_dir``."""
    pages = [GuidePage(source.resolve(), html_name(source, root)) for source in guide_sources(root)]
    names = {page.source: page.html_name for page in pages}
    for page in pages:
        renderer = GuideRenderer(link_rewriter(page.source, names, out_dir))
        markdown = mistune.create_markdown(renderer=renderer, plugins=PLUGINS)
        page.body = keyboard_scrollable(markdown(page.source.read_text(encoding="utf-8")))
        page.title = renderer.title or page.source.stem
    return pages


def build_guide(out: Path, css_href: str, course_title: str, root: Path = ROOT, log=print) -> list[GuidePage]:
    """Write the guide's pages into ``<out>/guide/``; ``css_href`` is the site's CSS, relative to
    ``out``. They link the site's index of lectures when ``<out>/index.html`` is there (build the
    lectures first). Returns the pages in order."""
    folder = Path(out) / GUIDE
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / ".course-guide"
    if not marker.exists() and any(folder.glob("*.html")):
        raise GuideError(f"{folder} holds HTML files that this tool did not write; choose another --out")
    marker.write_text("built by python -m backprop_course.tools.site\n")
    for old in folder.glob("*.html"):  # a guide we built before: drop pages of removed files
        old.unlink()
    pages = render_pages(folder, root)
    lectures = "../index.html" if (Path(out) / "index.html").is_file() else None  # none when built alone
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(ASSETS), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    template = environment.get_template("site_guide.html.j2")
    for i, page in enumerate(pages):
        text = template.render(page=page, body=markupsafe.Markup(page.body),
                               prev=pages[i - 1] if i else None, next=pages[i + 1] if i + 1 < len(pages) else None,
                               css_href=f"../{css_href}", site_index=lectures, course_title=course_title)
        (folder / page.html_name).write_text(text, encoding="utf-8")
    log(f"wrote {len(pages)} guide pages in {folder}")
    return pages

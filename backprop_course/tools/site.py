"""Static HTML site of the executed lecture notebooks (``make site``).

    python -m backprop_course.tools.site [--out site] [--notebooks notebooks]

Each ``notebooks/NN_*.ipynb`` is executed with nbclient in a fresh kernel (working
directory ``notebooks/``, ipywidgets state stored) and exported with nbconvert's
``HTMLExporter`` (the "lab" template, extended by ``site_assets/templates/course_site``
with previous / index / next links). An ``index.html`` lists the lectures in order,
each titled by its notebook's first heading. Links between notebooks
(``03_x.ipynb#part`` → ``03_x.html#part``) are rewritten. A link to another notebook of the
course (an assignment in ``../release/``) points to a copy of it in ``_notebooks/``, to download.

Nothing is fetched from the internet when a page is viewed: every script the pages load
sits in ``<out>/_static/``:

- MathJax 2.7 from the PyPI package ``jupyter-server-mathjax`` (installed with the
  course; nbconvert's page configures MathJax 2);
- the widget renderer (``embed-amd.js`` of npm's ``@jupyter-widgets/html-manager``, which
  draws the saved widget state) and ``require.js`` (npm's ``requirejs``) that loads it.

No PyPI package carries those two, so they come from the npm registry, pinned by the
committed ``site_assets/npm/package.json`` and ``package-lock.json``, installed once into the
course's npm cache (``grader/npm.py``: ``npm ci``, in ``$BACKPROP_SITE_CACHE``, default
``~/.cache/backprop-course/site``). Later builds use the cache and fetch nothing;
``--offline`` makes a missing cache an error instead of a fetch.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from ..grader.results import npm
from . import site_guide

ROOT = Path(__file__).resolve().parents[2]
ASSETS = Path(__file__).resolve().parent / "site_assets"
COURSE_TITLE = "From one neuron to backpropagation"
STATIC = "_static"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"  # the config jupyter-server-mathjax ships

NPM = ASSETS / "npm"  # package.json and package-lock.json of the npm packages whose files the pages load

NOTEBOOK_RE = re.compile(r"^\d+_.*\.ipynb$")
HREF_RE = re.compile(r"""(\bhref\s*=\s*)(["'])([^"']*)\2""", re.IGNORECASE)


class SiteError(RuntimeError):
    """The site could not be built (a notebook failed, an asset is missing, ...)."""


@dataclass
class Page:
    """One lecture of the site: its notebook and the page it becomes."""

    notebook: Path  # source notebook
    html_name: str  # file name in the site
    title: str
    summary: str  # first paragraph after the title, plain text


# --------------------------------------------------------------------------- assets


def npm_modules(cache: Path | None = None, offline: bool = False, log=print, packages: Path = NPM) -> Path:
    """The ``node_modules`` folder of the ``packages`` folder (default: the site's, ``site_assets/npm``),
    installed with ``npm ci`` into the course's npm cache once (:func:`..grader.npm.modules`)."""
    try:
        return npm.modules(packages, cache=cache, offline=offline, log=log)
    except npm.NpmError as error:
        raise SiteError(str(error)) from error


def mathjax_dir() -> Path:
    """The folder of MathJax 2.7 that the PyPI package jupyter-server-mathjax ships."""
    try:
        import jupyter_server_mathjax
    except ImportError as e:  # pragma: no cover - a dependency of the course
        raise SiteError("the PyPI package jupyter-server-mathjax (MathJax 2.7) is not installed") from e
    path = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (path / "MathJax.js").exists():
        raise SiteError(f"no MathJax.js in {path}")
    return path


def install_static(out: Path, offline: bool = False, log=print) -> dict:
    """Copy MathJax, require.js, the widget renderer and the site's CSS into ``out/_static``.

    Returns the URLs (relative to a page in ``out``) the pages load them from.
    """
    static = out / STATIC
    static.mkdir(parents=True, exist_ok=True)
    if not (static / "mathjax" / "MathJax.js").exists():
        shutil.copytree(mathjax_dir(), static / "mathjax", dirs_exist_ok=True)

    modules = npm_modules(offline=offline, log=log)
    hm = modules / "@jupyter-widgets" / "html-manager" / "dist"
    wdir = static / "widgets"
    wdir.mkdir(exist_ok=True)
    # embed-amd.js plus the Font Awesome files its CSS points to (next to it, by webpack's
    # public path, which it derives from its own URL).
    for f in hm.iterdir():
        if f.name == "embed-amd.js" or f.suffix in {".woff2", ".woff", ".ttf", ".eot", ".svg"}:
            shutil.copy2(f, wdir / f.name)
    shutil.copy2(modules / "requirejs" / "require.js", static / "require.js")
    shutil.copy2(ASSETS / "site.css", static / "site.css")
    return {
        "mathjax_url": f"{STATIC}/mathjax/MathJax.js?config={MATHJAX_CONFIG}",
        "require_js_url": f"{STATIC}/require.js",
        "widget_renderer_url": f"{STATIC}/widgets/embed-amd.js",
        "css_href": f"{STATIC}/site.css",
    }


# --------------------------------------------------------------------------- notebooks


def lecture_notebooks(folder: Path) -> list[Path]:
    """The numbered lecture notebooks of ``folder``, in order."""
    return sorted(p for p in Path(folder).iterdir() if NOTEBOOK_RE.match(p.name))


def _plain(markdown: str) -> str:
    """Markdown inline text → plain text (enough for titles and summaries)."""
    s = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", markdown)
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)
    s = re.sub(r"<[^>]+>", "", s)
    s = re.sub(r"(\*\*|__|\*|_|`)", "", s)
    return " ".join(s.split())


def title_and_summary(nb) -> tuple[str | None, str]:
    """The first heading of the notebook and the paragraph that follows it."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
            if m:
                rest = "\n".join(lines[i + 1:]).strip().split("\n\n")[0]
                return _plain(m.group(1)), _plain(rest)
    return None, ""


def execute_notebook(path: str, timeout: int = 300):
    """Run a notebook in a fresh kernel in its own folder, storing the widget state."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(Path(path).parent)}},
        store_widget_state=True,
    )
    client.execute()
    return nb


def _execute_job(args):
    path, timeout = args
    start = time.perf_counter()
    try:
        nb = execute_notebook(path, timeout)
    except Exception as e:  # report, don't pickle the exception
        msg = re.sub(r"\x1b\[[0-9;]*m", "", f"{type(e).__name__}: {e}")  # no terminal colours
        return path, None, msg, time.perf_counter() - start
    import nbformat

    return path, nbformat.writes(nb), None, time.perf_counter() - start


def rewrite_links(page_html: str, targets: dict[str, str]) -> str:
    """``href="03_x.ipynb#y"`` → ``href="03_x.html#y"`` for every notebook in the site."""

    def sub(m):
        """One href, rewritten when it names a notebook of the site."""
        url = m.group(3)
        path, sep, frag = url.partition("#")
        name = path[2:] if path.startswith("./") else path
        if name in targets:
            url = targets[name] + sep + frag
        return f"{m.group(1)}{m.group(2)}{url}{m.group(2)}"

    return HREF_RE.sub(sub, page_html)


def inline_attachments(nb):
    """Markdown ``![](attachment:x.png)`` → ``![](data:image/png;base64,...)``, in place."""
    for cell in nb.cells:
        for name, bundle in (cell.get("attachments") or {}).items():
            mime, data = next(((m, d) for m, d in bundle.items() if m.startswith("image/")), (None, None))
            if mime:
                data = "".join(data) if isinstance(data, list) else data
                cell.source = cell.source.replace(f"attachment:{name}", f"data:{mime};base64,{data}")
    return nb


def copy_linked_notebooks(page_html: str, notebooks_dir: Path, out: Path) -> str:
    """Links to notebooks of the course outside the site → copies in ``<out>/_notebooks/``.

    The site renders the lectures; an assignment they link to (``../release/01_x/x.ipynb``) is
    copied to ``_notebooks/release/01_x/x.ipynb``, its path in the course, for the reader to
    download and open in Jupyter. Files outside the course folder are never copied.
    """
    course = Path(notebooks_dir).resolve().parent

    def sub(m):
        """One href, pointed at the copy of the course notebook it names (copied here)."""
        url = m.group(3)
        path, sep, frag = url.partition("#")
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", path) or path.startswith("/") or not path.endswith(".ipynb"):
            return m.group(0)
        src = (Path(notebooks_dir) / unquote(path)).resolve()
        if not src.is_file() or course not in src.parents:
            return m.group(0)  # left for the link check to report
        rel = Path("_notebooks") / src.relative_to(course)
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, out / rel)
        return f"{m.group(1)}{m.group(2)}{rel.as_posix()}{sep}{frag}{m.group(2)}"

    return HREF_RE.sub(sub, page_html)


SRC_RE = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(["'])([^"']+)\1""", re.IGNORECASE)


def copy_local_images(page_html: str, notebooks_dir: Path, out: Path) -> None:
    """Copy the local image files a page shows (Markdown ``![](img/x.png)``) into the site."""
    for m in SRC_RE.finditer(page_html):
        url = m.group(2)
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url) or url.startswith(("/", "#")):
            continue  # data:, http(s):, attachment:, absolute paths: not ours to copy
        rel = Path(unquote(url.split("#")[0].split("?")[0]))
        src = (notebooks_dir / rel).resolve()
        if ".." in rel.parts or not src.is_file():
            continue  # left for the link check to report
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, out / rel)


def render_index(pages: list[Page], css_href: str) -> str:
    """The site's index.html: the lectures in order, each with its summary, and a link to the guide."""
    import jinja2

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(ASSETS), autoescape=True, trim_blocks=True,
                                     lstrip_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return environment.get_template("site_index.html.j2").render(pages=pages, css_href=css_href,
                                                                  course_title=COURSE_TITLE)


def build_site(out: Path, notebooks_dir: Path | None = None, notebooks: list[Path] | None = None,
               timeout: int = 300, jobs: int | None = None, offline: bool = False,
               log=print) -> list[Page]:
    """Execute and export the lecture notebooks into ``out``; returns the pages in order."""
    from nbconvert import HTMLExporter
    import nbformat

    out = Path(out)
    notebooks_dir = Path(notebooks_dir or ROOT / "notebooks")
    notebooks = [Path(p) for p in (notebooks or lecture_notebooks(notebooks_dir))]
    if not notebooks:
        raise SiteError(f"no numbered notebooks in {notebooks_dir}")
    out.mkdir(parents=True, exist_ok=True)
    marker = out / ".course-site"
    if marker.exists():  # a site we built before: drop pages of renamed or removed notebooks
        for old in out.glob("*.html"):
            old.unlink()
    elif any(out.glob("*.html")):
        raise SiteError(f"{out} holds HTML files that this tool did not write; choose another --out")
    marker.write_text("built by python -m backprop_course.tools.site\n")
    urls = install_static(out, offline=offline, log=log)

    # Execute (in parallel: each notebook waits on its own kernel most of the time).
    jobs = jobs or min(len(notebooks), os.cpu_count() or 1)
    executed = {}
    errors = []
    work = [(str(p), timeout) for p in notebooks]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(_execute_job, work))
    else:
        results = [_execute_job(w) for w in work]
    for path, text, err, secs in results:
        log(f"executed {Path(path).name} in {secs:.1f} s" if err is None
            else f"FAILED {Path(path).name}: {err.splitlines()[0]}")
        if err:
            errors.append(f"{path}: {err}")
        else:
            executed[path] = nbformat.reads(text, as_version=4)
    if errors:
        raise SiteError("executing the notebooks failed:\n" + "\n".join(errors))

    pages = []
    for p in notebooks:
        title, summary = title_and_summary(executed[str(p)])
        pages.append(Page(p, p.with_suffix(".html").name, title or p.stem, summary))
    targets = {p.notebook.name: p.html_name for p in pages}

    # Figures in outputs are embedded (data: URIs); Markdown images: attachments are inlined
    # as data: URIs, local files copied. Not nbconvert's embed_images: it re-parses each raw
    # HTML block on its own, which closes a <details> before the Markdown answer inside it.
    exporter = HTMLExporter(
        template_name="course_site",
        extra_template_basedirs=[str(ASSETS / "templates")],
        mathjax_url=urls["mathjax_url"],
        require_js_url=urls["require_js_url"],
        widget_renderer_url=urls["widget_renderer_url"],
    )
    for i, page in enumerate(pages):
        nb = inline_attachments(executed[str(page.notebook)])
        nb.metadata["title"] = f"{page.title} · {COURSE_TITLE}"

        def link(q):
            """The navigation entry of a neighbouring page (None: there is none)."""
            return {"href": q.html_name, "title": q.title} if q else None

        resources = {
            "metadata": {"name": page.notebook.stem, "path": str(page.notebook.parent)},
            "site": {
                "prev": link(pages[i - 1] if i > 0 else None),
                "next": link(pages[i + 1] if i + 1 < len(pages) else None),
                "index_href": "index.html",
                "course_title": COURSE_TITLE,
                "css_href": urls["css_href"],
            },
        }
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        body = copy_linked_notebooks(rewrite_links(body, targets), page.notebook.parent, out)
        copy_local_images(body, page.notebook.parent, out)
        (out / page.html_name).write_text(body, encoding="utf-8")
        log(f"wrote {out / page.html_name}")
    (out / "index.html").write_text(render_index(pages, urls["css_href"]), encoding="utf-8")
    log(f"wrote {out / 'index.html'}")
    site_guide.build_guide(out, urls["css_href"], COURSE_TITLE, log=log)
    return pages


def main(argv=None) -> int:
    """``python -m backprop_course.tools.site``: build the site (or only install npm packages, or
    only the guide); the exit status."""
    ap = argparse.ArgumentParser(prog="python -m backprop_course.tools.site", description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="site", help="output folder (default: site)")
    ap.add_argument("--notebooks", default=str(ROOT / "notebooks"), help="folder of the lecture notebooks")
    ap.add_argument("--timeout", type=int, default=300, help="seconds a cell may run (default 300)")
    ap.add_argument("--jobs", type=int, default=None, help="notebooks executed at once (default: cores)")
    ap.add_argument("--offline", action="store_true", help="never fetch the npm assets; fail if not cached")
    ap.add_argument("--install-npm", metavar="FOLDER", nargs="+",
                    help="only install (npm ci, into the cache) the npm packages pinned by each FOLDER's "
                         "package.json and package-lock.json, and build nothing (`make npm`)")
    ap.add_argument("--guide-only", action="store_true", help="only the guide's pages (README.md, docs/), "
                    "into OUT/guide/, with the site's CSS: nothing executed, nothing from npm")
    args = ap.parse_args(argv)
    if args.guide_only:
        (Path(args.out) / STATIC).mkdir(parents=True, exist_ok=True)
        shutil.copy2(ASSETS / "site.css", Path(args.out) / STATIC / "site.css")
        try:
            site_guide.build_guide(Path(args.out), f"{STATIC}/site.css", COURSE_TITLE)
        except site_guide.GuideError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        return 0
    if args.install_npm:
        try:
            for folder in args.install_npm:
                print(f"npm packages of {folder}: {npm_modules(packages=Path(folder))}")
        except SiteError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        return 0
    start = time.perf_counter()
    try:
        pages = build_site(Path(args.out), Path(args.notebooks), timeout=args.timeout,
                           jobs=args.jobs, offline=args.offline)
    except (SiteError, site_guide.GuideError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{len(pages)} lectures in {args.out}/index.html ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

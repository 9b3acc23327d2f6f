"""End to end in a real browser: JupyterLab with the course, driven by headless Chromium.

A copy of the course (source/, release/, notebooks/, nbgrader_config.py) in a temporary
folder is served by ``jupyter lab``; Playwright drives Debian's Chromium through:

1. a lecture notebook with widgets: run all, the widgets render, moving a slider changes
   what the kernel computes and displays;
2. the student version of 02_backprop: run all, the first test cell fails with the stub's
   ``NotImplementedError`` and no test cell reports a pass;
3. nbgrader's Validate button with the reference solution typed into the solution cells:
   "Success! Your notebook passes all the tests.";
4. Validate with a classic mistake (hidden δ without φ′): the dialog names the failing
   test and the mistake code ``hidden-delta-no-phi-prime``;
5. the static site (``backprop_course.tools.site``) of that lecture, opened from disk: widgets
   drawn from the saved state, math typeset, nothing requested from the internet.

Screenshots go to ``tests/artifacts/browser/`` (or ``$BROWSER_ARTIFACTS``), with the
server's log. Skipped only when ``/usr/bin/chromium`` or Playwright is missing.
"""
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from grading_helpers import course_copy

import nbformat
import pytest

import hostile

#: a figure of the student's own (the notebook's plots are demonstrations grading skips): it must show
FIGURE = "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()"

from project import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", ROOT / "tests" / "artifacts" / "browser"))
ASSIGNMENT = "release/02_backprop/backprop.ipynb"
MASTER = "source/02_backprop/backprop.ipynb"
MISTAKE = "hidden-delta-no-phi-prime"

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is missing (pip install playwright)")


# ------------------------------------------------------------------------ helpers


def shot(page, name, locator=None):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    (locator or page).screenshot(path=str(path))
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lecture_with_widgets():
    """The first numbered lecture notebook whose code uses ipywidgets (directly or ours)."""
    for nb_path in sorted((ROOT / "notebooks").glob("[0-9]*_*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        if re.search(r"ipywidgets|backprop_course\.lectures\.widgets|\binteract\(", code):
            return nb_path
    pytest.fail("no lecture notebook uses widgets")


def solution_sources(mutate=lambda grade_id, source: source, master=MASTER):
    """grade_id → source of each solution cell of the master, markers removed."""
    out = {}
    for cell in nbformat.read(ROOT / master, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            lines = [l for l in cell.source.splitlines()
                     if not re.match(r"\s*### (BEGIN|END) SOLUTION\s*$", l)]
            out[meta["grade_id"]] = mutate(meta["grade_id"], "\n".join(lines))
    assert out, f"no solution cells in {master}"
    return out


def without_phi_prime(grade_id, source):
    """The hidden neuron's δ without the factor φ′(net_j): δ_j = Σ_l δ_l·w_jl."""
    if grade_id != "neuron_backward":
        return source
    new = re.sub(r"(delta_j\s*=\s*np\.dot\(delta_l,\s*w_l\))\s*\*\s*phi_prime", r"\1", source)
    assert new != source, "the master's hidden-δ line changed; update the mutation"
    return new


# JavaScript run in the page. `window.jupyterapp` exists thanks to expose_app_in_browser.
JS_OPEN = """async (path) => {
    const app = window.jupyterapp;
    const panel = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
    await panel.context.ready;
    await panel.sessionContext.ready;
    app.shell.activateById(panel.id);
    // wait for a live kernel, not only a session
    for (let i = 0; i < 600 && !(panel.sessionContext.session && panel.sessionContext.session.kernel
         && panel.sessionContext.session.kernel.connectionStatus === 'connected'); i++) {
        await new Promise(r => setTimeout(r, 100));
    }
    return panel.id;
}"""

JS_RUN_ALL = """async (id) => {
    const app = window.jupyterapp;
    app.shell.activateById(id);
    await app.commands.execute('notebook:run-all-cells');
    const panel = app.shell.currentWidget;
    // run-all resolves when the cells are done; double-check no cell is still queued
    for (let i = 0; i < 1200; i++) {
        const busy = panel.content.widgets.some(c => c.model.type === 'code'
            && c.node.querySelector('.jp-InputArea-prompt') &&
            c.node.querySelector('.jp-InputArea-prompt').textContent.includes('*'));
        if (!busy && panel.sessionContext.session.kernel.status === 'idle') return true;
        await new Promise(r => setTimeout(r, 100));
    }
    return false;
}"""

JS_SET_SOLUTIONS = """([id, sources]) => {
    const app = window.jupyterapp;
    app.shell.activateById(id);
    const panel = app.shell.currentWidget;
    let n = 0;
    for (const cell of panel.content.widgets) {
        const meta = cell.model.getMetadata('nbgrader');
        if (meta && meta.solution && meta.grade_id in sources) {
            cell.model.sharedModel.setSource(sources[meta.grade_id]);
            n++;
        }
    }
    return n;
}"""


JS_OUTPUTS = """(id) => {
    const app = window.jupyterapp;
    app.shell.activateById(id);
    return app.shell.currentWidget.content.widgets.filter(c => c.model.type === 'code').map(c => ({
        grade_id: (c.model.getMetadata('nbgrader') || {}).grade_id || null,
        outputs: c.model.outputs.toJSON()}));
}"""


# ------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return course_copy(tmp_path_factory.mktemp("course"), folders=("source", "release", "notebooks"))


@contextlib.contextmanager
def serve_lab(root, home, log_name="jupyter-lab.log"):
    """A JupyterLab server on ``root``, in its own Jupyter config/data/settings dirs under ``home``."""
    settings = home / "lab-user-settings"
    # JupyterLab >= 4.2 only renders the cells in view ("windowing"): turn it off, so the
    # test sees every cell; and no news / update prompts over the notebook.
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(os.environ)
    env.update({
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        # nbgrader shells out to alembic: the venv's bin/ must be on PATH
        "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
        "PYTHONHASHSEED": "0",
    })
    env.pop("NBGRADER_DB_URL", None)
    port, token = free_port(), secrets.token_hex(16)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / log_name, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={settings}",
         f"--LabApp.workspaces_dir={home / 'workspaces'}", "--ServerApp.port_retries=0",
         "--ServerApp.allow_root=True"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}; see {ARTIFACTS / log_name}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("jupyter lab did not answer /api/status within 90 s")
            time.sleep(0.3)
        yield {"base": base, "token": token, "root": root}
    finally:
        # End the server and its kernels: the process group of the server we started.
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)
        log.close()


@pytest.fixture(scope="module")
def lab(course, tmp_path_factory):
    """A JupyterLab server on the course copy."""
    with serve_lab(course, tmp_path_factory.mktemp("jupyter")) as server:
        yield server


def open_lab(browser, server):
    """A new browser context with JupyterLab of ``server`` loaded: (context, page)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(f"{server['base']}/lab?token={server['token']}")
    pg.wait_for_function("window.jupyterapp && window.jupyterapp.shell", timeout=90_000)
    pg.wait_for_selector("#jp-main-dock-panel", state="attached")
    return context, pg


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def page(lab, browser):
    context, pg = open_lab(browser, lab)
    yield pg
    context.close()


# ------------------------------------------------------------------------ tests


def test_cells_are_not_virtualised(lab):
    url = f"{lab['base']}/lab/api/settings/@jupyterlab/notebook-extension:tracker?token={lab['token']}"
    with urllib.request.urlopen(url, timeout=10) as r:
        settings = json.load(r)
    assert settings["settings"]["windowingMode"] == "none"


def test_lecture_widgets_render_and_respond_to_a_slider(page):
    nb_path = lecture_with_widgets()
    rel = f"notebooks/{nb_path.name}"
    panel_id = page.evaluate(JS_OPEN, rel)
    assert page.evaluate(JS_RUN_ALL, panel_id), "run-all did not finish"
    panel = page.locator(f"#{panel_id}")
    widgets = panel.locator(".jp-OutputArea-output .jupyter-widgets")
    widgets.first.wait_for(state="visible", timeout=60_000)
    assert widgets.count() > 0
    assert panel.locator(".jp-OutputArea-output .jupyter-widgets.widget-slider").count() > 0
    errors = panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert "Error" not in " ".join(errors.all_inner_texts())
    shot(page, "01_lecture_after_run_all")

    # The output area of the first interactive widget (sliders + what the kernel computes).
    area = panel.locator(".jp-OutputArea-output:has(.widget-slider)").first
    area.scroll_into_view_if_needed()
    shot(page, "02_widget_before", area)
    computed = area.locator(".widget-html, .widget-htmlmath")

    def kernel_side():
        # HTML readouts and the figure are recomputed by the kernel; the slider's own
        # number is not (the front end updates it), so it is left out.
        imgs = area.locator("img").evaluate_all("els => els.map(e => e.src)")
        return computed.all_inner_texts(), imgs

    before = kernel_side()
    slider = area.locator(".widget-slider").first
    before_value = slider.locator(".widget-readout").inner_text()
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    if slider.locator(".widget-readout").inner_text() == before_value:  # keyboard ignored: drag
        box = handle.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2, steps=5)
        page.mouse.up()
    after_value = slider.locator(".widget-readout").inner_text()
    assert after_value != before_value, "the slider did not move"
    # Each step of the slider is a round trip to the kernel: wait until what it shows has
    # changed and then stayed the same for a second and a half.
    deadline = time.monotonic() + 45
    after, stable_since = kernel_side(), time.monotonic()
    while time.monotonic() < deadline:
        page.wait_for_timeout(250)
        now = kernel_side()
        if now != after:
            after, stable_since = now, time.monotonic()
        elif after != before and time.monotonic() - stable_since > 1.5:
            break
    shot(page, "03_widget_after_slider", area)
    assert after[0] != before[0], f"moving the slider {before_value} → {after_value} left the readouts as they were"
    assert after[1] != before[1], f"moving the slider {before_value} → {after_value} did not redraw the figure"


def test_student_version_raises_not_implemented(page):
    panel_id = page.evaluate(JS_OPEN, ASSIGNMENT)
    assert page.evaluate(JS_RUN_ALL, panel_id), "run-all did not finish"
    panel = page.locator(f"#{panel_id}")
    err = panel.locator(".jp-OutputArea-output", has_text="NotImplementedError").first
    err.wait_for(state="visible", timeout=30_000)
    err.scroll_into_view_if_needed()
    shot(page, "04_release_not_implemented")
    cells = page.evaluate(JS_OUTPUTS, panel_id)
    errors = [(cell["grade_id"], out) for cell in cells for out in cell["outputs"] if out["output_type"] == "error"]
    assert errors, "running the student version raised nothing"
    grade_id, first = errors[0]
    assert grade_id == "test_neuron_backward_output", f"the first error is in {grade_id}: {first}"
    assert first["ename"] == "NotImplementedError" and "Replace this line with your code." in first["evalue"], first
    assert all(out["ename"] == "NotImplementedError" for _, out in errors), errors
    printed = "".join(str(out.get("text", "")) for cell in cells for out in cell["outputs"])
    assert "✓" not in printed, "a test cell of the unanswered notebook reports a pass"


def _validate(page, panel_id):
    """Press the notebook's Validate button; return the result dialog, its kinds and text."""
    page.evaluate("(id) => window.jupyterapp.shell.activateById(id)", panel_id)
    panel = page.locator(f"#{panel_id}")
    button = panel.locator(".jp-Toolbar .validate-button").first
    button.wait_for(state="visible")
    button.click()
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    dialog.wait_for(state="visible", timeout=120_000)
    body = dialog.locator(".jp-Dialog-body")
    # nbgrader marks the dialog's content with validation-success / -failed / -changed ...
    kinds = dialog.locator("[class*='validation-']").evaluate_all(
        "els => els.flatMap(e => [...e.classList].filter(c => c.startsWith('validation-')))")
    return dialog, kinds, body.inner_text()


def _close(page, dialog):
    dialog.locator(".jp-Dialog-button.jp-mod-accept, button:has-text('Ok')").first.click()
    dialog.wait_for(state="detached")


def test_validate_accepts_the_reference_solution(page):
    panel_id = page.evaluate(JS_OPEN, ASSIGNMENT)
    sources = solution_sources()
    assert page.evaluate(JS_SET_SOLUTIONS, [panel_id, sources]) == len(sources)
    dialog, kinds, text = _validate(page, panel_id)
    shot(page, "05_validate_success")
    assert kinds == ["validation-success"], text
    assert "Success! Your notebook passes all the tests." in text
    _close(page, dialog)


def test_validate_names_the_mistake_of_a_wrong_solution(page, lab):
    panel_id = page.evaluate(JS_OPEN, ASSIGNMENT)
    sources = solution_sources(without_phi_prime)
    assert page.evaluate(JS_SET_SOLUTIONS, [panel_id, sources]) == len(sources)
    dialog, kinds, text = _validate(page, panel_id)
    # Scroll the dialog's traceback to the line that names the mistake, for the screenshot.
    dialog.locator("pre", has_text=MISTAKE).last.evaluate(
        """e => { for (let n = e; n && !n.classList.contains('jp-Dialog'); n = n.parentElement)
                      n.scrollTop = n.scrollHeight; }""")
    shot(page, "06_validate_failure")
    assert kinds == ["validation-failed"], text
    assert "The following cell failed:" in text
    assert MISTAKE in text, text
    # the teaching line comes first in the failure, not under the checks' own frames (issue 12)
    failure = dialog.locator("pre", has_text=MISTAKE).last.inner_text()
    first_lines = [line.strip() for line in failure.splitlines() if line.strip()][:3]
    assert first_lines[0].startswith("Mistake:") and MISTAKE in " ".join(first_lines), failure[:1500]
    assert "Success!" not in text
    # The file on disk is what was validated: the Validate button saved it first.
    saved = nbformat.read(lab["root"] / ASSIGNMENT, as_version=4)
    assert sources["neuron_backward"] in [c.source for c in saved.cells]
    _close(page, dialog)


@pytest.fixture(scope="module")
def static_site(tmp_path_factory):
    """The static site (``backprop_course.tools.site``) of the first lecture with widgets: (folder, page)."""
    from backprop_course.tools import site

    nb_path = lecture_with_widgets()
    out = tmp_path_factory.mktemp("site")
    site.build_site(out, nb_path.parent, notebooks=[nb_path], jobs=1, log=lambda *a: None)
    return out, out / nb_path.with_suffix(".html").name


def test_static_site_page_shows_widgets_and_math_offline(browser, static_site):
    _, page_path = static_site
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    requests, failed = [], []
    pg.on("request", lambda r: requests.append(r.url))
    pg.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    pg.goto(page_path.as_uri())
    pg.locator(".jupyter-widgets.widget-slider").first.wait_for(state="visible", timeout=30_000)
    pg.locator(".MathJax").first.wait_for(state="attached", timeout=30_000)
    pg.wait_for_load_state("networkidle")
    assert pg.locator("text=Math Processing Error").count() == 0
    area = pg.locator(".jp-OutputArea-output:has(.widget-slider)").first
    area.scroll_into_view_if_needed()
    shot(pg, "07_static_site_widget")
    outside = [u for u in requests if not u.startswith(("file:", "data:", "blob:", "about:"))]
    assert not outside, outside
    assert not [f for f in failed if not f.startswith("about:")], failed
    context.close()


# ------------------------------------------------------------------------ accessibility (axe-core)
#
# axe-core comes from npm, pinned by tests/a11y/package.json and package-lock.json, installed
# with `npm ci` into the site's npm cache by `make npm` (which `make test` runs first), as the
# site's own npm packages are. The test itself never fetches it.

A11Y = ROOT / "tests" / "a11y"
BLOCKING = ("serious", "critical")  # axe's impact levels a page must not have


@pytest.fixture(scope="module")
def axe_source():
    from backprop_course.tools import site

    try:
        modules = site.npm_modules(packages=A11Y, offline=True, log=lambda *a: None)
    except site.SiteError as error:
        pytest.fail(f"axe-core is not installed: run `make npm` (it needs npm). {error}")
    return (modules / "axe-core" / "axe.min.js").read_text(encoding="utf-8")


def axe_violations(page, axe_source):
    """axe-core's violations of the WCAG 2 A and AA rules (and its best practices) on the page."""
    page.add_script_tag(content=axe_source)
    return page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)}));
    }""")


def blocking(violations):
    return [v for v in violations if v["impact"] in BLOCKING]


def explain(violations):
    return "\n".join(f"{v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in violations)


def test_the_accessibility_check_sees_a_violation(browser, axe_source, tmp_path):
    """The check can fail: an image without alt text and grey-on-grey text are caught."""
    page_path = tmp_path / "bad.html"
    page_path.write_text('<!DOCTYPE html><html lang="en"><head><title>bad</title></head><body><main>'
                         '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
                         '<p style="color:#bbb;background:#ccc">hard to read</p></main></body></html>')
    context = browser.new_context()
    pg = context.new_page()
    pg.goto(page_path.as_uri())
    found = {v["id"] for v in blocking(axe_violations(pg, axe_source))}
    context.close()
    assert {"image-alt", "color-contrast"} <= found, found


def test_a_site_page_has_no_serious_accessibility_violation(browser, static_site, axe_source):
    _, page_path = static_site
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    pg.goto(page_path.as_uri())
    pg.locator(".jupyter-widgets.widget-slider").first.wait_for(state="visible", timeout=30_000)
    pg.locator(".MathJax").first.wait_for(state="attached", timeout=30_000)
    pg.wait_for_load_state("networkidle")
    violations = axe_violations(pg, axe_source)
    images = pg.locator("img").evaluate_all("els => els.map(e => e.getAttribute('alt') || e.getAttribute('title') || '')")
    context.close()
    assert not blocking(violations), explain(blocking(violations))
    assert images and all(images), f"an image of the page has no text alternative: {images}"


@pytest.mark.needs_sandbox
def test_the_grade_report_has_no_serious_accessibility_violation(browser, exchange, axe_source):
    report_path = exchange["course"] / "report.html"
    # the report's policy forbids every script, axe's too: the test's own script is let in
    context = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)
    pg = context.new_page()
    pg.goto(report_path.as_uri())
    violations = axe_violations(pg, axe_source)
    shot(pg, "09_report")
    context.close()
    assert not blocking(violations), explain(blocking(violations))


def test_the_review_sections_show_a_copy_side_by_side_inert_and_accessible(browser, axe_source, tmp_path):
    """report.html's "Similar submissions" and "Integrity" (grader/review.py) for a class where one
    student copied another's (disguised) code and the original holds hostile markup and an
    import: the pair side by side with the overlap marked on both sides, the note in its table,
    nothing of the student's text run, and no serious accessibility violation."""
    from backprop_course.grader.results import report, review
    from review_helpers import DISGUISES, HOSTILE, cells_of, course_of, distinct_styles, submission, write

    class_dir, page_path = tmp_path / "class", tmp_path / "report.html"
    cells = cells_of(distinct_styles("01_neuron")[0])
    cells["activations"] += HOSTILE + "import os\n"
    write(class_dir, "<i onmouseover=alert(1)>ada", submission("01_neuron", cells))
    write(class_dir, "grace", submission("01_neuron", {e: DISGUISES["disguised"](c) for e, c in cells.items()}))
    found = review.of_course(course_of(class_dir))
    report.write_report(report.ClassResults(["01_neuron"], review=found), page_path)
    context = browser.new_context(viewport={"width": 1200, "height": 900},
                                  bypass_csp=True)  # the page runs no script: only axe needs it
    pg = context.new_page()
    dialogs = []
    pg.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    pg.goto(page_path.as_uri())
    assert pg.evaluate("() => document.scripts.length") == 0
    assert pg.get_by_role("heading", name="Similar submissions").is_visible()
    row = pg.locator("table", has_text="of its code, found in the other").locator("tr").nth(1)
    assert "<i onmouseover=alert(1)>ada" in row.inner_text() and "grace" in row.inner_text()
    row.hover()
    row.get_by_role("link").click()
    pair = pg.locator("section.pair").first
    pg.wait_for_function("() => location.hash === '#pair-01_neuron-1'")
    left, right = pair.locator(".side").nth(0), pair.locator(".side").nth(1)
    assert left.locator("mark").count() > 0 and right.locator("mark").count() > 0
    a, b = left.bounding_box(), right.bounding_box()
    assert a["x"] + a["width"] <= b["x"] and abs(a["y"] - b["y"]) < 1, (a, b)   # side by side
    assert "<script>window.__pwned = 1</script>" in left.inner_text()        # shown as the text it is
    shot(pg, "13_report_similar_pair", pair)
    notes = pg.locator("table", has_text="what the code does")
    notes.scroll_into_view_if_needed()
    assert "imports os" in notes.inner_text() and "activations" in notes.inner_text()
    violations = axe_violations(pg, axe_source)
    assert pg.evaluate("() => window.__pwned") is None and dialogs == []
    context.close()
    assert not blocking(violations), explain(blocking(violations))


# ------------------------------------------------------------------------ the exchange, from the Assignments panel
#
# As on a JupyterHub with nbgrader's default exchange (a shared folder, here a temporary one):
# the instructor releases, collects, grades and returns feedback from the command line; the
# student, in a JupyterLab of their own, fetches and submits through nbgrader's Assignments
# panel (its assignment_list extension) and fetches the feedback there. The student's
# JupyterLab knows the course and the exchange from an nbgrader_config.py in its root, as a
# hub's image would put it. The student is this machine's user; the due date is an hour
# before the run, so the exchange's own timestamp costs one day's late penalty.

EXCHANGE_A = "01_neuron"
COURSE_ID = "backprop-course"


def nbgrader_cli(*args, cwd):
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    env.pop("NBGRADER_DB_URL", None)
    done = subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def list_rows(page, name, count):
    """The rows of one list of the Assignments panel (released, fetched, submitted), once it holds ``count``."""
    rows = page.locator(f"#{name}_assignments_list > .list_item")
    page.wait_for_function("([name, n]) => document.querySelectorAll(`#${name}_assignments_list > .list_item`).length === n",
                           arg=[name, count], timeout=60_000)
    return rows


@pytest.fixture(scope="module")
def exchange(browser, course, tmp_path_factory):
    """The instructor's course is the one the ``lab`` server serves, so that its formgrader shows
    the submission; the student's work carries the XSS payloads of ``hostile`` (issue 24)."""
    from datetime import datetime, timedelta, timezone

    base = tmp_path_factory.mktemp("hub")
    student, shared = base / "student", base / "exchange"
    for folder in (student, shared):
        folder.mkdir()
    shared.chmod(0o777)  # as the hub's shared exchange folder
    due = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S UTC")
    with open(course / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Exchange.root = {str(shared)!r}\nc.DueDates.dates = {{{EXCHANGE_A!r}: {due!r}}}\n"
                     "c.CollectApp.check_owner = False\n")
    (student / "nbgrader_config.py").write_text(
        f"c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = {COURSE_ID!r}\nc.Exchange.root = {str(shared)!r}\n")

    nbgrader_cli("nbgrader", "release_assignment", EXCHANGE_A, cwd=course)
    with serve_lab(student, base / "jupyter", "jupyter-lab-student.log") as server:
        context, pg = open_lab(browser, server)
        try:
            pg.evaluate("() => window.jupyterapp.commands.execute('nbgrader:open-assignment-list')")
            (row,) = list_rows(pg, "released", 1).all()
            assert row.locator(".item_name").inner_text() == EXCHANGE_A
            assert row.locator(".item_course").inner_text() == COURSE_ID
            shot(pg, "10_assignments_released")
            row.locator(".item_status button").click()
            list_rows(pg, "fetched", 1)
            fetched = student / EXCHANGE_A / "neuron.ipynb"
            fetched_bytes = fetched.read_bytes()
            # the student's work: the reference solution in every solution cell, and cells of their
            # own with text, math and script that must never run where the work is shown
            notebook = nbformat.read(fetched, as_version=4)
            sources = solution_sources(master=f"source/{EXCHANGE_A}/neuron.ipynb")
            for cell in notebook.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in sources:
                    cell.source = sources[grade_id]
            notebook.cells += [nbformat.v4.new_markdown_cell(hostile.MARKDOWN), nbformat.v4.new_code_cell(hostile.CODE),
                               nbformat.v4.new_code_cell(FIGURE)]
            nbformat.write(notebook, fetched)
            pg.locator("#fetched_assignments_list > .list_item .item_status button", has_text="Submit").click()
            (submitted,) = list_rows(pg, "submitted", 1).all()
            shot(pg, "11_assignments_submitted")

            nbgrader_cli("nbgrader", "collect", EXCHANGE_A, cwd=course)
            graded = nbgrader_cli("backprop_course.grader.cli", "--root", str(course), "grade", "--jobs", "1", cwd=course)
            nbgrader_cli("nbgrader", "release_feedback", EXCHANGE_A, cwd=course)

            pg.locator("#refresh_assignments_list").click()
            button = pg.locator("#submitted_assignments_list .item_status button", has_text="Fetch Feedback")
            button.wait_for(state="visible", timeout=60_000)
            button.click()
            pg.locator("#submitted_assignments_list a", has_text="view feedback").wait_for(state="visible", timeout=60_000)
            shot(pg, "12_assignments_feedback")
        finally:
            context.close()
    return {"course": course, "student": student, "fetched": fetched_bytes, "graded": graded.stdout,
            "feedback": sorted((student / EXCHANGE_A / "feedback").glob("*/neuron.html"))}


@pytest.mark.needs_sandbox
def test_exchange_fetch_in_the_panel_gives_the_released_notebook(exchange):
    assert exchange["fetched"] == (ROOT / "release" / EXCHANGE_A / "neuron.ipynb").read_bytes()


@pytest.mark.needs_sandbox
def test_exchange_submit_in_the_panel_is_collected_graded_and_late(exchange):
    from nbgrader.api import Gradebook

    course = exchange["course"]
    (folder,) = (course / "submitted").iterdir()  # the student: this machine's user
    assert (folder / EXCHANGE_A / "neuron.ipynb").is_file() and (folder / EXCHANGE_A / "timestamp.txt").is_file()
    assert "not graded" not in exchange["graded"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission(EXCHANGE_A, folder.name)
        assert submission.score == submission.assignment.max_score == 9.0
        assert 0 < submission.total_seconds_late < 3 * 3600
        assert submission.late_submission_penalty == pytest.approx(0.9)
    assert "late by 1 day" in (course / "report.html").read_text()


@pytest.mark.needs_sandbox
def test_exchange_feedback_is_fetched_in_the_panel(exchange):
    (feedback,) = exchange["feedback"]
    html = feedback.read_text()
    # nbgrader's feedback: the score after the late penalty, and the penalty on a line of its own
    assert "(Score: 8.1 / 9.0)" in html and "Late submission penalty (Score: -0.9)" in html
    assert re.search(r'<img alt="[^"]{40,}"', html), "the figure of the feedback has no alt text"
    assert "BEGIN HIDDEN TESTS" not in html

# ------------------------------------------------------------------------ what a student wrote is inert (issue 24)
#
# The student of the exchange added a markdown cell and a code cell of ``hostile``'s payloads:
# markup with event handlers, display(HTML(…)) with a script, display(Javascript(…)), an SVG
# with onload. If any ran, it would leave its key in ``window.__pwned``, write pwned-<key>.txt
# through the Jupyter API (as the red team did from formgrader, HTTP 201) and request
# 127.0.0.1:9. Each page is watched for requests and for Content-Security-Policy violations.

WATCH = """window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"""


def watched(context):
    """The URLs of every request the context's pages make; its pages record CSP violations."""
    requests = []
    context.on("request", lambda r: requests.append(r.url))
    context.add_init_script(script=WATCH)
    return requests


def ran(page):
    """The keys of the hostile scripts that ran on the page."""
    return page.evaluate(f"() => window.{hostile.CANARY} || []")


def shows_math(page):
    """The page's typeset formulas that are drawn (an SVG with a size), and whether raw TeX is left."""
    drawn = page.locator("mjx-container svg").evaluate_all(
        "els => els.filter(e => e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().height > 0).length")
    text = page.evaluate("() => document.body.innerText")
    return drawn, bool(re.search(r"\\varphi|\\frac|\$\$", text))


@pytest.mark.needs_sandbox
def test_formgrader_shows_the_submission_inert(browser, lab, exchange):
    from nbgrader.api import Gradebook

    course = exchange["course"]
    (student,) = [folder.name for folder in (course / "submitted").iterdir()]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook("neuron", EXCHANGE_A, student).id
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    requests = watched(context)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    try:
        # logged in as the instructor is, with a cookie (the token in the URL authenticates one page only)
        pg.goto(f"{lab['base']}/login")
        pg.fill("input[name=password]", lab["token"])
        pg.click("button[type=submit]")
        pg.wait_for_url(re.compile(r".*/(lab|tree).*"))
        pg.goto(f"{lab['base']}/formgrader/submissions/{submission}/")
        pg.wait_for_load_state("networkidle")
        outside = [u for u in requests if not u.startswith((lab["base"] + "/", "data:"))]
        assert not outside, f"requests left the server: {outside}"
        assert not [u for u in requests if "pwned" in u or "leak" in u], requests
        assert not list(course.glob("pwned-*")), "the student's script wrote into the course through the API"
        assert ran(pg) == [], f"the student's script ran in formgrader: {ran(pg)}"
        # formgrader's own scripts all ran under the page's policy: none refused, init done, grades loaded
        assert pg.evaluate("() => window.__violations") == []
        pg.wait_for_function("() => window.formgrader && window.formgrader.loaded === true")
        # (formgrade.js puts each cell's autograded score in its box as the placeholder)
        pg.wait_for_function("() => [...document.querySelectorAll('input.score')].some(e => e.placeholder !== '')")
        # the student's text, figure and math show
        assert pg.get_by_text(hostile.NOTE).is_visible() and pg.get_by_text("bold from HTML", exact=True).is_visible()
        assert pg.locator("img[src^='data:image/png']").evaluate_all("els => els.filter(e => e.naturalWidth > 0).length") >= 1
        drawn, raw = shows_math(pg)
        assert drawn >= 2 and not raw, (drawn, raw)
        pg.get_by_text(hostile.NOTE).scroll_into_view_if_needed()
        shot(pg, "13_formgrader_submission")
    finally:
        context.close()


@pytest.mark.needs_sandbox
def test_the_feedback_page_runs_nothing_and_shows_its_math_offline(browser, exchange):
    (feedback,) = exchange["feedback"]
    context = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
    requests = watched(context)
    pg = context.new_page()
    try:
        pg.goto(feedback.as_uri())
        # bootstrap's CSS (nbgrader's) names glyph fonts beside the page: the policy refuses them too
        own_fonts = "/fonts/glyphicons-halflings-regular."
        outside = [u for u in requests if u != feedback.as_uri() and not u.startswith("data:") and own_fonts not in u]
        assert not outside, f"the feedback page requested {outside}"
        assert ran(pg) == [], f"the student's script ran on the feedback page: {ran(pg)}"
        assert [v for v in pg.evaluate("() => window.__violations") if not v.startswith("font-src")] == []
        assert pg.get_by_text(hostile.NOTE).is_visible() and pg.get_by_text("bold from HTML", exact=True).is_visible()
        assert pg.locator("img[src^='data:image/png']").evaluate_all("els => els.filter(e => e.naturalWidth > 0).length") >= 1
        drawn, raw = shows_math(pg)
        assert drawn >= 2 and not raw, (drawn, raw)
        pg.get_by_text(hostile.NOTE).scroll_into_view_if_needed()
        shot(pg, "14_feedback_offline")
    finally:
        context.close()


def test_the_page_policies_alone_stop_a_script(browser, tmp_path):
    """Were the sanitiser to miss a payload, the policy stops it: on the feedback's (no script at
    all) and on formgrader's (its own scripts, by hash, only), the unsanitised payloads do not run
    and the browser reports the refusals; formgrader's own script runs. Without a policy they run."""
    from backprop_course.grader.results.inert import PAGE_CSP, content_security_policy

    own = "<script>window.ownScriptRan = true;</script>"
    payloads = (f'<img src=x onerror="{hostile.script("img")}"><script>{hostile.script("script")}</script>'
                f'<svg onload="{hostile.script("svg")}"></svg><iframe src="javascript:parent.{hostile.CANARY}=[1]"></iframe>')
    context = browser.new_context()
    watched(context)
    try:
        for name, policy, head in (("none", None, own), ("feedback", PAGE_CSP, ""),
                                   ("formgrader", content_security_policy(own), own)):
            meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}">' if policy else ""
            page_path = tmp_path / f"{name}.html"
            page_path.write_text(f"<!DOCTYPE html><html><head>{meta}{head}<title>{name}</title></head>"
                                 f"<body>{payloads}</body></html>")
            pg = context.new_page()
            pg.goto(page_path.as_uri())
            pg.wait_for_load_state("load")
            if policy is None:
                assert ran(pg), "the payloads do not even run without a policy: the test proves nothing"
            else:
                assert ran(pg) == [], f"{name}'s policy let {ran(pg)} run"
                assert any("script-src" in v for v in pg.evaluate("() => window.__violations")), name
            assert pg.evaluate("() => window.ownScriptRan === true") == bool(head), name
            pg.close()
    finally:
        context.close()


# ------------------------------------------------------------------------ lecture 6 and assignment 03

LECTURE_6 = "notebooks/06_batches_and_classification.ipynb"
ASSIGNMENT_03 = "release/03_vectorised/vectorised.ipynb"


def _catalogue_cells(name):
    from answers.catalogue import CATALOGUE, strip_markers

    return {grade_id: strip_markers(source) for grade_id, source in
            next(s for s in CATALOGUE if s.name == name).cells.items()}


def test_lecture_6_widget_trains_and_redraws_the_boundary(page):
    panel_id = page.evaluate(JS_OPEN, LECTURE_6)
    assert page.evaluate(JS_RUN_ALL, panel_id), "run-all did not finish"
    panel = page.locator(f"#{panel_id}")
    assert panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                         has_text="Error").count() == 0
    trainer = panel.locator(".jp-OutputArea-output:has(.widget-button:has-text('Train'))").last
    trainer.wait_for(state="visible", timeout=60_000)
    trainer.scroll_into_view_if_needed()
    readout = trainer.locator(".widget-html").first
    assert "epochs: 0" in readout.inner_text()
    before = trainer.locator("img").first.get_attribute("src")
    trainer.locator(".widget-button", has_text="Train").click()
    page.wait_for_function("(el) => el.innerText.includes('epochs: 20')", arg=readout.element_handle(), timeout=120_000)
    shot(page, "08_lecture6_boundary_trainer", trainer)
    assert trainer.locator("img").first.get_attribute("src") != before, "the boundary was not redrawn"
    assert "held-out accuracy" in readout.inner_text()


@pytest.mark.parametrize("student,expected", [("03-correct-loops", None), ("03-dense-dW-transposed",
                                                                             "weight-gradient-transposed")])
def test_validate_on_03(page, lab, student, expected):
    panel_id = page.evaluate(JS_OPEN, ASSIGNMENT_03)
    sources = _catalogue_cells(student)
    assert page.evaluate(JS_SET_SOLUTIONS, [panel_id, sources]) == len(sources) == 4
    dialog, kinds, text = _validate(page, panel_id)
    shot(page, f"09_validate_03_{student}")
    if expected is None:
        assert kinds == ["validation-success"], text
        assert "Success! Your notebook passes all the tests." in text
    else:
        assert kinds == ["validation-failed"], text
        assert expected in text and "Success!" not in text
    _close(page, dialog)

# ------------------------------------------------------------------------ lecture 7 and assignment 04

LECTURE_7 = "notebooks/07_autodiff_and_generalisation.ipynb"
ASSIGNMENT_04 = "release/04_autograd/autograd.ipynb"


JS_RUN_UP_TO = """async ([id, marker]) => {
    const app = window.jupyterapp;
    app.shell.activateById(id);
    const panel = app.shell.currentWidget;
    const notebook = panel.content;
    notebook.activeCellIndex = notebook.widgets.findIndex(c => c.model.sharedModel.getSource().includes(marker));
    await app.commands.execute('notebook:run-all-above');
    await app.commands.execute('notebook:run-cell');
    for (let i = 0; i < 1200; i++) {
        const busy = notebook.widgets.some(c => c.model.type === 'code' && c.node.querySelector('.jp-InputArea-prompt')
            && c.node.querySelector('.jp-InputArea-prompt').textContent.includes('*'));
        if (!busy && panel.sessionContext.session.kernel.status === 'idle') return notebook.activeCellIndex;
        await new Promise(r => setTimeout(r, 100));
    }
    return -1;
}"""


def test_lecture_7_steps_through_a_backward_pass(page):
    """The lecture up to its graph stepper (not its training on the digits, which test_lectures runs), then a click."""
    panel_id = page.evaluate(JS_OPEN, LECTURE_7)
    assert page.evaluate(JS_RUN_UP_TO, [panel_id, "stepper = graph_stepper("]) > 0, "the cells did not finish"
    panel = page.locator(f"#{panel_id}")
    assert panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                         has_text="Error").count() == 0
    stepper = panel.locator(".jp-OutputArea-output:has(.widget-button:has-text('Backward step'))").last
    stepper.wait_for(state="visible", timeout=60_000)
    stepper.scroll_into_view_if_needed()
    readout = stepper.locator(".widget-html").first
    assert "step 3 of" in readout.inner_text()          # the lecture's cell shows its third step
    before = stepper.locator("img").first.get_attribute("src")
    stepper.locator(".widget-button", has_text="Backward step").click()
    page.wait_for_function("(el) => el.innerText.includes('step 4 of')", arg=readout.element_handle(), timeout=60_000)
    assert stepper.locator("img").first.get_attribute("src") != before, "the graph was not redrawn"
    assert stepper.locator("img").first.get_attribute("title").startswith("A computational graph")
    shot(page, "13_lecture7_graph_stepper", stepper)


def test_validate_on_04_names_a_mistake(page):
    panel_id = page.evaluate(JS_OPEN, ASSIGNMENT_04)
    sources = _catalogue_cells("04-step-grads-not-zeroed")
    assert page.evaluate(JS_SET_SOLUTIONS, [panel_id, sources]) == len(sources) == 5
    dialog, kinds, text = _validate(page, panel_id)
    shot(page, "14_validate_04_grads_not_zeroed")
    assert kinds == ["validation-failed"], text
    assert "grads-not-zeroed" in text and "Success!" not in text
    _close(page, dialog)

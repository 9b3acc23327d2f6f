"""Student code runs in the grading sandbox: hostile submissions, graded in one batch beside
honest ones, reach nothing of the course, and only themselves lose points.

Each hostile submission is the reference 02_backprop (or, for the cheat, the blank one) with
hostile code at the top of a solution cell. The code prints what it achieved ("BLOCKED" or
"LEAKED" lines), which the test reads from the autograded notebook, beside the scores in the
gradebook and the hashes of every file of the course.
"""
import os
import socket
import subprocess
import sys
import time
import textwrap
from pathlib import Path

import nbformat
import pytest

from backprop_course.grader import pipeline
from backprop_course.grader.run import sandbox
from backprop_course.grader.run.sandbox import limits
from backprop_course.grader.run.sandbox.policy import PACKAGE_MOUNT  # the grader's own package, bound for the kernel
from backprop_course.grader.run.execute import GradingExecute
from answers.catalogue import CATALOGUE, EXERCISES, NOTEBOOK, build_notebook
from grading_helpers import course_copy, exercise_scores, tree_hashes

from project import ROOT

A2 = "02_backprop"
REFERENCE = next(s for s in CATALOGUE if s.name == "02-reference")
FULL = {"neuron_backward": 5, "train_multi_sample": 4, "multi_output_network": 6}
TIMEOUT = 8  # c.Execute.timeout of the test course: the honest cells take well under a second



def hostile(prefix, cell="neuron_backward", base=REFERENCE):
    """The submission ``base`` with ``prefix`` run at the top of its solution cell ``cell``."""
    cells = dict(base.cells)
    cells[cell] = textwrap.dedent(prefix).strip("\n") + "\n\n" + cells[cell]
    return cells


def hostile_submissions(course, port):
    """student -> solution cells (grade_id -> source)."""
    src = course / "source" / A2 / "backprop.ipynb"
    rel_src = f"../../../source/{A2}/backprop.ipynb"  # from autograded/<student>/02_backprop, where nbgrader runs it
    cheat = textwrap.dedent(f"""
        import json
        def _reference(grade_id):
            for path in [{rel_src!r}, {str(src)!r}]:
                try:
                    cells = json.load(open(path))["cells"]
                except Exception as error:
                    print("BLOCKED read", path, type(error).__name__)
                    continue
                print("LEAKED read", path)
                return "".join(next(c["source"] for c in cells if c["metadata"].get("nbgrader", {{}}).get("grade_id") == grade_id))
            raise RuntimeError("no reference to copy")
        """)
    cheat_cells = {gid: (cheat if gid == "neuron_backward" else "") + f'exec(_reference("{gid}"))' for gid in EXERCISES[A2]}

    targets = [course / "source" / A2 / "backprop.ipynb", course / "release" / A2 / "backprop.ipynb",
               course / "submitted" / "honest-1" / A2 / "backprop.ipynb", course / "nbgrader_config.py"]
    rel_targets = [f"../../../source/{A2}/backprop.ipynb", f"../../../release/{A2}/backprop.ipynb",
                   f"../../../submitted/honest-1/{A2}/backprop.ipynb", "../../../nbgrader_config.py",
                   f"../../honest-1/{A2}/backprop.ipynb"]
    return {
        "cheat-source": cheat_cells,
        "tamper-gradebook": hostile(f"""
            import glob, sqlite3
            for path in [{str(course / 'gradebook.db')!r}, "../../../gradebook.db", *glob.glob({str(course / '.grading' / '*.db')!r}),
                         {str(course / '.grading' / 'worker.db')!r}]:
                try:
                    db = sqlite3.connect(f"file:{{path}}?mode=rw", uri=True)
                    db.execute("UPDATE grade SET auto_score = 0, manual_score = 0")
                    db.commit()
                    print("LEAKED gradebook", path)
                except Exception as error:
                    print("BLOCKED gradebook", path, type(error).__name__)
            """),
        "overwrite": hostile(f"""
            import os
            for path in {[str(t) for t in targets] + rel_targets!r}:
                try:
                    with open(path, "r+") as f:  # the real file, not a new one in the sandbox's own /tmp
                        f.write("{{}}")
                    print("LEAKED write", path)
                except Exception as error:
                    print("BLOCKED write", path, type(error).__name__)
                try:
                    os.remove(path)
                    print("LEAKED remove", path)
                except Exception as error:
                    print("BLOCKED remove", path, type(error).__name__)
            """),
        "network": hostile(f"""
            import socket
            for family, address in [(socket.AF_INET, ("127.0.0.1", {port})), (socket.AF_INET, ("1.1.1.1", 53)),
                                    (socket.AF_INET6, ("::1", {port}))]:
                try:
                    s = socket.socket(family, socket.SOCK_STREAM)
                    s.settimeout(3)
                    s.connect(address)
                    print("LEAKED connect", address)
                except Exception as error:
                    print("BLOCKED connect", address, type(error).__name__)
            """),
        "memory-bomb": hostile("""
            import numpy as np
            try:
                hog = bytearray(4 * 1024 ** 3)
                print("LEAKED memory bytearray")
            except MemoryError:
                print("BLOCKED memory bytearray MemoryError")
            try:
                hog = np.ones(4 * 1024 ** 3 // 8)
                print("LEAKED memory numpy")
            except MemoryError:
                print("BLOCKED memory numpy MemoryError")
            hog = None
            """),
        "infinite-loop": hostile("while True:\n    pass", cell="multi_output_network"),
        "kernel-exit": hostile("import os\nos._exit(1)", cell="multi_output_network"),
        "exit-hangs": hostile("import atexit, time\natexit.register(time.sleep, 3600)"),
        "fork-bomb": hostile("""
            import subprocess
            children = []
            for _ in range(200):
                try:
                    children.append(subprocess.Popen(["sleep", "600"]))
                except Exception as error:
                    print("BLOCKED fork", type(error).__name__)
                    break
            print("SPAWNED", len(children))
            for child in children:
                child.kill()
                child.wait()
            """),
        "startup-files": hostile(f"""
            import builtins, sys
            for name in {sorted(STARTUP_FILES)!r}:
                print("LEAKED" if hasattr(builtins, "PWNED_" + name) else "BLOCKED", "startup", name)
            import numpy, helper
            print("SEEN numpy", numpy.__file__)
            print("SEEN helper", helper.VALUE)
            print("SEEN path-last", repr(sys.path[-1]))
            """),
        "stdio": hostile("""
            import os
            for fd in (0, 1, 2):
                try:
                    print("SEEN fd", fd, os.readlink(f"/proc/1/fd/{fd}"))
                except OSError as error:
                    print("SEEN fd", fd, type(error).__name__)
            try:
                with open("/proc/1/fd/1", "w") as f:
                    f.write("[AutogradeApp | INFO] FORGED by a student\\n")
            except OSError as error:
                print("BLOCKED forge", type(error).__name__)
            """),
        "dev-shm": hostile("""
            try:
                with open("/dev/shm/hog", "wb") as f:
                    for _ in range(100):
                        f.write(bytes(1 << 20))
                print("LEAKED /dev/shm")
            except OSError as error:
                print("BLOCKED /dev/shm", error.strerror)
            try:
                open("/dev/hog", "wb").write(bytes(1 << 20))
                print("LEAKED /dev")
            except OSError as error:
                print("BLOCKED /dev", error.strerror)
            """),
        "probe": hostile(f"""
            import os
            print("SEEN root", sorted(os.listdir("/")))
            print("SEEN etc", sorted(os.listdir("/etc")))
            print("SEEN home", sorted(os.listdir(os.path.expanduser("~"))), os.path.expanduser("~"))
            print("SEEN uid", os.getuid(), os.getgid())
            print("SEEN processes", len([p for p in os.listdir("/proc") if p.isdigit()]))
            print("SEEN env", sorted(os.environ))
            for path in ["/root", "/root/.pyenv", {str(course)!r}, {str(course / 'autograded')!r}]:
                print("SEEN-LS", path, sorted(os.listdir(path)) if os.path.isdir(path) else None)
            for path in [{str(course / 'source')!r}, {str(course / 'gradebook.db')!r}, "/etc/shadow", {str(Path.home() / '.bashrc')!r}, "/sys/fs/cgroup", "/var", "/opt"]:
                try:
                    print("LEAKED list", path, os.listdir(path) if os.path.isdir(path) else open(path).read()[:20])
                except Exception as error:
                    print("BLOCKED list", path, type(error).__name__)
            for path in [os.path.join({os.path.realpath(sys.prefix)!r}, "pyvenv.cfg"), {str(ROOT / 'backprop_course' / '__init__.py')!r},
                         "/usr/bin/python3", "/etc/passwd", "/usr/new-file", {str(ROOT / 'backprop_course' / 'new.py')!r}]:
                try:
                    with open(path, "a") as f:
                        f.write("#")
                    print("LEAKED append", path)
                except Exception as error:
                    print("BLOCKED append", path, type(error).__name__)
                try:
                    os.chmod(path, 0o777)
                    print("LEAKED chmod", path)
                except Exception as error:
                    print("BLOCKED chmod", path, type(error).__name__)
            for line in open("/proc/self/mountinfo"):
                fields, (fstype, source, options) = line.split(), line.split(" - ")[1].split()[:3]
                if "rw" in fields[5].split(","):
                    print("MOUNT", fields[4], fstype, options)
            with open("scratch.txt", "w") as f:
                f.write("the notebook's folder is writable")
            with open("/tmp/scratch.txt", "w") as f:
                f.write("so is /tmp")
            print("WROTE cwd and tmp")
            """),
    }


#: files of the "startup-files" submission, beside its notebook: each marks builtins when it runs
STARTUP_FILES = {
    "STARTUP": ".ipython/profile_default/startup/00-first.py",
    "PROFILE": ".ipython/profile_default/ipython_kernel_config.py",
    "CWD_CONFIG": "ipython_kernel_config.py",
    "SITECUSTOMIZE": "sitecustomize.py",
    "USERCUSTOMIZE": "usercustomize.py",
    "PTH": "first.pth",
    "USERSITE_PTH": f".local/lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages/first.pth",
    "LAUNCHER": "ipykernel_launcher.py",
    "NUMPY": "numpy.py",
}


def startup_file(name, path):
    mark = f"import builtins; builtins.PWNED_{name} = True"
    if path.endswith("_config.py"):
        return f"c.InteractiveShellApp.exec_lines = [{mark!r}]\n"
    if name == "LAUNCHER":  # runs the real kernel after marking, or the submission would not start at all
        return f"{mark}\nimport sys\nsys.path[:] = [p for p in sys.path if p not in ('', '.')]\n" \
               "from ipykernel import kernelapp\nkernelapp.launch_new_instance()\n"
    return mark + "\n"


def write(path, notebook):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def make_course(base, extra_config=""):
    return course_copy(base, config="# --- tests/grader/run/test_sandbox.py ---\n" + textwrap.dedent(extra_config))


def submit(course, student, cells, base=REFERENCE):
    sub = type(base)(A2, student, cells, dict.fromkeys(EXERCISES[A2], ""))
    write(course / "submitted" / student / A2 / NOTEBOOK[A2], build_notebook(sub, hidden_tests=False))


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
def graded(tmp_path_factory, nbgrader_env, monkeypatch_module):
    """Two honest students and every hostile one, autograded in one batch with jobs=2."""
    monkeypatch_module.setenv("PATH", nbgrader_env["PATH"])
    monkeypatch_module.delenv(sandbox.ENV_SWITCH, raising=False)
    base = tmp_path_factory.mktemp("sandbox")
    runtime = base / "run"
    runtime.mkdir()
    course = make_course(base / "course", f"""
        c.Execute.timeout = {TIMEOUT}
        c.SandboxedKernelManager.runtime_dir = {str(runtime)!r}
        """)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    hostile_cells = hostile_submissions(course, port)
    for student in ("honest-1", "honest-2"):
        submit(course, student, REFERENCE.cells)
    for student, cells in hostile_cells.items():
        submit(course, student, cells)
    for name, path in STARTUP_FILES.items():
        target = course / "submitted" / "startup-files" / A2 / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(startup_file(name, path))
    (course / "submitted" / "startup-files" / A2 / "helper.py").write_text("VALUE = 'a module of the student'\n")
    grader = pipeline.Course(root=course)
    grader.release()
    before = {name: tree_hashes(course / name) for name in ("submitted", "source", "release", "nbgrader_config.py")}
    submissions = grader.autograde(grader.submissions(), jobs=2)
    try:
        connection = listener.accept()
        connection[0].close()
    except BlockingIOError:
        connection = None
    listener.close()
    yield course, grader, submissions, before, connection, runtime, set(hostile_cells)


def outputs(course, student):
    nb = nbformat.read(course / "autograded" / student / A2 / NOTEBOOK[A2], as_version=4)
    return "\n".join(o.get("text", "") if o.output_type == "stream" else f"{o.get('ename')}: {o.get('evalue')}"
                     for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
                     if o.output_type in ("stream", "error"))


def scores(grader, student):
    return {exercise: score for exercise, (score, _) in exercise_scores(grader, student, A2).items()}


def lines(text, marker):
    return [line for line in text.splitlines() if line.startswith(marker)]


@pytest.mark.needs_sandbox
def test_every_submission_is_graded(graded):
    course, grader, submissions, *_, hostile_students = graded
    problems = {s.student: s.problem for s in submissions if s.problem}
    assert not problems, problems
    assert {s.student for s in submissions} == {"honest-1", "honest-2"} | hostile_students


@pytest.mark.needs_sandbox
def test_honest_students_keep_full_marks(graded):
    _, grader, *_ = graded
    for student in ("honest-1", "honest-2"):
        assert scores(grader, student) == FULL, student


@pytest.mark.needs_sandbox
def test_the_reference_solution_cannot_be_read(graded):
    course, grader, *_ = graded
    text = outputs(course, "cheat-source")
    assert not lines(text, "LEAKED"), text
    assert len(lines(text, "BLOCKED read")) >= 2 and "FileNotFoundError" in text
    assert scores(grader, "cheat-source") == dict.fromkeys(FULL, 0.0)


@pytest.mark.needs_sandbox
def test_the_gradebook_cannot_be_opened(graded):
    course, grader, *_ = graded
    text = outputs(course, "tamper-gradebook")
    assert not lines(text, "LEAKED"), text
    assert len(lines(text, "BLOCKED gradebook")) >= 3
    assert scores(grader, "tamper-gradebook") == FULL  # it earned them; it changed nobody's


@pytest.mark.needs_sandbox
def test_course_files_cannot_be_overwritten(graded):
    course, _, _, before, *_ = graded
    text = outputs(course, "overwrite")
    assert not lines(text, "LEAKED"), text
    assert len(lines(text, "BLOCKED write")) == 9
    for name, hashes in before.items():
        assert tree_hashes(course / name) == hashes, f"grading changed {name}"


@pytest.mark.needs_sandbox
def test_no_network(graded):
    course, _, _, _, connection, *_ = graded
    text = outputs(course, "network")
    assert not lines(text, "LEAKED"), text
    assert len(lines(text, "BLOCKED connect")) == 3
    assert connection is None, "the kernel reached the grader's listening socket"


@pytest.mark.needs_sandbox
def test_memory_is_limited(graded):
    course, grader, *_ = graded
    text = outputs(course, "memory-bomb")
    assert lines(text, "BLOCKED memory") == ["BLOCKED memory bytearray MemoryError", "BLOCKED memory numpy MemoryError"], text
    assert scores(grader, "memory-bomb") == FULL


@pytest.mark.needs_sandbox
def test_an_infinite_loop_times_out_and_the_rest_is_graded(graded):
    course, grader, *_ = graded
    text = outputs(course, "infinite-loop")
    assert "KeyboardInterrupt" in text or "CellTimeoutError" in text, text
    assert scores(grader, "infinite-loop") == {**FULL, "multi_output_network": 0.0}


@pytest.mark.needs_sandbox
def test_a_dying_kernel_keeps_what_was_earned(graded):
    course, grader, *_ = graded
    text = outputs(course, "kernel-exit")
    assert "DeadKernelError" in text, text
    assert scores(grader, "kernel-exit") == {**FULL, "multi_output_network": 0.0}


@pytest.mark.needs_sandbox
def test_a_kernel_that_will_not_exit_costs_nothing(graded):
    """An atexit handler that never returns: the grading workers, which do not wait for a
    kernel's exit, kill it later (test_nothing_is_left_behind checks it is gone)."""
    _, grader, *_ = graded
    assert scores(grader, "exit-hangs") == FULL


@pytest.mark.needs_sandbox
def test_processes_are_limited(graded):
    course, grader, *_ = graded
    text = outputs(course, "fork-bomb")
    spawned = [int(line.split()[1]) for line in lines(text, "SPAWNED")]
    assert spawned and 0 < spawned[0] < 200, text
    assert scores(grader, "fork-bomb") == FULL
    if limits.enforcement(limits.Budget())[0]:  # the kernel's cgroup counts what it refused, and the submission says so
        (sub,) = [s for s in graded[2] if s.student == "fork-bomb"]
        assert [note for note in sub.notes if "cap of 64 processes and threads reached in cell" in note], sub.notes


@pytest.mark.needs_sandbox
def test_the_kernel_sees_little_and_writes_nothing_that_lasts(graded):
    course, grader, *_ = graded
    text = outputs(course, "probe")
    assert not lines(text, "LEAKED"), text
    seen = {line.split()[1]: line.split(None, 2)[2] for line in lines(text, "SEEN")}
    assert seen["uid"] == "65534 65534"
    assert int(seen["processes"]) <= 3, "the kernel sees processes other than its own sandbox's"
    assert set(eval(seen["root"])) <= {"bin", "dev", "etc", "home", "lib", "lib64", "proc", "root", "sbin", "tmp", "usr",
                                       *{Path(p).parts[1] for p in (sys.base_prefix, sys.prefix, str(course), PACKAGE_MOUNT)}}
    assert "shadow" not in seen["etc"] and "hostname" not in seen["etc"]
    assert not {"NBGRADER_DB_URL", "BACKPROP_CLASS_DIR", "PATH_TO_NOTHING"} & set(eval(seen["env"]))
    listed = {line.split()[1]: eval(line.split(None, 2)[2]) for line in lines(text, "SEEN-LS")}
    python_in_root = {Path(p).parts[2] for p in (sys.base_prefix, sys.prefix) if Path(p).parts[1:2] == ("root",)}
    assert set(listed["/root"] or []) == python_in_root
    assert listed[str(course)] is None and listed[str(course / "autograded")] is None, \
        "the kernel sees the course folder, or its own autograded one (hidden tests inside)"
    assert "WROTE cwd and tmp" in text
    # its working folder is a tmpfs of its own: what it wrote there is gone, not in autograded/
    assert sorted(p.name for p in (course / "autograded" / "probe" / A2).iterdir()) == ["backprop.ipynb"]
    assert len(lines(text, "BLOCKED append")) == len(lines(text, "BLOCKED chmod")) == 6
    assert scores(grader, "probe") == FULL


@pytest.mark.needs_sandbox
def test_nothing_is_left_behind(graded):
    *_, runtime, _ = graded
    deadline = time.time() + 30  # a kernel killed at its timeout is cleaned up as it exits
    while list(runtime.iterdir()) and time.time() < deadline:
        time.sleep(0.5)
    assert list(runtime.iterdir()) == [], "private kernel directories were not removed"
    parents = limits.group_parents()  # shared with other gradings running now
    for group in (p for parent in parents if parent.is_dir() for p in parent.iterdir() if p.is_dir()):
        for pid in (group / "cgroup.procs").read_text().split():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            assert str(runtime).encode() not in cmdline, f"a kernel of this test is still running: {group}"
    leftover = subprocess.run(["pgrep", "-f", str(runtime)], capture_output=True, text=True).stdout.split()
    assert not leftover, f"processes of this test's kernels are still running: {leftover}"


def test_no_sandbox_no_grading_unless_opted_out(tmp_path, nbgrader_env, monkeypatch):
    """A missing bwrap stops grading with what to do; BACKPROP_SANDBOX=off grades unsandboxed."""
    monkeypatch.setenv("PATH", nbgrader_env["PATH"])
    monkeypatch.delenv(sandbox.ENV_SWITCH, raising=False)
    course = make_course(tmp_path / "course", """
        c.SandboxedKernelManager.bwrap_path = "/nonexistent/bwrap"
        """)
    submit(course, "honest", REFERENCE.cells)
    grader = pipeline.Course(root=course)
    grader.release()  # runs no student code: no sandbox needed
    # plain nbgrader in the course root: nbgrader_config.py alone puts the sandbox in place
    env = {**nbgrader_env, "PYTHONHASHSEED": "0"}
    run = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "autograde", A2, "--force"],
                         cwd=course, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    log = run.stdout + run.stderr
    assert "The grading sandbox cannot start" in log and "/nonexistent/bwrap" in log, log[-3000:]
    assert "apt-get install bubblewrap" in log and "BACKPROP_SANDBOX=off" in log

    with pytest.raises(SystemExit) as stop:  # make grade stops before the first submission
        grader.autograde(grader.submissions(), jobs=1)
    assert "The grading sandbox cannot start" in str(stop.value) and "BACKPROP_SANDBOX=off" in str(stop.value)

    monkeypatch.setenv(sandbox.ENV_SWITCH, "off")
    grader = pipeline.Course(root=course)
    (sub,) = grader.autograde(grader.submissions(), jobs=1)
    assert not sub.problem, sub.problem
    assert scores(grader, "honest") == FULL


def test_the_sandbox_applies_to_autograde_only():
    from nbgrader.converters import Autograde, GenerateAssignment
    from nbgrader.preprocessors import Execute
    from nbgrader.validator import Validator
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    steps = config.Autograde.autograde_preprocessors
    assert GradingExecute in steps and Execute not in steps
    assert GradingExecute(config=config).kernel_manager_class is sandbox.SandboxedKernelManager
    assert GradingExecute(config=config).timeout == config.Execute.timeout
    assert Execute in Validator.class_traits()["preprocessors"].default()
    assert Execute not in GenerateAssignment.class_traits()["preprocessors"].default()
    assert Autograde.class_traits()["sanitize_preprocessors"].default()  # nothing of ours runs code there


def test_cleanup_of_an_already_dead_kernel_removes_its_private_directory(tmp_path):
    """nbclient calls only km.cleanup_resources() when the kernel is dead already (os._exit, a limit)."""
    import asyncio

    manager = sandbox.SandboxedKernelManager(runtime_dir=str(tmp_path))
    manager.provisioner.make_private_dir()
    private = Path(manager.provisioner.private_dir)
    assert private.is_dir()
    asyncio.run(manager.cleanup_resources())
    assert not private.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.needs_sandbox
def test_a_deferred_shutdown_is_finished(tmp_path):
    """With a list of exiting kernels, the notebook returns before its kernel has exited; the
    list's finish() then reaps it, killing one that will not exit, and removes its private directory."""
    from nbformat.v4 import new_code_cell, new_notebook
    from traitlets.config import Config

    runtime = tmp_path / "run"
    runtime.mkdir()
    config = Config()
    config.SandboxedKernelManager.runtime_dir = str(runtime)
    exits = config.SandboxedKernelManager.exits = sandbox.ExitingKernels()
    executor = GradingExecute(config=config, timeout=20)
    notebook = new_notebook(cells=[new_code_cell("import atexit, time\natexit.register(time.sleep, 3600)")])
    executor.preprocess(notebook, {"metadata": {"path": str(tmp_path)}})
    try:
        assert len(exits) == 1
        assert list(runtime.iterdir()), "the kernel's private directory went before the kernel"
    finally:
        exits.finish()
    assert len(exits) == 0
    assert list(runtime.iterdir()) == []
    leftover = subprocess.run(["pgrep", "-f", str(runtime)], capture_output=True, text=True).stdout.split()
    assert not leftover, f"the kernel is still running: {leftover}"


@pytest.mark.needs_sandbox
def test_the_prompt_kernel_client_talks_to_a_sandboxed_kernel(tmp_path):
    """The client that skips upstream's 0.2 s wait on IOPub: ready, then runs code and shows output."""
    import asyncio

    runtime = tmp_path / "run"
    runtime.mkdir()
    manager = sandbox.SandboxedKernelManager(runtime_dir=str(runtime))
    seen = []

    async def session():
        await manager.start_kernel(cwd=str(tmp_path))
        client = manager.client()
        assert isinstance(client, sandbox.PromptKernelClient)
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
            assert client.shell_channel.is_alive() and client.iopub_channel.is_alive()
            reply = await client.execute_interactive(
                "print(6 * 7)", timeout=30,
                output_hook=lambda msg: seen.append(msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None)
            assert reply["content"]["status"] == "ok"
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)

    asyncio.run(session())
    assert "".join(seen) == "42\n"
    assert list(runtime.iterdir()) == []


@pytest.mark.skipif(not limits.enforcement(limits.Budget())[0], reason="no cgroup can be made here")
def test_groups_of_killed_graders_are_swept_and_live_ones_kept():
    gone = 4194303  # above any pid this machine has handed out (pid_max is at most 2**22)
    assert not Path(f"/proc/{gone}").exists()
    budget = limits.Budget(memory=limits.GiB, tasks=8)
    stale, _ = limits.KernelCgroup.create(f"{gone}-stale", budget)
    live, _ = limits.KernelCgroup.create(f"{os.getpid()}-live", budget)
    fresh = None
    try:
        fresh, why = limits.KernelCgroup.create(f"{os.getpid()}-fresh", budget)
        assert fresh is not None and all(folder.is_dir() for folder in fresh.folders.values()), why
        assert not any(folder.exists() for folder in stale.folders.values()), "the group of a grader that is gone was left"
        assert all(folder.is_dir() for folder in live.folders.values()), "the group of a running grader was removed"
    finally:
        for group in (stale, live, fresh):
            if group is not None:
                group.remove()


def test_private_directories_of_killed_graders_are_swept(tmp_path):
    gone = 4194303  # above any pid this machine has handed out
    stale = tmp_path / f"bpk-{gone}-abcd1234"
    live = tmp_path / f"bpk-{os.getpid()}-efgh5678"
    other = tmp_path / f"bpk-{gone}"  # not a name the sandbox makes: not ours to remove
    for folder in (stale, live, other):
        (folder / "etc").mkdir(parents=True)
        (folder / "kernel.json").write_text("{}")
    manager = sandbox.SandboxedKernelManager(runtime_dir=str(tmp_path))
    manager.provisioner.make_private_dir()
    try:
        assert not stale.exists()
        assert live.is_dir() and other.is_dir()
        assert Path(manager.provisioner.private_dir).name.startswith(f"bpk-{os.getpid()}-")
    finally:
        manager.provisioner.remove()


@pytest.mark.needs_sandbox
def test_no_file_of_the_submission_runs_before_the_first_cell(graded):
    """IPython startup files and config, sitecustomize, usercustomize, .pth files, and modules that
    would shadow the kernel's (ipykernel_launcher, numpy): none runs; the student's own module
    imports, from the working folder, last on the path."""
    course, grader, *_ = graded
    text = outputs(course, "startup-files")
    assert sorted(lines(text, "BLOCKED startup")) == sorted(f"BLOCKED startup {name}" for name in STARTUP_FILES), text
    assert not lines(text, "LEAKED"), text
    seen = {line.split()[1]: line.split(None, 2)[2] for line in lines(text, "SEEN")}
    assert seen["numpy"].startswith(os.path.realpath(sys.prefix)) or "site-packages" in seen["numpy"], seen
    assert seen["helper"] == "a module of the student" and seen["path-last"] == "''"
    assert scores(grader, "startup-files") == FULL


@pytest.mark.needs_sandbox
def test_the_kernel_holds_no_file_of_the_grader(graded):
    """Its stdio is /dev/null: writing to /proc/1/fd/1 reaches no log of the grader's."""
    course, *_ = graded
    text = outputs(course, "stdio")
    seen = [line.split()[2:] for line in lines(text, "SEEN fd")]
    assert seen == [["0", "/dev/null"], ["1", "/dev/null"], ["2", "/dev/null"]], text


@pytest.mark.needs_sandbox
def test_every_place_the_kernel_can_write_is_a_size_limited_tmpfs(graded):
    """From inside: each writable mount is a tmpfs with a size, or a kernel interface that stores
    nothing (proc, devpts, bwrap's device nodes)."""
    course, *_ = graded
    mounts = [line.split()[1:] for line in lines(outputs(course, "probe"), "MOUNT")]
    assert mounts
    devices = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}
    for target, fstype, options in mounts:
        if fstype in ("proc", "devpts") or target in devices:
            continue
        assert fstype == "tmpfs" and "size=" in options, (target, fstype, options)
    assert "/dev" not in [target for target, *_ in mounts], "/dev is writable"


@pytest.mark.needs_sandbox
def test_dev_shm_is_capped_and_dev_read_only(graded):
    course, grader, *_ = graded
    text = outputs(course, "dev-shm")
    assert lines(text, "BLOCKED /dev") == ["BLOCKED /dev/shm No space left on device", "BLOCKED /dev Read-only file system"], text
    assert scores(grader, "dev-shm") == FULL

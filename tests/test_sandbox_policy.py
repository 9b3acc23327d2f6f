"""The sandbox's security policy as data, without starting bwrap: what a kernel may read, what
it may write, and what it never sees (source/, the gradebook, other students, the grader's
home and secrets). tests/test_sandbox.py checks the same from inside real sandboxes.
"""
import os
import sys
from pathlib import Path

import pytest

from backprop_course.grader.sandbox import policy as sandbox_policy
from backprop_course.grader.sandbox.policy import (HOME, ISOLATION, MPLCONFIGDIR, PACKAGE_DIR, PACKAGE_MOUNT, PASSED_ENV, Host,
                                                   policy_for)

ROOT = Path(__file__).resolve().parent.parent
SECRETS = {"NBGRADER_DB_URL": "postgresql://grader:secret@db/course", "AWS_SECRET_ACCESS_KEY": "x",
           "SSH_AUTH_SOCK": "/tmp/ssh-agent", "BACKPROP_SANDBOX": "on", "HOME": "/home/instructor"}
TMPFS = 256 * 1024 ** 2
WORKING = ("notes.txt", "data/w.npy")  # the submission's admitted files, beside the autograded notebook


def course_tree(base):
    """A class on disk: the paths a kernel grading alice's 02_backprop must and must not see."""
    paths = {
        "course": base / "course",
        "source": base / "course" / "source" / "02_backprop" / "backprop.ipynb",
        "release": base / "course" / "release" / "02_backprop" / "backprop.ipynb",
        "config": base / "course" / "nbgrader_config.py",
        "gradebook": base / "course" / "gradebook.db",
        "worker gradebook": base / "course" / ".grading" / "worker-1.db",
        "alice submitted": base / "course" / "submitted" / "alice" / "02_backprop" / "backprop.ipynb",
        "bob submitted": base / "course" / "submitted" / "bob" / "02_backprop" / "backprop.ipynb",
        "bob autograded": base / "course" / "autograded" / "bob" / "02_backprop" / "backprop.ipynb",
        "bob feedback": base / "course" / "feedback" / "bob" / "02_backprop" / "backprop.html",
        "home": base / "home" / "instructor" / ".ssh" / "id_ed25519",
    }
    cwd = base / "course" / "autograded" / "alice" / "02_backprop"
    return {k: str(v) for k, v in paths.items()}, str(cwd)


def made_up_host(base):
    return Host(system=(("/bin", "usr/bin"), ("/lib", "usr/lib"), ("/lib64", None)),
                etc=("ld.so.cache", "fonts"),
                read_only=(str(base / "python"), str(base / "venv"), str(base / "course" / "backprop_course")),
                prefix=str(base / "venv"), package=str(base / "course" / "backprop_course"))


def mounts(args):
    """(read-only, read-write, tmpfs) targets, read back from bwrap's arguments."""
    ro, rw, tmpfs = [], [], []
    for i, arg in enumerate(args):
        if arg == "--ro-bind":
            ro.append((args[i + 1], args[i + 2]))
        elif arg == "--bind":
            rw.append((args[i + 1], args[i + 2]))
        elif arg == "--tmpfs":
            tmpfs.append(args[i + 1])
    return ro, rw, tmpfs


@pytest.fixture
def made_up(tmp_path):
    paths, cwd = course_tree(tmp_path)
    private = str(tmp_path / "run" / "bpk-1-abcd")
    sandbox = policy_for(cwd=cwd, private_dir=private, host=made_up_host(tmp_path),
                         grader_env={**SECRETS, "LANG": "de_DE.UTF-8", "PYTHONHASHSEED": "0"},
                         spec_env={"FROM_SPEC": "1"}, tmpfs_size=TMPFS, working_files=WORKING,
                         mpl_files=("fontlist-v390.json",))
    return sandbox, paths, cwd, private, tmp_path


def test_building_the_policy_writes_nothing(made_up):
    sandbox, _, _, private, base = made_up
    assert list(base.iterdir()) == [], "policy() wrote files"
    assert set(sandbox.files) == {f"{private}/etc/passwd", f"{private}/etc/group"}  # for the launcher to write
    assert "student:x:65534:65534" in sandbox.files[f"{private}/etc/passwd"]


def test_all_the_kernel_writes_is_in_two_size_limited_tmpfs(made_up):
    """/tmp and HOME, the working folder: in memory, capped, gone with the kernel. The one
    writable host folder is where the kernel makes its sockets."""
    sandbox, _, cwd, private, _ = made_up
    assert sandbox.writable == (f"{private}/ipc",)
    _, rw, tmpfs = mounts(sandbox.args)
    assert rw == [(f"{private}/ipc", f"{private}/ipc")]
    assert tmpfs == ["/tmp", HOME] and sandbox.tmpfs == ("/tmp", HOME)
    for target in tmpfs:  # each size-limited
        at = sandbox.args.index(target) - 1
        assert sandbox.args[at - 2:at + 1] == ("--size", str(TMPFS), "--tmpfs")
    assert sandbox.args[sandbox.args.index("--chdir") + 1] == HOME
    # the skeleton bwrap builds around the binds is read-only, after every bind
    last_bind = max(i for i, a in enumerate(sandbox.args) if a in ("--bind", "--ro-bind"))
    assert sandbox.args.index("--remount-ro") > last_bind and sandbox.args[sandbox.args.index("--remount-ro") + 1] == "/"


def test_the_working_files_are_placed_read_only_and_the_notebook_is_not(made_up):
    sandbox, paths, cwd, private, _ = made_up
    ro, _, _ = mounts(sandbox.args)
    assert (f"{cwd}/notes.txt", f"{HOME}/notes.txt") in ro and (f"{cwd}/data/w.npy", f"{HOME}/data/w.npy") in ro
    assert (f"{private}/matplotlib/fontlist-v390.json", f"{MPLCONFIGDIR}/fontlist-v390.json") in ro
    assert sandbox.args.index(f"{cwd}/notes.txt") > sandbox.args.index(HOME)  # on top of the tmpfs
    assert not sandbox.exposes(cwd) and not sandbox.exposes(f"{cwd}/backprop.ipynb")  # hidden tests inside
    assert sandbox.exposes(f"{cwd}/notes.txt") and not sandbox.writes(f"{cwd}/notes.txt")


def test_what_is_bound_read_only(made_up):
    sandbox, _, _, private, base = made_up
    ro, _, _ = mounts(sandbox.args)
    same_path = [source for source, target in ro if source == target]
    assert set(same_path) == set(sandbox.read_only), "Policy.read_only says otherwise than bwrap's arguments"
    assert {"/usr", "/lib64", str(base / "python"), str(base / "venv"), str(base / "course" / "backprop_course"),
            "/etc/ld.so.cache", "/etc/fonts", private} == set(sandbox.read_only)
    assert (f"{private}/etc/passwd", "/etc/passwd") in ro and (f"{private}/etc/group", "/etc/group") in ro
    moved = [(s, t) for s, t in ro if s != t and not s.startswith(private) and not t.startswith(HOME + "/")]
    assert moved == [(str(base / "course" / "backprop_course"), f"{PACKAGE_MOUNT}/backprop_course")]  # working files apart
    assert ["--symlink", "usr/bin", "/bin"] == list(sandbox.args[sandbox.args.index("usr/bin") - 1:][:3])
    # a course or venv under /tmp is bound over the private /tmp, not hidden by it
    assert sandbox.args.index("/tmp") < sandbox.args.index(str(base / "python"))


@pytest.mark.parametrize("what", ["course", "source", "release", "config", "gradebook", "worker gradebook",
                                  "alice submitted", "bob submitted", "bob autograded", "bob feedback", "home"])
def test_what_is_hidden(made_up, what):
    sandbox, paths, *_ = made_up
    assert not sandbox.exposes(paths[what]), f"the kernel sees {what}: {paths[what]}"
    ro, rw, _ = mounts(sandbox.args)  # read from bwrap's own arguments as well
    bound = [source for source, _ in ro + rw]
    assert not any(paths[what] == b or paths[what].startswith(b + "/") for b in bound), f"{what} is bound"


def test_the_kernel_writes_no_host_folder_but_its_sockets(made_up):
    sandbox, paths, cwd, private, _ = made_up
    assert sandbox.writes(os.path.join(private, "ipc", "kernel-1"))
    assert not sandbox.writes(os.path.join(cwd, "scratch.txt")) and not sandbox.writes(os.path.join(private, "kernel.json"))
    assert not any(sandbox.writes(p) for p in paths.values())
    assert not sandbox.writes(str(PACKAGE_DIR)) and not sandbox.writes("/usr/lib")


def test_the_environment_is_cleared_to_what_is_named(made_up):
    sandbox, _, _, private, base = made_up
    args = list(sandbox.args)
    assert args.index("--clearenv") < args.index("--setenv")
    set_env = {args[i + 1]: args[i + 2] for i, a in enumerate(args) if a == "--setenv"}
    assert set_env == sandbox.env
    assert not set(SECRETS) - {"HOME"} & set(set_env), "a grader secret reaches the kernel"
    assert set_env["HOME"] == HOME and set_env["USER"] == "student" and set_env["TMPDIR"] == "/tmp"
    assert set_env["LANG"] == "de_DE.UTF-8" and set_env["PYTHONHASHSEED"] == "0"  # PASSED_ENV
    assert set_env["FROM_SPEC"] == "1"  # the kernel spec's own
    assert set_env["PATH"].split(os.pathsep)[0] == str(base / "venv" / "bin")
    assert set_env["MPLCONFIGDIR"] == MPLCONFIGDIR and MPLCONFIGDIR.startswith(HOME + "/")
    assert set_env["PYTHONPATH"] == PACKAGE_MOUNT  # the grader's own package, before any other copy
    assert set(set_env) <= set(PASSED_ENV) | {"FROM_SPEC", "JPY_PARENT_PID", "HOME", "USER", "LOGNAME", "TMPDIR", "PATH",
                                              "PYTHONDONTWRITEBYTECODE", "PYTHONNOUSERSITE", "PYTHONPATH", "OPENBLAS_NUM_THREADS",
                                              "OMP_NUM_THREADS", "MKL_NUM_THREADS", "MPLCONFIGDIR"}


def test_isolation_comes_first_and_the_command_last(made_up):
    sandbox, *_ = made_up
    cmd = sandbox.command("/opt/bwrap", ["python", "-m", "ipykernel_launcher", "-f", "/x/kernel.json"])
    assert cmd[0] == "/opt/bwrap" and tuple(cmd[1:1 + len(ISOLATION)]) == ISOLATION
    assert cmd[cmd.index("--"):] == ["--", "python", "-m", "ipykernel_launcher", "-f", "/x/kernel.json"]
    for flag in ("--unshare-all", "--die-with-parent", "--new-session", "--disable-userns"):
        assert flag in ISOLATION
    assert ISOLATION[ISOLATION.index("--uid") + 1] == "65534" and ISOLATION[ISOLATION.index("--cap-drop") + 1] == "ALL"


def test_a_bound_course_root_would_be_caught(tmp_path):
    """The checks above can fail: bind the course root read-only and source/ shows."""
    paths, cwd = course_tree(tmp_path)
    host = made_up_host(tmp_path)
    leaky = Host(host.system, host.etc, (*host.read_only, paths["course"]), host.prefix)
    sandbox = policy_for(cwd=cwd, private_dir=str(tmp_path / "run"), host=leaky, grader_env={}, tmpfs_size=TMPFS)
    assert sandbox.exposes(paths["source"]) and sandbox.exposes(paths["gradebook"])
    assert not sandbox.writes(paths["gradebook"])


def test_on_this_machine_the_course_is_hidden_but_its_package_is_not(tmp_path):
    """With this machine's Python, venv and package (Host.probe): what grading in this course root binds."""
    cwd = str(tmp_path / "autograded" / "alice" / "02_backprop")
    sandbox = policy_for(cwd=cwd, private_dir=str(tmp_path / "run"), host=Host.probe(), grader_env=dict(os.environ),
                     tmpfs_size=TMPFS)
    assert sandbox.exposes(str(PACKAGE_DIR / "checks" / "remote.py"))
    assert sandbox.exposes(os.path.realpath(sys.executable))
    for hidden in ("source", "release", "gradebook.db", "nbgrader_config.py", "examples/demo_class/submitted", "tests"):
        assert not sandbox.exposes(str(ROOT / hidden)), hidden
    for hidden in (".bashrc", ".ssh", ".cache", ".jupyter"):
        assert not sandbox.exposes(str(Path.home() / hidden)), hidden
    assert not set(sandbox.env) - set(sandbox_policy.kernel_env({}, {}, str(tmp_path / "run"), sys.prefix)) - set(PASSED_ENV)

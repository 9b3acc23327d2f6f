"""The sandbox's security policy as data, without starting bwrap: what a kernel may read, what
it may write, and what it never sees (source/, the gradebook, other students, the grader's
home and secrets). tests/grader/run/test_sandbox.py checks the same from inside real sandboxes.
"""
import os
import sys
from pathlib import Path

import pytest

from backprop_course.grader.run.sandbox import policy as sandbox_policy
from backprop_course.grader.run.sandbox.policy import (HOME, IPYTHONDIR, ISOLATION, MPLCONFIGDIR, PACKAGE_DIR,
                                                       PACKAGE_MOUNT, PASSED_ENV, SOCKETS, WORKDIR, Host,
                                                       policy_for)

from project import ROOT

SECRETS = {"NBGRADER_DB_URL": "postgresql://grader:secret@db/course", "AWS_SECRET_ACCESS_KEY": "x",
           "SSH_AUTH_SOCK": "/tmp/ssh-agent", "BACKPROP_SANDBOX": "on", "HOME": "/home/instructor"}
TMPFS = 256 * 1024 ** 2
SHM = 64 * 1024 ** 2
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
                         spec_env={"FROM_SPEC": "1"}, tmpfs_size=TMPFS, shm_size=SHM, working_files=WORKING,
                         mpl_files=("fontlist-v390.json",))
    return sandbox, paths, cwd, private, tmp_path


def test_building_the_policy_writes_nothing(made_up):
    sandbox, _, _, private, base = made_up
    assert list(base.iterdir()) == [], "policy() wrote files"
    profile = f"{private}/ipython/profile_default"
    assert set(sandbox.files) == {f"{private}/etc/passwd", f"{private}/etc/group", f"{profile}/ipython_kernel_config.py",
                                  *(f"{profile}/{folder}" for folder in ("startup", "security", "log", "pid"))}
    assert sandbox.files[f"{profile}/startup"] is None  # a folder, empty: no startup file runs
    assert "student:x:65534:65534" in sandbox.files[f"{private}/etc/passwd"]


def test_all_the_kernel_writes_is_in_size_limited_tmpfs_and_no_host_folder(made_up):
    """/tmp, HOME (which holds the working folder), /dev/shm and the sockets' folder: in memory,
    capped, gone with the kernel. No host folder is writable, not even for its sockets."""
    sandbox, _, cwd, private, _ = made_up
    assert sandbox.writable == ()
    _, rw, tmpfs = mounts(sandbox.args)
    assert rw == []
    assert tmpfs == ["/tmp", HOME, SOCKETS, "/dev/shm"] and set(sandbox.tmpfs) == set(tmpfs)
    sizes = {"/tmp": TMPFS, HOME: TMPFS, SOCKETS: sandbox_policy.SOCKETS_SIZE, "/dev/shm": SHM}
    for target in tmpfs:  # each size-limited
        at = sandbox.args.index(target) - 1
        assert sandbox.args[at - 2:at + 1] == ("--size", str(sizes[target]), "--tmpfs")
    assert sandbox.args[sandbox.args.index("--chdir") + 1] == WORKDIR and WORKDIR.startswith(HOME + "/")
    # the skeleton bwrap builds around the binds is read-only, after every bind; so is /dev, but its shared memory
    remounts = [sandbox.args[i + 1] for i, a in enumerate(sandbox.args) if a == "--remount-ro"]
    assert remounts == ["/dev", "/"]
    last_bind = max(i for i, a in enumerate(sandbox.args) if a in ("--bind", "--ro-bind"))
    assert len(sandbox.args) - sandbox.args[::-1].index("--remount-ro") - 1 > last_bind
    assert sandbox.args.index("--dev") < sandbox.args.index("/dev/shm") < sandbox.args.index("--remount-ro")


def test_the_working_files_are_placed_read_only_and_the_notebook_is_not(made_up):
    sandbox, paths, cwd, private, _ = made_up
    ro, _, _ = mounts(sandbox.args)
    assert (f"{cwd}/notes.txt", f"{WORKDIR}/notes.txt") in ro and (f"{cwd}/data/w.npy", f"{WORKDIR}/data/w.npy") in ro
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


def test_the_kernel_writes_no_host_folder(made_up):
    sandbox, paths, cwd, private, _ = made_up
    assert not sandbox.writes(os.path.join(private, "ipc", "kernel-1")) and not sandbox.writes(private)
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
                                              "OMP_NUM_THREADS", "MKL_NUM_THREADS", "MPLCONFIGDIR", "PYTHONSAFEPATH", "IPYTHONDIR"}


def test_isolation_comes_first_and_the_command_last(made_up):
    sandbox, *_ = made_up
    cmd = sandbox.command("/opt/bwrap", ["python", "-m", "ipykernel_launcher", "-f", "/x/kernel.json"])
    assert cmd[0] == "/opt/bwrap" and tuple(cmd[1:1 + len(ISOLATION)]) == ISOLATION
    assert cmd[cmd.index("--"):] == ["--", "python", "-m", "ipykernel_launcher", "-f", "/x/kernel.json"]
    # bwrap says on an inherited descriptor which host pid the sandbox is: the grader reaches its sockets by it
    reporting = sandbox.command("/opt/bwrap", ["python"], info_fd=7)
    assert reporting[:-2] == ["/opt/bwrap", *sandbox.args, "--info-fd", "7"] and reporting[-2:] == ["--", "python"]
    for flag in ("--unshare-all", "--die-with-parent", "--new-session", "--disable-userns"):
        assert flag in ISOLATION
    assert ISOLATION[ISOLATION.index("--uid") + 1] == "65534" and ISOLATION[ISOLATION.index("--cap-drop") + 1] == "ALL"


def test_a_bound_course_root_would_be_caught(tmp_path):
    """The checks above can fail: bind the course root read-only and source/ shows."""
    paths, cwd = course_tree(tmp_path)
    host = made_up_host(tmp_path)
    leaky = Host(host.system, host.etc, (*host.read_only, paths["course"]), host.prefix)
    sandbox = policy_for(cwd=cwd, private_dir=str(tmp_path / "run"), host=leaky, grader_env={}, tmpfs_size=TMPFS, shm_size=SHM)
    assert sandbox.exposes(paths["source"]) and sandbox.exposes(paths["gradebook"])
    assert not sandbox.writes(paths["gradebook"])


def test_on_this_machine_the_course_is_hidden_but_its_package_is_not(tmp_path):
    """With this machine's Python, venv and package (Host.probe): what grading in this course root binds."""
    cwd = str(tmp_path / "autograded" / "alice" / "02_backprop")
    sandbox = policy_for(cwd=cwd, private_dir=str(tmp_path / "run"), host=Host.probe(), grader_env=dict(os.environ),
                     tmpfs_size=TMPFS, shm_size=SHM)
    assert sandbox.exposes(str(PACKAGE_DIR / "checks" / "remote.py"))
    assert sandbox.exposes(os.path.realpath(sys.executable))
    for hidden in ("source", "release", "gradebook.db", "nbgrader_config.py", "examples/demo_class/submitted", "tests"):
        assert not sandbox.exposes(str(ROOT / hidden)), hidden
    for hidden in (".bashrc", ".ssh", ".cache", ".jupyter"):
        assert not sandbox.exposes(str(Path.home() / hidden)), hidden
    assert not set(sandbox.env) - set(sandbox_policy.kernel_env({}, {}, sys.prefix)) - set(PASSED_ENV)


def test_a_kernel_spec_variable_reaches_the_kernel_as_jupyter_client_resolved_it(tmp_path):
    """jupyter_client fills a spec's ``${VAR}`` templates into the launch environment: the
    kernel gets that value, not the raw template."""
    paths, cwd = course_tree(tmp_path)
    sandbox = policy_for(cwd=cwd, private_dir=str(tmp_path / "run"), host=made_up_host(tmp_path),
                         grader_env={"DATA_DIR": "/srv/data/de_DE", "LANG": "de_DE"},
                         spec_env={"DATA_DIR": "/srv/data/${LANG}"}, tmpfs_size=TMPFS, shm_size=SHM)
    assert sandbox.env["DATA_DIR"] == "/srv/data/de_DE"
    # without a launch value, the spec's own
    alone = policy_for(cwd=cwd, private_dir=str(tmp_path / "run"), host=made_up_host(tmp_path), grader_env={},
                       spec_env={"DATA_DIR": "/srv/data"}, tmpfs_size=TMPFS, shm_size=SHM)
    assert alone.env["DATA_DIR"] == "/srv/data"


def test_the_kernel_is_the_made_up_student_and_runs_one_thread(made_up):
    sandbox, _, _, private, _ = made_up
    env = sandbox.env
    # USER, LOGNAME and HOME are those of uid 65534 in the made-up /etc/passwd the kernel sees
    passwd = {fields[2]: fields for fields in (line.split(":") for line in sandbox.files[f"{private}/etc/passwd"].splitlines())}
    assert ISOLATION[ISOLATION.index("--uid") + 1] == "65534"
    name, _, uid, gid, _, home, _ = passwd["65534"]
    assert env["USER"] == env["LOGNAME"] == name and env["HOME"] == home == HOME
    # ipykernel watches no parent when JPY_PARENT_PID is 1: the grader's pid means nothing in a new PID namespace
    assert env["JPY_PARENT_PID"] == "1"
    # one kernel per core: BLAS must not start a thread per core of its own (an unparsable value means "all")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        assert env[var] == "1", var


def test_a_grader_without_locale_gives_the_kernel_a_utf8_one(tmp_path):
    paths, cwd = course_tree(tmp_path)
    sandbox = policy_for(cwd=cwd, private_dir=str(tmp_path / "run"), host=made_up_host(tmp_path), grader_env={},
                         tmpfs_size=TMPFS, shm_size=SHM)
    assert sandbox.env["LANG"] == "C.UTF-8"  # the C locale with UTF-8, present in every glibc


def test_path_finds_programs_only_in_read_only_places(made_up):
    """A relative, missing or writable PATH entry would let student code plant the program a
    library runs (HOME, the working folder, is the student's)."""
    sandbox, _, _, _, base = made_up
    links = {path for path, target in made_up_host(base).system if target is not None}
    entries = sandbox.env["PATH"].split(os.pathsep)
    assert entries[0] == str(base / "venv" / "bin")  # the venv's python, jupyter, first
    assert {"/usr/bin", "/bin"} <= set(entries)
    for entry in entries:
        assert os.path.isabs(entry), entry
        assert entry in links or sandbox.exposes(entry), f"{entry} on PATH does not exist in the sandbox"
        # (a venv under /tmp is bound read-only over the private /tmp, so that one is fine)
        assert not sandbox.writes(entry) and entry not in sandbox.tmpfs and not entry.startswith(HOME + "/"), entry


@pytest.mark.parametrize("bound, path, shown", [
    ("/a/b", "/a/b", True), ("/a/b", "/a/b/c/d", True), ("/a/b", "/a/b/../b/c", True),
    ("/a/b", "/a/bc", False), ("/a/b", "/a", False), ("/a/b", "/a/b/../c", False), ("/a/b", "/a/bc/d", False),
    ("/a/b/", "/a/b/c", True), ("/a/b/", "/a/bc", False),
    ("/", "/etc/shadow", True),  # a root bind shows everything
    ("/srv/BOX", "/srv/BOX/x", True), ("/srv/BOX", "/srv/BO/x", False), ("/srv/BOX", "/srv/x", False),
])
def test_under_a_bound_folder_means_inside_it(bound, path, shown):
    """Component-wise: ``/a/bc`` is not under ``/a/b``; ``..`` is resolved before comparing."""
    as_read_only = sandbox_policy.Policy((), (bound,), (), (), (), {}, {})
    as_writable = sandbox_policy.Policy((), (), (bound,), (), (), {}, {})
    assert as_read_only.exposes(path) is shown and not as_read_only.writes(path)
    assert as_writable.exposes(path) is shown and as_writable.writes(path) is shown


def test_a_fresh_dev_and_proc_and_a_host_name_that_is_not_the_machines(made_up):
    sandbox, *_ = made_up
    args = list(sandbox.args)
    pairs = set(zip(args, args[1:]))
    assert ("--dev", "/dev") in pairs and ("--proc", "/proc") in pairs  # bwrap's own, not the host's
    assert not sandbox.exposes("/proc/1/environ") and not sandbox.exposes("/dev/sda")
    # the same name on every worker, so no output depends on the machine that graded it
    assert args[args.index("--hostname") + 1] == "sandbox"


def test_probe_finds_the_system_folders_as_links_or_folders(tmp_path, monkeypatch):
    """On a made-up root: a link is bound as that link, a folder as itself, anything else not at all."""
    root = tmp_path / "root"
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "bin").symlink_to("usr/bin")
    (root / "lib").mkdir()
    (root / "sbin").write_text("not a folder")
    monkeypatch.setattr(sandbox_policy, "Path", lambda p: root / str(p).lstrip("/"))
    assert Host.probe().system == ((str(root / "bin"), "usr/bin"), (str(root / "lib"), None))


def test_probe_on_this_machine(tmp_path):
    """Real, existing paths outside /usr, each once; the venv's prefix and the package the grader imported."""
    (tmp_path / "data").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "data")
    (tmp_path / "other-link").symlink_to(tmp_path / "other")
    host = Host.probe(extra_read_only=(str(tmp_path / "data"), str(tmp_path / "link"), str(tmp_path / "other-link"),
                                       str(tmp_path / "missing"), "/usr/share", "/usr/lib"))
    assert host.prefix == sys.prefix and host.package == os.path.realpath(PACKAGE_DIR)
    assert len(set(host.read_only)) == len(host.read_only), "a path bound twice"
    for path in host.read_only:
        assert os.path.exists(path) and os.path.realpath(path) == path and not path.startswith("/usr/"), path
    assert {str(tmp_path / "data"), str(tmp_path / "other"), os.path.realpath(PACKAGE_DIR)} <= set(host.read_only)
    assert str(tmp_path / "missing") not in host.read_only
    for path, target in host.system:  # the merged-/usr links of this machine, or its real folders
        assert os.path.dirname(path) == "/" and os.path.basename(path) in sandbox_policy.SYSTEM_DIRS
        assert target == (os.readlink(path) if os.path.islink(path) else None)
    sandbox = policy_for(cwd=str(tmp_path / "nb"), private_dir=str(tmp_path / "run"), host=host, grader_env={}, tmpfs_size=TMPFS, shm_size=SHM)
    args = list(sandbox.args)
    at = args.index(f"{PACKAGE_MOUNT}/{PACKAGE_DIR.name}")
    assert args[at - 2:at] == ["--ro-bind", os.path.realpath(PACKAGE_DIR)]  # the very files the grader judges with
    assert sandbox.env["PATH"].split(os.pathsep)[0] == os.path.join(sys.prefix, "bin")


def test_nothing_of_the_submission_is_where_a_program_looks_for_its_configuration(made_up):
    """The submission's files are in the working folder, below a HOME that is the grader's: a
    ``.ipython/`` of theirs is no profile, and IPython's profile is the grader's, read-only, with
    no startup file. The working folder is on no import path while the kernel starts (PYTHONSAFEPATH)
    and last after it: nothing there shadows an installed module."""
    sandbox, _, cwd, private, _ = made_up
    assert WORKDIR != HOME and WORKDIR.startswith(HOME + "/")
    assert {target for source, target in sandbox.placed if source.startswith(cwd + "/")} == \
        {f"{WORKDIR}/{rel}" for rel in WORKING}
    for variable in ("HOME", "IPYTHONDIR", "MPLCONFIGDIR"):
        value = sandbox.env[variable]
        assert value != WORKDIR and not value.startswith(WORKDIR + "/"), variable
    profile = f"{private}/ipython/profile_default"
    assert sandbox.env["IPYTHONDIR"] == IPYTHONDIR and (profile, f"{IPYTHONDIR}/profile_default") in sandbox.placed
    assert sandbox.exposes(profile) and not sandbox.writes(profile)
    assert not [path for path in sandbox.files if path.startswith(f"{profile}/startup/")]
    assert sandbox.env["PYTHONSAFEPATH"] == "1" and sandbox.env["PYTHONNOUSERSITE"] == "1"
    config = sandbox.files[f"{profile}/ipython_kernel_config.py"]
    assert "_sys.path.append('')" in config and "environ.pop('PYTHONSAFEPATH'" in config

"""One budget for the whole kernel, and a grader that stays whole while a kernel attacks it.

Each test grades a small notebook with GradingExecute in the sandbox, with caps made small so
that an attack reaches them quickly: shared memory past the memory cap, busy children past the
CPU time cap, a notebook past its time cap, floods of IOPub messages past what the grader takes,
messages too deep to read. The points a cell earned before stay; each cap hit is said in the
cell and in the notebook's notes (``CAP_NOTES``). Also: the cgroup files read as data, and
cleanup of a tree no ``rmtree`` removes.
"""
import json
import os
import textwrap
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from backprop_course.grader.run import sandbox
from backprop_course.grader.run.execute import CAP_NOTES, GradingExecute
from backprop_course.grader.run.sandbox import cleanup, limits
from backprop_course.grader.run.sandbox.exits import sweep_private_dirs

CGROUP, HOW = limits.enforcement(limits.Budget())
needs_cgroup = pytest.mark.skipif(not CGROUP, reason=f"no cgroup can be made here: {HOW}")
MiB = 1024 ** 2


def grade(tmp_path, cells, timeout=60, **settings):
    """The notebook of ``cells`` graded in the sandbox; ``settings``: "Class.trait" -> value."""
    config = Config()
    runtime = tmp_path / "run"
    runtime.mkdir(exist_ok=True)
    config.SandboxedKernelManager.runtime_dir = str(runtime)
    for name, value in settings.items():
        section, trait = name.split(".")
        setattr(config[section], trait, value)
    nb = new_notebook(cells=[new_code_cell(textwrap.dedent(c)) for c in cells],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.metadata[CAP_NOTES] = ["a note the submission wrote itself"]
    GradingExecute(config=config, timeout=timeout).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    return nb


def texts(cell):
    return [o.get("text", "") if o.output_type == "stream" else f"{o.ename}: {o.evalue}" if o.output_type == "error"
            else json.dumps(o.get("data")) for o in cell.outputs]


@pytest.mark.needs_sandbox
@needs_cgroup
def test_shared_memory_counts_against_the_memory_cap(tmp_path):
    """System V segments, detached, outlive RLIMIT_AS; /dev/shm is a tmpfs: the kernel's cgroup
    counts both, and stops the kernel at the cap."""
    nb = grade(tmp_path, ["print('earned')", """
        import ctypes
        libc = ctypes.CDLL(None)
        libc.shmget.restype, libc.shmat.restype = ctypes.c_int, ctypes.c_void_p
        with open("/dev/shm/hog", "wb") as f:
            f.write(bytes(200 << 20))
        for i in range(6):
            segment = libc.shmget(0, 256 << 20, 0o1600)
            address = libc.shmat(segment, None, 0)
            ctypes.memset(address, 1, 256 << 20)
            libc.shmdt(ctypes.c_void_p(address))
            print("HELD", 200 + (i + 1) * 256, "MiB", flush=True)
        """, "print('after')"], **{"SandboxedKernelManager.memory_limit": 1024 * MiB,
                                    "SandboxedKernelManager.shm_size": 256 * MiB})
    assert texts(nb.cells[0]) == ["earned\n"]
    held = [int(t.split()[1]) for t in texts(nb.cells[1]) if t.startswith("HELD")]
    assert max(held, default=0) < 1024, texts(nb.cells[1])
    assert "\n[grader: memory cap of 1 GiB reached in this cell]\n" in texts(nb.cells[1])
    assert texts(nb.cells[2])[0].startswith("DeadKernelError: Not run")
    assert nb.metadata[CAP_NOTES] == ["memory cap of 1 GiB reached in cell 2"]


@pytest.mark.needs_sandbox
@needs_cgroup
def test_cpu_time_counts_every_process_of_the_kernel(tmp_path):
    """Three busy children: RLIMIT_CPU is per process, the cgroup's CPU time is all of them."""
    nb = grade(tmp_path, ["print('earned')", """
        import subprocess, sys, time
        children = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(3)]
        time.sleep(50)
        print("LEAKED: not stopped")
        """, "print('after')"], **{"SandboxedKernelManager.cpu_seconds": 2})
    assert texts(nb.cells[0]) == ["earned\n"]
    assert "\n[grader: CPU time cap of 2 s reached in this cell]\n" in texts(nb.cells[1])
    assert not any("LEAKED" in t for t in texts(nb.cells[1]))
    assert nb.metadata[CAP_NOTES] == ["CPU time cap of 2 s reached in cell 2"]


@pytest.mark.needs_sandbox
def test_a_notebook_has_a_time_cap_beside_each_cells(tmp_path):
    """Cells each within their own timeout, together past the notebook's: the one running when
    time is up is interrupted, the rest are not run, and what was earned stays."""
    nb = grade(tmp_path, ["print('earned')", *["import time; time.sleep(1.5)"] * 4, "print('last')"],
               timeout=20, **{"GradingExecute.notebook_timeout": 3})
    assert texts(nb.cells[0])[0] == "earned\n"
    hit = [i for i, cell in enumerate(nb.cells) if "\n[grader: time cap of 3 s for the notebook reached in this cell]\n"
           in texts(cell)]
    assert len(hit) == 1 and hit[0] <= 4, [texts(c) for c in nb.cells]  # the kernel's start counts: on a busy machine, 0
    for cell in nb.cells[hit[0] + 1:]:
        assert texts(cell) == [f"NotebookTimeout: Not run: the notebook's time cap of 3 s was reached in cell {hit[0] + 1}."]
    assert nb.metadata[CAP_NOTES] == [f"time cap of 3 s for the notebook reached in cell {hit[0] + 1}"]


#: one notebook of floods of IOPub with large binary buffers, each past another cap
FLOODS = [
    # 4 messages of 64 MiB each: each is read, found over the cap of a message, and dropped
    """
    kernel = get_ipython().kernel
    buffer = b"x" * (64 << 20)
    for i in range(4):
        kernel.session.send(kernel.iopub_socket, "display_data", {"data": {"text/plain": str(i)}, "metadata": {}},
                            parent=kernel.get_parent(), buffers=[buffer])
    """,
    # 10 messages of 4 MiB: within the cap of a message, past the cap of a cell (20 MiB)
    """
    kernel = get_ipython().kernel
    buffer = b"x" * (4 << 20)
    for i in range(10):
        kernel.session.send(kernel.iopub_socket, "display_data", {"data": {"text/plain": str(i)}, "metadata": {}},
                            parent=kernel.get_parent(), buffers=[buffer])
    """,
    "print('after')",
    # one message of 100 frames of 8 MiB (800 MiB): ZeroMQ holds all of a message before the grader sees any
    """
    socket = get_ipython().kernel.iopub_thread.socket
    socket.send_multipart([b"x" * (8 << 20)] * 100, copy=False)
    """,
]

def peak_resident():
    """This process's peak resident memory since the last reset_peak(), in bytes."""
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def reset_peak():
    Path("/proc/self/clear_refs").write_text("5")  # Linux 4.0+: the peak (VmHWM) starts again from now


@pytest.mark.needs_sandbox
def test_the_grader_stays_small_while_a_kernel_floods_it(tmp_path):
    """A kernel floods IOPub with large binary buffers: the grader's peak memory grows by less than
    its cap on that (``grader_memory``, 512 MiB) and what arrives in one check of the watchdog's
    (50 ms); each flood is said, and a cell after those it survives runs."""
    import gc

    gc.collect()
    reset_peak()
    baseline = peak_resident()
    nb = grade(tmp_path, FLOODS)
    growth = peak_resident() - baseline
    assert growth < 512 * MiB + 160 * MiB, growth / MiB
    assert texts(nb.cells[2]) == ["after\n"]
    assert texts(nb.cells[0])[0] == "\n[output cut at 200000 characters]\n"  # output, cut: no error
    large, many, frames = nb.metadata[CAP_NOTES]
    assert large.startswith("cap on a message of the kernel (671094") and \
        large.endswith(" bytes, over the cap of 16777216 bytes a message) reached in cell 1"), large
    assert many == "cap of 20 MiB on what the grader takes from a cell reached in cell 2"
    assert frames == "cap of 512 MiB on what the grader holds of its messages reached in cell 4"


DEEP = """
    kernel = get_ipython().kernel
    deep = b'{"data": {"text/plain": ' + b"[" * DEPTH + b"]" * DEPTH + b'}, "metadata": {}}'
    kernel.session.send(kernel.iopub_socket, "KIND", deep, parent=kernel.get_parent())
    """


@pytest.mark.needs_sandbox
def test_a_message_too_deep_or_unreadable_is_not_taken_and_nothing_else_is_lost(tmp_path):
    """Content nested 100,000 levels deep (json.loads in the grader raised RecursionError), or 500
    (it parses, but nothing downstream should meet it), and frames that are no Jupyter message or
    carry a forged signature: not taken in. Output is cut, as a flood is; an error fails its
    cell, for it could have been the cell's own error; the next cell runs. The frames are sent
    through the kernel's IOPub thread, as its own messages are: a zmq socket used from two threads
    garbles frames, which made this test's third message another one (seen once, under load)."""
    nb = grade(tmp_path, [DEEP.replace("DEPTH", "100_000").replace("KIND", "display_data"),
                          DEEP.replace("DEPTH", "500").replace("KIND", "error"), """
        kernel = get_ipython().kernel
        kernel.iopub_socket.send_multipart([b"not", b"a", b"message"])
        pack = kernel.session.pack
        parts = [b"<IDS|MSG>", b"forged", pack(kernel.session.msg_header("stream")), pack(kernel.get_parent()["header"]),
                 b"{}", pack({"name": "stdout", "text": "FORGED"})]
        kernel.iopub_socket.send_multipart(parts)
        print("sent")
        """, "print('after')"])
    first, second, third, fourth = (texts(cell) for cell in nb.cells)
    unreadable = "not a message the grader can read"
    cut = "\n[output cut at 200000 characters]\n"
    assert first == [cut, f"\n[grader: cap on a message of the kernel ({unreadable} (RecursionError)) reached in this "
                          "cell]\n"], first
    assert second[0] == "MessageDropped: A message of the kernel was not accepted: nested deeper than 100 levels.", second
    assert third == [cut, f"\n[grader: cap on a message of the kernel ({unreadable} (ValueError)) reached in this "
                          "cell]\n"], third  # what follows a cut is cut too
    assert fourth == ["after\n"]
    assert nb.metadata[CAP_NOTES] == [
        f"cap on a message of the kernel ({unreadable} (RecursionError)) reached in cell 1",
        "cap on a message of the kernel (nested deeper than 100 levels) reached in cell 2",
        f"cap on a message of the kernel ({unreadable} (ValueError)) reached in cell 3"]


def test_the_notebooks_cap_notes_are_the_graders_alone(tmp_path, monkeypatch):
    """A submission that writes CAP_NOTES in its own notebook gets none of them."""
    monkeypatch.setenv("BACKPROP_SANDBOX", "off")  # about the notes, not the sandbox
    nb = grade(tmp_path, ["print('fine')"])
    assert CAP_NOTES not in nb.metadata


def test_what_enforces_the_budget_is_said(monkeypatch):
    manager = sandbox.SandboxedKernelManager(use_cgroup=False)
    assert manager.enforcement() == (False, "rlimits per process (c.SandboxedKernelManager.use_cgroup = False)")
    cgroup, how = sandbox.SandboxedKernelManager().enforcement()
    assert cgroup == CGROUP and how == HOW
    assert how.startswith("one cgroup (v") if cgroup else how.startswith("rlimits per process (no cgroup here: ")
    from backprop_course.grader.run.preflight import PreflightReport, _limits
    from traitlets.config import Config

    config = Config()
    assert _limits(config) == how
    config.SandboxedKernelManager.use_cgroup = False
    line = PreflightReport("02_backprop", "f" * 64, "/pkg", "/bin/bwrap", (15, 15), (0, 15), limits=_limits(config)).summary()
    assert "sandbox /bin/bwrap; limits: rlimits per process (c.SandboxedKernelManager.use_cgroup = False);" in line


def test_cgroup_files_read_as_data(tmp_path):
    """The mounts and the grader's own groups as /proc shows them, on a made-up machine; a v2
    group's counters as its files hold them."""
    mountinfo, own = tmp_path / "mountinfo", tmp_path / "cgroup"
    mountinfo.write_text(
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
        "35 31 0:32 /outer /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
        f"41 31 0:38 / {tmp_path / 'unified'} rw,relatime - cgroup2 cgroup2 rw\n")
    own.write_text("9:pids:/\n4:memory:/outer/job\n2:cpu,cpuacct:/grading\n0::/\n")
    assert limits.v1_folders(mountinfo, own) == {
        "memory": Path("/sys/fs/cgroup/memory/job"), "pids": Path("/sys/fs/cgroup/pids"),
        "cpu": Path("/sys/fs/cgroup/cpu,cpuacct/grading"), "cpuacct": Path("/sys/fs/cgroup/cpu,cpuacct/grading")}
    (tmp_path / "unified").mkdir()
    (tmp_path / "unified" / "cgroup.controllers").write_text("cpu io\n")
    assert limits.v2_root(mountinfo) is None  # no memory controller there: not one to use
    (tmp_path / "unified" / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    assert limits.v2_root(mountinfo) == tmp_path / "unified"
    group = tmp_path / "unified" / "kernel"
    group.mkdir()
    (group / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
    (group / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n")
    (group / "pids.events").write_text("max 3\n")
    kernel = limits.KernelCgroup(2, {"": group}, limits.Budget())
    assert (kernel.cpu_seconds(), kernel.oom_kills(), kernel.tasks_refused()) == (2.5, 1, 3)
    assert kernel.covers() == ("memory", "tasks", "cpus", "cpu_seconds")
    assert limits.KernelCgroup(1, {"memory": group}, limits.Budget()).covers() == ("memory",)


def deep_tree(root, depth):
    """A chain of ``depth`` folders below ``root``, built without long paths."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            with open(os.open("f", os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=fd), "w") as f:
                f.write("x")
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
    finally:
        os.close(fd)


def hostile_tree(root):
    """What a kernel could leave: 3,000 folders deep, 5,000 files wide, folders without write or
    search permission, links out of the tree, a FIFO."""
    (root / "wide").mkdir(parents=True)
    for i in range(5000):
        (root / "wide" / str(i)).touch()
    deep_tree(root, 3000)
    (root / "odd" / "a" / "b").mkdir(parents=True)
    (root / "odd" / "a" / "b" / "file").touch()
    for path, mode in ((root / "odd" / "a" / "b" / "file", 0), (root / "odd" / "a" / "b", 0), (root / "odd" / "a", 0o100)):
        os.chmod(path, mode)
    (root / "odd" / "link").symlink_to(root.parent / "outside")
    (root / "link-folder").symlink_to(root.parent / "outside")
    os.mkfifo(root / "fifo")


@pytest.fixture
def scratch(tmp_path):
    """A folder for trees of thousands of folders: on a tmpfs where there is one (on a disk each
    rmdir may take milliseconds), else tmp_path."""
    import shutil
    import tempfile

    if not os.access("/dev/shm", os.W_OK):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(dir="/dev/shm", prefix="backprop-test-"))
    try:
        yield folder
    finally:
        cleanup.remove_tree(folder)
        shutil.rmtree(folder, ignore_errors=True)


def test_any_tree_is_removed_and_nothing_outside_it(scratch):
    tmp_path = scratch
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kept").write_text("not the tree's")
    hostile_tree(tmp_path / "tree")
    assert cleanup.remove_tree(tmp_path / "tree") is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside"] and (outside / "kept").read_text() == "not the tree's"
    assert cleanup.remove_tree(tmp_path / "tree") is True  # gone already: nothing to do
    (tmp_path / "link").symlink_to(outside)
    assert cleanup.remove_tree(tmp_path / "link") is True and (outside / "kept").exists()  # the link, not what it names


def test_a_leftover_of_a_killed_grader_stops_no_later_run(scratch):
    """The private folder of a grader killed mid-run, holding what a kernel wrote before the old
    seal: swept at the next kernel's start (rmtree raised RecursionError there, and every later
    grading stopped in the preflight)."""
    stale = scratch / "bpk-4194303-abcd1234"  # above any pid this machine has handed out
    hostile_tree(stale / "ipc")
    (scratch / "outside").mkdir()
    sweep_private_dirs(str(scratch))
    assert not stale.exists()
    manager = sandbox.SandboxedKernelManager(runtime_dir=str(scratch))
    manager.provisioner.make_private_dir()
    try:
        assert Path(manager.provisioner.private_dir).is_dir()
    finally:
        manager.provisioner.remove()

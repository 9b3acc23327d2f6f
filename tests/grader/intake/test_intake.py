"""backprop_course.grader.intake.folder: what of a submission folder the grader may open, decided from
metadata alone, and copied without following a link.

Each test builds a folder with one hostile thing in it beside an honest notebook, and checks the
verdict (admitted, left out and why, or not graded) and that the copy holds exactly what was
admitted. No kernel runs here: tests/grader/intake/test_untrusted_files.py grades such submissions.
"""
import os
import stat

import pytest

from backprop_course.grader.intake import folder as intake
from backprop_course.grader.intake.safezip import Limits

MiB = 1 << 20
NB = "backprop.ipynb"
NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
SMALL = Limits(file_bytes=1 * MiB, total_bytes=2 * MiB, entries=20)


@pytest.fixture
def course(tmp_path):
    """submitted/ada/02_backprop with an honest notebook, a secret outside it, and bob's folder."""
    secret = tmp_path / "source" / "02_backprop" / NB
    secret.parent.mkdir(parents=True)
    secret.write_bytes(b"### BEGIN HIDDEN TESTS the solution")
    folder = tmp_path / "submitted" / "ada" / "02_backprop"
    folder.mkdir(parents=True)
    (folder / NB).write_bytes(NOTEBOOK)
    bob = tmp_path / "submitted" / "bob" / "02_backprop"
    bob.mkdir(parents=True)
    (bob / NB).write_bytes(NOTEBOOK.replace(b"{}", b'{"bob": 1}'))
    return tmp_path, folder, secret


def left_out(found):
    return {r.path: r.reason for r in found.left_out}


def copied(dest):
    return {str(p.relative_to(dest)): p.read_bytes() for p in sorted(dest.rglob("*")) if p.is_file()}


def test_an_honest_folder_is_admitted_whole_and_copied_byte_for_byte(course):
    root, folder, _ = course
    (folder / "data").mkdir()
    (folder / "data" / "w.npy").write_bytes(b"\x93NUMPY")
    (folder / "notes.txt").write_text("scratch")
    (folder / intake.TIMESTAMP).write_text("2026-12-01 10:00:00.000000 UTC")
    found = intake.examine(folder, [NB], root=root / "submitted")
    assert not found.problem and not found.left_out and found.notes() == []
    assert [f.path for f in found.notebooks] == [NB]
    assert sorted(f.path for f in found.files) == sorted([intake.TIMESTAMP, "data/w.npy", "notes.txt"])
    assert intake.admit(found, root / "stage") == []
    assert copied(root / "stage") == {NB: NOTEBOOK, "data/w.npy": b"\x93NUMPY", "notes.txt": b"scratch",
                                      intake.TIMESTAMP: b"2026-12-01 10:00:00.000000 UTC"}


@pytest.mark.parametrize("name, target", [
    ("notes.txt", "../../../source/02_backprop/backprop.ipynb"),   # relative, to the solution
    ("shadow.txt", "/etc/shadow"),                                 # absolute, to a system file
    ("bob.txt", "../../bob/02_backprop/backprop.ipynb"),           # another student's work
    ("zero", "/dev/zero"),                                         # would be read forever
    ("solutions", "../../../source"),                              # a folder
])
def test_a_symbolic_link_is_left_out_and_the_rest_graded(course, name, target):
    root, folder, _ = course
    os.symlink(target, folder / name)
    found = intake.examine(folder, [NB])
    assert left_out(found) == {name: intake.LINK}
    assert not found.problem and [f.path for f in found.notebooks] == [NB]
    assert found.notes() == [f"not graded: {name}: {intake.LINK}; the rest is graded"]
    intake.admit(found, root / "stage")
    assert copied(root / "stage") == {NB: NOTEBOOK}


@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
def test_a_special_file_is_left_out_unopened(course, kind, monkeypatch):
    root, folder, _ = course
    if kind == "fifo":
        os.mkfifo(folder / "pipe")
    elif kind == "device":  # a character device like /dev/zero: read forever
        try:
            os.mknod(folder / "pipe", stat.S_IFCHR | 0o600, os.makedev(1, 5))
        except PermissionError:
            pytest.skip("making a device file needs root")
    else:
        import socket

        monkeypatch.chdir(folder)   # a relative name: a socket's path has a length limit (108 bytes)
        sock = socket.socket(socket.AF_UNIX)
        sock.bind("pipe")
        sock.close()
    found = intake.examine(folder, [NB])  # a FIFO opened for reading would block here
    assert left_out(found) == {"pipe": intake.SPECIAL} and not found.problem
    intake.admit(found, root / "stage")
    assert copied(root / "stage") == {NB: NOTEBOOK}


def test_a_hard_link_to_a_file_outside_is_left_out_and_one_inside_is_not(course):
    root, folder, secret = course
    os.link(secret, folder / "hard.txt")
    (folder / "mine.txt").write_text("mine")
    os.link(folder / "mine.txt", folder / "also-mine.txt")  # both names inside: the student's own file
    found = intake.examine(folder, [NB])
    assert set(left_out(found)) == {"hard.txt"} and "hard link" in left_out(found)["hard.txt"]
    intake.admit(found, root / "stage")
    assert copied(root / "stage") == {NB: NOTEBOOK, "mine.txt": b"mine", "also-mine.txt": b"mine"}


@pytest.mark.parametrize("how", ["symlink", "hard link", "fifo", "too big"])
def test_a_notebook_that_cannot_be_admitted_fails_the_submission(course, how):
    root, folder, secret = course
    (folder / NB).unlink()
    if how == "symlink":
        os.symlink("../../../source/02_backprop/backprop.ipynb", folder / NB)
    elif how == "hard link":
        os.link(secret, folder / NB)
    elif how == "fifo":
        os.mkfifo(folder / NB)
    else:
        with open(folder / NB, "wb") as f:
            f.truncate(2 * MiB)
    found = intake.examine(folder, [NB], SMALL)
    assert found.problem.startswith(NB) and not found.notebooks, found.problem
    assert intake.admit(found, root / "stage") == [] and copied(root / "stage") == {}


def test_a_file_over_the_cap_is_left_out_unread(course):
    root, folder, _ = course
    with open(folder / "data.bin", "wb") as f:  # sparse: 300 MiB that take no disk
        f.truncate(300 * MiB)
    found = intake.examine(folder, [NB])
    assert "300 MiB, over the cap of 50 MiB" in left_out(found)["data.bin"] and not found.problem
    intake.admit(found, root / "stage")
    assert copied(root / "stage") == {NB: NOTEBOOK}


def test_too_many_files_leave_only_the_notebook(course):
    root, folder, _ = course
    for i in range(25):
        (folder / f"f{i:02d}.txt").write_text("x")
    found = intake.examine(folder, [NB], SMALL)
    assert not found.problem and found.files == []
    assert left_out(found) == {"*": "the folder holds 25 files of 0.0 MiB, over the caps of 20 files and 2 MiB: "
                                    "only its notebooks are copied and graded"}
    intake.admit(found, root / "stage")
    assert copied(root / "stage") == {NB: NOTEBOOK}


def test_too_much_in_all_leaves_only_the_notebook(course):
    root, folder, _ = course
    for i in range(3):
        (folder / f"f{i}.bin").write_bytes(b"x" * (MiB - 1))
    found = intake.examine(folder, [NB], SMALL)
    assert found.files == [] and "over the caps" in left_out(found)["*"]


def test_a_folder_too_large_to_walk_is_cut_short(course):
    root, folder, _ = course
    tiny = Limits(file_bytes=MiB, total_bytes=MiB, entries=2)
    for i in range(intake.WALK_LIMIT_FACTOR * 2 + 5):
        (folder / f"f{i:03d}.txt").write_text("x")
    found = intake.examine(folder, [NB], tiny)
    assert not found.problem and [f.path for f in found.notebooks] == [NB] and found.files == []
    assert "more than 40 entries" in left_out(found)["*"]


@pytest.mark.parametrize("name", ["line\nbreak.txt", "tab\there.txt", "back\\slash.txt", "bidi\u202etxt.exe",
                                  "/".join(["d" * 250] * 5)])
def test_odd_names_are_refused_with_the_zip_rules(course, name):
    root, folder, _ = course
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("x")
    found = intake.examine(folder, [NB])
    (reason,) = left_out(found).values()
    assert reason.endswith("not copied") and "\n" not in next(iter(left_out(found)))
    intake.admit(found, root / "stage")
    assert copied(root / "stage") == {NB: NOTEBOOK}


def test_a_name_that_is_not_utf8_is_refused_and_printed_escaped(course):
    root, folder, _ = course
    (folder / os.fsdecode(b"\xffdata")).mkdir()  # a folder, and a file in it
    (folder / os.fsdecode(b"\xffdata") / "w.txt").write_text("x")
    (folder / os.fsdecode(b"caf\xe9.txt")).write_text("x")
    found = intake.examine(folder, [NB])
    assert left_out(found) == {"\\udcffdata": "a name that is not UTF-8: not copied",
                               "caf\\udce9.txt": "a name that is not UTF-8: not copied"}
    assert all(note.isprintable() for note in found.notes())
    intake.admit(found, root / "stage")
    assert copied(root / "stage") == {NB: NOTEBOOK}


def test_a_leading_dash_is_an_ordinary_name(course):
    """No name reaches a shell or an argument list: '-rf' is copied like any file."""
    root, folder, _ = course
    (folder / "-rf").write_text("x")
    (folder / "--help.txt").write_text("y")
    found = intake.examine(folder, [NB])
    assert not found.left_out and sorted(f.path for f in found.files) == ["--help.txt", "-rf"]
    intake.admit(found, root / "stage")
    assert copied(root / "stage") == {NB: NOTEBOOK, "-rf": b"x", "--help.txt": b"y"}


def test_a_linked_or_oddly_named_student_or_assignment_folder_is_not_graded(course):
    root, folder, _ = course
    submitted = root / "submitted"
    os.symlink(folder.parent, submitted / "eve")          # eve's folder is ada's
    (submitted / "mallory").mkdir()
    os.symlink(folder, submitted / "mallory" / "02_backprop")
    odd = ["odd\nname", os.fsdecode(b"\xffname"), "*", "ad[a]"]  # a line break, not UTF-8, glob patterns
    for student in odd:
        (submitted / student / "02_backprop").mkdir(parents=True)
    for student in ("eve", "mallory", *odd):
        found = intake.examine(submitted / student / "02_backprop", [NB], root=submitted)
        assert found.problem and not found.notebooks, student
    assert "symbolic link" in intake.examine(submitted / "eve" / "02_backprop", [NB], root=submitted).problem
    assert "glob character" in intake.examine(submitted / "*" / "02_backprop", [NB], root=submitted).problem


@pytest.mark.parametrize("how", ["symlink", "fifo", "too big"])
def test_a_refused_timestamp_fails_the_submission(course, how):
    """The time of submission decides lateness: a timestamp.txt that cannot be read is not dropped."""
    root, folder, _ = course
    stamp = folder / intake.TIMESTAMP
    if how == "symlink":
        os.symlink("/dev/zero", stamp)
    elif how == "fifo":
        os.mkfifo(stamp)
    else:
        stamp.write_text("2026-12-01 10:00:00 UTC" + " " * 2000)
    found = intake.examine(folder, [NB])
    assert found.problem.startswith(intake.TIMESTAMP), found.problem


def test_a_file_swapped_for_a_link_after_inspection_is_not_followed(course):
    root, folder, secret = course
    (folder / "notes.txt").write_text("honest")
    found = intake.examine(folder, [NB])
    (folder / "notes.txt").unlink()
    os.symlink(secret, folder / "notes.txt")
    (folder / NB).rename(root / "old.ipynb")  # kept: its inode is not reused
    (folder / NB).write_bytes(NOTEBOOK)  # a new file under the same name
    refused = intake.admit(found, root / "stage")
    assert {r.path for r in refused} == {"notes.txt", NB}
    assert found.problem.startswith(NB) and "replaced" in found.problem
    assert copied(root / "stage") == {}


def test_read_path_reads_one_regular_file_only(course):
    root, folder, secret = course
    assert intake.read_path(folder / NB) == NOTEBOOK
    os.symlink(secret, folder / "link.ipynb")
    os.mkfifo(folder / "fifo.ipynb")
    os.link(secret, folder / "hard.ipynb")
    for name, words in [("link.ipynb", "symbolic link"), ("fifo.ipynb", "special file"), ("hard.ipynb", "hard link"),
                        ("missing.ipynb", "cannot be read")]:
        with pytest.raises(intake.NotAdmitted, match=words):
            intake.read_path(folder / name)
    with pytest.raises(intake.NotAdmitted, match="over the cap"):
        intake.read_path(folder / NB, Limits(file_bytes=10))


def test_inspection_opens_nothing(course, monkeypatch):
    """The verdict comes from metadata: not one file of the folder is opened to reach it."""
    root, folder, secret = course
    os.mkfifo(folder / "pipe")
    os.symlink(secret, folder / "notes.txt")
    opened = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda path, *a, **k: opened.append(path) or real_open(path, *a, **k))
    intake.examine(folder, [NB])
    assert opened == []
    assert stat.S_ISFIFO(os.lstat(folder / "pipe").st_mode)


def test_the_notes_show_five_files_left_out_and_count_the_rest():
    refusals = [intake.Refusal(f"f{i}.bin", "too big") for i in range(7)]
    shown = [f"not graded: f{i}.bin: too big; the rest is graded" for i in range(5)]
    assert intake.IntakeResult("x", left_out=refusals).notes() == shown + [
        "not graded: 2 more files (see the log); the rest is graded"]
    assert intake.IntakeResult("x", left_out=refusals[:5]).notes() == shown
    assert intake.IntakeResult("x", left_out=refusals[:6]).notes()[-1] == \
        "not graded: 1 more files (see the log); the rest is graded"


def test_a_refusal_of_the_whole_folder_is_its_reason_alone():
    whole = intake.Refusal("*", "the other files hold 30 MiB, over the cap of 20 MiB: only the notebooks are graded")
    assert intake.IntakeResult("x", left_out=[whole]).notes() == [f"not graded: {whole.reason}"]


#: a file the kernel says is regular and empty, whose reads return about 30 kB, a page at a time:
#: it grows as it is read, as a file a student's process still writes to would
GROWING = ("/proc/self", intake.File("smaps", 0))
SMALL_CAP = Limits(file_bytes=5000)


def test_a_file_read_is_counted_as_it_comes_and_stopped_past_the_cap():
    with pytest.raises(intake.NotAdmitted) as refused:
        intake.read_file(*GROWING, SMALL_CAP)
    assert str(refused.value) == "smaps grew over the cap of 0 MiB while it was read"
    assert len(intake.read_file(*GROWING)) > 4 * 4096   # under the usual cap it is read whole, page after page


def test_read_file_takes_a_file_exactly_at_the_cap_whole_and_in_order(course):
    root, folder, _ = course
    data = os.urandom(3 * 65536 + 7)    # more than one chunk
    (folder / "data.bin").write_bytes(data)
    assert intake.read_file(folder, intake.File("data.bin", len(data)), Limits(file_bytes=len(data))) == data
    with pytest.raises(intake.NotAdmitted, match=r"^data\.bin grew over the cap of 0 MiB$"):
        intake.read_file(folder, intake.File("data.bin", len(data)), Limits(file_bytes=len(data) - 1))


def test_read_file_follows_no_link_and_waits_on_no_fifo_even_for_a_file_it_did_not_inspect(course):
    """A File made without an inode (nothing inspected it) is still opened as a regular file only."""
    root, folder, secret = course
    os.symlink(secret, folder / "link.txt")
    os.mkfifo(folder / "fifo")
    with pytest.raises(OSError):
        intake.read_file(folder, intake.File("link.txt", 0))
    with pytest.raises(intake.NotAdmitted, match=r"^fifo is no longer a regular file$"):
        intake.read_file(folder, intake.File("fifo", 0))
    (folder / "plain.txt").write_text("plain")
    assert intake.read_file(folder, intake.File("plain.txt", 5)) == b"plain"


def test_read_path_refuses_a_folder_and_a_file_swapped_after_its_look(course, monkeypatch):
    root, folder, secret = course
    (folder / "sub").mkdir()
    with pytest.raises(intake.NotAdmitted, match=r"^sub is a folder$"):
        intake.read_path(folder / "sub")
    (folder / "other.txt").write_text("other")
    real_lstat = os.lstat
    with monkeypatch.context() as patched:   # the look sees one file, the open finds another
        patched.setattr(os, "lstat", lambda path, *a, **k: real_lstat(folder / "other.txt") if str(path) == str(folder / NB)
                        else real_lstat(path, *a, **k))
        with pytest.raises(intake.NotAdmitted, match=rf"^{NB} was replaced after it was inspected$"):
            intake.read_path(folder / NB)


def test_admit_copies_deep_files_with_plain_modes_and_lists_what_grew(course):
    """A file that grows while it is copied is refused and removed from the copy; only a notebook's
    refusal fails the submission, and never replaces a problem already found."""
    root, folder, _ = course
    (folder / "a" / "b").mkdir(parents=True)
    (folder / "a" / "b" / "c.txt").write_text("deep")
    found = intake.examine(folder, [NB])
    umask = os.umask(0)
    try:
        assert intake.admit(found, root / "stage") == []
    finally:
        os.umask(umask)
    assert stat.S_IMODE(os.stat(root / "stage" / "a" / "b" / "c.txt").st_mode) == 0o644
    assert (root / "stage" / "a" / "b" / "c.txt").read_text() == "deep"

    grows = intake.IntakeResult("/proc/self", files=[GROWING[1]])
    refusal = intake.Refusal("smaps", "smaps grew over the cap of 0 MiB while it was read")
    assert intake.admit(grows, root / "stage2", SMALL_CAP) == [refusal]
    assert grows.problem == "" and grows.left_out == [refusal] and os.listdir(root / "stage2") == []
    notebook = intake.IntakeResult("/proc/self", notebooks=[GROWING[1]])
    intake.admit(notebook, root / "stage3", SMALL_CAP)
    assert notebook.problem == f"smaps: {refusal.reason}"
    earlier = intake.IntakeResult("/proc/self", notebooks=[GROWING[1]], problem="found before")
    intake.admit(earlier, root / "stage4", SMALL_CAP)
    assert earlier.problem == "found before"


def test_each_way_a_submission_path_is_no_submissions_is_named(tmp_path):
    submitted = tmp_path / "submitted"
    (submitted / "a*" / "a1").mkdir(parents=True)
    (submitted / "abcdefgh" / "a1").mkdir(parents=True)
    (submitted / "file").write_text("not a folder")
    (tmp_path / "elsewhere" / "a1").mkdir(parents=True)

    def problem(folder, limits=intake.LIMITS):
        return intake.examine(folder, [NB], limits, root=submitted).problem
    assert problem(tmp_path / "elsewhere" / "a1") == f"the folder is not below {submitted}"
    assert problem(submitted / "a*" / "a1") == ("the folder's name has a glob character (*, ? or [): nbgrader would "
                                                "take it for a pattern matching other folders")
    assert problem(submitted / "abcdefgh" / "a1", Limits(name_bytes=5)) == "the folder's name has a name too long"
    assert problem(submitted / "ghost" / "a1") == "ghost cannot be read (No such file or directory)"
    assert problem(submitted / "file" / "a1") == "the folder file is not a folder"


def test_the_walk_stops_at_its_budget_skips_what_it_cannot_read_and_enters_no_odd_folder(tmp_path, monkeypatch):
    for i in range(21):
        (tmp_path / "many" / f"f{i:02}").parent.mkdir(exist_ok=True)
        (tmp_path / "many" / f"f{i:02}").write_text("x")
    assert intake.walk(tmp_path / "many", Limits(entries=1))[1] is True       # 21 entries, a budget of 20
    (tmp_path / "many" / "f20").unlink()
    entries, cut = intake.walk(tmp_path / "many", Limits(entries=1))
    assert cut is False and len(entries) == 20
    for sub in ("a", "b", "abcdefgh"):
        (tmp_path / "tree" / sub).mkdir(parents=True)
        (tmp_path / "tree" / sub / "x.txt").write_text("x")
    real = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: (_ for _ in ()).throw(PermissionError(path))
                        if str(path).endswith("/a") else real(path))
    names = [rel for rel, _ in intake.walk(tmp_path / "tree", Limits(name_bytes=5))[0]]
    assert names == ["a", "abcdefgh", "b", "b/x.txt"]   # a unreadable, abcdefgh's name too long: neither entered


def test_the_submission_folder_itself_must_be_a_readable_folder(tmp_path):
    assert intake.examine(tmp_path / "missing").problem == "the folder cannot be read (No such file or directory)"
    (tmp_path / "file").write_text("x")
    assert intake.examine(tmp_path / "file").problem == "the submission folder is not a folder"
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    assert intake.examine(tmp_path / "link").problem == f"the submission folder is {intake.LINK}"


def test_each_cap_takes_what_is_at_it_and_refuses_what_is_past_it(course):
    root, folder, _ = course
    (folder / "ten.bin").write_bytes(b"x" * 10)
    (folder / "abcdefghijklmnop.txt").write_text("long name")
    (folder / intake.TIMESTAMP).write_bytes(b" " * intake.TIMESTAMP_BYTES)
    found = intake.examine(folder, [NB], Limits(file_bytes=2000, total_bytes=10 ** 6, entries=5, name_bytes=14))
    assert left_out(found) == {"abcdefghijklmnop.txt": "a name too long: not copied"}
    assert sorted(f.path for f in found.files) == ["ten.bin", intake.TIMESTAMP]
    (folder / "eleven.bin").write_bytes(b"x" * 11)
    (folder / intake.TIMESTAMP).write_bytes(b" " * (intake.TIMESTAMP_BYTES + 1))
    found = intake.examine(folder, [NB], Limits(file_bytes=1100, entries=5))
    assert left_out(found)[intake.TIMESTAMP] == f"{intake.TIMESTAMP_BYTES + 1} bytes, more than a time of submission takes"
    found = intake.examine(folder, [NB], Limits(file_bytes=10, entries=5))
    assert left_out(found)["eleven.bin"] == "0 MiB, over the cap of 0 MiB a file" and "ten.bin" not in left_out(found)


def test_the_caps_on_the_other_files_take_exactly_their_number_and_size(course):
    root, folder, _ = course
    for name in ("a.bin", "b.bin"):
        (folder / name).write_bytes(b"x" * 10)
    assert len(intake.examine(folder, [NB], Limits(entries=2, total_bytes=20)).files) == 2
    assert left_out(intake.examine(folder, [NB], Limits(entries=1, total_bytes=20)))["*"].startswith("the folder holds 2 files")
    assert left_out(intake.examine(folder, [NB], Limits(entries=2, total_bytes=19)))["*"].startswith("the folder holds 2 files")


def test_another_notebook_at_the_top_is_passed_over_and_one_below_is_a_file(course):
    root, folder, _ = course
    (folder / "scratch.ipynb").write_text("{}")
    (folder / "sub").mkdir()
    (folder / "sub" / "x.ipynb").write_text("{}")
    (folder / "z.txt").write_text("z")
    found = intake.examine(folder, [NB, "missing.ipynb"])
    assert [f.path for f in found.notebooks] == [NB] and not found.left_out and found.problem == ""
    assert sorted(f.path for f in found.files) == ["sub/x.ipynb", "z.txt"]


def test_a_hard_link_out_of_the_folder_is_named_with_its_count(course):
    root, folder, secret = course
    os.link(secret, folder / "hard.txt")
    assert left_out(intake.examine(folder, [NB]))["hard.txt"] == intake.HARD_LINK.format(2)

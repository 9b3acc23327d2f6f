"""backprop_course.grader.intake.safezip: a hostile zip writes nothing outside its destination, and
every entry it refuses is named with the reason.

The archives are built here byte by byte with zipfile (and, for the lying sizes, patched by
hand), so each test knows exactly what is inside.
"""
import io
import os
import stat
import struct
import zipfile

import pytest

from backprop_course.grader.intake.safezip import Limits, Refused, entry_problem, extract, name_problem, printable

MiB = 1 << 20


def make_zip(path, entries):
    """entries: (name or ZipInfo, bytes) pairs, written in order (duplicates allowed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            with pytest.warns(UserWarning) if isinstance(name, str) and name in zf.namelist() else _nothing():
                zf.writestr(name, data)
    return path


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def unix_entry(name, mode):
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


def files_under(root):
    return {str(p.relative_to(root)): p for p in root.rglob("*")}


def outside_snapshot(tmp_path, dest):
    return sorted(str(p) for p in tmp_path.rglob("*") if dest not in p.parents and p != dest)


def test_good_entries_are_unpacked_byte_for_byte(tmp_path):
    data = {"a.ipynb": b'{"cells": []}', "Zoë Ñúñez_12_assignsubmission_file/backprop.ipynb": os.urandom(3000),
            "folder/": b""}
    archive = make_zip(tmp_path / "good.zip", data.items())
    refused = extract(archive, tmp_path / "out")
    assert refused == []
    assert (tmp_path / "out" / "a.ipynb").read_bytes() == data["a.ipynb"]
    assert (tmp_path / "out" / "Zoë Ñúñez_12_assignsubmission_file" / "backprop.ipynb").read_bytes() == \
        data["Zoë Ñúñez_12_assignsubmission_file/backprop.ipynb"]
    assert (tmp_path / "out" / "folder").is_dir()


@pytest.mark.parametrize("name, reason", [
    ("../escape.txt", "'..'"),
    ("a/../../escape.txt", "'..'"),
    ("/tmp/absolute.txt", "absolute"),
    ("C:/windows.txt", "absolute"),
    ("a\\..\\..\\escape.txt", "backslash"),
    ("new\nline.ipynb", "control character"),
    ("bell\x07.ipynb", "control character"),
    ("esc\x1b[31m.ipynb", "control character"),
    ("u2028\u2028.ipynb", "line break"),
    ("gnp.\u202eexe.ipynb", "control character"),
    ("a//b.txt", "empty path component"),
    ("x" * 300 + ".ipynb", "too long"),
])
def test_dangerous_names_are_refused_and_listed(tmp_path, name, reason):
    archive = make_zip(tmp_path / "names.zip", [(name, b"payload"), ("ok.ipynb", b"{}")])
    dest = tmp_path / "out"
    before = outside_snapshot(tmp_path, dest)
    refused = extract(archive, dest)
    assert [r.entry for r in refused] == [printable(name)]
    assert reason in refused[0].reason
    assert set(files_under(dest)) == {"ok.ipynb"}
    assert outside_snapshot(tmp_path, dest) == before
    assert "\n" not in str(refused[0]) and "\x1b" not in str(refused[0])


def test_symlink_and_special_entries_are_refused(tmp_path):
    archive = make_zip(tmp_path / "links.zip", [
        (unix_entry("shadow.txt", stat.S_IFLNK | 0o777), b"/etc/shadow"),
        (unix_entry("up", stat.S_IFLNK | 0o777), b"../../.."),
        (unix_entry("pipe", stat.S_IFIFO | 0o644), b""),
        (unix_entry("dev", stat.S_IFCHR | 0o644), b""),
        (unix_entry("plain.ipynb", stat.S_IFREG | 0o644), b"{}"),
    ])
    refused = extract(archive, tmp_path / "out")
    assert {r.entry: r.reason for r in refused} == {
        "shadow.txt": "a symbolic link", "up": "a symbolic link",
        "pipe": "a special file (device, FIFO or socket)", "dev": "a special file (device, FIFO or socket)"}
    out = tmp_path / "out"
    assert set(files_under(out)) == {"plain.ipynb"}
    assert not any(p.is_symlink() for p in out.rglob("*"))


def test_a_zip_bomb_is_refused_by_its_ratio(tmp_path):
    archive = make_zip(tmp_path / "bomb.zip", [("zeros.ipynb", bytes(8 * MiB)), ("ok.ipynb", b"{}")])
    refused = extract(archive, tmp_path / "out", Limits(ratio=100, ratio_floor=MiB))
    assert [r.entry for r in refused] == ["zeros.ipynb"] and "zip bomb" in refused[0].reason
    assert set(files_under(tmp_path / "out")) == {"ok.ipynb"}


def test_size_caps_per_file_and_per_archive(tmp_path):
    entries = [(f"f{i}.bin", os.urandom(MiB)) for i in range(4)] + [("big.bin", os.urandom(3 * MiB))]
    archive = make_zip(tmp_path / "sizes.zip", entries)
    refused = extract(archive, tmp_path / "out", Limits(file_bytes=2 * MiB, total_bytes=int(2.5 * MiB)))
    reasons = {r.entry: r.reason for r in refused}
    assert "over the 2 MiB limit" in reasons.pop("big.bin")
    assert set(reasons) == {"f2.bin", "f3.bin"} and all("more than 2 MiB" in r or "more than 3 MiB" in r
                                                         for r in reasons.values()), reasons
    assert set(files_under(tmp_path / "out")) == {"f0.bin", "f1.bin"}


def test_too_many_entries(tmp_path):
    archive = make_zip(tmp_path / "many.zip", [(f"n{i}.txt", b"x") for i in range(12)])
    refused = extract(archive, tmp_path / "out", Limits(entries=10))
    assert [r.entry for r in refused] == ["n10.txt", "n11.txt"]
    # an entry refused before the cap stays listed with those after it
    archive = make_zip(tmp_path / "more.zip", [("../up.txt", b"x")] + [(f"m{i}.txt", b"x") for i in range(11)])
    assert [r.entry for r in extract(archive, tmp_path / "more", Limits(entries=10))] == ["../up.txt", "m9.txt", "m10.txt"]
    assert len(files_under(tmp_path / "out")) == 10


def test_sizes_are_counted_not_believed(tmp_path):
    """An archive that states 10 bytes for an entry of 1 MiB: stopped as the bytes come out."""
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("liar.ipynb", os.urandom(MiB))
    data = bytearray(raw.getvalue())
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 10)   # uncompressed size in the central directory
    (tmp_path / "liar.zip").write_bytes(bytes(data))
    refused = extract(tmp_path / "liar.zip", tmp_path / "out")
    assert [(r.archive, r.entry) for r in refused] == [("liar.zip", "liar.ipynb")]
    assert not (tmp_path / "out" / "liar.ipynb").exists()


def test_duplicate_names_keep_the_first_and_list_the_second(tmp_path):
    archive = make_zip(tmp_path / "dup.zip", [("a.ipynb", b"first"), ("a.ipynb", b"second")])
    refused = extract(archive, tmp_path / "out")
    assert [(r.entry, "same name" in r.reason) for r in refused] == [("a.ipynb", True)]
    assert (tmp_path / "out" / "a.ipynb").read_bytes() == b"first"


def test_a_link_planted_in_the_destination_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "sub").symlink_to(outside)
    (dest / "file.ipynb").symlink_to(outside / "target")
    archive = make_zip(tmp_path / "planted.zip", [("sub/x.ipynb", b"{}"), ("file.ipynb", b"{}")])
    refused = extract(archive, dest)
    assert sorted(r.entry for r in refused) == ["file.ipynb", "sub/x.ipynb"]
    assert list(outside.iterdir()) == []


def test_not_a_zip_is_refused_whole(tmp_path):
    (tmp_path / "fake.zip").write_bytes(b"this is not a zip")
    refused = extract(tmp_path / "fake.zip", tmp_path / "out")
    assert [(r.archive, r.entry) for r in refused] == [("fake.zip", "")]     # the archive named, no entry
    assert refused[0].reason.startswith("not a readable zip archive (")


def test_name_problem_accepts_ordinary_lms_names():
    for name in ["lovelaceada_LATE_1234_5678_backprop-1.ipynb", "Ada Lovelace_17_assignsubmission_file/backprop.ipynb",
                 "Łukasiewicz, Jan_3_assignsubmission_file_backprop (1).ipynb", "dir/"]:
        assert name_problem(name) == "", name


# --- entry_problem: each rule at its edge (what the header says, before any byte is unpacked) ----

def entry(name="a.txt", size=0, packed=None, flags=0, system=3, mode=stat.S_IFREG | 0o644):
    info = zipfile.ZipInfo(name)
    info.file_size, info.compress_size = size, size if packed is None else packed
    info.flag_bits, info.create_system, info.external_attr = flags, system, mode << 16
    return info


def test_an_encrypted_entry_is_refused_by_its_own_flag_only():
    assert entry_problem(entry(flags=0x1)) == "encrypted"
    assert entry_problem(entry(flags=0x2 | 0x8)) == ""    # compression options and a data descriptor: no encryption


def test_the_size_caps_refuse_past_the_limit_not_at_it():
    limits = Limits(file_bytes=1000, ratio=10.0, ratio_floor=500)
    assert entry_problem(entry(size=1000, packed=1000), limits) == ""
    assert "over the" in entry_problem(entry(size=1001, packed=1001), limits)
    assert entry_problem(entry(size=500, packed=1), limits) == ""            # at the floor: the ratio is not checked
    assert "a zip bomb?" in entry_problem(entry(size=501, packed=1), limits)
    assert entry_problem(entry(size=600, packed=60), limits) == ""           # 10:1 is allowed, 10.2:1 is not
    assert "a zip bomb?" in entry_problem(entry(size=612, packed=60), limits)


def test_mode_bits_mean_a_file_type_only_in_an_entry_made_on_unix():
    link = stat.S_IFLNK | 0o777
    assert entry_problem(entry(mode=link)) == "a symbolic link"
    assert entry_problem(entry(mode=link, system=0)) == ""                   # made on Windows: no Unix mode there
    assert entry_problem(entry(mode=0)) == ""                                # made on Unix without a mode


def test_the_name_rules_use_the_limits_they_are_given():
    assert entry_problem(entry(name="x" * 20), Limits(name_bytes=10)) == "a name too long"
    assert entry_problem(entry(name="x" * 20)) == ""


def test_the_total_cap_allows_exactly_its_size_and_says_what_was_left(tmp_path):
    """Everything up to the total cap is unpacked, the first byte past it is not; the folder is
    made with its parents."""
    archive = make_zip(tmp_path / "total.zip", [("a.bin", bytes(MiB)), ("b.bin", bytes(MiB)), ("c.bin", b"x")])
    dest = tmp_path / "new" / "nested" / "out"
    assert extract(archive, dest, Limits(total_bytes=2 * MiB, ratio=1e9)) == [
        Refused("total.zip", "c.bin", "the archive unpacks to more than 2 MiB")]
    assert sorted(files_under(dest)) == ["a.bin", "b.bin"]
    assert extract(archive, tmp_path / "all", Limits(total_bytes=2 * MiB + 1, ratio=1e9)) == []
    assert (tmp_path / "all" / "c.bin").read_bytes() == b"x"


@pytest.mark.parametrize("name, reason", [
    ("", "an absolute path"),
    ("/etc/passwd", "an absolute path"),
    ("C:", "an absolute path"),                      # a drive letter alone
    ("C:x.txt", "an absolute path"),
    ("ab:c.txt", ""),                                # a colon further on names no drive
    ("a\\b.txt", "a backslash in the name"),
    ("para\u2029graph.txt", "a control character or line break in the name"),
    ("./a.txt", "'..' or '.' in the path"),
    ("a/./b.txt", "'..' or '.' in the path"),
    ("a//b.txt", "an empty path component"),
    ("folder/", ""),                                 # a folder entry: its trailing slash is no empty part
    ("x" * 10, ""),                                  # at the limits: allowed
    ("x" * 11, "a name too long"),
    ("a/" + "b" * 8, ""),
    ("a/" + "b" * 9, "a name too long"),             # 11 bytes as a path, over path_bytes
])
def test_each_name_rule_gives_its_own_reason_and_stops_past_its_limit(name, reason):
    assert name_problem(name, Limits(name_bytes=10, path_bytes=10)) == reason


def test_an_unprintable_name_is_shown_escaped():
    assert printable("a\u202eb\x07") == "a\\u202eb\\x07"


def test_an_entry_that_comes_out_larger_than_stated_is_stopped_and_removed(tmp_path, monkeypatch):
    """zipfile stops an entry at its stated size; if it ever handed out more (a bug, another
    reader), the entry is stopped there all the same, and nothing of it stays."""
    archive = make_zip(tmp_path / "grows.zip", [("grows.ipynb", b"0123456789"), ("after.ipynb", b"{}")])
    real_open = zipfile.ZipFile.open

    def more_than_stated(self, info, *args, **kwargs):
        name = info.filename if isinstance(info, zipfile.ZipInfo) else info
        return io.BytesIO(bytes(100_000)) if name == "grows.ipynb" else real_open(self, info, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", more_than_stated)
    refused = extract(archive, tmp_path / "out")
    assert refused == [Refused("grows.zip", "grows.ipynb", "unpacks to more than the size the archive states")]
    assert sorted(files_under(tmp_path / "out")) == ["after.ipynb"]


def test_what_cannot_be_unpacked_is_named_with_the_error(tmp_path):
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("broken.ipynb", b"x" * 100)
        zf.writestr("fine.ipynb", b"{}")
    data = bytearray(raw.getvalue())
    data[data.index(b"x" * 100)] = ord("y")                       # the CRC no longer matches
    (tmp_path / "crc.zip").write_bytes(bytes(data))
    refused = extract(tmp_path / "crc.zip", tmp_path / "out")
    assert refused == [Refused("crc.zip", "broken.ipynb", "cannot be unpacked (BadZipFile: Bad CRC-32 for file 'broken.ipynb')")]
    assert sorted(files_under(tmp_path / "out")) == ["fine.ipynb"]


def test_a_second_entry_and_a_file_in_a_folders_place_are_named_with_the_archive(tmp_path):
    archive = make_zip(tmp_path / "dup.zip", [("a.ipynb", b"first"), ("a.ipynb", b"second"), ("d/x.ipynb", b"1"),
                                              ("d", b"a file where a folder is"), ("a.ipynb/y.ipynb", b"2"),
                                              ("e/", b""), ("e", b"3"), ("last.ipynb", b"4")])
    why = "a second entry of the same name, or a file where a folder is"
    assert extract(archive, tmp_path / "out") == [Refused("dup.zip", name, why) for name in ("a.ipynb", "d", "a.ipynb/y.ipynb", "e")]
    assert sorted(files_under(tmp_path / "out")) == ["a.ipynb", "d", "d/x.ipynb", "e", "last.ipynb"]


def test_what_is_written_gets_ordinary_modes_whatever_the_archive_says(tmp_path):
    """Folders rwxr-xr-x and files rw-r--r-- (asked for, even with no umask): an entry's own mode
    bits (setuid, world-writable) are not applied."""
    archive = make_zip(tmp_path / "modes.zip", [(unix_entry("sub/run.sh", stat.S_IFREG | 0o4777), b"#!/bin/sh\n"),
                                                (unix_entry("open/", stat.S_IFDIR | 0o777), b"")])
    umask = os.umask(0)
    try:
        assert extract(archive, tmp_path / "out") == []
    finally:
        os.umask(umask)
    modes = {name: stat.S_IMODE(path.stat().st_mode) for name, path in files_under(tmp_path / "out").items()}
    assert modes == {"sub": 0o755, "sub/run.sh": 0o644, "open": 0o755}


class Endless(io.RawIOBase):
    """An entry that never ends, and refuses to be read whole."""

    def readable(self):
        return True

    def read(self, size=-1):
        assert size is not None and size > 0, "an entry was read whole"
        return bytes(size)


def test_an_endless_entry_is_read_a_chunk_at_a_time_and_stopped_at_its_stated_size(tmp_path, monkeypatch):
    archive = make_zip(tmp_path / "endless.zip", [("endless.ipynb", b"{}")])
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, info, *args, **kwargs: Endless())
    assert extract(archive, tmp_path / "out") == [
        Refused("endless.zip", "endless.ipynb", "unpacks to more than the size the archive states")]
    assert files_under(tmp_path / "out") == {}


def test_a_stated_ratio_with_almost_nothing_compressed_is_measured_against_one_byte():
    """An entry that claims 0 compressed bytes: its ratio is counted against 1 byte, never divided by 0."""
    info = zipfile.ZipInfo("bomb.ipynb")
    info.file_size, info.compress_size = 2 * MiB, 0
    assert entry_problem(info) == "compressed 2097152:1, over 200:1 (a zip bomb?)"
    info.file_size = 300
    assert entry_problem(info, Limits(ratio_floor=0)) == "compressed 300:1, over 200:1 (a zip bomb?)"
    info.file_size = 200
    assert entry_problem(info, Limits(ratio_floor=0)) == ""


def test_folders_and_names_are_written_as_named_and_the_entries_after_a_folder_too(tmp_path):
    archive = make_zip(tmp_path / "names.zip", [("BOX/", b""), ("FAX", b"1"), ("BOX/a.ipynb", b"2")])
    assert extract(archive, tmp_path / "out") == []
    assert sorted(files_under(tmp_path / "out")) == ["BOX", "BOX/a.ipynb", "FAX"]


def test_the_entries_past_the_cap_are_each_named_with_the_archive(tmp_path):
    archive = make_zip(tmp_path / "many.zip", [(f"m{i}.txt", b"x") for i in range(4)])
    assert extract(archive, tmp_path / "out", Limits(entries=2)) == [
        Refused("many.zip", f"m{i}.txt", "more than 2 entries in the archive") for i in (2, 3)]


def test_a_destination_that_is_a_link_is_not_followed(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").symlink_to(elsewhere)
    archive = make_zip(tmp_path / "a.zip", [("a.ipynb", b"{}")])
    with pytest.raises(OSError):
        extract(archive, tmp_path / "out")
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("name", ["X", "a/..X", "BOX/", "a/XX"])
def test_a_name_is_read_as_it_is_written_not_trimmed(name):
    """Only the folder's trailing '/' is trimmed before the parts are read: 'a/..X' holds no '..'."""
    assert name_problem(name) == ""

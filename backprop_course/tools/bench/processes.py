"""What the benchmark reads of its processes, from /proc (Linux): memory, CPU, descendants."""
from __future__ import annotations

import os
from pathlib import Path

#: clock ticks per second, the unit of /proc/<pid>/stat's CPU times
CLOCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def rss_kib(pid):
    """The resident memory of process ``pid`` in KiB, or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_and_rss(pid):
    """(CPU seconds, RSS in KiB) of a process, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        rss = rss_kib(pid)
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK, rss or 0


def descendants(pids):
    """{pid: command line} of every process below ``pids``."""
    children = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(proc.name))
    found, todo = {}, list(pids)
    while todo:
        for child in children.get(todo.pop(), []):
            try:
                found[child] = (Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:160])
            except OSError:
                continue
            todo.append(child)
    return found

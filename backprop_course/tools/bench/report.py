"""The benchmark's report: the machine, a table of the runs, the targets met or not, and what
differed between the runs."""
from __future__ import annotations

import platform
import statistics
from importlib.metadata import version
from pathlib import Path

from ...grader.pipeline import cores
from . import cpu_meter
from .synthetic_class import ASSIGNMENT

TARGET_SPEEDUP = 1.8      # (a)/(b) at least this on 2 cores
TARGET_OVERHEAD = 1.25    # (b) at most this times (c)/cores
TARGET_DASK = 1.10        # (d) at most this times (b)


def machine():
    """This machine in one line: cores, CPU model, memory, system and Python."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 ** 2:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cores()} cores ({model}){memory}; {platform.system()} {platform.release()}, Python {platform.python_version()}"


def versions():
    """The versions of what grading runs on: nbgrader, nbclient, jupyter_client, ipykernel."""
    return ", ".join(f"{name} {version(name)}" for name in ("nbgrader", "nbclient", "jupyter_client", "ipykernel"))


def table(results):
    """The results as a text table: one line per class size, wall and CPU of each run, the ratios."""
    n = cores()
    runs = [r for r in "abcd" if any(r in res.runs for res in results)]
    head = f"{'submissions':>11}  {'rounds':>6}" + "".join(f"  {f'({r}) wall':>10}" for r in runs) + \
        f"  {'(a)/(b)':>8}  {f'(b)/((c)/{n})':>12}  {'(d)/(b)':>8}" + "".join(f"  {f'({r}) CPU':>9}" for r in runs) + \
        f"  {'CPU (b)/(c)':>11}"
    lines = [head]
    for res in results:
        cells = [f"{res.wall(r):9.1f}s" if r in res.runs else f"{'-':>10}" for r in runs]
        cpu = [f"{res.cpu(r):8.0f}s" if r in res.runs else f"{'-':>9}" for r in runs]
        overhead = f"{res.overhead:12.2f}" if res.overhead else f"{'-':>12}"
        cpu_ratio = f"{res.cpu('b') / res.cpu('c'):11.2f}" if "c" in res.runs else f"{'-':>11}"
        dask = f"{res.dask_ratio:8.2f}" if res.dask_ratio else f"{'-':>8}"
        lines.append(f"{res.size:>11}  {len(res.rounds):>6}" + "".join(f"  {c}" for c in cells)
                     + f"  {res.speedup:8.2f}  {overhead}  {dask}" + "".join(f"  {c}" for c in cpu) + f"  {cpu_ratio}")
    return "\n".join(lines)


def report(results, jobs, load_at_start):
    """(the report's text, whether every target was met and nothing differed) for ``results``."""
    out = ["", f"Machine: {machine()}; 1-minute load average {load_at_start:.2f} at start", f"Versions: {versions()}",
           f"(a) `nbgrader autograde {ASSIGNMENT} --force`, sequential; (b) `backprop-course grade --only autograde "
           f"--jobs {jobs}`; (c) the same notebooks, bare nbclient, sequential; (d) `backprop-course grade --only "
           f"autograde --cluster SCHEDULER_FILE` on a local Dask cluster of {jobs} one-thread workers, started "
           "untimed for each round (their preflight is timed). Each in a fresh process; with "
           "several rounds, in turning order, and each figure is the median over the rounds;",
           "CPU = CPU seconds of the run and its kernels (" + ("a cpuacct cgroup" if cpu_meter.available() else
           "getrusage, which misses the sandboxed kernels") + "), which other load on the machine inflates far less "
           "than wall time; CPU (b)/(c) is our grading's cost over bare execution.", "", table(results), ""]
    ok = True
    for r in results:
        marks = ", ".join(f"{k} {done}/{of}" for k, (done, of) in sorted(r.full_marks.items()))
        out.append(f"{r.size} submissions ({marks} with full marks):")
        each = r.round_ratios()
        verdict = "met" if r.speedup >= TARGET_SPEEDUP else "NOT met"
        rounds = f"; rounds: {', '.join(f'{x:.2f}' for x, _ in each)}" if len(each) > 1 else ""
        out.append(f"  speed-up (a)/(b) = {r.speedup:.2f} (target >= {TARGET_SPEEDUP}: {verdict}{rounds})")
        if r.preflight:
            out.append(f"  of which the preflight (sandbox, fingerprint, reference and blank as a canary; in (a) and (b) "
                       f"alike): {statistics.median(r.preflight):.1f} s wall (median of {len(r.preflight)})")
        if r.overhead:
            verdict = "met" if r.overhead <= TARGET_OVERHEAD else "NOT met"
            rounds = f"; rounds: {', '.join(f'{y:.2f}' for _, y in each)}" if len(each) > 1 else ""
            out.append(f"  (b) / ((c)/{cores()}) = {r.overhead:.2f} (target <= {TARGET_OVERHEAD}: {verdict}{rounds})")
            a, b, c = (r.cpu(k) for k in "abc")
            used = ", ".join(f"({k}) {r.cpu(k) / r.wall(k):.2f}" for k in "abc")
            out.append(f"  cores each run got on average (CPU/wall): {used}; were the {cores()} cores all ours, "
                       f"CPU time would predict (a)/(b) ~ {a / (b / cores()):.2f} and (b)/((c)/{cores()}) ~ {b / c:.2f} "
                       "(an estimate, not a measurement)")
        if r.dask_ratio:
            verdict = "met" if r.dask_ratio <= TARGET_DASK else "NOT met"
            ratios = ", ".join(f"{t['d'].wall / t['b'].wall:.2f}" for t in r.rounds)
            rounds = f"; rounds: {ratios}" if len(r.rounds) > 1 else ""
            out.append(f"  (d)/(b) = {r.dask_ratio:.2f} (target <= {TARGET_DASK}: {verdict}{rounds})")
            out += ["  " + line for line in dask_lines(r)]
        clean = True
        for title, problems in [("runs that failed", r.failed)] + list(r.differences.items()):
            if problems:
                ok = clean = False
                out.append(f"  {len(problems)} {title}:")
                out += [f"    {p}" for p in problems[:20]]
                if len(problems) > 20:
                    out.append(f"    ... and {len(problems) - 20} more")
        if clean:
            out.append(f"  (a) vs (b){' and (a) vs (d)' if r.dask_ratio else ''}: identical grades for all {r.size} "
                       "students (every grade cell), identical autograded notebooks apart from execution timestamps and stream chunking"
                       + (f", in each of the {len(r.rounds)} rounds" if len(r.rounds) > 1 else ""))
    return "\n".join(out), ok



def dask_lines(result):
    """(d)'s own figures, per submission, medians over the rounds."""
    n = result.size
    figure = result.dask_figure
    if figure("worker seconds") is None:
        return ["(d) printed no `cluster:` figures"]
    return [f"(d) per submission: {figure('bytes sent') / n / 1024:.1f} KiB sent (the student's files), "
            f"{figure('bytes returned') / n / 1024:.1f} KiB returned (autograded folder and gradebook rows); "
            f"{1000 * figure('worker seconds') / n:.0f} ms on a worker (write, grade, read back), "
            f"the client's merge thread {1000 * (figure('merge cpu seconds') or 0) / n:.1f} ms of CPU "
            f"({1000 * figure('merge seconds') / n:.1f} ms busy, in {figure('merge transactions') or 0:.0f} "
            "transactions); the course bundle "
            f"{figure('bundle bytes') / 1024:.0f} KiB once per worker, whose preflight took {figure('setup seconds'):.1f} s"]

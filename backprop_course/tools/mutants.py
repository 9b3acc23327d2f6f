"""`make mutants`'s verdict: how many mutants of the grader's trust core the tests kill.

After ``mutmut run`` (configured in pyproject.toml, ``[tool.mutmut]``), this reads mutmut's
results (``mutants/<module>.py.meta``) and prints, for each mutated module, its mutants, how
many the tests killed, and the kill rate. A mutant that no test kills must be listed in the
guide's "Mutation testing" table (``docs/mutation.md``) as equivalent, with the change it makes and why no test can
see it: the tool compares each listed change with the mutant's diff, so that a listing does
not go on explaining a mutant that has since changed. It exits with status 1 when a surviving
mutant is not listed, or a listed one is no longer a survivor with that change.

    python -m backprop_course.tools.mutants     # in the course root, after `mutmut run`
    python -m backprop_course.tools.mutants backprop_course/grader/lms.py   # one module's verdict
"""
from __future__ import annotations

import re
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: the guide's page whose table lists the equivalent mutants, relative to the course root
LISTING = Path("docs") / "mutation.md"
#: the issue's target: the share of each module's mutants the tests must kill
TARGET = 0.90
#: mutmut's statuses that count as the tests noticing the mutant (a timeout: it made them hang)
DETECTED = {"killed", "timeout", "segfault"}
#: a row of the guide's table of equivalent mutants: | `mutant name` | `the mutated line` | why it is equivalent |
LISTED = re.compile(r"^\|\s*`((?:backprop_course|answers)\.[^`]+__mutmut_\d+)`\s*\|\s*`(.+?)`\s*\|(.+)\|\s*$", re.M)


def modules(root=ROOT):
    """The files mutmut mutates (pyproject.toml's ``only_mutate``), in order."""
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["mutmut"]
    return list(config["only_mutate"])


def listed(root=ROOT):
    """{mutant name: (the mutated line, reason)} of the guide's table of equivalent mutants (:data:`LISTING`)."""
    text = (root / LISTING).read_text(encoding="utf-8")
    return {name: (change.strip(), why.strip()) for name, change, why in LISTED.findall(text)}


def statuses(path, root=ROOT):
    """{mutant name: status} of one mutated file, from mutmut's results."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code

    data = SourceFileMutationData(path=path)
    data.meta_path = root / "mutants" / f"{path}.meta"
    if not data.meta_path.exists():
        raise SystemExit(f"no mutmut results for {path} ({data.meta_path}): run `make mutants`")
    data.load()
    return {name: status_by_exit_code[code] for name, code in data.exit_code_by_key.items()}


def diff(name, path):
    """The mutant's change, as mutmut shows it (run in the course root)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    return get_diff_for_mutant(name, path=path)


def added_lines(patch):
    """The lines a unified diff adds, stripped."""
    return [line[1:].strip() for line in patch.splitlines() if line.startswith("+") and not line.startswith("+++")]


def module_of(path):
    """The dotted name mutmut gives the file's mutants: backprop_course/grader/lms.py -> backprop_course.grader.lms."""
    return path.removesuffix(".py").replace("/", ".")


def main(root=ROOT, only=()):
    """The verdict on every module of ``only_mutate``, or on those of ``only`` (paths as listed there)."""
    paths = modules(root)
    unknown = [path for path in only if path not in paths]
    if unknown:
        raise SystemExit(f"not in pyproject.toml's only_mutate: {', '.join(unknown)}")
    every = paths
    paths = [path for path in paths if path in only] if only else paths
    equivalent = {name: why for name, why in listed(root).items()
                  if any(name.startswith(module_of(path) + ".") for path in paths)}
    problems, rows, survivors = [], [], []
    for name in sorted(listed(root)):   # a module renamed or no longer mutated: its listing explains nothing
        if not any(name.startswith(module_of(path) + ".") for path in every):
            problems.append(f"{name} is listed in {LISTING}, but no module of only_mutate makes it (renamed?)")
    for path in paths:
        found = statuses(path, root)
        count = Counter(found.values())
        unchecked = [name for name, status in found.items() if status == "not checked"]
        if unchecked:
            problems.append(f"{path}: {len(unchecked)} mutants not run (an interrupted `mutmut run`?)")
        detected = sum(count[s] for s in DETECTED)
        left = {name: status for name, status in found.items() if status not in DETECTED | {"not checked"}}
        explained = 0
        for name, status in sorted(left.items(), key=lambda item: _order(item[0])):
            patch = diff(name, path)
            change = equivalent.get(name, (None, None))[0]
            if change is None:
                problems.append(f"{name} ({status}) is neither killed nor listed as equivalent in {LISTING}")
            elif change not in added_lines(patch):
                problems.append(f"{name}: {LISTING} lists the change `{change}`, but the mutant now makes another")
            else:
                explained += 1
            survivors.append((name, status, patch))
        total, run = len(found), len(found) - len(unchecked)
        rate = detected / run if run else None  # of the mutants run (an interrupted run says so above)
        rows.append((path, total, len(unchecked), count["killed"], count["timeout"] + count["segfault"], len(left),
                     explained, rate))
    for name in sorted(set(equivalent) - {s[0] for s in survivors}):
        problems.append(f"{name} is listed in {LISTING} as equivalent, but it is not a surviving mutant (killed, or gone)")

    print(f"\n{'module':40} {'mutants':>7} {'not run':>7} {'killed':>7} {'timeout':>7} {'survived':>8} {'listed':>6} "
          f"{'kill rate':>9}")
    for path, total, unrun, killed, timeout, left, explained, rate in rows:
        shown = f"{rate:9.1%}" if rate is not None else f"{'none run':>9}"   # no rate of nothing measured
        flag = "" if rate is not None and rate >= TARGET else f"  (below {TARGET:.0%})" if rate is not None else ""
        print(f"{path:40} {total:7} {unrun:7} {killed:7} {timeout:7} {left:8} {explained:6} {shown}{flag}")
    sums = [sum(r[i] for r in rows) for i in range(1, 7)]
    print(f"{'all':40} {sums[0]:7} {sums[1]:7} {sums[2]:7} {sums[3]:7} {sums[4]:8} {sums[5]:6} "
          f"{(sums[2] + sums[3]) / max(sums[0] - sums[1], 1):9.1%}")
    if survivors:
        print(f"\nsurviving mutants ({len(survivors)}); equivalent ones are listed in {LISTING}:")
        for name, status, patch in survivors:
            mark = "listed" if name in equivalent else "NOT LISTED"
            print(f"\n# {name}: {status}, {mark}\n{patch}")
    if problems:
        print("\n" + "\n".join(problems), file=sys.stderr)
        return 1
    return 0


def _order(name):
    base, _, number = name.rpartition("__mutmut_")
    return base, int(number)


if __name__ == "__main__":
    sys.exit(main(only=sys.argv[1:]))

"""Executed copies of the lecture notebooks, for reading on GitHub (``make rendered``).

    python -m backprop_course.tools.rendered [--out notebooks/rendered]

The lectures are stored clean, without outputs, so GitHub shows them without a single figure;
GitHub runs nothing, but it shows a notebook's stored outputs. This writes each lecture,
executed in a fresh kernel, to ``notebooks/rendered/`` (committed), under a note that says
what it is. tests/course/test_lectures.py checks that each copy holds its lecture's cells.

GitHub draws no widgets, so each widget's output is replaced by a snapshot of what it showed
when the notebook ran: its images, then its HTML, then a line saying how to run it. The snapshot
is taken when the cell that displayed the widget has finished, not at the end of the notebook:
a later cell that moves the widget's sliders changes the later cell's picture only. Links out
of ``notebooks/`` get one more ``../``, since the copies sit one folder deeper; links between
lectures stay, and lead from copy to copy.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

from .site import lecture_notebooks

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
OUT = NOTEBOOKS / "rendered"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
LINK = re.compile(r"(\]\()([^)\s]+)(\))")
NOTE = ("*An executed copy of [{name}](../{name}), written by `make rendered` so that GitHub shows its "
        "figures. Widgets appear as a snapshot. To run the lecture and move the sliders, open "
        "[the lecture itself](../{name}) in JupyterLab (`make lab`).*")


def relink(markdown: str, lectures: set[str]) -> str:
    """Markdown links as seen from notebooks/rendered/: one more ``../``, except between lectures."""

    def sub(m):
        url = m.group(2)
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url) or url.startswith(("#", "/")) or url.split("#")[0] in lectures:
            return m.group(0)
        return f"{m.group(1)}../{url}{m.group(3)}"

    return LINK.sub(sub, markdown)


def expected_cells(lecture: nbformat.NotebookNode, name: str, lectures: set[str]) -> list[tuple[str, str]]:
    """(cell type, source) of the copy of a lecture: the note, then every cell, relinked."""
    cells = [("markdown", NOTE.format(name=name))]
    for cell in lecture.cells:
        cells.append((cell.cell_type, relink(cell.source, lectures) if cell.cell_type == "markdown" else cell.source))
    return cells


def _descendants(state: dict, model_id: str):
    """The widget models under ``model_id`` (itself first), depth first, in display order."""
    seen, stack = [], [model_id]
    while stack:
        mid = stack.pop()
        if mid in seen or mid not in state:
            continue
        seen.append(mid)
        children = state[mid]["state"].get("children", [])
        stack.extend(reversed([c.removeprefix("IPY_MODEL_") for c in children if isinstance(c, str)]))
    return seen


def widget_state(client) -> dict:
    """nbclient's widget state as it is now, in the layout of a notebook's saved state
    ({model_id: {"model_name", "state", "buffers"}}), copied so later messages leave it alone."""
    return {mid: {"model_name": st.get("_model_name"), "state": copy.deepcopy(st),
                  "buffers": copy.deepcopy(list(client.widget_buffers.get(mid, {}).values()))}
            for mid, st in client.widget_state.items()}


def execute_with_snapshots(path: str, timeout: int = 300):
    """Run a lecture in a fresh kernel in its own folder. Returns the executed notebook and
    {(cell index, model id): snapshot outputs}, each taken right after its cell ran."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent)}}, store_widget_state=True)
    snapshots = {}

    def on_cell_executed(cell, cell_index, execute_reply):
        views = [o for o in cell.get("outputs", []) if WIDGET_VIEW in o.get("data", {})]
        if views:
            state = widget_state(client)
            for output in views:
                snapshots[(cell_index, output["data"][WIDGET_VIEW]["model_id"])] = snapshot(output, state)

    client.on_cell_executed = on_cell_executed
    client.execute()
    return nb, snapshots


def snapshot(output, state: dict) -> list:
    """Plain outputs that show what a widget output showed: its PNG images, its HTML, a note."""
    images, html = [], []
    for mid in _descendants(state, output["data"][WIDGET_VIEW]["model_id"]):
        model = state[mid]
        if model["model_name"] == "ImageModel":
            for buffer in model.get("buffers", []):
                if buffer["path"] == ["value"] and buffer.get("encoding") == "base64":
                    images.append(buffer["data"])
        elif model["model_name"] == "HTMLModel" and model["state"].get("value"):
            html.append(model["state"]["value"])
    outputs = [nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<widget image>"})
               for png in images]
    outputs += [nbformat.v4.new_output("display_data", data={"text/html": value, "text/plain": "<widget text>"})
                for value in html]
    outputs.append(nbformat.v4.new_output("stream", name="stdout",
                                          text="(a snapshot of the widget: run the lecture in JupyterLab to use it)\n"))
    return outputs


def render(lecture_path: Path, executed: nbformat.NotebookNode, lectures: set[str],
           snapshots: dict | None = None) -> nbformat.NotebookNode:
    """The rendered copy of a lecture from its executed notebook; a widget output becomes its
    snapshot from ``snapshots`` ({(cell index, model id): outputs}), else one from the saved state."""
    state = executed.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    snapshots = snapshots or {}
    nb = nbformat.v4.new_notebook(metadata={k: v for k, v in executed.metadata.items() if k != "widgets"})
    nb.cells.append(nbformat.v4.new_markdown_cell(NOTE.format(name=lecture_path.name), id="rendered-note"))
    for index, cell in enumerate(executed.cells):
        cell = nbformat.from_dict(cell)
        if cell.cell_type == "markdown":
            cell.source = relink(cell.source, lectures)
        elif cell.cell_type == "code":
            outputs = []
            for output in cell.outputs:
                if WIDGET_VIEW in output.get("data", {}):
                    taken = snapshots.get((index, output["data"][WIDGET_VIEW]["model_id"]))
                    outputs += taken if taken is not None else snapshot(output, state)
                else:
                    outputs.append(output)
            cell.outputs = outputs
            cell.metadata.pop("execution", None)  # nbclient's timestamps: noise in every diff
        nb.cells.append(cell)
    return nb


def _execute(path: str):
    nb, snapshots = execute_with_snapshots(path)
    return path, nbformat.writes(nb), snapshots


def build(out: Path = OUT, notebooks_dir: Path = NOTEBOOKS, jobs: int | None = None, log=print) -> list[Path]:
    """Execute every lecture of ``notebooks_dir`` and write its rendered copy to ``out``."""
    lectures = lecture_notebooks(notebooks_dir)
    names = {p.name for p in lectures}
    out.mkdir(parents=True, exist_ok=True)
    jobs = jobs or min(len(lectures), 2)
    with ProcessPoolExecutor(jobs) as pool:
        executed = {path: (nb, snapshots) for path, nb, snapshots in pool.map(_execute, [str(p) for p in lectures])}
    written = []
    for path in lectures:
        text, snapshots = executed[str(path)]
        nb = render(path, nbformat.reads(text, as_version=4), names, snapshots)
        nbformat.validate(nb)
        nbformat.write(nb, out / path.name)
        size = (out / path.name).stat().st_size
        log(f"wrote {(out / path.name).relative_to(ROOT) if out.is_relative_to(ROOT) else out / path.name} "
            f"({size / 1024:.0f} KiB)")
        written.append(out / path.name)
    for stale in set(out.glob("*.ipynb")) - set(written):
        stale.unlink()
        log(f"removed {stale.name}, whose lecture is gone")
    return written


def main(argv=None) -> int:
    """`make rendered`: build the rendered lectures as ``argv`` asks; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m backprop_course.tools.rendered", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(OUT), help="output folder (default: notebooks/rendered)")
    parser.add_argument("--jobs", type=int, default=None, help="notebooks executed at once (default: 2)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    written = build(Path(args.out), jobs=args.jobs)
    print(f"{len(written)} rendered lectures in {args.out} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

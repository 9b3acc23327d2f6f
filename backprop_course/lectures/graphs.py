"""Lecture 7's computational graphs: drawn with matplotlib (no Graphviz), and a widget that steps
through a backward pass one node at a time.

A graph is data the caller gives: ``nodes``, a list in the order they were computed, each a dict
``{"label": "tanh", "data": 0.46, "inputs": [2]}`` (a leaf has no inputs and its name as label).
A backward pass is a list of *frames*, also the caller's: ``{"node": the index of the node that just
passed its gradient on (None before the first), "grads": [the gradient of each node so far, None
where nothing has arrived]}``. Nothing here differentiates: lecture 7's tape computes the frames.
"""
import ipywidgets as W
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .. import palette
from .widget_base import DescribedImage, WidgetBase, png

__all__ = ["layout", "figure_size", "draw_graph", "describe_graph", "graph_stepper", "GraphStepper"]


def layout(nodes):
    """(x, y) of each node: x its depth (the longest path from a leaf; a leaf one column before its first
    user), y spread within a column, in the order the nodes were computed."""
    depth = [0] * len(nodes)
    for k, node in enumerate(nodes):
        if node["inputs"]:
            depth[k] = 1 + max(depth[i] for i in node["inputs"])
    for k, node in enumerate(nodes):
        users = [u for u, other in enumerate(nodes) if k in other["inputs"]]
        if not node["inputs"] and users:
            depth[k] = min(depth[u] for u in users) - 1
    columns = {}
    for k, d in enumerate(depth):
        columns.setdefault(d, []).append(k)
    positions = [None] * len(nodes)
    for d, members in columns.items():
        for row, k in enumerate(members):
            positions[k] = (float(d), (len(members) - 1) / 2 - row)
    return positions


def figure_size(nodes):
    """(width, height) in inches that gives every box of ``layout`` room."""
    positions = layout(nodes)
    columns = 1 + max(p[0] for p in positions) - min(p[0] for p in positions)
    rows = 1 + max(p[1] for p in positions) - min(p[1] for p in positions)
    return min(12.0, 1.35 * columns + 0.4), 0.95 * rows + 0.9


def _number(value):
    return "–" if value is None else f"{value:.4g}"


def draw_graph(ax, nodes, grads=None, current=None, done=(), title=None):
    """The graph on ``ax`` (``figure_size`` gives it room): a box per node (its operation, data and gradient), an arrow
    from each input to the node it feeds; ``current`` (the node passing its gradient on) and its arrows
    drawn bold, the nodes in ``done`` (finished) on a darker fill."""
    positions = layout(nodes)
    grads = grads or [None] * len(nodes)
    for k, node in enumerate(nodes):
        for i in node["inputs"]:
            bold = k == current
            start, end = positions[i], positions[k]
            ax.add_patch(FancyArrowPatch((start[0] + 0.42, start[1]), (end[0] - 0.42, end[1]), arrowstyle="-|>",
                                         mutation_scale=9, linewidth=2.2 if bold else 0.8,
                                         color=palette.BLUE if bold else palette.NEUTRAL, zorder=1))
    for k, (node, (x, y)) in enumerate(zip(nodes, positions)):
        fill = palette.INPUT_FILL if not node["inputs"] else palette.NEURON_FILL
        if k in done:
            fill = "#D9E8F2"
        ax.add_patch(FancyBboxPatch((x - 0.4, y - 0.33), 0.8, 0.66, boxstyle="round,pad=0.02", zorder=2,
                                    facecolor=fill, edgecolor=palette.BLUE if k == current else palette.BLACK,
                                    linewidth=2.4 if k == current else 0.8))
        ax.text(x, y + 0.17, node["label"], ha="center", va="center", fontsize=8.5, fontweight="bold", zorder=3)
        ax.text(x, y - 0.02, _number(node["data"]), ha="center", va="center", fontsize=7.5, zorder=3)
        ax.text(x, y - 0.2, f"grad {_number(grads[k])}", ha="center", va="center", fontsize=7, zorder=3,
                color=palette.NOTE_TEXT)
    xs, ys = [p[0] for p in positions], [p[1] for p in positions]
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.5, max(ys) + 0.5)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def describe_graph(nodes, grads=None, current=None):
    """The graph in words (a figure's text alternative): each node, what it is computed from, its gradient."""
    grads = grads or [None] * len(nodes)
    parts = []
    for k, node in enumerate(nodes):
        inputs = ", ".join(nodes[i]["label"] + f" (node {i})" for i in node["inputs"])
        parts.append(f"node {k}, {node['label']}" + (f" of {inputs}" if inputs else " (a leaf)")
                     + f": data {_number(node['data'])}, grad {_number(grads[k])}")
    where = "" if current is None else f" Node {current} ({nodes[current]['label']}) has just passed its gradient on."
    return "A computational graph, inputs on the left, the result on the right. " + "; ".join(parts) + "." + where


class GraphStepper(WidgetBase):
    """The backward pass through a graph, one node at a time.

    ``frames`` (see the module) are the caller's: frame 0 before the backward pass, then one per node
    that passes its gradient on. Buttons: ``back_button``, ``step_button``, ``all_button``,
    ``reset_button``. State: ``step`` (the frame shown). Widgets: ``image``, ``readout``.
    """

    def __init__(self, nodes, frames, title=None):
        if not frames:
            raise ValueError("frames is empty: give at least the frame before the backward pass")
        self.nodes, self.frames, self.title, self.step = nodes, frames, title, 0
        self.back_button = W.Button(description="◀ Back")
        self.step_button = W.Button(description="Backward step ▶", button_style="success")
        self.all_button = W.Button(description="All steps")
        self.reset_button = W.Button(description="Reset")
        self.back_button.on_click(lambda _b: self.go(self.step - 1))
        self.step_button.on_click(lambda _b: self.go(self.step + 1))
        self.all_button.on_click(lambda _b: self.go(len(self.frames) - 1))
        self.reset_button.on_click(lambda _b: self.go(0))
        self.readout, self.image = W.HTML(), DescribedImage(format="png")
        self.figure = Figure(figsize=figure_size(nodes))
        self.ui = W.VBox([W.HBox([self.back_button, self.step_button, self.all_button, self.reset_button]),
                          self.readout, self.image])
        self.go(0)

    def go(self, step):
        """Show frame ``step`` (clipped to the frames there are)."""
        self.step = int(min(max(step, 0), len(self.frames) - 1))
        frame = self.frames[self.step]
        current = frame["node"]
        done = {f["node"] for f in self.frames[1:self.step + 1]}
        self.figure.clear()
        ax = self.figure.add_axes([0.01, 0.01, 0.98, 0.88 if self.title else 0.98])
        draw_graph(ax, self.nodes, frame["grads"], current, done, self.title)
        self.image.value = png(self.figure)
        self.image.tooltip = describe_graph(self.nodes, frame["grads"], current)
        if current is None:
            text = "Before the backward pass: no gradient yet. Press <b>Backward step</b>."
        else:
            node = self.nodes[current]
            sent = ", ".join(self.nodes[i]["label"] for i in node["inputs"]) or "nothing (a leaf)"
            text = (f"step {self.step} of {len(self.frames) - 1}: <b>{node['label']}</b> (node {current}), whose "
                    f"gradient {_number(frame['grads'][current])} is complete, adds its shares to {sent}")
        self.readout.value = text


def graph_stepper(nodes, frames, title=None):
    """A GraphStepper: the graph ``nodes`` and the backward pass ``frames`` (see the module), one step per click."""
    return GraphStepper(nodes, frames, title)

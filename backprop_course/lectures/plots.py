"""Figures of the lecture notebooks.

Every function draws into ``ax`` (or ``axes``) when given one, otherwise it makes a new
figure, and returns the matplotlib ``Figure``. In a notebook, end the cell with ``;``
or assign the result, otherwise the figure is shown twice. Colours come from the course's
colour-blind-safe palette (``palette``); each ``describe_*`` function says in words what
the figure of the same name shows (the alt text of the widgets' images).
"""
import numpy as np

from .. import palette

__all__ = ["pointwise", "plot_activation", "plot_all_activations", "draw_network", "network_figsize",
           "plot_descent", "describe_activation", "describe_network", "describe_descent"]

POS, NEG = palette.POSITIVE, palette.NEGATIVE  # colours of positive and negative weights
GAP = 2.0  # vertical distance between neurons of a layer in draw_network


def _new_axes(ax, figsize, ncols=1):
    """Return (fig, ax) drawing into ``ax`` or into a new pyplot figure."""
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt  # only here, so widgets can draw without pyplot
    fig, ax = plt.subplots(1, ncols, figsize=figsize)
    return fig, ax


def pointwise(f, net):
    """f at every entry of ``net``, one number at a time: works for a φ written for one number only."""
    return np.array([float(f(float(v))) for v in np.ravel(net)]).reshape(np.shape(net))


def plot_activation(phi, phi_prime, name, ax=None, net_range=(-6.0, 6.0), mark=None):
    """Plot an activation φ and its derivative φ′ over ``net_range``.

    Inputs:
    - phi, phi_prime: φ and φ′, functions of one number net (they are called one number at a
      time, so a φ written for one number only is fine)
    - name: what to call it in the title, e.g. 'sigmoid'
    - ax: matplotlib Axes to draw into, or None for a new figure
    - net_range: (low, high) of the horizontal axis net
    - mark: optional float net; draws the point (net, φ(net)) and its tangent

    Returns the Figure.
    """
    fig, ax = _new_axes(ax, (4.5, 3.2))
    net = np.linspace(net_range[0], net_range[1], 601)
    ax.plot(net, pointwise(phi, net), color=palette.BLUE, lw=2, label=r"$\phi(net)$")
    ax.plot(net, pointwise(phi_prime, net), color=palette.ORANGE, lw=2, ls="--", label=r"$\phi'(net)$")
    ax.axhline(0, color=palette.NEUTRAL, lw=0.8)
    ax.axvline(0, color=palette.NEUTRAL, lw=0.8)
    if mark is not None:
        o, slope = float(phi(mark)), float(phi_prime(mark))
        half = 0.12 * (net_range[1] - net_range[0])
        ax.plot([mark - half, mark + half], [o - slope * half, o + slope * half],
                color="k", lw=1, ls=":")
        ax.plot([mark], [o], "o", color="k", ms=8, zorder=5)
        ax.annotate(f"net={mark:.2f}\no={o:.3f}\nφ′={slope:.3f}", (mark, o),
                    textcoords="offset points", xytext=(8, -38), fontsize=9)
    ax.set_xlim(*net_range)
    ax.set_title(name)
    ax.set_xlabel("net")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    return fig


def plot_all_activations(activations):
    """One panel per activation, each with φ (solid) and φ′ (dashed). Returns the Figure.

    activations: {name: (φ, φ′)}, e.g. the notebook's sigmoid and ReLU and the package's
    ``activations.ACTIVATIONS``; two panels per row.
    """
    import matplotlib.pyplot as plt
    rows = (len(activations) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(10, 3.5 * rows), squeeze=False)
    for (name, (phi, phi_prime)), ax in zip(activations.items(), axes.ravel()):
        plot_activation(phi, phi_prime, name, ax=ax)
        ax.set_ylim(-1.2, 2.2)
    for ax in axes.ravel()[len(activations):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def _fmt(v):
    """Short, readable number: fixed point, or scientific when tiny."""
    v = float(v)
    if v == 0 or abs(v) >= 1e-3:
        return f"{v:.3f}"
    return f"{v:.1e}"


def _default_names(layer_sizes):
    """Node names in the seed lecture's notation: inputs i, hidden neurons j, output neurons l.

    Neurons are numbered as in the seed lecture (neurons 1, 2 hidden, neuron 3 output).
    """
    names, count = [], 0
    for k, n in enumerate(layer_sizes):
        if k == 0:
            names.append([f"$o_{{i={a + 1}}}$" for a in range(n)])
            continue
        letter = "l" if k == len(layer_sizes) - 1 else ("j" if k == 1 else f"h{k}")
        names.append([f"${letter}={count + a + 1}$" for a in range(n)])
        count += n
    return names


def network_figsize(layer_sizes, scale=0.95):
    """Figure size (inches) that fits ``draw_network(layer_sizes)`` without margins."""
    return (scale * (3.0 * (len(layer_sizes) - 1) + 1.6),
            scale * ((max(layer_sizes) - 1) * GAP + 2.2 + 0.4))


def draw_network(layer_sizes, values=None, weights=None, deltas=None, biases=None,
                 ax=None, node_names=None, title=None):
    """Draw a fully connected network, labelled with its numbers.

    Inputs:
    - layer_sizes: sequence of K layer sizes, e.g. (3, 2, 1) for the seed lecture's network
    - values: None or a list of K sequences; values[k][a] is the output o of node a in
      layer k (for the input layer, the inputs o_i); drawn inside the nodes
    - weights: None or a list of K-1 arrays; weights[k] has shape
      (layer_sizes[k], layer_sizes[k+1]) and weights[k][a, b] is the weight from node a
      of layer k into node b of layer k+1 (w_ij, then w_jl); drawn on the edges,
      blue for positive, vermillion (orange-red) for negative, width growing with |w|
    - deltas: None or a list of K entries (None for the input layer), δ under each neuron
    - biases: None or a list of K entries (None for the input layer), b under each neuron
    - ax: Axes to draw into, or None for a new figure
    - node_names: None (the seed lecture's i, j, l names) or a list of K lists of strings
    - title: optional title

    Returns the Figure.
    """
    K = len(layer_sizes)
    fig, ax = _new_axes(ax, network_figsize(layer_sizes))
    names = node_names or _default_names(layer_sizes)
    top = max(layer_sizes)

    def pos(k, a):
        n = layer_sizes[k]
        return 3.0 * k, (n - 1) / 2.0 * GAP - GAP * a  # centred columns

    # Edges first, so nodes are drawn over them.
    if weights is not None:
        for k in range(K - 1):
            W = np.asarray(weights[k], dtype=float)
            scale = max(np.abs(W).max(), 1e-12)
            n_out = layer_sizes[k + 1]
            for a in range(layer_sizes[k]):
                for b in range(n_out):
                    (x0, y0), (x1, y1) = pos(k, a), pos(k + 1, b)
                    w = W[a, b]
                    ax.plot([x0, x1], [y0, y1], color=POS if w >= 0 else NEG,
                            lw=0.6 + 2.4 * abs(w) / scale, alpha=0.55, zorder=1)
                    # Labels of edges leaving one node sit at different depths.
                    f = 0.28 + 0.3 * (b / max(n_out - 1, 1)) if n_out > 1 else 0.45
                    ax.text(x0 + f * (x1 - x0), y0 + f * (y1 - y0), _fmt(w),
                            fontsize=8, ha="center", va="center", zorder=3,
                            bbox=dict(boxstyle="round,pad=0.15", fc="white",
                                      ec=POS if w >= 0 else NEG, lw=0.6))
    else:
        for k in range(K - 1):
            for a in range(layer_sizes[k]):
                for b in range(layer_sizes[k + 1]):
                    (x0, y0), (x1, y1) = pos(k, a), pos(k + 1, b)
                    ax.plot([x0, x1], [y0, y1], color="0.6", lw=1, zorder=1)

    import matplotlib.patches as mpatches
    for k in range(K):
        for a in range(layer_sizes[k]):
            x, y = pos(k, a)
            face = palette.INPUT_FILL if k == 0 else palette.NEURON_FILL
            ax.add_patch(mpatches.Circle((x, y), 0.42, fc=face, ec="k", lw=1.2, zorder=4))
            ax.text(x, y + 0.55, names[k][a], ha="center", va="bottom", fontsize=10,
                    zorder=5)
            if values is not None and values[k] is not None:
                label = "o=" if k > 0 else ""
                ax.text(x, y, label + _fmt(values[k][a]), ha="center", va="center",
                        fontsize=9, zorder=5)
            below = []
            if biases is not None and k > 0 and biases[k] is not None:
                below.append("b=" + _fmt(biases[k][a]))
            if deltas is not None and k > 0 and deltas[k] is not None:
                below.append("δ=" + _fmt(deltas[k][a]))
            if below:
                ax.text(x, y - 0.5, "\n".join(below), ha="center", va="top", fontsize=8.5,
                        zorder=5, color=palette.NOTE_TEXT)
    ax.set_xlim(-0.8, 3.0 * (K - 1) + 0.8)
    half = (top - 1) / 2.0 * GAP
    ax.set_ylim(-half - 1.25, half + 0.95)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_descent(ws, loss, w_star=None, axes=None, title=None, w_range=None):
    """Gradient descent on a loss of one weight: the path on the curve and the loss per step.

    Inputs:
    - ws: array of shape (S+1,), the weight after 0, 1, ..., S steps
    - loss: function mapping an array of weights to an array of losses
    - w_star: optional weight of the minimum, marked on the curve
    - axes: None or a pair of Axes (curve, loss per step)
    - title: optional title of the left panel
    - w_range: optional (low, high) of the left panel; by default around the start

    Returns the Figure.
    """
    if axes is None:
        fig, axes = _new_axes(None, (10, 3.6), ncols=2)
    left, right = axes
    fig = left.figure
    ws = np.asarray(ws, dtype=float)
    centre = w_star if w_star is not None else ws[0]
    if w_range is None:
        r = 1.4 * max(abs(ws[0] - centre), 0.5)
        w_range = (centre - r, centre + r)
    grid = np.linspace(w_range[0], w_range[1], 400)
    left.plot(grid, loss(grid), color="0.3", lw=1.5)
    inside = (ws >= w_range[0]) & (ws <= w_range[1])
    shown = ws[: np.argmin(inside) if not inside.all() else len(ws)]
    left.plot(shown, loss(shown), "-o", color=palette.VERMILLION, ms=4, lw=1)
    left.plot([ws[0]], [loss(ws[:1])[0]], "s", color="k", ms=7, label="start")
    if w_star is not None:
        left.axvline(w_star, color=palette.BLUISH_GREEN, ls=":", label="minimum")
    left.set_xlim(*w_range)
    left.set_ylim(bottom=-0.05 * loss(np.array([w_range[0]]))[0])
    left.set_xlabel("w")
    left.set_ylabel("e(w)")
    left.legend(fontsize=8, loc="upper center")
    if title:
        left.set_title(title, fontsize=10)
    losses = loss(ws)
    right.semilogy(np.arange(len(ws)), np.maximum(losses, 1e-300), "-o", ms=3, color=palette.BLUE)
    right.set_xlabel("step")
    right.set_ylabel("e (log scale)")
    right.grid(True, which="major", alpha=0.3)
    return fig


# --------------------------------------------------------------------------- in words


def describe_activation(phi, phi_prime, name, net_range=(-6.0, 6.0), mark=None):
    """What ``plot_activation`` shows, in words."""
    text = (f"The {name} activation o = φ(net) (solid line) and its derivative φ′(net) (dashed) "
            f"for net from {net_range[0]:g} to {net_range[1]:g}")
    if mark is not None:
        text += (f", with the point net = {mark:.2f}, o = {float(phi(mark)):.3f} marked and its tangent "
                 f"of slope φ′ = {float(phi_prime(mark)):.3f}")
    return text + "."


def describe_network(layer_sizes, values=None, weights=None, deltas=None, biases=None, title=None):
    """What ``draw_network`` shows, in words: the layers, and every number written in the figure."""
    kinds = ["input"] + ["hidden"] * (len(layer_sizes) - 2) + ["output"]
    layers = ", ".join(f"{n} {kind} {'node' if kind == 'input' else 'neuron'}{'s' if n != 1 else ''}"
                       for n, kind in zip(layer_sizes, kinds))
    text = f"Diagram of a fully connected network: {layers}"
    text += f" ({title})." if title else "."

    def numbers(layer):
        return ", ".join(_fmt(v) for v in np.ravel(layer))

    for k, kind in enumerate(kinds):
        parts = []
        if values is not None and values[k] is not None:
            parts.append(f"{'values' if k == 0 else 'outputs o'} {numbers(values[k])}")
        if biases is not None and k > 0 and biases[k] is not None:
            parts.append(f"biases b {numbers(biases[k])}")
        if deltas is not None and k > 0 and deltas[k] is not None:
            parts.append(f"δ {numbers(deltas[k])}")
        if parts:
            text += f" Layer {k + 1} ({kind}): " + "; ".join(parts) + "."
    if weights is not None:
        for k, W in enumerate(weights):
            text += (f" Weights from layer {k + 1} to layer {k + 2}, row by row from each node: "
                     f"{numbers(W)} (drawn blue when positive, vermillion when negative, thicker when larger).")
    return text


def describe_descent(ws, loss, w_star=None):
    """What ``plot_descent`` shows, in words."""
    ws = np.asarray(ws, dtype=float)
    with np.errstate(over="ignore"):
        losses = loss(ws)
    text = (f"Left: the loss e(w) as a curve, and the path of gradient descent on it over {len(ws) - 1} steps, "
            f"from w = {ws[0]:.4g} to w = {ws[-1]:.4g}")
    if w_star is not None:
        text += f" (the minimum is at w = {w_star:.4g})"
    return text + (f". Right: the loss after each step, on a log scale, from {losses[0]:.3g} to {losses[-1]:.3g}.")

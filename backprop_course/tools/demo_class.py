"""Writes the demo class that `make grade` grades when there is no real class.

    python -m backprop_course.tools.demo_class            # (re)writes examples/demo_class/submitted

Each student hands in the released notebook with their solution cells filled in, taken from
the catalogue: complete, partly done, blank, typical mistakes, and one broken file.
"""
import copy
import shutil
from pathlib import Path

import nbformat

from ..grader.assignments import COURSE_ROOT as ROOT, assignments
from answers.catalogue import CATALOGUE, reference_cells, strip_markers

OUT = ROOT / "examples" / "demo_class" / "submitted"
BLANK, BROKEN = "blank", "broken-json"

#: student -> assignment -> a catalogue submission, BLANK, BROKEN, or the exercises done (a tuple)
CLASS = {
    "ada":       {"01_neuron": "01-correct-where", "02_backprop": "02-correct-numpy"},
    "grace":     {"01_neuron": "01-correct-python", "02_backprop": "02-correct-loops"},
    "alan":      {"01_neuron": ("activations", "derivatives", "loss"), "02_backprop": ("neuron_backward",)},
    "barbara":   {"01_neuron": BLANK, "02_backprop": BLANK},
    "edsger":    {"01_neuron": "01-activations-relu-if", "02_backprop": "02-neuron-hidden-no-phi-prime"},
    "katherine": {"01_neuron": "01-derivatives-of-net", "02_backprop": "02-train-updated-weights"},
    "linus":     {"01_neuron": "01-loss-gradient-sign", "02_backprop": "02-network-first-output-only"},
    "margaret":  {"01_neuron": "01-forward-original-constructor", "02_backprop": "02-neuron-relu-sigmoid-derivative"},
    "donald":    {"01_neuron": "01-loss-no-half", "02_backprop": "02-train-first-sample-only"},
    "ken":       {"01_neuron": "01-forward-no-bias", "02_backprop": "02-network-updated-weights"},
    "john":      {"01_neuron": "01-correct-ufuncs", "02_backprop": BROKEN},
    "hedy":      {"01_neuron": "01-correct-python", "02_backprop": "02-train-losses-not-reset"},
}
for student, plan in {  # 03_vectorised
    "ada": "03-correct-einsum", "grace": "03-correct-loops", "alan": ("dense_layer", "softmax_cross_entropy"),
    "barbara": BLANK, "edsger": "03-dense-dW-transposed", "katherine": "03-softmax-no-max",
    "linus": "03-sgd-inputs-shuffled-only", "margaret": "03-grad-check-one-sided", "donald": "03-dense-db-not-summed",
    "ken": "03-softmax-gradient-not-averaged", "john": "03-correct-copies",
}.items():
    CLASS[student]["03_vectorised"] = plan
for student, plan in {  # 04_autograd
    "ada": "04-correct-explicit", "grace": "04-correct-local-first", "alan": ("grad_check", "value"),
    "barbara": BLANK, "edsger": "04-value-assign-not-add", "katherine": "04-backward-breadth-first",
    "linus": "04-step-grads-not-zeroed", "margaret": "04-stopping-on-training-set", "donald": "04-value-power-exponent-kept",
    "ken": "04-step-l2-on-biases", "john": "04-correct-einsum",
}.items():
    CLASS[student]["04_autograd"] = plan


def handed_in(assignment, plan):
    """The released notebook with the plan's solution cells filled in."""
    nb = nbformat.read(ROOT / "release" / assignment / assignments()[assignment].notebook, as_version=4)
    if plan == BLANK:
        return nb
    if isinstance(plan, tuple):
        cells = {gid: strip_markers(src) for gid, src in reference_cells(assignment).items() if gid in plan}
    else:
        cells = next(s for s in CATALOGUE if s.name == plan and s.assignment == assignment).cells
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in cells:
            cell.source = cells[grade_id]
    return nb


def main(out=OUT):
    """Write the demo class's submissions to ``out`` (examples/demo_class/submitted), anew."""
    shutil.rmtree(out, ignore_errors=True)
    for student, plans in CLASS.items():
        for assignment, plan in plans.items():
            path = Path(out) / student / assignment / assignments()[assignment].notebook
            path.parent.mkdir(parents=True, exist_ok=True)
            if plan == BROKEN:  # saved while the disk was full: the JSON stops half-way
                text = nbformat.writes(handed_in(assignment, BLANK))
                path.write_text(text[: len(text) // 3], encoding="utf-8")
            else:
                nbformat.write(handed_in(assignment, plan), path)
    print(f"wrote {len(CLASS)} students to {out}")


if __name__ == "__main__":
    main()

"""The seeded 2-D classification data sets, as the lecture notebooks import them: they live in
``backprop_course.datasets``, a leaf of the package that 03's checks import too. This name stays
for the notebooks already handed out, whose locked setup cells import it from here."""
from ..datasets import spirals, split, two_moons, xor  # noqa: F401 (re-exported for the notebooks)

__all__ = ["two_moons", "spirals", "xor", "split"]

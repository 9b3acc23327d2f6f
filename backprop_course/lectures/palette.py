"""The course's colours, as the notebooks import them (``from backprop_course.lectures.palette
import STYLE``): the palette itself lives in ``backprop_course.palette``, a leaf of the package
that the grade report imports too. This name stays for the notebooks already handed out, whose
locked setup cells import it from here."""
from ..palette import *  # noqa: F401,F403 (every colour, re-exported for the notebooks)

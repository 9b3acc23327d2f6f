"""The course's colours: the Okabe–Ito palette, which readers with any common colour-vision
deficiency can tell apart (Okabe & Ito, "Color Universal Design", 2008; the palette of
Wong, Nature Methods 8, 441, 2011).

The lectures' figures, the widgets and the grade report take their colours from here (a leaf of
the package, which imports none of its rooms), and
``STYLE`` makes the same palette matplotlib's colour cycle ("C0", "C1", ... and every
``plot`` without a colour), for the figures a notebook draws itself::

    import matplotlib.pyplot as plt
    from backprop_course.palette import STYLE
    plt.style.use(STYLE)

A colour never carries a meaning alone: lines also differ in style, bars are labelled, and
the text says what a colour marks.
"""
from cycler import cycler  # matplotlib's own dependency

BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"

#: matplotlib's colour cycle: the most distinct first (yellow, weak on white, last)
CYCLE = [BLUE, ORANGE, BLUISH_GREEN, VERMILLION, REDDISH_PURPLE, SKY_BLUE, BLACK, YELLOW]

POSITIVE, NEGATIVE = BLUE, VERMILLION  # weights, gradients: the sign of a number
#: text on white that marks something wrong: vermillion darkened to a contrast of 5.8:1 (WCAG AA: 4.5:1)
WARNING_TEXT = "#A94800"
NEUTRAL = "#999999"     # axes, guides
INPUT_FILL, NEURON_FILL = "#F2F2F2", "#FFF3D6"  # backgrounds of the network diagram's nodes (grey, pale yellow)
NOTE_TEXT = "#5A3E00"   # dark brown: δ and b under a neuron, 10:1 on white
#: the classes of a classification figure: a colour and a marker each (never the colour alone),
#: and the regions the net gives each class: its colour mixed with 70 % white
CLASS_COLOURS = [BLUE, ORANGE, BLUISH_GREEN, VERMILLION, REDDISH_PURPLE]
CLASS_MARKERS = ["o", "s", "^", "D", "v"]
CLASS_FILLS = ["#B2D5E8", "#F8E2B2", "#B2E2D5", "#F2CFB2", "#F0D7E5"]

#: rcParams for ``plt.style.use`` / ``matplotlib.rc_context``
STYLE = {"axes.prop_cycle": cycler(color=CYCLE), "image.cmap": "cividis"}

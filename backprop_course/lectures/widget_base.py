"""What every lecture widget is built on: a figure as PNG bytes, an image with a text
alternative, and an object that shows its ``ui`` when a notebook displays it.

Figures are drawn without pyplot and shown as PNG in a ``DescribedImage``, whose ``tooltip``
(the image's title, which screen readers read as its text alternative) says what it shows.
"""
import io

import ipywidgets as W
import traitlets


def png(fig, dpi=90):
    """The PNG bytes of a matplotlib Figure at ``dpi`` (for an ipywidgets.Image)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)  # fixed layout: "tight" would draw twice
    return buf.getvalue()


class DescribedImage(W.Image):
    """An ``ipywidgets.Image`` whose ``tooltip`` works: the image's title, its text alternative.

    ipywidgets 8's browser side reads ``description`` when it sets an Image's tooltip, and the
    Image model has none: the view fails to render ("Cannot read properties of undefined"),
    in JupyterLab and on the static site alike. An empty ``description`` makes it set the title.
    """

    description = traitlets.Unicode("").tag(sync=True)


class WidgetBase:
    """A lecture widget: an object holding its ipywidgets (``ui``) and what it computed, which
    shows ``self.ui`` when it is displayed in a notebook (the last expression of a cell)."""

    ui = None

    def _repr_mimebundle_(self, **kwargs):
        return self.ui._repr_mimebundle_(**kwargs)

    def _ipython_display_(self):
        from IPython.display import display
        display(self.ui)


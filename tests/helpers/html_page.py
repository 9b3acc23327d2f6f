"""The tests' one reader of a rendered page's tables (the report, the feedback): what a reader of
the page sees in its tables, list items, paragraphs, title and headings, and its images.

Texts are as a browser shows them: entities decoded, ``<br>`` a line break, surrounding space
stripped; a text holds the text of every element inside it (a ``<code>`` in a cell, say).
"""
from html.parser import HTMLParser

#: the elements whose text a Page keeps
TEXT_TAGS = ("td", "th", "li", "p", "title", "h1", "h2", "h3")


class Page(HTMLParser):
    """One page, read whole: ``Page(html)``.

    - ``tables``: each <table> as a list of rows, each a list of its cells' texts (header row first);
    - ``items``, ``paragraphs``: the texts of every <li>, every <p>, in page order;
    - ``title``: the <title>'s text; ``headings``: (tag, text) of every <h1>…<h3>;
    - ``images``: every <img>'s attributes, as a dict.
    """

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.tables, self.items, self.paragraphs, self.headings, self.images = [], [], [], [], []
        self.title = None
        self._open = []  # [tag, text parts] of each text element open here, innermost last
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in TEXT_TAGS:
            self._open.append((tag, []))
        elif tag == "br":
            self.handle_data("\n")
        elif tag == "img":
            self.images.append(dict(attrs))

    def handle_endtag(self, tag):
        if tag not in TEXT_TAGS or not self._open or self._open[-1][0] != tag:
            return
        _, parts = self._open.pop()
        text = "".join(parts).strip()
        if self._open:  # an element inside another: its text is the outer one's too
            self._open[-1][1].append(text)
        if tag in ("td", "th"):
            self.tables[-1][-1].append(text)
        elif tag == "li":
            self.items.append(text)
        elif tag == "p":
            self.paragraphs.append(text)
        elif tag == "title":
            self.title = text
        else:
            self.headings.append((tag, text))

    def handle_data(self, data):
        if self._open:
            self._open[-1][1].append(data)

    def table(self, *header):
        """The one table whose header row starts with ``header``, as {column: cell text} per row."""
        (found,) = [t for t in self.tables if t and t[0][:len(header)] == list(header)]
        return [dict(zip(found[0], row)) for row in found[1:]]

    def rows_of(self, student):
        """The rows of the table headed "student" that are ``student``'s, as {column: cell text}."""
        return [row for row in self.table("student") if row["student"] == student]

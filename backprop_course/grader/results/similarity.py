"""Code similarity across a class: which pairs of submissions share more code than chance.

Each submission is one :class:`Document`: the code cells the student wrote, in notebook order.
copydetect (the winnowing fingerprints of MOSS, Schleimer, Wilkerson and Aiken 2003, as a
maintained PyPI package) tokenises it with pygments and normalises it: every name becomes
``V``/``F``/``O``, strings ``S``, comments and whitespace go. So renaming variables, reordering
functions and rewriting comments or layout change nothing. Its fingerprints are the hashes of
every ``noise``-character stretch of that normalised code.

Three kinds of code are not evidence and are taken out before any comparison:

- the **shared base**: every fingerprint of the course's own code (the release notebook, whose
  given code and stubs every student starts from, and the lectures, which show the idioms);
- **common code**: a fingerprint found in more than ``common`` submissions (MOSS's ``-m``): the
  way most of the class writes a line is no evidence that two of them copied;
- **short matches**: a pair sharing less than ``min_overlap`` characters of normalised code.

A pair is listed when at least ``threshold`` of one submission's remaining code is found in the
other (copydetect's similarity, each way). The n² pairs stay tractable because no pair is
compared unless the two share a fingerprint: an inverted index from fingerprint to the (at most
``common``) submissions that hold it yields the candidate pairs, at most ``common²/2`` per
fingerprint, and only those go to copydetect's comparison.

Fingerprints are every k-gram (copydetect's ``guarantee_t = noise_t``, window 1), not a winnowed
sample: copydetect hashes with Python's ``hash()``, which is salted per process, so a winnowed
sample (and a score near the threshold) would change from run to run; all k-grams are as
deterministic as the text, and no shared stretch of ``noise`` characters is missed.

Nothing here reads a file: the documents come from grader/results/review.py, which reads them through
the intake. The overlap is returned as plain text segments; the report escapes them.
"""
from __future__ import annotations

import io
import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from ..intake.safezip import printable

#: copydetect's language name for pygments
LANGUAGE = "python"
#: what joins a submission's cells: longer than any k-gram once normalised ("pass;" stays as it is),
#: so that no fingerprint spans two cells (which the release, whose test cells lie between, never has)
SEPARATOR = "\n\n" + "pass;" * 8 + "\n\n"


def join(sources):
    """Cells' sources as one text for copydetect, no fingerprint across two of them."""
    return SEPARATOR.join(sources)
#: the longest line shown of a submission, and the most characters of one side of a pair
LINE_CHARS = 240
SIDE_CHARS = 12_000


@dataclass(frozen=True)
class Settings:
    """How similar is too similar (``c.Similarity`` in nbgrader_config.py, see grader/results/review.py)."""
    threshold: float = 0.7      # share of one submission's own code found in the other
    min_overlap: int = 150      # characters of normalised code the two share, at least
    noise: int = 20             # copydetect's noise threshold: the shortest stretch that counts
    common: int = 10            # a stretch in more submissions than this is the class's common code
    context: int = 2            # lines shown around the overlap


@dataclass(frozen=True)
class Document:
    """One submission's code: [(cell label, source)] in notebook order."""
    owner: str                              # a student id, or "<term>/<student>" of an earlier term
    cells: tuple[tuple[str, str], ...]
    past: bool = False                      # from an earlier term: compared with this term's only

    @property
    def text(self):
        """The submission's code, its cells joined."""
        return join(source for _, source in self.cells)

    def cell_starts(self):
        """The offset in :attr:`text` where each cell begins."""
        starts, at = [], 0
        for _, source in self.cells:
            starts.append(at)
            at += len(source) + len(SEPARATOR)
        return starts


@dataclass
class Pair:
    """Two submissions that share code, and where."""
    a: Document
    b: Document
    share_a: float          # of a's own code (after the shared base and common code), the part found in b
    share_b: float
    overlap: int            # characters of normalised code of a found in b
    slices_a: list[tuple[int, int]] = field(repr=False, default_factory=list)   # [start, end) in a.text
    slices_b: list[tuple[int, int]] = field(repr=False, default_factory=list)

    @property
    def score(self):
        """How alike the pair is: the larger of the two shares of code each has in common with the other."""
        return max(self.share_a, self.share_b)


@dataclass
class Comparison:
    """What :func:`compare` found, and what it cost."""
    pairs: list[Pair]           # above the threshold, most similar first
    documents: int              # submissions compared (this term's and earlier terms')
    possible: int               # the pairs there are (this term's with each other and with earlier terms)
    compared: int               # the pairs that shared a fingerprint and were compared
    common: int                 # fingerprints set aside as the class's common code


def base_fingerprints(sources, settings=Settings(), also=None):
    """Every fingerprint of the course's own code (``sources``: strings), and of ``also`` (an
    earlier result of this function), as a sorted array."""
    from copydetect import CodeFingerprint

    hashes = [np.fromiter(CodeFingerprint("base.py", settings.noise, 1, fp=io.StringIO(source),
                                          language=LANGUAGE).hashes, dtype=np.int64)
              for source in sources]
    return np.unique(np.concatenate([np.array([], dtype=np.int64), *hashes, *([also] if also is not None else [])]))


def _fingerprint(document, base, settings):
    from copydetect import CodeFingerprint

    return CodeFingerprint("submission.py", settings.noise, 1, boilerplate=base,
                           fp=io.StringIO(document.text), language=LANGUAGE)


def _drop(fingerprint, hashes, k):
    """Take ``hashes`` out of a copydetect fingerprint, as its boilerplate is."""
    from copydetect.utils import get_token_coverage

    gone = fingerprint.hashes & hashes
    if gone:
        fingerprint.hashes = fingerprint.hashes - gone
        for h in gone:
            fingerprint.hash_idx.pop(h, None)
        fingerprint.token_coverage = get_token_coverage(fingerprint.hash_idx, k, len(fingerprint.filtered_code))


def compare(documents, base, settings=Settings()):
    """The pairs of ``documents`` above the threshold (see the module's docstring).

    ``base``: :func:`base_fingerprints` of the course's own code. A pair of two earlier terms'
    documents is never compared.
    """
    from copydetect import compare_files

    prints = [_fingerprint(d, base, settings) for d in documents]
    holders = Counter(h for p in prints for h in p.hashes)
    common = {h for h, n in holders.items() if n > settings.common}
    index = defaultdict(list)
    for i, p in enumerate(prints):
        _drop(p, common, settings.noise)
        for h in p.hashes:
            index[h].append(i)
    candidates = set()
    for owners in index.values():
        for i, j in itertools.combinations(owners, 2):
            if not (documents[i].past and documents[j].past):
                candidates.add((i, j))
    pairs = []
    for i, j in sorted(candidates):
        overlap, (share_a, share_b), (slices_a, slices_b) = compare_files(prints[i], prints[j])
        if overlap >= settings.min_overlap and max(share_a, share_b) >= settings.threshold:
            pairs.append(Pair(documents[i], documents[j], float(share_a), float(share_b), int(overlap),
                              _ranges(slices_a, len(documents[i].text)), _ranges(slices_b, len(documents[j].text))))
    pairs.sort(key=lambda p: (-p.score, p.a.owner, p.b.owner))
    now = sum(1 for d in documents if not d.past)
    possible = now * (now - 1) // 2 + now * (len(documents) - now)
    return Comparison(pairs, len(documents), possible, len(candidates), len(common))


def _ranges(slices, length):
    """copydetect's 2×N slices as sorted, merged [start, end) ranges within the text."""
    ranges = sorted((max(0, int(s)), min(length, int(e))) for s, e in zip(*slices) if int(e) > int(s))
    merged = []
    for start, end in ranges:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif start < end:
            merged.append((start, end))
    return merged


# --- the overlap, side by side ----------------------------------------------------------------

@dataclass
class Line:
    """One line of a cell in the side-by-side view, split into overlapping and other text."""
    number: int                             # in its cell, from 1
    segments: list[tuple[str, bool]]        # (text, part of the overlap?), printable


@dataclass
class CellView:
    """One cell of a submission in the side-by-side view."""
    label: str
    lines: list[Line | int]                 # a Line, or the number of lines left out there
    cut: bool = False                       # the side was cut short at SIDE_CHARS


def side(document, ranges, context=Settings.context):
    """The cells of ``document`` that hold part of the overlap, each line split into plain and
    overlapping segments, lines farther than ``context`` from the overlap left out (counted)."""
    views, shown = [], 0
    for (label, source), start in zip(document.cells, document.cell_starts()):
        end = start + len(source)
        inside = [(max(s, start) - start, min(e, end) - start) for s, e in ranges if s < end and e > start]
        if not inside:
            continue
        view = CellView(printable(label), [])
        lines, at = source.split("\n"), 0
        spans = []
        for number, text in enumerate(lines, 1):
            spans.append((number, at, text))
            at += len(text) + 1
        hit = [any(s < offset + len(text) + 1 and e > offset for s, e in inside) for _, offset, text in spans]
        near = [any(hit[max(0, n - context):n + context + 1]) for n in range(len(spans))]
        skipped = 0
        for (number, offset, text), keep in zip(spans, near):
            if not keep:
                skipped += 1
                continue
            if skipped:
                view.lines.append(skipped)
                skipped = 0
            view.lines.append(Line(number, _segments(text, offset, inside)))
            shown += min(len(text), LINE_CHARS)
            if shown > SIDE_CHARS:
                view.cut = True
                break
        if skipped:
            view.lines.append(skipped)
        views.append(view)
        if view.cut:
            break
    return views


def _segments(text, offset, inside):
    """``text`` (one line, at ``offset`` in its cell) cut at the overlap's edges, printable, at most LINE_CHARS."""
    cuts = {0, len(text)}
    for s, e in inside:
        cuts.update(min(max(x - offset, 0), len(text)) for x in (s, e))
    bounds = sorted(cuts)
    segments, used = [], 0
    for lo, hi in zip(bounds, bounds[1:]):
        piece = text[lo:hi].expandtabs(4)
        if used + len(piece) > LINE_CHARS:
            piece = piece[:max(0, LINE_CHARS - used)] + "…"
        used += len(piece)
        matched = any(s - offset <= lo and hi <= e - offset for s, e in inside)
        segments.append((printable(piece), matched))
        if used >= LINE_CHARS:
            break
    return segments

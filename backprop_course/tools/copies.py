"""Planted copies: a submission's code disguised the ways a student who copies it would.

- :func:`rename`: every variable the cell assigns gets another name (parameters, functions,
  attributes and keywords stay: the tests call them by name);
- :func:`reorder`: the cell's functions and classes in reverse order, and a class's methods too;
- :func:`recomment`: its comments dropped, others written, blank lines and trailing spaces added.

:func:`disguise` does all three to every cell and reverses the order of the cells' own code
paths. The result is still valid Python that computes the same. tests/grader/results/test_similarity.py plants
such copies in a class; `make bench` plants them among a thousand submissions.
"""
from __future__ import annotations

import ast
import io
import tokenize


def _stored_names(tree):
    """The names a cell assigns (variables, loop targets), not its functions, classes or parameters."""
    defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    params = {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
              for a in [*n.posonlyargs, *n.args, *n.kwonlyargs, n.vararg, n.kwarg] if a is not None}
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return stored - defined - params


def rename(source, salt="copied"):
    """``source`` with every variable it assigns renamed (``total`` → ``copied_total_1``)."""
    try:
        names = sorted(_stored_names(ast.parse(source)))
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (SyntaxError, tokenize.TokenError):
        return source
    new = {name: f"{salt}_{name.strip('_') or 'v'}_{i}" for i, name in enumerate(names, 1)}
    lines = source.splitlines(keepends=True)
    edits, depth, previous = [], 0, None
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        elif tok.type == tokenize.NAME and tok.string in new:
            after = next((t for t in tokens[i + 1:] if t.type not in (tokenize.NL, tokenize.COMMENT)), None)
            keyword_argument = depth > 0 and after is not None and after.string == "="
            attribute = previous is not None and previous.string == "."
            if not (keyword_argument or attribute):
                edits.append((tok.start, tok.end, new[tok.string]))
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            previous = tok
    for (row, start), (_, end), name in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + name + line[end:]
    return "".join(lines)


def _blocks(body):
    """(first line, last line) of each statement of ``body`` (decorators included), 0-based."""
    spans = []
    for node in body:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
        spans.append((first, node.end_lineno - 1))
    return spans


def _reorder_body(body, lines):
    """The text of ``body``'s statements, definitions in reverse order among themselves."""
    spans = _blocks(body)
    definitions = [i for i, node in enumerate(body) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    order = list(range(len(body)))
    for place, i in zip(definitions, reversed(definitions)):
        order[place] = i
    out = []
    for i in order:
        node, (first, last) = body[i], spans[i]
        if isinstance(node, ast.ClassDef) and len(node.body) > 1:
            head_end = node.body[0].lineno - 1
            head = lines[first:head_end]
            inner = _reorder_body(node.body, lines)
            out.append("\n".join(head) + "\n" + inner)
        else:
            out.append("\n".join(lines[first:last + 1]))
    return "\n\n".join(out)


def reorder(source):
    """``source`` with its top-level functions and classes, and each class's methods, in reverse order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    return _reorder_body(tree.body, source.splitlines())


def recomment(source, note="my working"):
    """``source`` without its comments, with others, blank lines and trailing spaces added."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source
    comments = {tok.start[0]: tok.start[1] for tok in tokens if tok.type == tokenize.COMMENT}
    strings = {row for tok in tokens if tok.type == tokenize.STRING for row in range(tok.start[0] + 1, tok.end[0] + 1)}
    out = []
    for row, line in enumerate(source.splitlines(), 1):
        if row in comments:
            line = line[:comments[row]].rstrip()
            if not line.strip():
                continue
        if row in strings:   # inside a multi-line string: as it is
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        continued = bool(out) and out[-1].rstrip().endswith("\\")
        if line.strip() and row % 3 == 1 and not continued:
            out.append(f"{indent}# {note} ({row})")
        out.append(line + ("  " if not line.rstrip().endswith("\\") else ""))
        if line.rstrip().endswith(":") and row % 2:
            out.append("")
    return "\n".join(out)


def disguise(cells, salt="copied"):
    """{label: source} with every cell renamed, reordered and re-commented."""
    return {label: recomment(reorder(rename(source, salt))) for label, source in cells.items()}

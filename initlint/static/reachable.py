"""The part of a file static analysis can reach, parsed without the rest.

Static mode runs a file's classes, its factories (functions callable with no
argument) and whatever they call by name. A top-level function that nothing
else in the file names, and that needs an argument, is none of these: its
body is never read. Model files carry a lot of such code (metrics, data
helpers, plotting), and parsing it was most of the time ``--static`` spent on
it. Its lines are blanked before parsing, so every other line and column
stays where it was, and the tree is the one a full parse would give minus
those functions.

When in doubt the whole text is parsed: a decorator (a registry may call the
function), a name that appears anywhere else in the text (even in a string or
a longer name), a signature that does not plainly start with a required
parameter, a body whose end is not plain (unbalanced triple quotes, a line
continued by a backslash), Windows line ends; and after parsing, a tree whose
top-level classes and functions are not the ones the text's lines show.

Full mode never uses this: a function unnamed in its own file may be called
from another file at run time.
"""

from __future__ import annotations

import ast
import re

from ..discover import parse_source

# `def name(first,` or `def name(first)`: a required first parameter (no default, no annotation, no *).
_REQUIRES_AN_ARGUMENT = re.compile(r"(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)[ \t]*\([ \t]*[A-Za-z_]\w*[ \t]*[,)]")
_TOP_LEVEL = re.compile(r"^(?:(class)[ \t]|(?:async[ \t]+)?(def)[ \t])", re.MULTILINE)


def parse_reachable(path: str, text: str, keep: frozenset[str] = frozenset()) -> ast.Module:
    """``parse_source`` of what static analysis can reach in ``text``; ``keep`` names functions to keep
    whatever they look like (configured entries). ``Unparsable`` as ``parse_source`` raises it."""
    reduced = _without_unreachable_functions(text, keep)
    if reduced is not None:
        blanked_text, removed = reduced
        try:
            tree = parse_source(path, blanked_text)
        except Exception:  # the whole text says what is wrong, if anything is
            return parse_source(path, text)
        if _outline(tree) == _written_outline(text, removed):
            return tree
    return parse_source(path, text)


def _without_unreachable_functions(text: str, keep: frozenset[str]) -> tuple[str, int] | None:
    """The text with the lines of unreachable top-level functions blank, and how many there were; None
    when there are none."""
    if "\r" in text:
        return None
    lines = text.split("\n")
    removed = 0
    for index, line in enumerate(lines):
        if not line.startswith(("def ", "async ")):
            continue
        found = _REQUIRES_AN_ARGUMENT.match(line)
        if found is None or found[1] in keep or text.count(found[1]) != 1 or _decorated(lines, index):
            continue
        end = index + 1
        while end < len(lines) and (not lines[end] or lines[end][0] in " \t#"):
            end += 1
        body = "\n".join(lines[index:end])
        if body.count('"""') % 2 or body.count("'''") % 2 or body.rstrip().endswith("\\"):
            continue
        lines[index:end] = [""] * (end - index)
        removed += 1
    return ("\n".join(lines), removed) if removed else None


def _decorated(lines: list[str], index: int) -> bool:
    """Whether the previous line at the left margin (not a comment) is a decorator, or may end one."""
    before = index - 1
    while before >= 0 and (not lines[before].strip() or lines[before][0] in " \t#"):
        before -= 1
    return before >= 0 and lines[before][0] in "@)]}"


def _outline(tree: ast.Module) -> tuple[int, int]:
    """(top-level classes, top-level functions) of a tree."""
    classes = sum(isinstance(node, ast.ClassDef) for node in tree.body)
    functions = sum(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) for node in tree.body)
    return classes, functions


def _written_outline(text: str, removed: int) -> tuple[int, int]:
    """(classes, functions) whose lines start at the left margin, less the ``removed`` functions."""
    classes = functions = 0
    for found in _TOP_LEVEL.finditer(text):
        if found[1]:
            classes += 1
        else:
            functions += 1
    return classes, functions - removed

"""Static mode: the facts of a file's models from its source alone, without importing torch.

``analyze_source`` parses the file with ``ast``, runs each model's constructor
and forward over abstract values (``construct``, ``forward``), and returns the
same ``FileFacts`` full mode produces, with status ``static``. Whatever the
source does not decide is left out or left unpaired, so no rule judges it.
"""

from __future__ import annotations

import ast

from ..shared.facts import AnalysisProblem, FileFacts, ProblemKind, Span
from ..shared.positions import Positions
from .construct import is_module_class
from .models import is_abstract, model_facts
from .source import read_module


def analyze_source(path: str, text: str) -> FileFacts:
    """Static facts of every nn.Module class defined at the top level of ``text``."""
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as error:
        line, column = error.lineno or 1, error.offset or 1
        problem = AnalysisProblem(
            ProblemKind.SYNTAX_ERROR, f"syntax error: {error.msg}", Span(path, line, column, line, column)
        )
        return FileFacts(path, problem=problem)
    except (ValueError, RecursionError, MemoryError) as error:  # null bytes, absurd nesting
        message = f"syntax error: {error}" if isinstance(error, ValueError) else "cannot parse: nested too deeply"
        return FileFacts(path, problem=AnalysisProblem(ProblemKind.SYNTAX_ERROR, message, Span(path, 1, 1, 1, 1)))
    positions = Positions(path, text)
    _, classes = read_module(tree, text)
    models = tuple(
        model_facts(path, cls, positions) for cls in classes if is_module_class(cls) and not is_abstract(cls)
    )
    return FileFacts(path, models)


__all__ = ["analyze_source"]

"""Static mode: the facts of a file's models from its source alone, without importing torch.

``analyze_source`` parses the file with ``ast``, runs each model's constructor
and forward over abstract values (``construct``, ``forward``), and returns the
same ``FileFacts`` full mode produces, with status ``static``. Models are built
as full mode builds them: a class with no arguments or from its config's
defaults (``models``, ``recipes``), or as the file's own script builds and
initialises it (``scripts``). Whatever the source does not decide is left out
or left unpaired, so no rule judges it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

from ..config import Entry
from ..discover import Unparsable
from ..shared.facts import BUILDING_BLOCK, ERROR, SKIPPED, FileFacts, ModelFacts
from ..shared.positions import Positions
from .construct import is_module_class
from .models import configured_model_facts, is_abstract, model_facts
from .reachable import parse_reachable
from .scripts import script_models
from .source import read_module


def analyze_source(path: str, text: str, entries: Sequence[Entry] = ()) -> FileFacts:
    """Static facts of every nn.Module class defined at the top level of ``text``, and of the configured
    ``entries`` of this file (a class with keyword arguments, in place of the class's own check)."""
    try:
        tree = parse_reachable(path, text, frozenset(e.attribute for e in entries))
    except Unparsable as unparsable:
        return FileFacts(path, problem=unparsable.problem)
    _, classes = read_module(tree, text)
    if not any(is_module_class(cls) for cls in classes):
        return FileFacts(path)  # no model class: nothing to build, here or by a script
    positions = Positions(path, text)
    script = script_models(path, tree, text, classes, positions)
    notes = {r.model_class: r.note for r in script.raised}
    by_name = {cls.name: cls for cls in classes if is_module_class(cls)}
    configured = [
        configured_model_facts(path, by_name[e.attribute], e.name, dict(e.kwargs), positions)
        for e in entries
        if e.attribute in by_name
    ]
    replaced = {*script.replaced, *(e.attribute for e in entries if e.attribute in by_name)}
    checked = [cls for cls in by_name.values() if not is_abstract(cls) and cls.name not in replaced]
    blocks = _components([*configured, *script.models])
    own: dict[str, ModelFacts] = {}
    here = os.path.normcase(os.path.abspath(path))  # as ``component_classes`` names the file
    for cls in reversed(checked):  # a model is mostly defined after its blocks: built first, they need no build
        if (here, cls.name) in blocks:
            own[cls.name] = ModelFacts(path, cls.name, cls.node.lineno, SKIPPED, BUILDING_BLOCK)
            continue
        own[cls.name] = _noted(model_facts(path, cls, positions, classes), notes.get(cls.name))
        blocks |= _components([own[cls.name]])
    return FileFacts(path, (*(own[cls.name] for cls in checked), *configured, *script.models))


def _components(models: Sequence[ModelFacts]) -> set[tuple[str, str]]:
    """The classes built inside these models: building blocks, judged inside them (as ``judge`` decides)."""
    return {key for m in models if m.status not in (ERROR, SKIPPED) for key in m.component_classes}


def _noted(facts: ModelFacts, note: str | None) -> ModelFacts:
    """A class checked on its own because the script's build of it raises: its detail says so."""
    if note is None:
        return facts
    return replace(facts, detail=f"{facts.detail}; {note}" if facts.detail else note)


__all__ = ["analyze_source"]

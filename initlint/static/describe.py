"""``LayerFacts`` for a built module tree and its forward's pairings, with the builder full mode uses."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ..shared.facts import LayerFacts
from ..shared.graph import Pairing
from ..shared.knowledge.modules import ATTENTION, CONV, CONV_TRANSPOSE, RECURRENT
from ..shared.layer_facts import layer_facts as shared_layer_facts
from ..shared.writes import SiteKey
from .inits import noted_sites, param_init
from .layers import true_fans
from .objects import ModuleObj
from .recurrent import mode
from .values import ClassInfo


def layer_kind(module: ModuleObj) -> str | None:
    """dense | conv | conv_transpose | recurrent | attention for torch layers (and the file's subclasses
    of them), custom for hand-made ones."""
    if module.kind is not None:
        return module.kind
    weight = module.params.get("weight")
    if isinstance(module.cls, ClassInfo) and not any(True for _ in module.named_children()) and weight is not None:
        return "custom" if weight.shape is not None and len(weight.shape) >= 2 else None
    return None


def _certain_modules(root: ModuleObj) -> set[int]:
    """Modules that exist for sure: not built (or under a module built) in a branch that may not run."""
    certain: set[int] = set()
    stack = [root]
    while stack:
        module = stack.pop()
        if module.uncertain or id(module) in certain:
            continue
        certain.add(id(module))
        stack.extend(child for _, child in module.named_children())
    return certain


def generic_sites(modules: Sequence[tuple[str, ModuleObj]]) -> set[SiteKey]:
    """Call sites that initialised more than one parameter (a loop, ``apply``) of these modules."""
    params_by_site: dict[SiteKey, set[int]] = defaultdict(set)
    for _, module in modules:
        for _, state in module.own_params():
            for key in noted_sites(state):
                params_by_site[key].add(id(state))
    return {key for key, params in params_by_site.items() if len(params) > 1}


def layer_facts(
    root: ModuleObj, modules: Sequence[tuple[str, ModuleObj]], pairings: dict[str, Pairing]
) -> tuple[LayerFacts, ...]:
    """Facts of every weight layer whose existence and size the source decides; ``modules`` are
    ``named_modules(root)``."""
    certain = _certain_modules(root)
    generic = generic_sites(modules)
    found = []
    for name, module in modules:
        kind = layer_kind(module)
        weight_state = module.params.get(module.spec.weight if module.spec is not None else "weight")
        if kind is None or id(module) not in certain or weight_state is None or weight_state.shape is None:
            continue
        if len(weight_state.shape) < 2 or (kind != "custom" and not isinstance(module.attrs.get("groups", 1), int)):
            continue
        bias_state = module.params.get("bias")
        found.append(
            shared_layer_facts(
                name,
                module.type_name,
                kind,
                param_init(weight_state, generic),
                param_init(bias_state, generic) if bias_state is not None else None,
                true_fans(module, kind, weight_state.shape),
                pairings.get(name),
                site=module.assigned,
                assigned=module.assigned,
                groups=module.attrs.get("groups", 1) if kind in (CONV, CONV_TRANSPOSE) else 1,
                # Full mode probes whether the weight is (out, in) or (in, out); from source only a square one is known.
                layout_known=kind != "custom" or weight_state.shape[0] == weight_state.shape[1],
                recurrent=(mode(module), module.attrs["hidden_size"]) if kind == RECURRENT else None,
                params=tuple((n, param_init(s, generic)) for n, s in module.own_params())
                if kind in (RECURRENT, ATTENTION)
                else (),
            )
        )
    return tuple(found)

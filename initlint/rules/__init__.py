"""The rule catalogue: every rule, its code, severity, doc, examples and check."""

from __future__ import annotations

from collections.abc import Iterable

from . import (
    constant_weight,
    default_init,
    fan_quirk,
    forget_gate_bias,
    gain_mismatch,
    init_scale,
    overwritten_init,
    recurrent_init,
    uninitialized_weight,
)
from .analysis import ANALYSIS_RULES, MODEL_SKIPPED, PARTIAL_TRACE, PROBLEM_RULES, STATIC_FALLBACK
from .base import ModelView, Rule, Settings, Verdict

MODEL_RULES: tuple[Rule, ...] = (
    gain_mismatch.RULE,
    default_init.RULE,
    init_scale.RULE,
    fan_quirk.RULE,
    overwritten_init.RULE,
    constant_weight.RULE,
    uninitialized_weight.RULE,
    recurrent_init.RULE,
    forget_gate_bias.RULE,
)
RULES: tuple[Rule, ...] = (*MODEL_RULES, *ANALYSIS_RULES)
BY_CODE = {rule.code: rule for rule in RULES}
BY_NAME = {rule.name: rule for rule in RULES}
assert len(BY_CODE) == len(RULES), "rule codes must be unique"


def find(code_or_name: str) -> Rule | None:
    return BY_CODE.get(code_or_name.upper()) or BY_NAME.get(code_or_name.lower())


def matches(code: str, selectors: Iterable[str]) -> bool:
    """``IL1`` selects IL100-IL199, ``ALL`` everything (ruff's prefix semantics)."""
    return any(s.upper() == "ALL" or code.startswith(s.upper()) for s in selectors)


def known_selector(selector: str) -> bool:
    return selector.upper() == "ALL" or any(code.startswith(selector.upper()) for code in BY_CODE)


__all__ = [
    "RULES",
    "MODEL_RULES",
    "BY_CODE",
    "find",
    "matches",
    "known_selector",
    "ModelView",
    "Rule",
    "Settings",
    "Verdict",
    "PROBLEM_RULES",
    "PARTIAL_TRACE",
    "MODEL_SKIPPED",
    "STATIC_FALLBACK",
]

"""The rule catalogue, found in this package: every module here but ``base`` and ``analysis`` is one rule.

A rule module defines ``RULE = Rule(...)``: its code, docs, examples (with the
findings they must produce in both modes), thresholds and ``check``. Adding a
rule is adding such a file; the catalogue, ``initlint rules``, the accepted
``[tool.initlint.thresholds]`` keys and the example tests all derive from it.
``analysis`` holds the IL9xx rules, which report problems of the analysis
itself (``shared.facts.ProblemKind``) rather than judge a model.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable

from .analysis import ALWAYS_REPORTED, ANALYSIS_RULES, MODEL_SKIPPED, PARTIAL_TRACE, PROBLEM_RULES, STATIC_FALLBACK
from .base import ModelView, Rule, Settings, Threshold, Verdict

_NOT_RULES = frozenset({"base", "analysis"})


def _discover() -> tuple[Rule, ...]:
    """The ``RULE`` of every rule module in this package, by code."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        if module.name in _NOT_RULES or module.name.startswith("_"):
            continue
        rule = getattr(importlib.import_module(f"{__name__}.{module.name}"), "RULE", None)
        if not isinstance(rule, Rule) or rule.check is None:  # a typo must not drop a rule silently
            raise ImportError(f"{__name__}.{module.name} defines no RULE = Rule(..., check=...)")
        found.append(rule)
    return tuple(sorted(found, key=lambda rule: rule.code))


MODEL_RULES: tuple[Rule, ...] = _discover()
RULES: tuple[Rule, ...] = (*MODEL_RULES, *ANALYSIS_RULES)
BY_CODE = {rule.code: rule for rule in RULES}
BY_NAME = {rule.name: rule for rule in RULES}
assert len(BY_CODE) == len(RULES), "rule codes must be unique"


def _thresholds() -> dict[str, Threshold]:
    """Every rule's thresholds by configuration key (a threshold several rules share is one key)."""
    found: dict[str, Threshold] = {}
    for rule in MODEL_RULES:
        for threshold in rule.thresholds:
            if found.setdefault(threshold.key, threshold) != threshold:
                raise ImportError(f"threshold {threshold.key!r} is defined twice, differently ({rule.code})")
    return found


THRESHOLDS: dict[str, Threshold] = _thresholds()


# Where the rules' documentation lives (SARIF's helpUri, the docs' links).
REPOSITORY = "https://github.com/initlint/initlint"
RULES_DOC = "docs/rules.md"


def rules_markdown() -> str:
    """``docs/rules.md``: every rule's documentation, one section each (``tests/test_docs.py`` keeps it current)."""
    parts = ["# initlint rules", "", "Generated from the rule catalogue (`initlint rule CODE` prints one).", ""]
    for rule in RULES:
        body = rule.doc().split("\n", 1)[1].replace("\n## ", "\n### ")
        parts += [f"## {rule.code} {rule.name}", body.rstrip(), ""]
    return "\n".join(parts)


def rule_url(rule: Rule) -> str:
    """The rule's section of docs/rules.md in the repository (GitHub's heading anchor)."""
    return f"{REPOSITORY}/blob/main/{RULES_DOC}#{rule.code.lower()}-{rule.name}"


def find(code_or_name: str) -> Rule | None:
    return BY_CODE.get(code_or_name.upper()) or BY_NAME.get(code_or_name.lower())


def matches(code: str, selectors: Iterable[str]) -> bool:
    """``IL1`` selects IL100-IL199, ``ALL`` everything (ruff's prefix semantics)."""
    return any(s.upper() == "ALL" or code.startswith(s.upper()) for s in selectors)


def known_selector(selector: str) -> bool:
    return selector.upper() == "ALL" or any(code.startswith(selector.upper()) for code in BY_CODE)


__all__ = [
    "ALWAYS_REPORTED",
    "REPOSITORY",
    "rule_url",
    "rules_markdown",
    "RULES",
    "MODEL_RULES",
    "BY_CODE",
    "THRESHOLDS",
    "find",
    "matches",
    "known_selector",
    "ModelView",
    "Rule",
    "Settings",
    "Threshold",
    "Verdict",
    "PROBLEM_RULES",
    "PARTIAL_TRACE",
    "MODEL_SKIPPED",
    "STATIC_FALLBACK",
]

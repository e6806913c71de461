"""Fixit-style: each rule's examples produce exactly the findings stored beside them, in both modes.

An INVALID example lists every finding it produces (code, line, layers, fix
text, severity) in its rule's file; a VALID one lists none of its rule's, so
it asserts silence. Each is checked with the full pipeline, as ``initlint
check`` and ``initlint check --static`` run it; where static mode cannot decide
or sees less, the example says so (``StaticDiffers``) and that is checked too.
The examples are the ones the rule's documentation shows, so docs and
behaviour cannot drift apart.
"""

from __future__ import annotations

import os

import pytest

from initlint import check_paths, rules
from initlint.findings import Finding
from initlint.options import Options
from initlint.rules.base import Example, Expect

CASES = [
    (rule, kind, index, example)
    for rule in rules.MODEL_RULES
    for kind, examples in (("invalid", rule.invalid), ("valid", rule.valid))
    for index, example in enumerate(examples)
]
IDS = [f"{rule.code}-{kind}-{index}" for rule, kind, index, _ in CASES]
MODES = ("full", "static")
STATUS = {"full": ("traced", "partial"), "static": ("static",)}


def _file(code: str, kind: str, index: int) -> str:
    return f"{code}_{kind}_{index}.py"


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Every example checked once per mode: {mode: (findings by file, model statuses by file)}."""
    directory = tmp_path_factory.mktemp("examples")
    for rule, kind, index, example in CASES:
        (directory / _file(rule.code, kind, index)).write_text(example.text)
    found = {}
    for mode in MODES:
        report = check_paths([str(directory)], Options(jobs=2, static=mode == "static"))
        by_file: dict[str, list[Finding]] = {}
        statuses: dict[str, set[str]] = {}
        for finding in report.findings:
            by_file.setdefault(os.path.basename(finding.path), []).append(finding)
        for entry in report.models:
            statuses.setdefault(os.path.basename(entry.path), set()).add(entry.status)
        found[mode] = by_file, statuses
    return found


def snapshot(finding: Finding) -> Expect:
    """A finding as an example stores it."""
    fix = "\n".join(edit.content for edit in finding.fix.edits) if finding.fix is not None else None
    severity = None if finding.severity == rules.BY_CODE[finding.code].severity else finding.severity
    return Expect(finding.code, finding.line, finding.layers, fix, severity)


def _key(expect: Expect) -> tuple:
    return expect.line, expect.code, expect.layers


def as_source(expects: list[Expect]) -> str:
    """The snapshot as it would be written in the rule's file (to paste when a change is meant)."""
    return "expect=(" + "".join(f"\n    {e!r}," for e in expects) + "\n)"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rule,kind,index,example", CASES, ids=IDS)
def test_example_gives_exactly_its_findings(reports, mode, rule, kind, index, example: Example):
    by_file, statuses = reports[mode]
    name = _file(rule.code, kind, index)
    assert statuses.get(name) and statuses[name] <= set(STATUS[mode]), f"{name} was not analysed: {statuses.get(name)}"
    actual = sorted((snapshot(f) for f in by_file.get(name, [])), key=_key)
    expected = sorted(example.expected(static=mode == "static"), key=_key)
    assert actual == expected, f"{rule.code} {kind} {index} in {mode} mode now gives:\n{as_source(actual)}"


def test_every_model_rule_has_examples():
    for rule in rules.MODEL_RULES:
        assert rule.invalid and rule.valid, rule.code


@pytest.mark.parametrize("rule", rules.MODEL_RULES, ids=[r.code for r in rules.MODEL_RULES])
def test_invalid_examples_show_the_rule_and_valid_ones_are_silent(rule):
    for index, example in enumerate(rule.invalid):
        assert any(e.code == rule.code for e in example.expect), f"INVALID {index} does not expect {rule.code}"
    for index, example in enumerate(rule.valid):
        for static in (False, True):
            assert all(e.code != rule.code for e in example.expected(static)), f"VALID {index} expects {rule.code}"


@pytest.mark.parametrize("rule", rules.MODEL_RULES, ids=[r.code for r in rules.MODEL_RULES])
def test_static_differences_are_explained_and_real(rule):
    for example in (*rule.invalid, *rule.valid):
        if example.static is not None:
            assert example.static.why.strip(), rule.code
            assert example.static.expect != example.expect, f"{rule.code}: static mode no longer differs"

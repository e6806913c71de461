"""Fixit-style: every rule's INVALID examples trigger it, its VALID ones do not.

The examples live beside each rule and are the ones its documentation shows,
so docs and behaviour cannot drift apart.
"""

from __future__ import annotations

import pytest
from conftest import write

from initlint import rules
from initlint.engine import Options, check_paths
from initlint.findings import severity_rank

CASES = [
    (rule, kind, index, source)
    for rule in rules.MODEL_RULES
    for kind, sources in (("invalid", rule.invalid), ("valid", rule.valid))
    for index, source in enumerate(sources)
]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("examples")
    for rule, kind, index, source in CASES:
        write(directory, f"{rule.code}_{kind}_{index}.py", source)
    result = check_paths([str(directory)], Options(jobs=2))
    by_file = {}
    for finding in result.findings:
        by_file.setdefault(finding.path.rsplit("/", 1)[-1], []).append(finding)
    statuses = {m.path.rsplit("/", 1)[-1]: m.status for m in result.models}
    return by_file, statuses


def test_every_model_rule_has_examples():
    for rule in rules.MODEL_RULES:
        assert rule.invalid and rule.valid, rule.code


@pytest.mark.parametrize("rule,kind,index,source", CASES, ids=[f"{c[0].code}-{c[1]}-{c[2]}" for c in CASES])
def test_example(report, rule, kind, index, source):
    by_file, statuses = report
    name = f"{rule.code}_{kind}_{index}.py"
    assert statuses.get(name) in ("traced", "partial"), f"{name} was not analysed: {statuses.get(name)}"
    hits = [
        f
        for f in by_file.get(name, [])
        if f.code == rule.code and severity_rank(f.severity) >= severity_rank(rule.severity)
    ]
    if kind == "invalid":
        assert hits, f"{rule.code} did not fire on its INVALID example {index}"
    else:
        assert not hits, f"{rule.code} fired on its VALID example {index}: {hits[0].message}"

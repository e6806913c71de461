"""The README and the rule catalogue say the same thing."""

from pathlib import Path

from initlint import rules

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_readme_lists_every_rule_with_its_severity():
    for rule in rules.RULES:
        assert f"| {rule.code} | {rule.name} | {rule.severity} |" in README, rule.code


def test_every_rule_has_a_complete_doc():
    for rule in rules.RULES:
        doc = rule.doc()
        assert rule.summary and rule.what.strip() and rule.why.strip(), rule.code
        assert doc.startswith(f"# {rule.name} ({rule.code})")


def test_codes_are_grouped_by_meaning():
    for rule in rules.MODEL_RULES:
        assert rule.code[:3] in ("IL1", "IL2", "IL3"), rule.code
    assert all(r.code.startswith("IL9") for r in rules.RULES if r.check is None)

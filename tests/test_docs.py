"""The README and the rule catalogue say the same thing: the rule table and the thresholds come from the rules."""

import re
import shlex
import sys
from pathlib import Path

import click
import yaml

from initlint import rules

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def test_readme_rule_table_is_the_catalogue():
    """One row per rule, in code order: | code | name | severity | what it catches |."""
    rows = re.findall(r"^\| (IL\d{3}) \| ([a-z-]+) \| (\w+) \|", _section("Rules"), re.MULTILINE)
    expected = [(rule.code, rule.name, rule.severity) for rule in sorted(rules.RULES, key=lambda r: r.code)]
    missing = [f"| {c} | {n} | {s} | {rules.BY_CODE[c].summary} |" for c, n, s in expected if (c, n, s) not in rows]
    assert not missing, "add to the README's rule table:\n" + "\n".join(missing)
    assert rows == expected


def test_readme_thresholds_are_the_rules_thresholds():
    """The [tool.initlint.thresholds] example shows real thresholds at their defaults (each rule's doc lists its own)."""
    block = re.search(r"```toml\n(\[tool\.initlint\]\n.*?)```", _section("Configuration"), re.DOTALL).group(1)
    shown = tomllib.loads(block)["tool"]["initlint"]["thresholds"]
    assert shown and {key: float(value) for key, value in shown.items()} == {
        key: rules.THRESHOLDS[key].default for key in shown if key in rules.THRESHOLDS
    }


def test_every_rule_has_a_complete_doc():
    for rule in rules.RULES:
        doc = rule.doc()
        assert rule.summary and rule.what.strip() and rule.why.strip(), rule.code
        assert doc.startswith(f"# {rule.name} ({rule.code})")
        for threshold in rule.thresholds:
            assert f"`{threshold.key}` (default {threshold.default:g})" in doc, (rule.code, threshold.key)


def test_codes_are_grouped_by_meaning():
    for rule in rules.MODEL_RULES:
        assert rule.code[:3] in ("IL1", "IL2", "IL3"), rule.code
    assert all(r.code.startswith("IL9") for r in rules.RULES if r.check is None)


def test_docs_rules_md_is_the_catalogue():
    """docs/rules.md (SARIF's helpUri points into it) is generated: regenerate it with
    `python -c "from initlint import rules; open('docs/rules.md', 'w').write(rules.rules_markdown())"`."""
    written = (Path(__file__).resolve().parent.parent / "docs" / "rules.md").read_text()
    assert written == rules.rules_markdown()
    for rule in rules.RULES:  # every helpUri anchor exists as GitHub derives it from the heading
        anchor = rules.rule_url(rule).rsplit("#", 1)[1]
        assert f"\n## {rule.code} {rule.name}\n" in written and anchor == f"{rule.code} {rule.name}".lower().replace(
            " ", "-"
        )


def test_ruff_parity_table_is_generated_from_the_cli():
    """docs/ruff-parity.md lists every option of `initlint check`; a new option needs its row in initlint.parity."""
    from initlint import parity
    from initlint.cli import check

    options = [p.opts[0] for p in check.params if isinstance(p, click.Option)]
    assert [o for o in options if o not in parity.RUFF_EQUIVALENTS] == []
    assert [o for o in parity.RUFF_EQUIVALENTS if o not in options] == []  # no row for an option that is gone
    written = (Path(__file__).resolve().parent.parent / "docs" / "ruff-parity.md").read_text()
    assert written == parity.parity_markdown(check), "regenerate docs/ruff-parity.md (see initlint/parity.py)"


def test_the_github_actions_example_is_a_valid_workflow_that_runs_real_commands():
    """docs/github-actions.yml, shown verbatim in the README: workflow syntax, and initlint commands the CLI accepts."""
    from click.testing import CliRunner

    from initlint.cli import main

    text = (Path(__file__).resolve().parent.parent / "docs" / "github-actions.yml").read_text()
    assert f"```yaml\n{text}```" in README
    workflow = yaml.safe_load(text)
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) <= {"push", "pull_request", "workflow_dispatch"}
    [job] = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest" and job["permissions"]["security-events"] == "write"
    for step in job["steps"]:
        assert set(step) <= {"name", "uses", "with", "run", "if", "env"} and ("uses" in step) != ("run" in step)
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w/-]+@v\d+", step["uses"]), step["uses"]
    uses = {step["uses"].split("@")[0]: step for step in job["steps"] if "uses" in step}
    sarif_step = uses["github/codeql-action/upload-sarif"]
    commands = [
        line for step in job["steps"] for line in step.get("run", "").splitlines() if line.startswith("initlint")
    ]
    assert commands and any(f"-o {sarif_step['with']['sarif_file']}" in c for c in commands)
    for command in commands:  # each parses: options exist, values are valid (--help stops before running)
        result = CliRunner().invoke(main, [*shlex.split(command)[1:], "--help"])
        assert result.exit_code == 0, (command, result.output)
        context = main.commands["check"].make_context("check", shlex.split(command)[2:], resilient_parsing=False)
        assert context.params["output_format"] in {"sarif", "github"}

"""[tool.initlint] configuration: every key, bad values, and flags that override it."""

from __future__ import annotations

import pytest
from conftest import XAVIER_RELU, run_cli, run_json, run_process, write

from initlint import rules
from initlint.config import Config, ConfigError, find_config, load_config, parse_table

NORMAL_SMALL = XAVIER_RELU.replace(
    "nn.init.xavier_normal_(self.fc1.weight)", "nn.init.normal_(self.fc1.weight, std=0.1)"
)


def project(tmp_path, table: str, files: dict[str, str] | None = None):
    write(tmp_path, "pyproject.toml", f"[project]\nname = 'demo'\n\n[tool.initlint]\n{table}\n")
    for name, source in (files or {"models/m.py": XAVIER_RELU}).items():
        write(tmp_path, name, source)
    return tmp_path


def codes(tmp_path, *args: str) -> list[str]:
    return [f["code"] for f in run_json(*(args or (".",)), cwd=tmp_path)[1]["findings"]]


def test_ignore(tmp_path):
    assert codes(project(tmp_path, 'ignore = ["IL101"]')) == []


def test_select_and_extend_select(tmp_path):
    project(tmp_path, 'select = ["IL2"]\nextend-select = ["IL101"]')
    assert codes(tmp_path) == ["IL101"]


def test_flags_override_the_file(tmp_path):
    project(tmp_path, 'select = ["IL2"]')
    assert codes(tmp_path) == []
    assert codes(tmp_path, ".", "--select", "IL1") == ["IL101"]


def test_per_file_ignores(tmp_path):
    project(
        tmp_path,
        '[tool.initlint.per-file-ignores]\n"legacy/*" = ["IL1"]',
        {"legacy/old.py": XAVIER_RELU, "models/new.py": XAVIER_RELU},
    )
    found = run_json(".", cwd=tmp_path)[1]["findings"]
    assert [f["path"] for f in found] == ["models/new.py"]


def test_exclude(tmp_path):
    project(tmp_path, 'exclude = ["legacy"]', {"legacy/old.py": XAVIER_RELU, "models/new.py": XAVIER_RELU})
    assert [f["path"] for f in run_json(".", cwd=tmp_path)[1]["findings"]] == ["models/new.py"]


def test_fail_on(tmp_path):
    project(tmp_path, 'fail-on = "error"')
    assert run_cli("check", ".", cwd=tmp_path)[0] == 0
    assert run_cli("check", ".", "--fail-on", "warning", cwd=tmp_path)[0] == 1


def test_thresholds(tmp_path):
    # std 0.1 vs He 0.177 for Linear(64, 32) before ReLU: 0.57x; flagged at the default 1.25x tolerance
    project(tmp_path, "", {"m.py": NORMAL_SMALL})
    assert codes(tmp_path) == ["IL201"]
    project(tmp_path, "[tool.initlint.thresholds]\nscale-tolerance = 2.0", {"m.py": NORMAL_SMALL})
    assert codes(tmp_path) == []


def test_threshold_keys_are_the_ones_the_rules_declare():
    # the schema of [tool.initlint.thresholds] comes from the rule files (Rule.thresholds), no list in config.py
    keys = {key for rule in rules.MODEL_RULES for key in (t.key for t in rule.thresholds)}
    assert keys == set(rules.THRESHOLDS) and "absorbed-factor" in keys  # IL201's own, defined in its file
    config = parse_table({"thresholds": {key: 7 for key in keys}}, "pyproject.toml")
    assert all(config.settings[threshold] == 7.0 for threshold in rules.THRESHOLDS.values())
    assert Config().settings[rules.THRESHOLDS["gain-tolerance"]] == 1.1  # unset: the rule's default


def test_config_found_by_walking_up(tmp_path):
    project(tmp_path, 'ignore = ["IL101"]')
    assert find_config([str(tmp_path / "models" / "m.py")]) == str(tmp_path / "pyproject.toml")
    assert codes(tmp_path / "models", "m.py") == []


def test_explicit_config_path(tmp_path):
    project(tmp_path, 'ignore = ["IL101"]')
    write(tmp_path, "other/pyproject.toml", '[tool.initlint]\nselect = ["IL1"]\n')
    assert codes(tmp_path, ".", "--config", "other/pyproject.toml") == ["IL101"]


@pytest.mark.parametrize(
    "table,message",
    [
        ('selec = ["IL1"]', "unknown key 'selec'"),
        ('select = ["XX1"]', "unknown rule code or prefix 'XX1'"),
        ('select = "IL1"', "select must be a list"),
        ('fail-on = "fatal"', "fail-on must be one of"),
        ("timeout = -3", "timeout must be a positive number"),
        ('models = ["no_colon"]', "models entries look like 'package.module:factory'"),
        ("[tool.initlint.thresholds]\nscale-tolerance = 0.5", "greater than 1"),
        ("[tool.initlint.thresholds]\nspeed = 2", "unknown threshold 'speed'"),
        ('[tool.initlint.per-file-ignores]\n"a/*" = "IL1"', "must be a list of rule codes"),
    ],
)
def test_bad_config_is_a_clear_error_with_exit_2(tmp_path, table, message):
    project(tmp_path, table)
    result = run_process("check", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("initlint: error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_invalid_toml(tmp_path):
    write(tmp_path, "pyproject.toml", "[tool.initlint\nselect = 1\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(str(tmp_path / "pyproject.toml"))
    result = run_process("check", ".", cwd=tmp_path)
    assert result.returncode == 2 and "invalid TOML" in result.stderr


def test_a_standalone_initlint_toml_is_found_and_preferred_to_pyproject(tmp_path):
    write(tmp_path, "models/net.py", XAVIER_RELU)
    write(tmp_path, "pyproject.toml", '[tool.initlint]\nignore = ["IL2"]\n')
    write(tmp_path, "initlint.toml", 'ignore = ["IL101"]\n')  # top-level keys, preferred here
    assert find_config([str(tmp_path / "models" / "net.py")]) == str(tmp_path / "initlint.toml")
    _, document = run_json("--no-cache", "models", cwd=tmp_path)
    assert findings_of(document) == []
    write(tmp_path, ".initlint.toml", "select = []\n")  # the hidden name wins, as .ruff.toml does
    assert find_config([str(tmp_path)]) == str(tmp_path / ".initlint.toml")


def test_misplaced_and_unknown_keys_are_one_line_errors(tmp_path):
    write(tmp_path, "net.py", XAVIER_RELU)
    write(tmp_path, "initlint.toml", '[tool.initlint]\nignore = ["IL101"]\n')
    code, output = run_cli("check", "--no-cache", "net.py", cwd=tmp_path)
    assert code == 2 and "keys go at the top level of initlint.toml, not under [tool.initlint]" in output
    (tmp_path / "initlint.toml").unlink()
    write(tmp_path, "strict.toml", 'ignroe = ["IL101"]\n')  # --config with top-level keys: checked too
    code, output = run_cli("check", "--no-cache", "--config", "strict.toml", "net.py", cwd=tmp_path)
    assert code == 2 and "unknown key 'ignroe'" in output
    write(tmp_path, "other/pyproject.toml", '[project]\nname = "x"\n')
    code, output = run_cli("check", "--no-cache", "--config", "other/pyproject.toml", "net.py", cwd=tmp_path)
    assert code == 2 and "no [tool.initlint] table" in output


def findings_of(document: dict) -> list[str]:
    return [f["code"] for f in document["findings"]]

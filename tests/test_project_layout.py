"""File selection and configuration in real layouts, as ruff resolves them (issue 14 items 1-3 and 6).

Scratch git repositories: a monorepo whose package has its own pyproject.toml,
runs from subdirectories and from the repository root, paths spelled every way,
arguments in either order, configured models and .gitignore.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import DEEP_WITH_ARGUMENTS, XAVIER_RELU, run_json, run_process, write

GOOD = XAVIER_RELU.replace("nn.init.xavier_normal_(self.fc1.weight)", "nn.init.kaiming_normal_(self.fc1.weight)")


def git_repository(root) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)


def pyproject(directory, table: str) -> None:
    write(directory, "pyproject.toml", f"[project]\nname = 'x'\n\n[tool.initlint]\n{table}\n")


def findings(*args: str, cwd) -> list[tuple[str, str]]:
    """(path as shown, code) of every finding of ``initlint check --static ARGS`` run in ``cwd``."""
    _, document = run_json("--static", "--no-cache", *args, cwd=cwd)
    return sorted((f["path"], f["code"]) for f in document["findings"])


@pytest.fixture
def monorepo(tmp_path):
    """repo/pkg/pyproject.toml excludes legacy/; repo/pkg/legacy/old.py and repo/pkg/models/m.py are bad."""
    git_repository(tmp_path)
    pkg = tmp_path / "pkg"
    pyproject(pkg, 'exclude = ["legacy/"]')
    write(pkg, "legacy/old.py", XAVIER_RELU)
    write(pkg, "models/m.py", XAVIER_RELU)
    return tmp_path


@pytest.mark.parametrize(
    "where, spelled",
    [
        ("pkg", "legacy/old.py"),
        ("pkg", "./legacy/old.py"),
        ("pkg", "{root}/pkg/legacy/old.py"),
        ("pkg/models", "../legacy/old.py"),
        (".", "pkg/legacy/old.py"),  # from the repository root, as pre-commit runs
        (".", "pkg/legacy"),
        (".", "pkg"),
    ],
)
def test_an_excluded_file_is_excluded_however_its_path_is_spelled(monorepo, where, spelled):
    spelled = spelled.format(root=monorepo)
    assert not [path for path, _ in findings(spelled, cwd=monorepo / where) if "old.py" in path]


def test_excludes_are_relative_to_the_configuration_that_declares_them(monorepo):
    """``legacy/`` in pkg/pyproject.toml is pkg/legacy, not a legacy/ folder elsewhere."""
    write(monorepo, "legacy/kept.py", XAVIER_RELU)
    shown = [path for path, _ in findings(".", cwd=monorepo)]
    assert os.path.join("legacy", "kept.py") in shown
    assert os.path.join("pkg", "models", "m.py") in shown and not any("old.py" in p for p in shown)


def test_a_command_line_exclude_is_relative_to_the_working_directory(monorepo):
    shown = [path for path, _ in findings("--exclude", "pkg/models/", ".", cwd=monorepo)]
    assert not any("m.py" in p for p in shown)
    assert findings("--exclude", "pkg/models/", "models", cwd=monorepo / "pkg") != []  # not pkg/pkg/models


def test_each_file_gets_its_nearest_configuration_whatever_the_argument_order(tmp_path):
    git_repository(tmp_path)
    pyproject(tmp_path / "a", 'ignore = ["IL101"]')
    pyproject(tmp_path / "b", 'select = ["IL1"]')
    write(tmp_path, "a/m.py", XAVIER_RELU)
    write(tmp_path, "b/m.py", XAVIER_RELU)
    expected = [(os.path.join("b", "m.py"), "IL101")]
    assert findings("a/m.py", "b/m.py", cwd=tmp_path) == expected
    assert findings("b/m.py", "a/m.py", cwd=tmp_path) == expected
    assert findings(".", cwd=tmp_path) == expected


def test_per_file_ignores_are_relative_to_their_configuration(tmp_path):
    pyproject(tmp_path / "pkg", '[tool.initlint.per-file-ignores]\n"models/*" = ["IL101"]')
    write(tmp_path, "pkg/models/m.py", XAVIER_RELU)
    write(tmp_path, "pkg/other/m.py", XAVIER_RELU)
    assert findings("pkg", cwd=tmp_path) == [(os.path.join("pkg", "other", "m.py"), "IL101")]


def test_config_option_governs_every_file(tmp_path):
    pyproject(tmp_path / "a", 'ignore = ["IL101"]')
    write(tmp_path, "a/m.py", XAVIER_RELU)
    write(tmp_path, "strict.toml", 'select = ["IL1"]\n')
    assert findings("a", cwd=tmp_path) == []
    assert findings("--config", "strict.toml", "a", cwd=tmp_path) == [(os.path.join("a", "m.py"), "IL101")]


def test_fail_on_is_the_configuration_of_the_finding_file(tmp_path):
    pyproject(tmp_path / "lenient", 'fail-on = "error"')
    write(tmp_path, "lenient/m.py", XAVIER_RELU)  # IL101 is a warning
    write(tmp_path, "strict/m.py", GOOD)
    code, _ = run_json("--static", "--no-cache", "strict", "lenient", cwd=tmp_path)
    assert code == 0
    write(tmp_path, "strict/m.py", XAVIER_RELU)
    code, _ = run_json("--static", "--no-cache", "lenient", "strict", cwd=tmp_path)
    assert code == 1


@pytest.fixture
def configured_models(tmp_path):
    """models/cnn.py is clean; models/deep.py's model needs an argument, given in [tool.initlint] models."""
    git_repository(tmp_path)
    pyproject(tmp_path, 'models = [{ entry = "models/deep.py:Deep", kwargs = { width = 16 } }]')
    write(tmp_path, "models/cnn.py", GOOD)
    write(tmp_path, "models/deep.py", DEEP_WITH_ARGUMENTS)
    return tmp_path


def test_a_configured_model_is_checked_only_when_its_file_is(configured_models):
    code, document = run_json("--no-cache", "models/cnn.py", cwd=configured_models)
    assert code == 0 and document["findings"] == []
    assert all("deep" not in m["path"] for m in document["models"])
    code, document = run_json("--no-cache", "models", cwd=configured_models)
    assert code == 1
    assert {f["model"] for f in document["findings"] if f["code"] == "IL101"} == {"Deep(width=16)"}


def test_a_missing_path_reports_no_configured_model(configured_models):
    done = run_process("check", "--format", "json", "--no-cache", "nope/", cwd=configured_models)
    document = json.loads(done.stdout)
    assert done.returncode == 2 and document["findings"] == [] and document["models"] == []
    assert done.stderr.strip() == "initlint: error: nope/: no such file or directory"


@pytest.fixture
def ignored_files(tmp_path):
    git_repository(tmp_path)
    write(tmp_path, ".gitignore", "generated/\n*_scratch.py\n")
    write(tmp_path, "generated/bad.py", XAVIER_RELU)
    write(tmp_path, "models/try_scratch.py", XAVIER_RELU)
    write(tmp_path, "models/m.py", GOOD)
    return tmp_path


def test_what_git_ignores_is_not_walked(ignored_files):
    assert findings(".", cwd=ignored_files) == []


def test_no_respect_gitignore_walks_everything(ignored_files):
    shown = [path for path, _ in findings("--no-respect-gitignore", ".", cwd=ignored_files)]
    assert sorted(shown) == [os.path.join("generated", "bad.py"), os.path.join("models", "try_scratch.py")]


def test_an_ignored_file_named_on_the_command_line_is_checked(ignored_files):
    assert findings("generated/bad.py", cwd=ignored_files) == [("generated/bad.py", "IL101")]


def test_outside_a_repository_gitignore_is_not_read(tmp_path):
    write(tmp_path, ".gitignore", "generated/\n")
    write(tmp_path, "generated/bad.py", XAVIER_RELU)
    assert findings(".", cwd=tmp_path) == [(os.path.join("generated", "bad.py"), "IL101")]


def test_static_mode_builds_configured_models_with_their_arguments(configured_models):
    code, document = run_json("--static", "--no-cache", "models", cwd=configured_models)
    assert code == 1
    [deep] = [m for m in document["models"] if "deep" in m["path"]]
    assert (deep["model"], deep["built_by"], deep["status"]) == ("Deep(width=16)", "config", "static")
    assert [layer["layer"] for layer in deep["layers"]] == ["fc1", "fc2"]
    assert {f["model"] for f in document["findings"] if f["code"] == "IL101"} == {"Deep(width=16)"}
    assert not [f for f in document["findings"] if f["code"] == "IL908"]  # not "constructor needs arguments"


def test_quiet_prints_the_findings_only_and_verbose_tells_each_files_configuration(monorepo):
    quiet = run_process("check", "--static", "--no-cache", "-q", ".", cwd=monorepo)
    assert quiet.returncode == 1
    assert [line.split(":")[0] for line in quiet.stdout.splitlines()] == [os.path.join("pkg", "models", "m.py")]
    verbose = run_process("check", "--static", "--no-cache", "-v", "pkg/models", cwd=monorepo)
    told = os.path.join("pkg", "models", "m.py") + ": configuration " + os.path.join("pkg", "pyproject.toml")
    assert told in verbose.stderr and "Found 1 finding" in verbose.stdout
    assert "initlint: checked 1 file in" in verbose.stderr

"""Both pre-commit hooks, run for real with `pre-commit try-repo` on a temporary git repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEEP_WITH_ARGUMENTS, REPO, XAVIER_RELU, write

BAD = XAVIER_RELU
GOOD = BAD.replace(
    "nn.init.xavier_normal_(self.fc1.weight)", 'nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")'
)


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def hook_env(tmp_path_factory):
    """PATH with this venv's initlint first (the system hook needs it), and a pre-commit cache for the run."""
    home = tmp_path_factory.mktemp("pre-commit-home")
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PRE_COMMIT_HOME"] = str(home)
    env.setdefault("GIT_AUTHOR_NAME", "t")
    env.setdefault("GIT_AUTHOR_EMAIL", "t@example.invalid")
    env.setdefault("GIT_COMMITTER_NAME", "t")
    env.setdefault("GIT_COMMITTER_EMAIL", "t@example.invalid")
    return env


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory):
    """A clean copy of initlint with its working tree committed: what try-repo installs from."""
    copy = tmp_path_factory.mktemp("initlint-repo") / "initlint"
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "*.egg-info", "__pycache__", ".initlint_cache", ".pytest_cache", ".hypothesis"
    )
    shutil.copytree(REPO, copy, ignore=ignore)
    git("init", "-q", cwd=copy)
    git("add", "-A", cwd=copy)
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "hooks", cwd=copy)
    return copy


def try_repo(hook: str, files: list[str], project: Path, repo: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(repo), hook, "--verbose", "--files", *files],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )


@pytest.mark.parametrize("hook", ["initlint", "initlint-static"])
def test_bad_model_blocks_and_good_model_passes(tmp_path, hook, hook_env, hook_repo):
    project = tmp_path / "project"
    write(project, "bad.py", BAD)
    write(project, "good.py", GOOD)
    write(project, "notes.txt", "not python")
    git("init", "-q", cwd=project)
    git("add", "-A", cwd=project)
    blocked = try_repo(hook, ["bad.py"], project, hook_repo, hook_env)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "IL101" in blocked.stdout
    passed = try_repo(hook, ["good.py"], project, hook_repo, hook_env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    nothing = try_repo(hook, ["notes.txt"], project, hook_repo, hook_env)
    assert nothing.returncode == 0, nothing.stdout + nothing.stderr


def test_static_hook_works_where_torch_cannot_be_imported(hook_env, hook_repo, tmp_path):
    """The initlint-static hook's environment has no torch (fits pre-commit.ci): prove it needs none."""
    fake = tmp_path / "fake"
    write(fake, "torch/__init__.py", "raise ImportError('no torch in this environment')\n")
    env = {**hook_env, "PYTHONPATH": str(fake)}
    project = tmp_path / "project"
    write(project, "bad.py", BAD)
    git("init", "-q", cwd=project)
    git("add", "-A", cwd=project)
    result = try_repo("initlint-static", ["bad.py"], project, hook_repo, env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "IL101" in result.stdout and "IL902" not in result.stdout


def test_hooks_file_declares_both_hooks():
    text = (REPO / ".pre-commit-hooks.yaml").read_text()
    assert "id: initlint\n" in text and "language: system" in text
    assert "id: initlint-static" in text and "language: python" in text and "--static" in text


@pytest.mark.parametrize("hook", ["initlint", "initlint-static"])
def test_monorepo_excludes_and_configured_models_hold_under_pre_commit(tmp_path, hook, hook_env, hook_repo):
    """pre-commit runs from the repository root with paths like pkg/legacy/old.py: pkg/pyproject.toml's
    exclude still applies, and its configured model is checked only when its file is staged."""
    project = tmp_path / "project"
    write(
        project,
        "pkg/pyproject.toml",
        '[tool.initlint]\nexclude = ["legacy/"]\nmodels = [{ entry = "models/deep.py:Deep", kwargs = { width = 16 } }]\n',
    )
    write(project, "pkg/legacy/old.py", BAD)
    write(project, "pkg/models/cnn.py", GOOD)
    write(project, "pkg/models/deep.py", DEEP_WITH_ARGUMENTS)
    git("init", "-q", cwd=project)
    git("add", "-A", cwd=project)
    passed = try_repo(hook, ["pkg/legacy/old.py", "pkg/models/cnn.py"], project, hook_repo, hook_env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    blocked = try_repo(hook, ["pkg/models/deep.py"], project, hook_repo, hook_env)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "IL101" in blocked.stdout and "pkg/models/deep.py:" in blocked.stdout

"""The result cache: warm runs never import torch, and anything that changes the facts misses."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli, run_process, write

import initlint

MODEL = """
import torch
import torch.nn as nn
from blocks import make_head


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.head = make_head()
        nn.init.xavier_normal_(self.fc1.weight)

    def forward(self, x):
        return self.head(torch.relu(self.fc1(x)))
"""

BLOCKS = """
import torch.nn as nn


def make_head():
    return nn.Linear(32, 10)
"""


def project(tmp_path: Path) -> Path:
    write(tmp_path, "models/net.py", MODEL)
    write(tmp_path, "models/blocks.py", BLOCKS)
    return tmp_path


FAKE_TORCH = "torch must not be imported in a warm run"


def no_torch_env(tmp_path: Path) -> dict:
    """An environment where `import torch` fails: proof a run did not import it."""
    fake = tmp_path / "fake_site"
    write(fake, "torch/__init__.py", f"raise ImportError({FAKE_TORCH!r})\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(fake)
    return env


def check_json(tmp_path: Path, *args: str, env: dict | None = None) -> tuple[int, dict, str]:
    result = run_process("check", "--format", "json", *args, "models", cwd=tmp_path, env=env)
    return result.returncode, json.loads(result.stdout) if result.stdout else {}, result.stderr


def test_warm_run_does_not_import_torch_and_gives_the_same_findings(tmp_path):
    project(tmp_path)
    code, cold, _ = check_json(tmp_path)
    assert code == 1 and cold["findings"]
    code, warm, stderr = check_json(tmp_path, env=no_torch_env(tmp_path))
    assert stderr == ""
    assert code == 1 and warm == cold


def assert_cached(tmp_path: Path, expected: dict, *args: str) -> None:
    """The cache answers this run: without torch it gives ``expected`` (a miss could not import torch)."""
    assert cache_entries(tmp_path / ".initlint_cache")
    _, warm, stderr = check_json(tmp_path, *args, env=no_torch_env(tmp_path))
    assert warm == expected and stderr == ""


def assert_missed(tmp_path: Path, *args: str) -> None:
    """The cache does not answer this run: it has to import the model, and torch is fake here."""
    _, document, _ = check_json(tmp_path, *args, env=no_torch_env(tmp_path))
    assert any(FAKE_TORCH in f["message"] for f in document["findings"]), document["findings"]


def test_changing_a_local_import_misses(tmp_path):
    project(tmp_path)
    _, cold, _ = check_json(tmp_path)
    assert_cached(tmp_path, cold)
    write(tmp_path, "models/blocks.py", BLOCKS.replace("nn.Linear(32, 10)", "nn.Linear(32, 11)"))
    assert_missed(tmp_path)
    code, document, _ = check_json(tmp_path)
    assert document["findings"][0]["code"] == "IL101"


def test_changing_the_models_code_misses(tmp_path):
    project(tmp_path)
    _, cold, _ = check_json(tmp_path)
    assert cold["findings"][0]["code"] == "IL101"
    assert_cached(tmp_path, cold)
    fixed = MODEL.replace(
        "nn.init.xavier_normal_(self.fc1.weight)", 'nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")'
    )
    write(tmp_path, "models/net.py", fixed)
    assert_missed(tmp_path)
    code, document, _ = check_json(tmp_path)
    assert code == 0 and document["findings"] == [] and document["models"][0]["status"] == "traced"
    assert_cached(tmp_path, document)


def test_no_cache_neither_reads_nor_writes(tmp_path):
    project(tmp_path)
    check_json(tmp_path, "--no-cache")
    assert not (tmp_path / ".initlint_cache").exists()
    _, cold, _ = check_json(tmp_path)
    assert_cached(tmp_path, cold)  # the cache could answer...
    assert_missed(tmp_path, "--no-cache")  # ...but is not asked


def test_corrupt_cache_is_a_miss(tmp_path):
    project(tmp_path)
    _, cold, _ = check_json(tmp_path)
    entries = list((tmp_path / ".initlint_cache").rglob("*.json"))
    assert entries
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:40])  # truncated
    code, again, stderr = check_json(tmp_path)
    assert again == cold and stderr == ""


def test_cache_dir_and_clean(tmp_path):
    project(tmp_path)
    check_json(tmp_path, "--cache-dir", "elsewhere")
    assert list((tmp_path / "elsewhere").rglob("*.json"))
    code, out = run_cli("clean", "--cache-dir", "elsewhere", cwd=tmp_path)
    assert code == 0 and "Removed" in out and not (tmp_path / "elsewhere").exists()


def test_timeouts_are_not_cached(tmp_path):
    write(
        tmp_path,
        "models/slow.py",
        "import time\nimport torch.nn as nn\n\n\nclass Slow(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        time.sleep(30)\n",
    )
    code, document, _ = check_json(tmp_path, "--timeout", "1")
    assert document["findings"][0]["code"] == "IL904"
    cached = [json.loads(p.read_text()) for p in (tmp_path / ".initlint_cache").rglob("*.json")]
    assert cached and not [value for value in cached if "models" in value]  # screenings only, no facts


# -- the cache never loses data, never runs code, never serves a stale answer ----------------


def cache_entries(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file() and p.name not in ("CACHEDIR.TAG", ".gitignore")]


def test_clean_refuses_a_directory_initlint_did_not_create(tmp_path):
    project(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    for target in (".", "models", ".git"):
        result = run_process("clean", "--cache-dir", target, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and "not an initlint cache" in result.stderr
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_clean_removes_only_what_initlint_wrote(tmp_path):
    project(tmp_path)
    check_json(tmp_path)
    cache = tmp_path / ".initlint_cache"
    assert (cache / "CACHEDIR.TAG").is_file()
    entry = cache_entries(cache)[0]
    (entry.parent / "notes.txt").write_text("mine")
    (cache / "keep.py").write_text("mine too")
    code, out = run_cli("clean", cwd=tmp_path)
    assert code == 0 and "Removed" in out
    left = sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file())
    assert left == sorted(["CACHEDIR.TAG", ".gitignore", "keep.py", str(entry.parent.relative_to(cache) / "notes.txt")])
    (cache / "keep.py").unlink()
    (entry.parent / "notes.txt").unlink()
    code, out = run_cli("clean", cwd=tmp_path)
    assert code == 0 and not cache.exists()


class _Planted:
    """Unpickling this creates a file: what an attacker would plant in a checked tree's cache."""

    def __init__(self, sentinel: Path):
        self.sentinel = sentinel

    def __reduce__(self):
        return (open, (str(self.sentinel), "w"))


@pytest.mark.parametrize("mode", [[], ["--static"]])
def test_a_planted_pickle_in_the_cache_never_runs(tmp_path, mode):
    project(tmp_path)
    _, cold, _ = check_json(tmp_path, *mode)
    sentinel = tmp_path / "pwned"
    entries = cache_entries(tmp_path / ".initlint_cache")
    assert entries
    for entry in entries:
        entry.write_bytes(pickle.dumps(_Planted(sentinel)))
    code, warm, stderr = check_json(tmp_path, *mode)
    assert not sentinel.exists()
    assert warm == cold and stderr == ""


def test_cache_holds_plain_json_only(tmp_path):
    project(tmp_path)
    check_json(tmp_path)
    check_json(tmp_path, "--static")
    for entry in cache_entries(tmp_path / ".initlint_cache"):
        json.loads(entry.read_text(encoding="utf-8"))


def test_an_entry_of_another_shape_is_a_miss(tmp_path):
    """Every entry replaced by another entry's (valid) content: each read is a miss, never an error."""
    project(tmp_path)
    _, cold, _ = check_json(tmp_path)
    entries = cache_entries(tmp_path / ".initlint_cache")
    contents = [e.read_bytes() for e in entries]
    assert len(set(contents)) > 1
    for entry, content in zip(entries, contents[1:] + contents[:1]):
        entry.write_bytes(content)
    code, warm, stderr = check_json(tmp_path)
    assert warm == cold and stderr == "" and code == 1


def test_git_never_sees_the_cache(tmp_path):
    project(tmp_path)
    subprocess.run(["git", "init", "-q", "."], cwd=tmp_path, check=True)
    check_json(tmp_path)
    assert (tmp_path / ".initlint_cache").is_dir()
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".initlint_cache" not in status and "models/net.py" in status


def test_an_edited_initlint_does_not_serve_its_old_facts(tmp_path):
    """The key covers initlint's own source, not only its version number."""
    copy = tmp_path / "tool"
    shutil.copytree(Path(initlint.__file__).parent, copy / "initlint", ignore=shutil.ignore_patterns("__pycache__"))
    work = project(tmp_path / "work")
    env = dict(os.environ, PYTHONPATH=str(copy))
    code, cold, _ = check_json(work, env=env)
    assert code == 1 and cold["findings"][0]["code"] == "IL101"
    fake = no_torch_env(tmp_path)
    warm_env = dict(env, PYTHONPATH=f"{fake['PYTHONPATH']}{os.pathsep}{copy}")
    _, warm, _ = check_json(work, env=warm_env)
    assert warm == cold  # a hit: torch was not needed
    edited_file = copy / "initlint" / "__init__.py"
    assert edited_file.is_file()
    with open(edited_file, "a") as handle:
        handle.write("\n# an edit\n")
    _, edited, _ = check_json(work, env=warm_env)
    assert any(FAKE_TORCH in f["message"] for f in edited["findings"])  # a miss: it had to import torch


GOOD_HEAD = "import torch.nn as nn\n\n\ndef make_head():\n    return nn.Linear(32, 10)\n"
BAD_HEAD = (
    "import torch.nn as nn\n\n\ndef make_head():\n    head = nn.Linear(32, 10)\n"
    "    nn.init.normal_(head.weight, 0, 5.0)\n    return head\n"
)

# Four ways of importing a project file that a syntactic guess of the import graph misses.
IMPORT_STYLES = {
    "from-package-import-submodule": ("from pkg import heads", "heads.make_head()", "pkg/heads.py"),
    "transitive-relative": ("from pkg.sub.model import build", "build()", "pkg/sub/blocks.py"),
    "inside-try": (
        "try:\n    from pkg.heads import make_head\nexcept ImportError:\n    make_head = None",
        "make_head()",
        "pkg/heads.py",
    ),
    "inside-function": ("", "__import__('pkg.heads', fromlist=['make_head']).make_head()", "pkg/heads.py"),
}


@pytest.mark.parametrize("style", sorted(IMPORT_STYLES))
def test_warm_runs_see_edits_in_every_imported_file(tmp_path, style):
    header, call, edited = IMPORT_STYLES[style]
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/heads.py", GOOD_HEAD)
    write(tmp_path, "pkg/sub/__init__.py", "")
    write(tmp_path, "pkg/sub/blocks.py", GOOD_HEAD)
    write(tmp_path, "pkg/sub/model.py", "from .blocks import make_head\n\n\ndef build():\n    return make_head()\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "net.py").write_text(
        "import sys, os\nsys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))\n"
        "import torch\nimport torch.nn as nn\n" + header + "\n\n\nclass Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.fc1 = nn.Linear(64, 32)\n"
        f"        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity='relu')\n        self.head = {call}\n\n"
        "    def forward(self, x):\n        return self.head(torch.relu(self.fc1(x)))\n"
    )
    code, cold, _ = check_json(tmp_path)
    assert code == 0 and [m["status"] for m in cold["models"]] == ["traced"], cold
    assert_cached(tmp_path, cold)
    (tmp_path / edited).write_text(BAD_HEAD)
    assert_missed(tmp_path)
    code, warm, _ = check_json(tmp_path)
    _, fresh, _ = check_json(tmp_path, "--no-cache")
    assert [f["code"] for f in fresh["findings"]] == ["IL201"]
    assert warm == fresh

"""The result cache: warm runs never import torch, and anything that changes the facts misses."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

from initlint.facts import FileFacts

from conftest import run_cli, run_process, write

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


def no_torch_env(tmp_path: Path) -> dict:
    """An environment where `import torch` fails: proof a run did not import it."""
    fake = tmp_path / "fake_site"
    write(fake, "torch/__init__.py", "raise ImportError('torch must not be imported in a warm run')\n")
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


def test_changing_the_file_or_a_local_import_misses(tmp_path):
    project(tmp_path)
    check_json(tmp_path)
    env = no_torch_env(tmp_path)
    write(tmp_path, "models/blocks.py", BLOCKS.replace("nn.Linear(32, 10)", "nn.Linear(32, 11)"))
    code, document, _ = check_json(tmp_path, env=env)
    assert document["findings"][0]["code"] == "IL902"  # a miss: it had to import, and torch is fake here
    code, document, _ = check_json(tmp_path)
    assert document["findings"][0]["code"] == "IL101"


def test_no_cache_neither_reads_nor_writes(tmp_path):
    project(tmp_path)
    check_json(tmp_path, "--no-cache")
    assert not (tmp_path / ".initlint_cache").exists()
    check_json(tmp_path)
    code, document, _ = check_json(tmp_path, "--no-cache", env=no_torch_env(tmp_path))
    assert document["findings"][0]["code"] == "IL902"


def test_corrupt_cache_is_a_miss(tmp_path):
    project(tmp_path)
    _, cold, _ = check_json(tmp_path)
    for entry in (tmp_path / ".initlint_cache").rglob("*.pickle"):
        entry.write_bytes(b"not a pickle")
    code, again, stderr = check_json(tmp_path)
    assert again == cold and stderr == ""


def test_cache_dir_and_clean(tmp_path):
    project(tmp_path)
    check_json(tmp_path, "--cache-dir", "elsewhere")
    assert list((tmp_path / "elsewhere").rglob("*.pickle"))
    code, out = run_cli("clean", "--cache-dir", "elsewhere", cwd=tmp_path)
    assert code == 0 and "Removed" in out and not (tmp_path / "elsewhere").exists()


def test_timeouts_are_not_cached(tmp_path):
    write(tmp_path, "models/slow.py", "import time\nimport torch.nn as nn\n\n\nclass Slow(nn.Module):\n"
                                      "    def __init__(self):\n        super().__init__()\n        time.sleep(30)\n")
    code, document, _ = check_json(tmp_path, "--timeout", "1")
    assert document["findings"][0]["code"] == "IL904"
    cached = [pickle.loads(p.read_bytes()) for p in (tmp_path / ".initlint_cache").rglob("*.pickle")]
    assert cached and not [value for value in cached if isinstance(value, FileFacts)]

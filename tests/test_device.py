"""--device: the device is decided before allocating; big models are analysed on meta, small ones on the CPU."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import findings_for, line_of, run_json, write

# A child's peak RSS, as the largest process of its tree (workers included).
PEAK_RSS = r"""
import resource, subprocess, sys
result = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stderr.write(result.stderr)
print(result.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
print(result.stdout)
"""


def check_with_peak_rss(path, *args: str) -> tuple[int, dict, int]:
    """(exit code, JSON report, peak RSS in MB) of `initlint check` in a real process."""
    command = [
        sys.executable,
        "-c",
        PEAK_RSS,
        sys.executable,
        "-m",
        "initlint",
        "check",
        "--no-cache",
        "--format",
        "json",
        *args,
        path.name,
    ]
    done = subprocess.run(command, cwd=path.parent, capture_output=True, text=True, timeout=300)
    status, output = done.stdout.split("\n", 1)
    code, megabytes = map(int, status.split())
    return code, json.loads(output), megabytes


def model(document: dict, name: str) -> dict:
    [entry] = [m for m in document["models"] if m["model"] == name]
    return entry


def rows(document: dict, name: str) -> dict[str, dict]:
    return {row["layer"]: row for row in model(document, name)["layers"]}


def test_a_layer_too_big_for_memory_is_built_on_meta_and_judged(tmp_path):
    path = write(
        tmp_path,
        "huge.py",
        """
import torch
import torch.nn as nn


class Huge(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(80000, 200000)  # 64 GB of float32
        self.fc2 = nn.Linear(200000, 10)
        nn.init.xavier_normal_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
""",
    )
    code, document, megabytes = check_with_peak_rss(path)
    assert megabytes < 600
    assert code == 1
    assert model(document, "Huge")["detail"] == (
        "built on the meta device: 16B parameters exceed the 50M CPU budget; inits judged analytically"
    )
    [finding] = findings_for(document, "IL101", "Huge")
    assert finding["line"] == line_of(path, "xavier_normal_")


def test_parameters_made_by_repeat_clone_or_numpy_are_counted_without_allocating_them_all(tmp_path):
    path = write(
        tmp_path,
        "made.py",
        """
import numpy as np
import torch
import torch.nn as nn


class Made(nn.Module):
    def __init__(self):
        super().__init__()
        row = torch.randn(1, 4096) * 0.02
        self.repeated = nn.ParameterList([nn.Parameter(row.repeat(4096, 1).clone()) for _ in range(12)])
        for i in range(12):  # numpy's memory is beyond reach: only one array is alive at a time here
            values = np.full((4096, 4096), 0.01, np.float32)
            self.register_parameter(f"loaded{i}", nn.Parameter(torch.from_numpy(values)))
""",
    )
    _, document, megabytes = check_with_peak_rss(path)
    assert megabytes < 600  # 1.9 GB if built on the CPU
    assert "built on the meta device: 403M parameters exceed the 50M CPU budget" in model(document, "Made")["detail"]


BLOCKS = """
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, dim, drop):
        super().__init__()
        self.drop = drop
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)
        nn.init.xavier_uniform_(self.fc1.weight)

    def forward(self, x):
        return x + self.fc2(torch.relu(self.fc1(x)))


class Net(nn.Module):
    def __init__(self, dim=64, depth=8, rate=0.1):
        super().__init__()
        dpr = [x.item() for x in torch.linspace(0, rate, depth)]  # fails on a meta device context
        self.blocks = nn.ModuleList([Block(dim, dpr[i]) for i in range(depth)])
        self.register_buffer("inv_freq", 1.0 / 10000 ** (torch.arange(0, dim, 2).float() / dim))
        self.register_buffer("freqs", torch.outer(torch.arange(128).float(), self.inv_freq))
        pe = torch.zeros(128, dim)
        pe[:, 0::2] = torch.sin(self.freqs)
        self.register_buffer("pe", pe)
        self.proj = nn.Parameter(torch.randn(dim, dim) * 0.01)
        self.head = nn.Linear(dim, 10)
        self.head.weight.data = torch.randn(10, dim) * 0.05

    def forward(self, x):
        x = F.linear(x + self.pe[: x.shape[1]].mean(), self.proj)
        for block in self.blocks:
            x = block(x)
        return self.head(torch.tanh(x))


class Big(Net):
    def __init__(self):
        super().__init__(dim=1024)
"""


@pytest.fixture(scope="module")
def blocks(tmp_path_factory):
    directory = tmp_path_factory.mktemp("blocks")
    path = write(directory, "blocks.py", BLOCKS)
    return path, run_json("--no-cache", str(path))[1]


def test_constructors_computing_with_real_tensors_are_analysed_on_meta(blocks):
    _, document = blocks
    big = model(document, "Big")
    assert big["status"] == "traced"
    assert big["detail"] == (
        "built on the meta device: 68.4M parameters exceed the 50M CPU budget; inits judged analytically"
    )
    assert model(document, "Net")["detail"] == ""  # 0.4M parameters: built on the CPU


def test_findings_are_the_same_on_both_devices(blocks):
    path, document = blocks
    [finding] = findings_for(document, "IL101")  # one line, found in both models (one on each device)
    assert finding["models"] == ["Net", "Big"]
    assert finding["line"] == line_of(path, "xavier_uniform_")
    assert finding["layer"] == "blocks.0.fc1"


def test_inits_recorded_before_registration_survive_the_move_to_meta(blocks):
    _, document = blocks
    for name in ("Net", "Big"):
        layers = rows(document, name)
        assert layers["proj"]["actual_std"] == pytest.approx(0.01, rel=0.05)
        assert layers["head"]["actual_std"] == pytest.approx(0.05, rel=0.05)
        assert layers["head"]["init"].startswith("data = torch.randn(...) * 0.05")
    assert rows(document, "Big")["proj"]["init"] == "torch.randn(...) * 0.01"


def test_device_meta_builds_every_model_on_meta(blocks):
    path, auto = blocks
    _, meta = run_json("--no-cache", "--device", "meta", str(path))
    assert model(meta, "Net")["detail"] == "built on the meta device (--device meta); inits judged analytically"
    assert [(f["code"], f["model"], f["line"]) for f in meta["findings"]] == [
        (f["code"], f["model"], f["line"]) for f in auto["findings"]
    ]


def test_a_meta_build_that_fails_names_device_cpu(tmp_path):
    path = write(
        tmp_path,
        "reads.py",
        """
import torch
import torch.nn as nn


class Reads(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8000, 8000)
        self.scale = float(self.fc.weight.abs().max())  # a value: none on the meta device

    def forward(self, x):
        return self.fc(x) * self.scale
""",
    )
    code, document = run_json("--no-cache", str(path))
    assert code == 1
    [error] = findings_for(document, "IL903")
    assert error["line"] == line_of(path, "self.scale =")
    assert "built on the meta device" in error["message"] and "--device cpu" in error["message"]
    _, on_cpu = run_json("--no-cache", "--device", "cpu", str(path))
    assert findings_for(on_cpu, "IL903") == []
    assert model(on_cpu, "Reads")["status"] == "traced"


def test_a_small_model_whose_constructor_reads_parameter_values_is_built_on_the_cpu(tmp_path):
    path = write(
        tmp_path,
        "reads_small.py",
        """
import torch
import torch.nn as nn


class ReadsSmall(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        nn.init.xavier_normal_(self.fc1.weight)
        self.scale = float(self.fc1.weight.abs().max())  # fails on meta: built on the CPU instead

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x) * self.scale))
""",
    )
    _, document = run_json("--no-cache", str(path))
    assert model(document, "ReadsSmall")["detail"] == ""
    [finding] = findings_for(document, "IL101", "ReadsSmall")
    assert finding["line"] == line_of(path, "xavier_normal_")

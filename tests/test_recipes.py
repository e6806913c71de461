"""Construction recipes: classes whose constructor takes a config object built from its defaults."""

from __future__ import annotations

import shutil

import pytest
from conftest import REPO, findings_for, line_of, run_json, write


def by_name(document: dict) -> dict[str, dict]:
    return {m["model"]: m for m in document["models"]}


def test_a_gpt_taking_a_config_dataclass_is_built_from_its_defaults(tmp_path):
    shutil.copy(REPO / "tests" / "real_repos" / "gpt_config.py", tmp_path / "gpt_config.py")
    code, document = run_json("--no-cache", "gpt_config.py", cwd=tmp_path)
    models = by_name(document)
    gpt = models["GPT"]
    assert gpt["status"] == "traced" and gpt["built_by"] == "defaults-of GPTConfig"
    rows = {row["layer"]: row for row in gpt["layers"]}
    assert len([r for r in rows if r.startswith("transformer.h.")]) == 4 * 4  # n_layer=4 blocks, 4 Linears each
    assert rows["transformer.h.0.mlp.c_fc"]["activation"] == "nn.GELU"
    # c_proj: the generic apply(_init_weights), then GPT-2's scaled N(0, 0.02/sqrt(2 n_layer)) override
    assert rows["transformer.h.0.attn.c_proj"]["actual_std"] == pytest.approx(0.02 / (2 * 4) ** 0.5, rel=1e-5)
    for block in ("CausalSelfAttention", "MLP", "Block"):  # judged inside GPT, not on their own
        assert models[block]["status"] == "skipped" and "building block" in models[block]["detail"]
    # A generic loop then a loop picking some of its layers, and a tied weight initialised twice the same
    # way, are the deliberate patterns: no IL301.
    assert findings_for(document, "IL301") == []
    assert code == 0


CONFIGS = """
import argparse
from dataclasses import dataclass

import torch
import torch.nn as nn


class Settings:  # a plain class of class attributes
    width = 32


@dataclass
class Needs:
    width: int  # no default: cannot be made


class Plain(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.fc1 = nn.Linear(16, cfg.width)
        self.fc2 = nn.Linear(cfg.width, 10)
        nn.init.xavier_normal_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class FromArgs(nn.Module):
    def __init__(self, args: argparse.Namespace):
        super().__init__()
        self.fc = nn.Linear(16, args.width)

    def forward(self, x):
        return self.fc(x)


class Required(nn.Module):
    def __init__(self, config: Needs):
        super().__init__()
        self.fc = nn.Linear(16, config.width)

    def forward(self, x):
        return self.fc(x)
"""


def test_only_project_config_classes_with_every_default_are_made(tmp_path):
    path = write(tmp_path, "configs.py", CONFIGS)
    _, document = run_json("--no-cache", "configs.py", cwd=tmp_path)
    models = by_name(document)
    # Named `cfg`, and Settings is the file's one config class that can be made with no arguments.
    assert models["Plain"]["built_by"] == "defaults-of Settings" and models["Plain"]["status"] == "traced"
    [finding] = findings_for(document, "IL101")
    assert finding["line"] == line_of(path, "xavier_normal_") and finding["models"] == ["Plain"]
    # argparse.Namespace() holds nothing, and Needs has a field without a default: not built, and said so.
    for name, argument in (("FromArgs", "args"), ("Required", "config")):
        assert models[name]["status"] == "skipped"
        assert models[name]["detail"] == f"constructor needs arguments: {argument}"

"""Static mode builds models with full mode's recipes: config defaults, and scripts' own constructions.

Each case is checked with ``--static`` and in full mode, as users run them: the same
models, built the same way (``built_by``), with the same statuses, the same init on each
layer (the one the script applied after construction, at its own line) and the same
findings. The oracles beside the comparison are computed by hand from the fixtures.
"""

from __future__ import annotations

import math
import textwrap

import pytest
from conftest import REPO, findings_for, line_of, run_json, write
from test_recipes import CONFIGS

REAL = REPO / "tests" / "real_repos"
# Full mode's statuses and the static one each stands for.
AS_STATIC = {"traced": "static", "partial": "static", "static": "static", "skipped": "skipped"}


def copy_fixture(directory, name: str):
    path = directory / name
    path.write_bytes((REAL / name).read_bytes())
    return path


def both_modes(directory, name: str) -> dict[str, dict]:
    """The JSON report of ``name`` (in ``directory``) in full mode and with ``--static``."""
    return {
        "full": run_json("--no-cache", name, cwd=directory)[1],
        "static": run_json("--no-cache", "--static", name, cwd=directory)[1],
    }


def models(document: dict) -> dict[str, dict]:
    return {m["model"]: m for m in document["models"]}


MEASURED = ("predicted_rms", "measured_rms")  # full mode runs one forward; static mode runs nothing


def rows(model: dict) -> dict[str, dict]:
    return {row["layer"]: {k: v for k, v in row.items() if k not in MEASURED} for row in model["layers"]}


def finding_places(document: dict) -> list[tuple]:
    return sorted((f["code"], f["line"], tuple(f["models"]), tuple(f["layers"])) for f in document["findings"])


def assert_modes_agree(found: dict[str, dict]) -> None:
    """The same models, built the same way, with the same inits and findings in both modes."""
    assert not findings_for(found["full"], "IL909")  # full mode built them (it did not fall back to source)
    full, static = models(found["full"]), models(found["static"])
    assert list(full) == list(static)
    for name, model in full.items():
        other = static[name]
        assert (other["built_by"], other["status"]) == (model["built_by"], AS_STATIC[model["status"]]), name
        full_rows, static_rows = rows(model), rows(other)
        # Embeddings are listed by full mode only (static mode does not size them); never judged.
        assert {r["layer_type"] for n, r in full_rows.items() if n not in static_rows} <= {"Embedding"}, name
        assert set(static_rows) <= set(full_rows), name
        for layer, row in static_rows.items():
            expected = full_rows[layer]
            assert (row["init"], row["activation"]) == (expected["init"], expected["activation"]), (name, layer)
            assert row["actual_std"] == pytest.approx(expected["actual_std"], rel=1e-5), (name, layer)
    assert finding_places(found["static"]) == finding_places(found["full"])


# -- the fixtures of real scripts and models ----------------------------------------------------------


def test_dcgan_script_builds_each_network_with_its_weights_init(tmp_path):
    path = copy_fixture(tmp_path, "dcgan_train.py")
    found = both_modes(tmp_path, "dcgan_train.py")
    assert_modes_agree(found)
    static = models(found["static"])
    assert list(static) == ["Generator", "Discriminator"]  # each replaces its class's own check
    for name, statement in (("Generator", "netG = Generator"), ("Discriminator", "netD = Discriminator")):
        assert static[name]["built_by"] == f"call-site dcgan_train.py:{line_of(path, statement)}"
    # Built with the script's sizes: nz=100, ngf=64 from argparse defaults (--nz type=int default=100).
    generator = rows(static["Generator"])
    assert generator["main.0"]["init"] == "normal_(std=0.02)"  # netG.apply(weights_init): Conv in the class name
    discriminator = rows(static["Discriminator"])
    assert discriminator["main.0"]["activation"] == "nn.LeakyReLU(negative_slope=0.2)"
    # std 0.02 against kaiming's sqrt(2 / (1 + 0.2^2) / fan_in), fan_in = 3 channels * 4 * 4
    assert discriminator["main.0"]["expected_std"] == pytest.approx(math.sqrt(2 / 1.04 / 48), rel=1e-4)
    weights_init_line = line_of(path, "normal_(m.weight, 0.0, 0.02)")
    assert ("IL201", weights_init_line, ("Discriminator",), ("main.0",)) in finding_places(found["static"])
    assert {f["line"] for f in found["static"]["findings"]} == {weights_init_line}


def test_classic_answer_loop_after_construction_is_the_init(tmp_path):
    path = copy_fixture(tmp_path, "classic_answer.py")
    found = both_modes(tmp_path, "classic_answer.py")
    assert_modes_agree(found)
    [model] = found["static"]["models"]
    assert model["built_by"] == f"call-site classic_answer.py:{line_of(path, 'model = SimpleNN()')}"
    assert {layer: row["init"] for layer, row in rows(model).items()} == {
        "fc1": "normal_(std=0.01)",
        "fc2": "normal_(std=0.01)",
    }
    [finding] = findings_for(found["static"], "IL201")
    assert finding["line"] == line_of(path, "nn.init.normal_(param, mean=0, std=0.01)")
    assert finding["layers"] == ["fc1"]  # Linear 64->32 before ReLU: He's std is sqrt(2 / 64)
    assert finding["actual_std"] == 0.01 and finding["expected_std"] == pytest.approx(math.sqrt(2 / 64), rel=1e-4)


def test_main_called_from_the_main_guard_builds_the_model(tmp_path):
    path = copy_fixture(tmp_path, "mnist_main.py")
    found = both_modes(tmp_path, "mnist_main.py")
    assert_modes_agree(found)
    [model] = found["static"]["models"]
    assert model["built_by"] == f"call-site mnist_main.py:{line_of(path, 'model = Net().to(device)')}"
    layers = rows(model)
    assert {row["init"] for row in layers.values()} == {"xavier_uniform_()"}  # model.apply(init_weights)
    # Xavier's std sqrt(2 / (fan_in + fan_out)): conv1 1->32 with a 3x3 kernel
    assert layers["conv1"]["actual_std"] == pytest.approx(math.sqrt(2 / (9 + 32 * 9)), rel=1e-4)
    assert {f["line"] for f in findings_for(found["static"], "IL101")} == {line_of(path, "xavier_uniform_(m.weight)")}


def test_a_gpt_taking_a_config_dataclass_is_built_from_its_defaults(tmp_path):
    copy_fixture(tmp_path, "gpt_config.py")
    found = both_modes(tmp_path, "gpt_config.py")
    assert_modes_agree(found)
    static = models(found["static"])
    gpt = static["GPT"]
    assert gpt["built_by"] == "defaults-of GPTConfig" and gpt["status"] == "static"
    layers = rows(gpt)
    assert len([r for r in layers if r.startswith("transformer.h.")]) == 4 * 4  # n_layer=4 blocks, 4 Linears each
    assert layers["transformer.h.0.mlp.c_fc"]["activation"] == "nn.GELU"
    assert layers["transformer.h.3.attn.c_proj"]["actual_std"] == pytest.approx(0.02 / math.sqrt(2 * 4), rel=1e-5)
    for block in ("CausalSelfAttention", "MLP", "Block"):
        assert static[block]["status"] == "skipped" and "building block" in static[block]["detail"]


def test_only_config_classes_with_every_default_are_made(tmp_path):
    path = write(tmp_path, "configs.py", CONFIGS)
    found = both_modes(tmp_path, "configs.py")
    assert_modes_agree(found)
    static = models(found["static"])
    assert static["Plain"]["built_by"] == "defaults-of Settings"  # `cfg`: the file's one config class
    assert rows(static["Plain"])["fc1"]["layer_type"] == "Linear"
    [finding] = findings_for(found["static"], "IL101")
    assert finding["line"] == line_of(path, "xavier_normal_") and finding["models"] == ["Plain"]
    for name, argument in (("FromArgs", "args"), ("Required", "config")):  # argparse.Namespace; a required field
        assert static[name]["status"] == "skipped"
        assert static[name]["detail"] == f"constructor needs arguments: {argument}"


# -- config objects of each kind -------------------------------------------------------------------


CONFIG_KINDS = {
    "namedtuple": """
        from typing import NamedTuple
        import torch
        import torch.nn as nn


        class HParams(NamedTuple):
            width: int = 48
            std: float = 0.01


        class Net(nn.Module):
            def __init__(self, hp):
                super().__init__()
                self.fc1 = nn.Linear(64, hp.width)
                self.fc2 = nn.Linear(hp.width, 10)
                nn.init.normal_(self.fc1.weight, std=hp.std)

            def forward(self, x):
                return self.fc2(torch.relu(self.fc1(x)))
    """,
    "plain-init": """
        import torch
        import torch.nn as nn


        class NetConfig:
            def __init__(self, width=48):
                self.width = width
                self.std = 0.01


        class Unrelated:
            pass


        class Net(nn.Module):
            def __init__(self, cfg):  # named like a config: the one named after the model
                super().__init__()
                self.fc1 = nn.Linear(64, cfg.width)
                self.fc2 = nn.Linear(cfg.width, 10)
                nn.init.normal_(self.fc1.weight, std=cfg.std)

            def forward(self, x):
                return self.fc2(torch.relu(self.fc1(x)))
    """,
    "dataclass-fields": """
        from dataclasses import dataclass, field
        import torch
        import torch.nn as nn


        @dataclass
        class Config:
            widths: list = field(default_factory=lambda: [64, 48])
            std: float = field(default=0.01)

            def __post_init__(self):
                self.width = self.widths[-1]


        class Net(nn.Module):
            def __init__(self, config: Config):
                super().__init__()
                self.fc1 = nn.Linear(config.widths[0], config.width)
                self.fc2 = nn.Linear(config.width, 10)
                nn.init.normal_(self.fc1.weight, std=config.std)

            def forward(self, x):
                return self.fc2(torch.relu(self.fc1(x)))
    """,
}


@pytest.mark.parametrize("kind", list(CONFIG_KINDS))
def test_config_objects_of_each_kind_are_made_from_their_defaults(tmp_path, kind):
    write(tmp_path, "net.py", CONFIG_KINDS[kind])
    found = both_modes(tmp_path, "net.py")
    assert_modes_agree(found)
    net = models(found["static"])["Net"]
    assert net["built_by"].startswith("defaults-of ")
    layers = rows(net)
    assert layers["fc1"]["init"] == "normal_(std=0.01)"
    # fc2 keeps PyTorch's default: kaiming_uniform_(a=sqrt(5)), std 1/sqrt(3 fan_in) with fan_in = width 48
    assert layers["fc2"]["actual_std"] == pytest.approx(1 / math.sqrt(3 * 48), rel=1e-4)


def test_attrs_config_is_made_from_its_defaults(tmp_path):
    pytest.importorskip("attr")
    write(
        tmp_path,
        "net.py",
        """
        import attr
        import torch
        import torch.nn as nn


        @attr.s(auto_attribs=True)
        class Config:
            width: int = 48
            _std: float = attr.ib(default=0.01)


        class Net(nn.Module):
            def __init__(self, config: Config):
                super().__init__()
                self.fc1 = nn.Linear(64, config.width)
                self.fc2 = nn.Linear(config.width, 10)
                nn.init.normal_(self.fc1.weight, std=config._std)

            def forward(self, x):
                return self.fc2(torch.relu(self.fc1(x)))
        """,
    )
    found = both_modes(tmp_path, "net.py")
    assert_modes_agree(found)
    assert models(found["static"])["Net"]["built_by"] == "defaults-of Config"


# -- scripts ---------------------------------------------------------------------------------------


SCRIPT = """
import argparse
import os

import torch
import torch.nn as nn
from dataclasses import dataclass


@dataclass
class Config:
    width: int = 32
    depth: int = 2


def parse():
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default="48")  # a string default goes through type
    parser.add_argument("--std", type=float, default=0.01)
    parser.add_argument("--no-bias", action="store_true")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("data")
    return parser.parse_known_args()[0]


class Net(nn.Module):
    def __init__(self, config, bias=True):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(config.width, config.width, bias=bias) for _ in range(config.depth)])
        self.head = nn.Linear(config.width, 10)

    def init_weights(self):
        for layer in self.layers:
            nn.init.xavier_uniform_(layer.weight)

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return self.head(x)


def weights_init(model):
    nn.init.zeros_(model.head.weight)


opt = parse()
config = Config(width=opt.width, depth=3)
small = Net(config, bias=not opt.no_bias).cuda()
small.init_weights()
big = Net(Config())
weights_init(big)
with torch.no_grad():
    for name, p in big.named_parameters():
        if name.startswith("layers"):
            p.normal_(0, opt.std)
for step in range(10):
    open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "SENTINEL_trained"), "w").write("trained")
"""


def test_a_class_built_twice_is_two_models_with_their_own_inits(tmp_path):
    path = write(tmp_path, "train.py", SCRIPT)
    found = both_modes(tmp_path, "train.py")
    assert_modes_agree(found)
    static = models(found["static"])
    assert list(static) == ["Net (small)", "Net (big)"]
    assert static["Net (small)"]["built_by"] == f"call-site train.py:{line_of(path, 'small = Net(')}"
    small, big = rows(static["Net (small)"]), rows(static["Net (big)"])
    # small: config = Config(width=opt.width, depth=3), --width's default "48" made an int by type=int
    assert sorted(small) == ["head", "layers.0", "layers.1", "layers.2"]
    assert small["layers.0"]["init"] == "xavier_uniform_()"
    assert small["layers.0"]["actual_std"] == pytest.approx(math.sqrt(2 / (48 + 48)), rel=1e-4)
    # big: Config()'s defaults; the loop under no_grad and the helper named like an init
    assert sorted(big) == ["head", "layers.0", "layers.1"]
    assert big["layers.1"]["init"] == ".normal_(0, 0.01)" and big["head"]["init"] == "zeros_()"


def test_a_build_that_raises_leaves_its_class_to_its_own_check(tmp_path):
    path = write(
        tmp_path,
        "needs_width.py",
        """
        import argparse
        import torch.nn as nn

        parser = argparse.ArgumentParser()
        parser.add_argument("--width", type=int, required=True)
        opt = parser.parse_args()


        class Net(nn.Module):
            def __init__(self, width):
                super().__init__()
                self.fc = nn.Linear(16, width)

            def forward(self, x):
                return self.fc(x)


        net = Net(opt.width)
        """,
    )
    _, document = run_json("--no-cache", "--static", "needs_width.py", cwd=tmp_path)
    [model] = document["models"]
    # A required argument is None when the script runs bare: nn.Linear(16, None) raises in full mode too.
    assert model["status"] == "skipped"
    line = line_of(path, "net = Net(opt.width)")
    assert model["detail"].startswith(
        f"constructor needs arguments: width; building it as the script does (line {line})"
    )


def test_static_mode_runs_nothing(tmp_path):
    """The script's kept statements run in full mode (the class reads HIDDEN); --static only reads them."""
    source = """
        import os
        import torch
        import torch.nn as nn


        def hidden_size(n):
            open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "SENTINEL_kept"), "w").write("ran")
            return n


        HIDDEN = hidden_size(32)


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(64, HIDDEN)
                self.fc2 = nn.Linear(HIDDEN, 10)

            def forward(self, x):
                return self.fc2(torch.relu(self.fc1(x)))


        model = Net()
        nn.init.normal_(model.fc1.weight, std=0.01)
        open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "SENTINEL_trained"), "w").write("trained")
    """
    static_dir, full_dir = tmp_path / "static", tmp_path / "full"
    for directory in (static_dir, full_dir):
        write(directory, "script.py", textwrap.dedent(source))
    for name in ("dcgan_train.py", "classic_answer.py", "mnist_main.py"):
        copy_fixture(static_dir, name)
    _, static = run_json("--no-cache", "--static", ".", cwd=static_dir)
    assert sorted(p.name for p in static_dir.rglob("SENTINEL_*")) == []
    _, full = run_json("--no-cache", "script.py", cwd=full_dir)
    assert sorted(p.name for p in full_dir.rglob("SENTINEL_*")) == ["SENTINEL_kept"]  # what the model needs ran
    # ...and static mode built the same model all the same: hidden_size(32) read, not run.
    [static_net] = [m for m in static["models"] if m["path"] == "script.py"]
    assert rows(static_net) == rows(models(full)["Net"]) and rows(static_net)["fc1"]["init"] == "normal_(std=0.01)"
    assert len(static["models"]) == 1 + 2 + 1 + 1  # script.py's Net, Generator and Discriminator, SimpleNN, mnist's Net


BLOCKS_AFTER_THE_MODEL = """
import torch.nn as nn


class Net(nn.Module):  # defined before the blocks it is made of
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(Stage(), Stage())
        self.head = nn.Linear(16, 2)

    def forward(self, x):
        return self.head(self.body(x))


class Stage(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()

    def forward(self, x):
        return self.block(x)


class Block(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.fc = nn.Linear(width, width)
        nn.init.xavier_uniform_(self.fc.weight)

    def forward(self, x):
        return nn.functional.relu(self.fc(x))


class Unused(nn.Module):  # a model of its own, after the blocks
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        nn.init.kaiming_normal_(self.fc.weight, nonlinearity="tanh")

    def forward(self, x):
        return self.fc(x).tanh()
"""


def test_building_blocks_are_listed_as_such_whatever_the_order_of_definition(tmp_path):
    """Static mode builds a class on its own only when no model of its file contains it: the blocks of a
    model defined before them (and blocks of blocks) are listed as building blocks, as full mode lists them."""
    write(tmp_path, "net.py", BLOCKS_AFTER_THE_MODEL)
    found = both_modes(tmp_path, "net.py")
    assert_modes_agree(found)
    static = models(found["static"])
    assert list(static) == ["Net", "Stage", "Block", "Unused"]  # the order the file defines them in
    for block in ("Stage", "Block"):
        assert static[block]["status"] == "skipped" and "building block" in static[block]["detail"]
        assert static[block]["layers"] == []
    assert static["Net"]["status"] == static["Unused"]["status"] == "static"
    assert [r["layer"] for r in static["Net"]["layers"]] == ["body.0.block.fc", "body.1.block.fc", "head"]
    # Xavier before ReLU, judged inside Net; Kaiming with the tanh gain suits Unused
    assert [(f["code"], f["models"]) for f in found["static"]["findings"]] == [("IL101", ["Net"])]

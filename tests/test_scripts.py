"""Slicing scripts: which models a module builds at its top level, and which statements they need."""

from __future__ import annotations

import ast
import math
import textwrap

import pytest
from conftest import REPO, findings_for, line_of, run_json, write

from initlint.shared.scripts import program, slice_module

REAL = REPO / "tests" / "real_repos"


def sliced(source: str, classes: frozenset[str] = frozenset()):
    tree = ast.parse(textwrap.dedent(source))
    result = slice_module(tree, set(classes))
    return result, ast.unparse(program(tree, result))


def module_level(code: str) -> list[str]:
    """The program's top-level statements, one line each."""
    return [ast.unparse(s).splitlines()[0] for s in ast.parse(code).body]


def test_dcgan_script_builds_both_networks_with_their_init_and_nothing_else():
    path = REAL / "dcgan_train.py"
    result, code = sliced(path.read_text())
    assert [(b.label, b.line, b.init_lines) for b in result.builds] == [
        ("Generator (netG)", line_of(path, "netG = Generator"), (line_of(path, "netG.apply"),)),
        ("Discriminator (netD)", line_of(path, "netD = Discriminator"), (line_of(path, "netD.apply"),)),
    ]
    top = module_level(code)
    assert "opt = parser.parse_args()" in top
    assert sum(line.startswith("parser.add_argument(") for line in top) == 15
    assert {"nc = 3", "ngpu = int(opt.ngpu)", "nz = int(opt.nz)", "ngf = int(opt.ngf)", "ndf = int(opt.ndf)"} <= set(
        top
    )
    # Never: data loading, the output folder, seeding from a None default, checkpoints, training.
    for absent in ("open(", "os.makedirs", "torch.manual_seed", "load_state_dict", "for epoch", "optim.Adam", "print("):
        assert not [line for line in top if absent in line], absent
    assert line_of(path, "for epoch in range") in result.skipped
    assert line_of(path, "open(os.path.join") in result.skipped
    assert result.unresolved == ()


def test_the_build_function_constructs_the_class_alone_then_applies_the_init():
    _, code = sliced((REAL / "dcgan_train.py").read_text())
    assert "def __initlint_build_netG_" in code
    body = code.split("def __initlint_build_netG_", 1)[1].split("\n\n", 1)[0]
    assert body.splitlines()[1:] == ["    netG = Generator(ngpu)", "    netG.apply(weights_init)", "    return netG"]


def test_lines_are_kept_so_recorded_inits_point_at_the_users_file():
    path = REAL / "classic_answer.py"
    tree = ast.parse(path.read_text())
    built = program(tree, slice_module(tree, set()))
    [function] = [s for s in built.body if isinstance(s, ast.FunctionDef) and s.name.startswith("__initlint_build")]
    assert function.body[0].lineno == line_of(path, "model = SimpleNN()")
    loop = function.body[1]
    assert isinstance(loop, ast.For) and loop.lineno == line_of(path, "for name, param in model.named_parameters()")
    compile(built, str(path), "exec")


def test_main_called_from_the_main_guard_is_read_as_the_script():
    path = REAL / "mnist_main.py"
    result, code = sliced(path.read_text())
    [build] = result.builds
    assert (build.label, build.line, build.init_lines) == (
        "Net (model)",
        line_of(path, "model = Net()"),
        (line_of(path, "model.apply(init_weights)"),),
    )
    top = module_level(code)
    assert "args = parser.parse_args()" not in top  # the build reads neither args nor device
    assert not [line for line in top if line.startswith(("for ", "if __name__", "optimizer", "main()"))]
    assert line_of(path, "for epoch in range") in result.skipped


def test_a_module_that_only_defines_things_is_not_a_script():
    for name in ("examples/good_models.py", "examples/bad_models.py", "tests/models/mlps.py", "tests/models/resnet.py"):
        tree = ast.parse((REPO / name).read_text())
        result = slice_module(tree, set())
        assert not result.is_script, (name, result.skipped)
        assert len(result.kept) == len(tree.body)


def test_init_styles_after_construction():
    result, code = sliced(
        """
        import torch
        import torch.nn as nn
        from mypkg import Net


        def init_weights(model):
            pass


        model = Net(3)
        model.apply(init_weights)
        init_weights(model)
        model.reset_parameters()
        model.init_weights()
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0, 0.01)
        for m in model.modules():
            pass
        model.load_state_dict({})
        model.train()
        nn.init.xavier_uniform_(model.fc.weight)
        model.fc.bias.data.zero_()
        model.head.weight.data = torch.randn(10, 32) * 0.01
        train(model, loader)
        evaluate_weights = evaluate(model)
    """,
        frozenset({"Net"}),
    )
    [build] = result.builds
    assert build.init_lines == (12, 13, 14, 15, 16, 19, 23, 24, 25)
    assert "load_state_dict" not in code and "model.train()" not in code and "train(model" not in code


def test_placements_and_wrappers_are_dropped_from_the_construction():
    _, code = sliced("""
        import torch.nn as nn
        class Net(nn.Module):
            pass
        device = "cuda"
        a = Net().to(device).cuda()
        b = nn.DataParallel(Net().float())
    """)
    assert "    a = Net()\n" in code and "    b = Net()\n" in code
    assert 'device = "cuda"' not in code and "device = 'cuda'" not in code


def test_a_rebinding_ends_the_inits_of_the_first_object():
    result, _ = sliced("""
        class Net:
            pass
        def init(m):
            pass
        model = Net()
        model = None
        init(model)
    """)
    [build] = result.builds
    assert build.init_lines == ()


def test_settings_read_by_a_class_are_kept_and_environment_setup_always():
    result, code = sliced("""
        import os
        import sys
        sys.path.insert(0, os.path.dirname(__file__))
        import torch.nn as nn
        HIDDEN = 32
        UNUSED = compute_something_expensive()
        config = {"depth": 3}
        config["depth"] = 4


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = nn.ModuleList(nn.Linear(HIDDEN, HIDDEN) for _ in range(config["depth"]))


        net = Net()
        run_training(net)
    """)
    top = module_level(code)
    assert top[:2] == ["import os", "import sys"] and "sys.path.insert(0, os.path.dirname(__file__))" in top
    assert {"HIDDEN = 32", "config = {'depth': 3}", "config['depth'] = 4"} <= set(top)
    assert not [line for line in top if "compute_something_expensive" in line or "run_training" in line]


def test_names_no_simple_statement_defines_are_reported():
    result, _ = sliced("""
        class Net:
            def __init__(self):
                self.width = WIDTH
        for WIDTH in (8,):
            pass
        net = Net()
    """)
    assert result.unresolved == ("WIDTH",)


def test_two_statements_on_one_line_are_told_apart():
    result, code = sliced("class Net:\n    pass\nx = 1; net = Net(); net.apply(print)\n")
    [build] = result.builds
    assert build.line == 3 and build.init_lines == (3,)
    assert "    net = Net()\n    net.apply(print)\n" in code


# -- through the CLI: scripts are read, their models built the way they build them ------------------


def real_repo(tmp_path, *names):
    """Copies of fixtures under tests/real_repos; they write SENTINEL_* files if more than the model runs."""
    for name in names:
        (tmp_path / name).write_bytes((REAL / name).read_bytes())
    return tmp_path


def sentinels(directory) -> list[str]:
    return sorted(p.name for p in directory.rglob("SENTINEL_*"))


def models_by_name(document) -> dict[str, dict]:
    return {m["model"]: m for m in document["models"]}


def test_a_training_script_is_analysed_without_training(tmp_path):
    project = real_repo(tmp_path, "dcgan_train.py")
    path = project / "dcgan_train.py"
    code, document = run_json("--no-cache", "dcgan_train.py", cwd=project)
    assert sentinels(project) == [] and not list(project.glob("*.pth"))
    models = models_by_name(document)
    assert models["Generator"]["status"] == "traced"
    assert models["Generator"]["built_by"] == f"call-site dcgan_train.py:{line_of(path, 'netG = Generator')}"
    assert models["Discriminator"]["built_by"] == f"call-site dcgan_train.py:{line_of(path, 'netD = Discriminator')}"
    # The init that ran is the script's weights_init (netG.apply), on its own line.
    rows = {row["layer"]: row for row in models["Discriminator"]["layers"]}
    assert (
        rows["main.0"]["init"] == "normal_(std=0.02)"
        and rows["main.0"]["activation"] == "nn.LeakyReLU(negative_slope=0.2)"
    )
    [finding] = document["findings"]  # N(0, 0.02) before LeakyReLU, absorbed by the BatchNorm after the next conv
    assert (finding["code"], finding["severity"], finding["line"]) == (
        "IL201",
        "info",
        line_of(path, "normal_(m.weight, 0.0, 0.02)"),
    )
    assert code == 0


def test_the_classic_answer_pasted_as_a_script_is_flagged(tmp_path):
    project = real_repo(tmp_path, "classic_answer.py")
    path = project / "classic_answer.py"
    code, document = run_json("--no-cache", "classic_answer.py", cwd=project)
    assert sentinels(project) == []
    [finding] = findings_for(document, "IL201")
    assert finding["line"] == line_of(path, "nn.init.normal_(param, mean=0, std=0.01)")
    assert finding["layers"] == ["fc1"]
    assert finding["actual_std"] == 0.01 and finding["expected_std"] == pytest.approx(math.sqrt(2 / 64), rel=1e-4)
    assert (
        models_by_name(document)["SimpleNN"]["built_by"]
        == f"call-site classic_answer.py:{line_of(path, 'model = SimpleNN()')}"
    )
    assert code == 1


def test_main_in_the_main_guard_is_read_and_not_run(tmp_path):
    project = real_repo(tmp_path, "mnist_main.py")
    path = project / "mnist_main.py"
    code, document = run_json("--no-cache", "mnist_main.py", cwd=project)
    assert sentinels(project) == [] and not (project / "mnist_cnn.pt").exists()
    [finding] = findings_for(document, "IL101")
    assert finding["line"] == line_of(path, "nn.init.xavier_uniform_(m.weight)")
    # fc1 is 9216 -> 128: Xavier's sqrt(2 / 9344) is 0.99x He's sqrt(2 / 9216), the right std after all.
    assert finding["layers"] == ["conv1", "conv2"]
    assert code == 1


def test_a_script_whose_model_needs_a_required_argument_is_read_from_source(tmp_path):
    write(
        tmp_path,
        "needs_width.py",
        """
import argparse
import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--width", type=int, required=True)
opt = parser.parse_args()


class Net(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc1 = nn.Linear(16, 16)
        self.fc2 = nn.Linear(16, width)
        nn.init.xavier_normal_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


net = Net(opt.width)
for step in range(10):
    open("SENTINEL_trained", "w")
""",
    )
    code, document = run_json("--no-cache", "needs_width.py", cwd=tmp_path)
    assert sentinels(tmp_path) == []
    [fallback] = findings_for(document, "IL909")
    assert "TypeError" in fallback["message"] and "its models were analysed from source" in fallback["message"]
    assert "\n" not in fallback["message"]
    # Read from source, the class still needs its argument: it is listed, with the reason, not silently dropped.
    [skipped] = findings_for(document, "IL908")
    assert "building Net as the script does (line 21) failed" in skipped["message"]
    assert code == 1


def test_a_required_argument_the_model_never_reads_does_not_stop_it(tmp_path):
    write(
        tmp_path,
        "needs_data.py",
        """
import argparse
import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--dataset", required=True)
parser.add_argument("--hidden", type=int, default=32)
opt = parser.parse_args()


class Net(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.fc1 = nn.Linear(16, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


model = Net(opt.hidden)
nn.init.xavier_uniform_(model.fc1.weight)
""",
    )
    code, document = run_json("--no-cache", "needs_data.py", cwd=tmp_path)
    [model] = document["models"]
    assert model["status"] == "traced" and model["built_by"] == "call-site needs_data.py:21"
    assert {row["layer"]: row["init"] for row in model["layers"]}["fc1"] == "xavier_uniform_()"
    assert [f["line"] for f in findings_for(document, "IL101")] == [22]
    assert code == 1


def test_a_build_that_takes_an_earlier_build_runs_it_first_with_its_init():
    """`encoder = Encoder(); encoder.apply(init_encoder); model = Classifier(encoder, ...)`: the
    classifier's build function first runs the encoder's (construction and init), as the script does."""
    result, code = sliced((REAL / "encoder_head_train.py").read_text(), frozenset({"Encoder", "Classifier"}))
    [encoder, classifier] = result.builds
    assert (encoder.variable, encoder.requires, classifier.variable, classifier.requires) == (
        "encoder",
        (),
        "model",
        ("encoder",),
    )
    assert result.unresolved == ()
    body = code.split(f"def {classifier.function}", 1)[1].split("\n\n", 1)[0]
    assert body.splitlines()[1:] == [
        f"    encoder = {encoder.function}()",
        "    model = Classifier(encoder, args.num_classes)",
        "    return model",
    ]


@pytest.mark.parametrize("mode", [(), ("--static",)], ids=["full", "static"])
def test_a_model_built_from_another_builds_model_is_analysed_with_the_scripts_init(tmp_path, mode):
    project = real_repo(tmp_path, "encoder_head_train.py")
    path = project / "encoder_head_train.py"
    code, document = run_json("--no-cache", *mode, "encoder_head_train.py", cwd=project)
    assert sentinels(project) == []
    models = models_by_name(document)
    assert models["Classifier"]["built_by"] == f"call-site encoder_head_train.py:{line_of(path, 'model = Classifier')}"
    rows = {row["layer"]: row for row in models["Classifier"]["layers"]}
    assert rows["encoder.layers.0"]["init"] == "xavier_uniform_()"
    [finding] = findings_for(document, "IL101")
    assert finding["line"] == line_of(path, "nn.init.xavier_uniform_(module.weight)")
    # Found in the encoder built alone and inside the classifier: one line, both models named.
    assert set(finding["models"]) == {"Encoder", "Classifier"}
    assert {rows[f"encoder.layers.{i}"]["activation"] for i in range(3)} == {"torch.relu"}
    assert not findings_for(document, "IL909")  # built as the script builds it, not read instead
    assert code == 1

"""Static mode: a file's model facts from its source alone, judged by the same rules as full mode."""

from __future__ import annotations

import ast
import json
import math
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from initlint import check_paths
from initlint.findings import INFO
from initlint.judge import PathDisplay
from initlint.judge import judge as judge_files
from initlint.options import Options
from initlint.shared.facts import DEFAULT, SKIPPED, STATIC, USER, FileFacts
from initlint.shared.positions import Positions
from initlint.static import analyze_source
from initlint.static.interp import Frame, Interpreter
from initlint.static.names import Qual, canonical, import_bindings
from initlint.static.values import UNKNOWN, Scope

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CASES = HERE / "static_cases"


def analyse(source: str, path: str = "/virtual/model.py") -> FileFacts:
    return analyze_source(path, textwrap.dedent(source).lstrip("\n"))


def analyse_file(path: Path) -> FileFacts:
    return analyze_source(str(path.resolve()), path.read_text(encoding="utf-8"))


def model(facts: FileFacts, name: str):
    return next(m for m in facts.models if m.name == name)


def layer(facts: FileFacts, model_name: str, layer_name: str):
    return next(layer for layer in model(facts, model_name).layers if layer.name == layer_name)


@dataclass(frozen=True)
class Hit:
    """One layer a finding covers, as both modes can report it."""

    path: str
    model: str
    code: str
    layer: str | None
    line: int
    column: int
    severity: str


def judge(*files: FileFacts) -> set[Hit]:
    """The rules' findings on statically analysed files, as ``initlint.judge`` reports them, one hit per layer."""
    report = judge_files(files, Options(), PathDisplay.of([]))
    return {
        Hit(os.path.abspath(f.path), f.model, f.code, name, f.line, f.column, f.severity)
        for f in report.findings
        if f.code < "IL900"  # the rules' findings, not the analysis problems
        for name in f.layers or (None,)
    }


def serious(hits: set[Hit]) -> set[Hit]:
    return {h for h in hits if h.severity != INFO}


# Every rule's examples are checked in static mode too, against the findings stored beside them
# in the rule's file (``Example.static`` says where static mode cannot decide): test_rule_examples.py.

MUST_CATCH = {
    "xavier before F.relu": (
        """
        import torch.nn as nn
        import torch.nn.functional as F

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(64, 32)
                self.fc2 = nn.Linear(32, 10)
                nn.init.xavier_uniform_(self.fc1.weight)

            def forward(self, x):
                return self.fc2(F.relu(self.fc1(x)))
        """,
        "IL101",
        "fc1",
        "nn.init.xavier_uniform_(self.fc1.weight)",
    ),
    "xavier before torch.relu": (
        """
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(64, 32)
                self.fc2 = nn.Linear(32, 10)
                nn.init.xavier_normal_(self.fc1.weight)

            def forward(self, x):
                x = self.fc1(x)
                x = torch.relu(x)
                return self.fc2(x)
        """,
        "IL101",
        "fc1",
        "nn.init.xavier_normal_(self.fc1.weight)",
    ),
    "relu gain before torch.tanh": (
        """
        import torch
        import torch.nn as nn
        from torch.nn.init import kaiming_normal_

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(128, 128)
                self.fc2 = nn.Linear(128, 10)
                kaiming_normal_(self.fc1.weight, nonlinearity="relu")

            def forward(self, x):
                return self.fc2(torch.tanh(self.fc1(x)))
        """,
        "IL101",
        "fc1",
        'kaiming_normal_(self.fc1.weight, nonlinearity="relu")',
    ),
    "normal_(0, 0.01) before ReLU": (
        """
        import torch.nn as nn
        from torch.nn import init

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(64, 32)
                self.act = nn.ReLU()
                self.fc2 = nn.Linear(32, 10)
                init.normal_(self.fc1.weight, 0, 0.01)

            def forward(self, x):
                return self.fc2(self.act(self.fc1(x)))
        """,
        "IL201",
        "fc1",
        "init.normal_(self.fc1.weight, 0, 0.01)",
    ),
    ".data.normal_(0, 0.01) before ReLU": (
        """
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(64, 32)
                self.fc2 = nn.Linear(32, 10)
                self.fc1.weight.data.normal_(0, 0.01)

            def forward(self, x):
                return self.fc2(self.fc1(x).relu())
        """,
        "IL201",
        "fc1",
        "self.fc1.weight.data.normal_(0, 0.01)",
    ),
    "deep default-init ReLU Sequential": (
        """
        import torch.nn as nn

        class Deep(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Sequential(
                    nn.Linear(64, 64), nn.ReLU(),
                    nn.Linear(64, 64), nn.ReLU(),
                    nn.Linear(64, 64), nn.ReLU(),
                    nn.Linear(64, 64), nn.ReLU(),
                    nn.Linear(64, 10),
                )

            def forward(self, x):
                return self.body(x)
        """,
        "IL102",
        "body.0",
        "nn.Linear(64, 64), nn.ReLU(),",
    ),
}


@pytest.mark.parametrize("case", MUST_CATCH)
def test_must_catch(case):
    source, code, layer_name, fragment = MUST_CATCH[case]
    text = textwrap.dedent(source).lstrip("\n")
    hits = serious(judge(analyze_source("/virtual/case.py", text)))
    # The finding points where ``fragment`` starts: the init call, or the constructor for a default init.
    line = next(i for i, layer in enumerate(text.splitlines(), 1) if fragment in layer)
    column = text.splitlines()[line - 1].index(fragment) + 1
    assert any(h.code == code and h.layer == layer_name and h.line == line and h.column == column for h in hits), hits
    assert {h.code for h in hits} == {code}


# -- the same findings as full mode ------------------------------------------------------------

COMPARED = sorted([*(REPO / "examples").glob("*.py"), *(HERE / "models").glob("*.py"), CASES / "idioms.py"])
# Findings that need no pairing: they are decidable whenever static mode knows the layer.
_UNPAIRED_RULES = {"IL301", "IL303"}


@pytest.fixture(scope="module")
def full_report():
    return check_paths([str(p) for p in COMPARED], Options(jobs=2))


@pytest.fixture(scope="module")
def static_files():
    return [analyse_file(p) for p in COMPARED]


# Full mode measures one forward at init and does not raise a predicted collapse it does not see to an
# error (the message says so); static mode runs nothing and keeps the prediction's error.
MEASURED = "(predicted; one forward at init measured"


def _softened(report) -> set[tuple]:
    """Where full mode's measurement softened a finding: its severity differs from static mode's by design."""
    return {
        (os.path.abspath(f.path), f.model, f.code, f.line, f.column) for f in report.findings if MEASURED in f.message
    }


def _unsoftened(hits: set[Hit], softened: set[tuple]) -> set[Hit]:
    """Hits with the severity of a finding full mode softened made comparable ("measured")."""
    return {replace(h, severity="measured") if (h.path, h.model, h.code, h.line, h.column) in softened else h
            for h in hits}  # fmt: skip


def _full_hits(report, static_files) -> tuple[set[Hit], set[Hit]]:
    """Full mode's hits per layer: all of them, and those static mode can decide."""
    known = {(os.path.abspath(f.path), m.name): {layer.name: layer for layer in m.layers}
             for f in static_files for m in f.models if m.status == STATIC}  # fmt: skip
    every, decidable = set(), set()
    for f in report.findings:
        if f.code >= "IL900":
            continue
        for name in f.layers or (None,):
            severity = "measured" if MEASURED in f.message else f.severity
            hit = Hit(os.path.abspath(f.path), f.model, f.code, name, f.line, f.column, severity)
            every.add(hit)
            facts = known.get((hit.path, hit.model), {}).get(name)
            if facts is not None and (facts.paired or hit.code in _UNPAIRED_RULES):
                decidable.add(hit)
    return every, decidable


def test_no_finding_that_full_mode_does_not_make(full_report, static_files):
    every, _ = _full_hits(full_report, static_files)
    extra = _unsoftened(judge(*static_files), _softened(full_report)) - every
    assert not extra, sorted(extra, key=str)


def test_every_decidable_full_mode_finding_is_found(full_report, static_files):
    _, decidable = _full_hits(full_report, static_files)
    missing = decidable - _unsoftened(judge(*static_files), _softened(full_report))
    assert not missing, sorted(missing, key=str)
    assert len({h.code for h in decidable}) >= 5  # the comparison covers most rules, not a vacuous subset


@pytest.mark.parametrize(
    "path", [REPO / "examples" / "bad_models.py", HERE / "models" / "mlps.py"], ids=lambda p: p.name
)
def test_same_findings_as_full_mode_on_shipped_mistakes(full_report, static_files, path):
    every, _ = _full_hits(full_report, static_files)
    facts = static_files[COMPARED.index(path)]
    wanted = {h for h in every if h.path == str(path)
              and any(m.name == h.model and m.status == STATIC for m in facts.models)}  # fmt: skip
    assert wanted and _unsoftened(judge(facts), _softened(full_report)) == wanted


@pytest.mark.parametrize("path", [HERE / "models" / "resnet.py", HERE / "models" / "selu_net.py",
                                  REPO / "examples" / "good_models.py"], ids=lambda p: p.name)  # fmt: skip
def test_clean_models_stay_clean(static_files, path):
    facts = static_files[COMPARED.index(path)]
    analysed = [m for m in facts.models if m.status == STATIC]
    assert analysed and all(layer.paired for m in analysed for layer in m.layers)
    assert sum(len(m.layers) for m in analysed) >= 3
    assert not serious(judge(facts))


def test_resnet_is_built_like_torchvision(static_files):
    resnet = model(static_files[COMPARED.index(HERE / "models" / "resnet.py")], "ResNet")
    layers = {layer.name: layer for layer in resnet.layers}
    assert len(layers) == 21  # stem, 16 block convs, 3 downsamples, fc
    ds = layers["layer2.0.downsample.0"]
    assert (ds.fan_in, ds.fan_out, ds.weight.mode) == (64, 128, "fan_out")
    assert ds.residual_end and ds.norm_after and ds.downstream.name == "relu"
    assert layers["layer1.0.conv2"].residual_end and not layers["layer1.0.conv1"].residual_end
    assert layers["fc"].final and layers["fc"].weight.origin == DEFAULT
    assert {name for _, name in resnet.component_classes} == {"BasicBlock"}  # judged inside ResNet, as in full mode


# -- precision: what the source does not decide is not judged ------------------------------------


@pytest.fixture(scope="module")
def undecided_source():
    return (CASES / "undecided.py").read_text(encoding="utf-8")


def test_undecided_models_are_analysed_but_silent(undecided_source):
    facts = analyze_source(str(CASES / "undecided.py"), undecided_source)
    assert len(facts.models) >= 15 and all(m.status == STATIC for m in facts.models)
    assert not serious(judge(facts))


# Deciding what the source left open makes each model fire: its silence above comes from the open point.
DECIDED = [
    ("UnknownHelperInit", "        custom_init(self)\n", "", "IL102"),
    ("UnknownApply", "        self.apply(cfg.init_fn)\n", "", "IL102"),
    ("UndecidedInit", "        if cfg.he:", "        if False:", "IL101"),
    ("UnknownActivation", "fc2(act_fn(", "fc2(F.relu(", "IL101"),
    ("UnknownStd", "std=cfg.std", "std=0.01", "IL201"),
    ("TensorBranch", "        if h.mean() > 0:", "        if True:", "IL101"),
    # (HeLogitsAfterUnknown is left out: decided, its last layer is He-ReLU after a tanh, 1.41x the
    # right std, within the 1.5x a final projection may be off; deciding it decides nothing material.)
    ("ImportedIsinstance", "isinstance(m, ImportedLinear)", "isinstance(m, nn.Linear)", "IL101"),
    ("ModuleConstantUnknown", "if cfg.wide:", "if False:", "IL201"),
    ("LoopUnknownIterable", "for name in cfg.names:", "for name in ():", "IL101"),
    ("ReplacedWeight", "        self.fc1.weight = nn.Parameter(make_weight(64, 64))\n", "", "IL101"),
    ("CopiedWeights", "copy_(make_weight(64, 64))", "copy_(torch.zeros(64, 64))", "IL302"),
    ("UnknownDepth", "range(cfg.depth)", "range(6)", "IL102"),
]


@pytest.mark.parametrize("name,old,new,code", DECIDED, ids=[d[0] for d in DECIDED])
def test_deciding_the_open_point_makes_it_fire(undecided_source, name, old, new, code):
    assert old in undecided_source
    facts = analyze_source("/virtual/decided.py", undecided_source.replace(old, new, 1))
    found = {h.code for h in serious(judge(facts)) if h.model == name}
    assert code in found, found


def test_unknown_calls_taint_what_they_receive(undecided_source):
    facts = analyze_source(str(CASES / "undecided.py"), undecided_source)
    hidden = layer(facts, "UnknownHelperInit", "net.0")
    assert hidden.weight.family == "unknown" and hidden.weight.std is None
    assert hidden.weight.last.call == "custom_init(self)" and hidden.weight.last.effect == "unknown"
    assert not [layer for layer in model(facts, "UnknownDepth").layers]  # built in a loop of unknown length
    assert not layer(facts, "TensorBranch", "fc1").paired
    assert layer(facts, "UnknownStd", "fc1").weight.last.call == "normal_(std=cfg.std)"


def test_non_literal_sizes_leave_the_layer_out():
    facts = analyse("""
        import torch.nn as nn
        from config import DIM

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.Linear(DIM, 64)
                self.b = nn.Linear(64, 10)

            def forward(self, x):
                return self.b(self.a(x).relu())
        """)
    assert [layer.name for layer in model(facts, "Net").layers] == ["b"]
    assert layer(facts, "Net", "b").upstream.name == "relu"  # a is still a layer of the dataflow


def test_a_layer_called_with_different_activations_is_not_paired():
    facts = analyse("""
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 8)
                self.other = nn.Linear(8, 8)

            def forward(self, x):
                return torch.tanh(self.fc(torch.relu(self.fc(x)))) + torch.relu(self.other(x))
        """)
    assert not layer(facts, "Net", "fc").paired and layer(facts, "Net", "other").paired


# -- static mode never imports torch --------------------------------------------------------------


def test_never_imports_torch(tmp_path):
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('static mode imported torch')\n")
    script = textwrap.dedent("""
        import json, sys
        from initlint.rules import MODEL_RULES, ModelView
        from initlint.static import analyze_source
        codes = []
        for path in sys.argv[1:]:
            with open(path, encoding="utf-8") as handle:
                facts = analyze_source(path, handle.read())
            for m in facts.models:
                if m.status == "static":
                    codes += [r.code for r in MODEL_RULES for v in r.check(ModelView(m)) if v.severity != "info"]
        assert "torch" not in sys.modules, "torch was imported"
        print(json.dumps(sorted(set(codes))))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    paths = [str(REPO / "examples" / "bad_models.py"), str(HERE / "models" / "resnet.py")]
    done = subprocess.run([sys.executable, "-c", script, *paths], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["IL101", "IL102", "IL201", "IL301"]


# initlint modules that import torch: static mode must not depend on them.
_TORCH_MODULES = {"ops", "trace", "record", "analyze", "load"}


def test_static_package_imports_nothing_that_imports_torch():
    for path in (REPO / "initlint" / "static").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                assert not any(a.name.split(".")[0] == "torch" for a in node.names), path
            elif isinstance(node, ast.ImportFrom):
                module = (node.module or "").split(".")
                assert node.level or module[0] != "torch", path
                imported = {*module, *(a.name for a in node.names)} if node.level else set()
                assert not imported & _TORCH_MODULES, (path, imported & _TORCH_MODULES)


# -- names, literals, fans, spans ------------------------------------------------------------------


@pytest.mark.parametrize("statement,name,dotted", [
    ("import torch", "torch", "torch"),
    ("import torch.nn", "torch", "torch"),
    ("import torch.nn as nn", "nn", "torch.nn"),
    ("from torch import nn", "nn", "torch.nn"),
    ("import torch.nn.functional as F", "F", "torch.nn.functional"),
    ("from torch.nn import functional as fn", "fn", "torch.nn.functional"),
    ("from torch.nn import init", "init", "torch.nn.init"),
    ("from torch.nn.init import xavier_uniform_ as xu", "xu", "torch.nn.init.xavier_uniform_"),
    ("from .layers import Block", "Block", ".layers.Block"),
])  # fmt: skip
def test_import_bindings(statement, name, dotted):
    assert import_bindings(ast.parse(statement).body[0])[name] == Qual(dotted)


def test_canonical_names():
    assert canonical("torch.nn.modules.conv.Conv2d") == "torch.nn.Conv2d"
    assert Qual("torch.nn.modules.linear").attr("Linear").name == "torch.nn.Linear"
    assert Qual("torch.nn").attr("functional").attr("relu").name == "torch.nn.functional.relu"
    assert canonical("numpy.sqrt") == "numpy.sqrt"


@pytest.mark.parametrize("spelling", [
    ("import torch.nn as nn", "nn.init.kaiming_normal_"),
    ("import torch\nimport torch.nn as nn", "torch.nn.init.kaiming_normal_"),
    ("from torch import nn\nfrom torch.nn import init", "init.kaiming_normal_"),
    ("import torch.nn as nn\nimport torch.nn.init as I", "I.kaiming_normal_"),
    ("import torch.nn as nn\nfrom torch.nn.init import kaiming_normal_", "kaiming_normal_"),
    ("import torch.nn as nn\nfrom torch.nn.init import kaiming_normal_ as he", "he"),
    ("import torch.nn as nn\nfrom torch.nn import init", "init.kaiming_normal"),  # deprecated spelling
])  # fmt: skip
def test_every_spelling_of_an_init_is_the_same_init(spelling):
    imports, call = spelling
    facts = analyse(
        imports
        + textwrap.dedent(f"""

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(50, 20)
                {call}(self.fc.weight, mode="fan_out", nonlinearity="relu")
        """)
    )
    step = layer(facts, "Net", "fc").weight.last
    assert (step.call, step.function, step.origin) == ("kaiming_normal_(mode='fan_out', nonlinearity='relu')",
                                                       "init.kaiming_normal_", USER)  # fmt: skip
    assert layer(facts, "Net", "fc").weight.std == pytest.approx(math.sqrt(2 / 20))


def test_literal_sizes_from_constants_defaults_and_arithmetic():
    facts = analyse("""
        import math
        import torch.nn as nn

        WIDTH = 32
        IN, OUT = 10, 3

        class Net(nn.Module):
            def __init__(self, hidden=WIDTH * 2, depth=3, bottleneck=None):
                super().__init__()
                bottleneck = bottleneck or hidden // 4
                dims = [IN] + [hidden] * (depth - 1) + [bottleneck]
                self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:]))
                self.head = nn.Linear(bottleneck, OUT if depth > 2 else 1)
                nn.init.normal_(self.head.weight, std=math.sqrt(2.0 / bottleneck) * 0.5)
                nn.init.xavier_uniform_(self.layers[0].weight, gain=nn.init.calculate_gain("leaky_relu", 0.2))
        """)
    shapes = {layer.name: layer.weight.shape for layer in model(facts, "Net").layers}
    assert shapes == {"layers.0": (64, 10), "layers.1": (64, 64), "layers.2": (16, 64), "head": (3, 16)}
    assert layer(facts, "Net", "head").weight.std == pytest.approx(math.sqrt(2 / 16) * 0.5)
    assert layer(facts, "Net", "layers.0").weight.gain == pytest.approx(math.sqrt(2 / (1 + 0.2**2)))


_SMALL = st.integers(-50, 50).map(str)
_EXPRESSIONS = st.recursive(
    _SMALL,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "//", "%", "<<", "&"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(inner, st.integers(0, 3)).map(lambda t: f"({t[0]} ** {t[1]})"),  # small powers: eval must end
    ),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(_EXPRESSIONS)
def test_constant_folding_matches_python(expression):
    try:
        expected = eval(expression)  # noqa: S307 - integers and operators only
    except (ArithmeticError, ValueError, MemoryError):
        expected = UNKNOWN
    if isinstance(expected, int) and expected.bit_length() > 4096:
        expected = UNKNOWN  # folding refuses numbers that large
    value = Interpreter().eval(ast.parse(expression, mode="eval").body, Frame(Scope({})))
    assert value == expected if expected is not UNKNOWN else value is UNKNOWN


@pytest.mark.parametrize("constructor,shape,fans,torch_fan_out", [
    ("nn.Conv2d(32, 32, 3, groups=32)", (32, 1, 3, 3), (9, 9), 288),  # depthwise: torch's fan_out is 32x too large
    ("nn.Conv2d(16, 64, (3, 5), groups=4)", (64, 4, 3, 5), (60, 240), 960),
    ("nn.ConvTranspose2d(512, 256, 4, stride=2)", (512, 256, 4, 4), (2048, 4096), 8192),
    ("nn.ConvTranspose2d(64, 32, 3, stride=1, groups=4)", (64, 8, 3, 3), (144, 72), 576),
    ("nn.Conv1d(8, 16, kernel_size=5, stride=2, bias=False)", (16, 8, 5), (40, 80), 80),
    ("nn.Linear(7, 3)", (3, 7), (7, 3), 3),
])  # fmt: skip
def test_true_fans(constructor, shape, fans, torch_fan_out):
    facts = analyse(f"""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.layer = {constructor}
        """)
    found = layer(facts, "Net", "layer")
    assert found.weight.shape == shape and (found.fan_in, found.fan_out) == fans
    # PyTorch's default init uses torch's fans: std 1/sqrt(3 * torch fan_in)
    torch_fan_in = shape[1] * math.prod(shape[2:])
    assert found.weight.std == pytest.approx(1 / math.sqrt(3 * torch_fan_in))
    assert shape[0] * math.prod(shape[2:]) == torch_fan_out


def test_spans_are_character_columns():
    source = 'x = "ééé"; import torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__(); s = "ü"; self.fc = nn.Linear(4, 4)\n'
    fc = layer(analyze_source("/virtual/u.py", source), "Net", "fc")
    line = source.splitlines()[4]
    assert (fc.site.line, fc.site.column, fc.site.end_column) == (5, line.index("nn.Linear") + 1, len(line) + 1)
    assert (fc.assigned.column, fc.assigned.end_column) == (line.index("self.fc") + 1, line.index(" = nn") + 1)
    node = ast.parse(source).body[0]
    assert Positions("/virtual/u.py", source).span(node).end_column == len('x = "ééé"') + 1


def test_sequential_and_module_list_names_and_loops():
    facts = analyse("""
        import torch.nn as nn
        import torch.nn.functional as F

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Sequential(nn.Linear(8, 8), nn.LeakyReLU(0.2), nn.Dropout(0.1), nn.Linear(8, 8), nn.Tanh())
                self.blocks = nn.ModuleList([nn.Linear(8, 8) for _ in range(2)])
                self.blocks.append(nn.Linear(8, 4))

            def forward(self, x):
                x = self.body(x)
                for block in self.blocks[:-1]:
                    x = F.elu(block(x), alpha=0.5) * 2.0
                return self.blocks[-1](x)
        """)
    layers = {layer.name: layer for layer in model(facts, "Net").layers}
    assert list(layers) == ["body.0", "body.3", "blocks.0", "blocks.1", "blocks.2"]
    assert layers["body.0"].downstream.label == "nn.LeakyReLU(negative_slope=0.2)"
    assert [s.target for s in layers["body.0"].successors] == ["body.3"]
    assert layers["body.3"].downstream.name == "tanh"
    assert dict(layers["blocks.0"].downstream.params) == {"alpha": 0.5}
    assert layers["blocks.1"].successors[0].scale == 2.0 and layers["blocks.2"].final
    assert layers["blocks.2"].assigned.line == layers["blocks.2"].site.line  # registered by the append call
    assert [name for name, _ in model(facts, "Net").attributes] == ["body", "blocks"]


def test_loops_over_modules_and_apply_mark_generic_sites():
    facts = analyse("""
        import torch.nn as nn

        def init(m):
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.Linear(8, 8)
                self.b = nn.Linear(8, 8)
                self.c = nn.Conv2d(3, 8, 3)
                for m in self.modules():
                    if isinstance(m, nn.Linear):
                        nn.init.normal_(m.weight, std=0.02)
                self.apply(init)
        """)
    a, b, c = (layer(facts, "Net", n) for n in "abc")
    assert a.weight.last.generic and b.weight.last.generic and a.weight.last.call == "normal_(std=0.02)"
    assert not c.weight.last.generic and c.weight.last.function == "init.kaiming_uniform_"


def test_constructor_arguments_skip_the_model():
    facts = analyse("""
        import torch.nn as nn

        class Block(nn.Module):
            def __init__(self, width, depth, *, act="relu", scale):
                super().__init__()

        class Net(Block):
            pass

        class Fine(Block):
            def __init__(self, width=8):
                super().__init__(width, 2, scale=1.0)
        """)
    assert (model(facts, "Block").status, model(facts, "Block").detail) == (
        SKIPPED,
        "constructor needs arguments: width, depth, scale",
    )
    assert model(facts, "Net").status == SKIPPED
    assert model(facts, "Fine").status == STATIC


def test_subclass_of_a_model_in_the_file():
    facts = analyse("""
        import torch
        import torch.nn as nn

        class Base(nn.Module):
            def __init__(self, width=16):
                super().__init__()
                self.fc1 = nn.Linear(8, width)
                self.fc2 = nn.Linear(width, 2)

            def forward(self, x):
                return self.fc2(torch.relu(self.fc1(x)))

        class Xavier(Base):
            def __init__(self):
                super(Xavier, self).__init__(width=32)
                nn.init.xavier_normal_(self.fc1.weight)
        """)
    fc1 = layer(facts, "Xavier", "fc1")
    assert fc1.weight.shape == (32, 8) and fc1.downstream.name == "relu"
    assert [h.code for h in serious(judge(facts)) if h.model == "Xavier"] == ["IL101"]
    assert not serious({h for h in judge(facts) if h.model == "Base"})


def test_file_problems_and_non_models():
    broken = analyse("class Net(nn.Module:\n    pass\n")
    assert broken.problem is not None and broken.problem.kind == "syntax-error" and broken.problem.span.line == 1
    facts = analyse("""
        import enum
        import torch.nn as nn

        class Color(enum.Enum):
            RED = 1

        class Plain:
            pass
        """)
    assert facts.models == ()


_PIECES = {  # source -> what it is in the dataflow
    "nn.Linear(16, 16)": "layer", "nn.ReLU()": "relu", "nn.Tanh()": "tanh", "nn.LeakyReLU(0.1)": "leaky_relu",
    "nn.Dropout(0.1)": "pass", "nn.Identity()": "pass", "nn.BatchNorm1d(16)": "norm",
}  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(sorted(_PIECES)), min_size=1, max_size=9))
def test_sequential_stacks_pair_like_their_order(pieces):
    source = "import torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n" \
             f"        self.body = nn.Sequential(nn.Linear(16, 16), {', '.join(pieces)})\n\n" \
             "    def forward(self, x):\n        return self.body(x)\n"  # fmt: skip
    kinds = ["layer", *(_PIECES[p] for p in pieces)]
    found = {layer.name: layer for layer in model(analyze_source("/virtual/stack.py", source), "Net").layers}
    assert list(found) == [f"body.{i}" for i, kind in enumerate(kinds) if kind == "layer"]
    for i, kind in enumerate(kinds):
        if kind != "layer":
            continue
        after = kinds[i + 1 :]
        stop = next((j for j, k in enumerate(after) if k not in ("pass", "norm")), len(after))
        facts = found[f"body.{i}"]
        assert facts.norm_after == ("norm" in after[:stop])
        if stop < len(after) and after[stop] != "layer":
            assert facts.downstream.name == after[stop]
            # the activation is the model's output when only shape ops follow it
            assert facts.final == all(k == "pass" for k in after[stop + 1 :])
        else:
            assert facts.downstream.name == "identity" and facts.final == (stop == len(after))


@pytest.mark.parametrize("expression,value", [("0 << (17 ** 3)", 0), ("1 ** (50 ** 4)", 1), ("(-1) ** (17 ** 3)", -1)])
def test_constant_folding_keeps_cheap_huge_operations(expression, value):
    assert Interpreter().eval(ast.parse(expression, mode="eval").body, Frame(Scope({}))) == value

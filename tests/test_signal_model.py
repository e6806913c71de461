"""The signal model (``shared.signal``): the second moment carried through every node of the dataflow,
against hand-computed values, and what it decides: a chain's collapse is an error only when the whole
model's output collapses with it (not when a skip connection or a norm carries the signal past it)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from initlint import Options, check_paths
from initlint.shared import graph, theory
from initlint.shared.activations import make_activation
from initlint.shared.facts import SignalNode
from initlint.shared.signal import NORM_EPS, deviation, propagate, signal_nodes

RELU = make_activation("relu", "relu")
TANH = make_activation("tanh", "tanh")


def _moments(nodes: list[SignalNode], factors: dict[str, float]) -> list[float | None]:
    return list(propagate(nodes, lambda name: factors[name]).values)


def test_a_layer_scales_by_fan_in_times_its_weights_moment_and_relu_halves():
    nodes = [
        SignalNode(graph.INPUT_NODE),
        SignalNode(graph.LAYER, (0,), layer="fc"),
        SignalNode(graph.ACTIVATION, (1,), activation=RELU),
        SignalNode(graph.OUTPUT_NODE, (2,)),
    ]
    # He for ReLU on fan_in 64: std sqrt(2/64), so fan_in * std^2 = 2; the ReLU halves it back to 1.
    assert _moments(nodes, {"fc": 64 * (2 / 64)}) == pytest.approx([1.0, 2.0, 1.0, 1.0])


def test_a_residual_add_sums_branch_and_skip_a_concat_averages_a_gate_multiplies():
    nodes = [
        SignalNode(graph.INPUT_NODE),
        SignalNode(graph.LAYER, (0,), layer="branch"),
        SignalNode(graph.MERGE, (0, 1)),  # x + branch(x)
        SignalNode(graph.LAYER, (0,), layer="wide"),
        SignalNode(graph.PASS, (0, 3)),  # torch.cat([x, wide(x)])
        SignalNode(graph.GATE, (3, 1)),  # wide(x) * branch(x)
        SignalNode(graph.SCALE, (0,), factor=0.5),
    ]
    assert _moments(nodes, {"branch": 1e-4, "wide": 3.0}) == pytest.approx(
        [1.0, 1e-4, 1.0 + 1e-4, 3.0, 2.0, 3e-4, 0.25]
    )


def test_a_norm_restores_the_signal_unless_it_fell_below_its_eps():
    nodes = [
        SignalNode(graph.INPUT_NODE),
        SignalNode(graph.LAYER, (0,), layer="small"),
        SignalNode(graph.NORM, (1,)),
    ]
    assert _moments(nodes, {"small": 0.01})[2] == pytest.approx(0.01 / (0.01 + NORM_EPS))  # 0.999
    assert _moments(nodes, {"small": 1e-12})[2] == pytest.approx(1e-12 / NORM_EPS)  # 1e-7: lost for good


def test_tanh_is_taken_at_the_signals_scale():
    nodes = [
        SignalNode(graph.INPUT_NODE),
        SignalNode(graph.LAYER, (0,), layer="fc"),
        SignalNode(graph.ACTIVATION, (1,), activation=TANH),
    ]
    # E[tanh(z)^2] for z ~ N(0, 1) = 0.3943 (numerically integrated by hand: 1 - E[sech^2 z] = 1 - 0.6057).
    assert _moments(nodes, {"fc": 1.0})[2] == pytest.approx(0.3943, abs=2e-4)
    assert _moments(nodes, {"fc": 1e-4})[2] == pytest.approx(1e-4, rel=1e-3)  # linear near 0
    assert 0.99 < _moments(nodes, {"fc": 1e6})[2] < 1.0  # saturated: bounded by 1, not 1e6 * 0.39
    # The unit-scale gain would have said 0.39 * 1e6: the model must not predict an explosion past a tanh.
    assert theory.gains("tanh").second_moment == pytest.approx(0.3943, abs=2e-4)


def test_attention_probabilities_weigh_the_values_an_opaque_node_hides_the_signal_until_a_norm():
    nodes = [
        SignalNode(graph.INPUT_NODE),
        SignalNode(graph.LAYER, (0,), layer="q"),
        SignalNode(graph.LAYER, (0,), layer="k"),
        SignalNode(graph.LAYER, (0,), layer="v"),
        SignalNode(graph.PASS, (1, 2)),  # q @ k.T
        SignalNode(graph.SOFTMAX, (4,)),
        SignalNode(graph.PASS, (5,)),  # dropout on the probabilities
        SignalNode(graph.PASS, (6, 3)),  # probabilities @ v
        SignalNode(graph.OPAQUE, (7,)),
        SignalNode(graph.LAYER, (8,), layer="after"),
        SignalNode(graph.NORM, (9,)),
    ]
    moments = _moments(nodes, {"q": 1.0, "k": 1.0, "v": 0.25, "after": 1.0})
    assert moments[7] == pytest.approx(0.25)  # the values' moment
    assert moments[8] is None and moments[9] is None
    assert moments[10] == pytest.approx(1 / (1 + NORM_EPS))


def test_deviation_is_actual_over_reference_at_the_worst_node_and_at_the_output():
    nodes = [
        SignalNode(graph.INPUT_NODE),
        SignalNode(graph.LAYER, (0,), layer="a"),
        SignalNode(graph.LAYER, (1,), layer="b"),
        SignalNode(graph.OUTPUT_NODE, (2,)),
    ]
    actual = propagate(nodes, {"a": 100.0, "b": 1e-4}.__getitem__)
    reference = propagate(nodes, {"a": 1.0, "b": 1.0}.__getitem__)
    found = deviation(nodes, actual, reference)
    assert found.largest == pytest.approx(100.0)
    assert found.output == pytest.approx(1e-2)


def test_behind_a_zero_initialised_head_the_output_is_judged_by_what_reaches_the_head():
    """A zero head (the convention) carries no signal in either propagation: the output's deviation is
    read at the head's input, so a collapsed body is still seen."""
    nodes = [
        SignalNode(graph.INPUT_NODE),
        SignalNode(graph.LAYER, (0,), layer="body"),
        SignalNode(graph.LAYER, (1,), layer="head"),
        SignalNode(graph.OUTPUT_NODE, (2,)),
    ]
    actual = propagate(nodes, {"body": 1e-6, "head": 0.0}.__getitem__)
    reference = propagate(nodes, {"body": 1.0, "head": 0.0}.__getitem__)
    assert deviation(nodes, actual, reference).output == pytest.approx(1e-6)


def test_the_dataflow_keeps_every_part_and_drops_shape_reads():
    first = graph.FlowGraph()
    x = first.add(graph.INPUT_NODE)
    size = first.add(graph.IGNORE, [x])
    fc = first.add(graph.LAYER, [x, size], name="fc")
    first.add(graph.OUTPUT_NODE, [fc])
    second = graph.FlowGraph()
    source = second.add(graph.SOURCE)
    second.add(graph.SINK, [source])
    nodes = signal_nodes([first, second])
    assert [(n.kind, n.inputs, n.layer) for n in nodes] == [
        (graph.INPUT_NODE, (), ""),
        (graph.LAYER, (0,), "fc"),
        (graph.OUTPUT_NODE, (1,), ""),
        (graph.SOURCE, (), ""),
        (graph.SINK, (3,), ""),
    ]


# -- what it decides, in both modes -------------------------------------------------------------

BLOCK = """
import torch
import torch.nn as nn


class Block(nn.Module):
    \"\"\"A pre-norm residual MLP block, its branch initialised with ``std``.\"\"\"

    def __init__(self, d=64, std=0.002):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, 4 * d)
        self.fc3 = nn.Linear(4 * d, d)
        for fc in (self.fc1, self.fc2, self.fc3):
            nn.init.normal_(fc.weight, std=std)

    def forward(self, x):
        return x + self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(self.norm(x))))))
"""

# One file per model: a line found in several models is reported once (for the most severe).
MODELS = {
    "SmallBranches": BLOCK
    + """

class SmallBranches(nn.Module):
    def __init__(self, d=64, depth=4):
        super().__init__()
        self.blocks = nn.Sequential(*[Block(d, std=0.002) for _ in range(depth)])
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, 10)

    def forward(self, x):
        return self.head(self.norm(self.blocks(x)))
""",
    "HugeBranches": BLOCK
    + """

class HugeBranches(nn.Module):
    def __init__(self, d=64, depth=4):
        super().__init__()
        self.blocks = nn.Sequential(*[Block(d, std=1.0) for _ in range(depth)])
        self.head = nn.Linear(d, 10)

    def forward(self, x):
        return self.head(self.blocks(x))
""",
    "NoSkip": """
import torch
import torch.nn as nn


class NoSkip(nn.Module):
    \"\"\"The same layers, the same small init, no skip connection: the signal is gone.\"\"\"

    def __init__(self, d=64):
        super().__init__()
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, 4 * d)
        self.fc3 = nn.Linear(4 * d, d)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, 10)
        for fc in (self.fc1, self.fc2, self.fc3):
            nn.init.normal_(fc.weight, std=0.002)

    def forward(self, x):
        return self.head(self.norm(torch.relu(self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x))))))))
""",
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = Path(tmp_path_factory.mktemp("signal"))
    for name, source in MODELS.items():
        (folder / f"{name.lower()}.py").write_text(source, encoding="utf-8")
    return {mode: check_paths([str(folder)], Options(static=mode == "static")) for mode in ("full", "static")}


def _findings(report: object, model: str) -> list[tuple[str, str, str]]:
    return [(f.code, f.severity, f.message) for f in report.findings if f.model == model]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", ["full", "static"])
def test_a_small_residual_branch_is_never_an_error_and_says_what_carries_the_signal(reports, mode):
    found = _findings(reports[mode], "SmallBranches")
    assert found, "the branch's own chain is still reported"
    assert all(severity != "error" for _, severity, _ in found)
    assert any("through the whole model's dataflow" in m and "its output keeps 1x" in m for *_, m in found)


@pytest.mark.parametrize("mode", ["full", "static"])
def test_the_same_collapse_without_a_skip_is_an_error_a_final_norm_cannot_undo(reports, mode):
    found = _findings(reports[mode], "NoSkip")
    assert ("IL201", "error") in [(code, severity) for code, severity, _ in found]
    assert not any("through the whole model's dataflow" in m for *_, m in found)


@pytest.mark.parametrize("mode", ["full", "static"])
def test_an_exploding_residual_branch_blows_up_the_stream_an_error(reports, mode):
    found = _findings(reports[mode], "HugeBranches")
    assert ("IL201", "error") in [(code, severity) for code, severity, _ in found]


def test_the_residual_streams_moment_is_the_sum_of_its_branches():
    """Four He-initialised ReLU branches added to a unit skip: each block adds about its own second
    moment, so the output is about 1 + 4 (no norm): the signal model sums branch and skip."""
    relu = SignalNode(graph.ACTIVATION, (), activation=RELU)
    nodes = [SignalNode(graph.INPUT_NODE)]
    stream = 0
    for block in range(4):
        nodes.append(SignalNode(graph.LAYER, (stream,), layer=f"b{block}"))
        nodes.append(SignalNode(relu.kind, (len(nodes) - 1,), activation=RELU))
        nodes.append(SignalNode(graph.MERGE, (stream, len(nodes) - 1)))
        stream = len(nodes) - 1
    moments = propagate(nodes, lambda name: 2.0).values
    # block k: x_k = x_{k-1} + relu(He(x_{k-1})) -> moment doubles: 2, 4, 8, 16
    assert [moments[i] for i in (3, 6, 9, 12)] == pytest.approx([2.0, 4.0, 8.0, 16.0])
    assert math.isclose(moments[-1] or 0.0, 16.0)

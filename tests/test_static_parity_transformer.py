"""Static mode builds torch's transformer composites as full mode sees them.

``nn.TransformerEncoderLayer``/``DecoderLayer`` and the ``nn.TransformerEncoder``/
``Decoder`` stacks of their deep copies, written as people write them: both
modes check the file through the CLI (JSON rows) and the API
(``initlint.check_paths``) and must list the same layers, rows and verdicts.
Full mode's IL9xx notes (it pairs both sides of the stacks' fast-path branch)
are about full mode itself and are left out.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MODES, PARITY_FIELDS, layer_rows, line_of, parity_rows, reports_by_mode, write

from initlint import Options, check_paths

SOURCE = """
import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self, d=64, heads=4, depth=2):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=256, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth)
        self.head = nn.Linear(d, 10)

    def forward(self, x):
        return self.head(self.encoder(x).mean(1))


class PreNormEncoder(nn.Module):
    def __init__(self, d=32, heads=2, depth=3):
        super().__init__()
        layer = nn.TransformerEncoderLayer(
            d_model=d, nhead=heads, dim_feedforward=4 * d, activation="gelu", norm_first=True, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=depth, norm=nn.LayerNorm(d))
        self.head = nn.Linear(d, 5)
        nn.init.normal_(self.head.weight, 0, 1)

    def forward(self, x):
        return self.head(self.encoder(x)[:, 0])


class AnnotatedEncoder(nn.Module):
    def __init__(self, d=32, heads=4, depth=2):
        super().__init__()
        self.embed = nn.Linear(16, d)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, heads, 64, 0.1), depth)
        self.out = nn.Linear(d, 16)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, x):
        return self.out(self.encoder(self.embed(x)))


class Seq2Seq(nn.Module):
    def __init__(self, d=32, heads=4):
        super().__init__()
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, heads, 64, batch_first=True), 1)
        block = nn.TransformerDecoderLayer(d, heads, 64, activation="gelu", batch_first=True)
        self.decoder = nn.TransformerDecoder(block, 2, norm=nn.LayerNorm(d))
        self.out = nn.Linear(d, 8)
        nn.init.kaiming_normal_(self.out.weight)

    def forward(self, src, tgt):
        return self.out(self.decoder(tgt, self.encoder(src)))
"""


def _block(prefix: str, *, decoder: bool = False) -> set[str]:
    attentions = ("self_attn", "multihead_attn") if decoder else ("self_attn",)
    return {
        *(f"{prefix}.{a}{part}" for a in attentions for part in ("", ".out_proj")),
        f"{prefix}.linear1",
        f"{prefix}.linear2",
    }


LAYERS = {
    "Encoder": {*_block("encoder.layers.0"), *_block("encoder.layers.1"), "head"},
    "PreNormEncoder": {*(n for i in range(3) for n in _block(f"encoder.layers.{i}")), "head"},
    "AnnotatedEncoder": {"embed", *_block("encoder.layers.0"), *_block("encoder.layers.1"), "out"},
    "Seq2Seq": {
        *_block("encoder.layers.0"),
        *_block("decoder.layers.0", decoder=True),
        *_block("decoder.layers.1", decoder=True),
        "out",
    },
}


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("parity"), "transformers.py", SOURCE)


@pytest.fixture(scope="module")
def documents(path: Path) -> dict[str, dict]:
    """The JSON report per mode."""
    return reports_by_mode(path)


def field(document: dict, model: str, layer: str, name: str) -> object:
    return parity_rows(document)[model][layer][PARITY_FIELDS.index(name)]


@pytest.mark.parametrize("mode", sorted(MODES))
def test_both_modes_list_the_composites_layers(documents, mode):
    listed = {model: set(layers) for model, layers in parity_rows(documents[mode]).items()}
    assert listed == LAYERS


def test_layer_rows_agree(documents):
    """Same pairing (activation), same init, same actual and expected std, layer by layer."""
    assert parity_rows(documents["static"]) == parity_rows(documents["full"])


def test_verdicts_agree_through_the_api(path):
    found = {
        mode: {
            (f.model, f.code, f.severity, f.layers, f.line)
            for f in check_paths([str(path)], options).findings
            if not f.code.startswith("IL9")
        }
        for mode, options in (("full", Options()), ("static", Options(static=True)))
    }
    assert found["static"] == found["full"]
    line = line_of(path, "nn.init.normal_(self.head")
    assert ("PreNormEncoder", "IL201", "warning", ("head",), line) in found["static"]
    copies = ("encoder.layers.0.linear1", "encoder.layers.1.linear1")  # xavier's gain 1 before a relu, in each copy
    assert ("AnnotatedEncoder", "IL101", "info", copies, line_of(path, "nn.init.xavier_uniform_(p)")) in found["static"]


def test_static_reads_the_activation_argument(documents):
    static = documents["static"]
    assert field(static, "Encoder", "encoder.layers.1.linear1", "activation") == "F.relu"  # the default, F.relu
    assert (
        field(static, "PreNormEncoder", "encoder.layers.2.linear1", "activation") == "F.gelu(approximate='none')"
    )  # "gelu"
    assert field(static, "Seq2Seq", "decoder.layers.1.linear1", "activation") == "F.gelu(approximate='none')"


def test_copies_start_from_the_original_layers_init(documents):
    """Each copy reads as the layer it was copied from: torch's defaults (linear2: kaiming_uniform_(a=sqrt(5))
    on 128 inputs, std 1/sqrt(3 * 128))."""
    static = documents["static"]
    for index in range(3):
        layer = f"encoder.layers.{index}"
        assert field(static, "PreNormEncoder", f"{layer}.self_attn", "init") == "PyTorch default xavier_uniform_()"
        assert field(static, "PreNormEncoder", f"{layer}.linear2", "actual_std") == pytest.approx(
            (3 * 128) ** -0.5, abs=1e-6
        )


def test_init_loop_after_construction_reaches_every_copy(documents):
    """The Annotated Transformer's loop: xavier_uniform_ on every matrix, the copies' too."""
    static = documents["static"]
    for layer in sorted(LAYERS["AnnotatedEncoder"]):
        assert field(static, "AnnotatedEncoder", layer, "init") == "xavier_uniform_()", layer


GELU_DECODERS = """
import torch
import torch.nn as nn


class Stacked(nn.Module):
    def __init__(self, d=32):
        super().__init__()
        layer = nn.TransformerDecoderLayer(d, 4, dim_feedforward=64, activation=nn.GELU(), batch_first=True)
        self.decoder = nn.TransformerDecoder(layer, 2)
        self.out = nn.Linear(d, 5)

    def forward(self, x):
        return self.out(self.decoder(x, x))


class Single(nn.Module):
    def __init__(self, d=32):
        super().__init__()
        self.decoder = nn.TransformerDecoderLayer(d, 4, dim_feedforward=64, activation=nn.GELU(), batch_first=True)
        self.out = nn.Linear(d, 5)

    def forward(self, x):
        return self.out(self.decoder(x, x))
"""


def test_a_copied_decoder_layer_runs_relu_whatever_module_it_was_given(tmp_path):
    """torch's TransformerDecoderLayer.__setstate__ sets ``activation = F.relu`` on a deep copy whose
    activation is a module (it lives in ``_modules``, not the instance dict): the stack's copies run ReLU,
    the module given stays registered, unused. Full mode traced nothing of such a stack before (the
    registered GELU was taken for a leaf it could not reach); both modes now pair what runs."""
    path = write(tmp_path, "decoders.py", GELU_DECODERS)
    for mode, document in reports_by_mode(path).items():
        rows = layer_rows(document, ("activation",))
        assert rows["Stacked"]["decoder.layers.0.linear1"] == ("F.relu",), mode
        assert rows["Stacked"]["decoder.layers.1.linear1"] == ("F.relu",), mode
        assert rows["Single"]["decoder.linear1"] == ("nn.GELU",), mode

"""Recording: every init path of construction yields the right distribution and source line."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import line_of, write

from initlint.dynamic.analyze import build_model, import_file
from initlint.shared.facts import DEFAULT, USER


def build(tmp_path, source, cls="Net", device=None):
    path = write(tmp_path, "model_src.py", source)
    module = import_file(str(path))
    factory = getattr(module, cls)
    if device is not None:

        def factory(f=factory):
            with torch.device(device):
                return f()

    built = build_model(factory, [str(path)], str(path))
    return path, built.model, built.recorder


HEADER = """
import math
import torch
import torch.nn as nn
from torch.nn.init import xavier_normal_
"""


def test_default_init_points_at_construction(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 32)
""",
    )
    init = rec.param_init(model.fc.weight)
    assert init.origin == DEFAULT
    assert init.family == "uniform"
    assert init.std == pytest.approx(1 / math.sqrt(3 * 64))
    assert init.last.site.line == line_of(path, "self.fc = nn.Linear")
    assert init.last.site.column == len("        self.fc = ") + 1


def test_direct_call_in_init(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 32)
        nn.init.kaiming_normal_(self.fc.weight, mode="fan_out", nonlinearity="relu")
""",
    )
    init = rec.param_init(model.fc.weight)
    assert init.origin == USER
    assert init.last.call == "kaiming_normal_(mode='fan_out', nonlinearity='relu')"
    assert init.std == pytest.approx(math.sqrt(2 / 32))
    assert init.gain == pytest.approx(math.sqrt(2))
    assert init.mode == "fan_out"
    site = init.last.site
    assert site.line == line_of(path, "kaiming_normal_")
    assert (site.column, site.end_column) == (
        9,
        len('        nn.init.kaiming_normal_(self.fc.weight, mode="fan_out", nonlinearity="relu")') + 1,
    )


def test_eye_is_recorded_at_its_call(tmp_path):
    """``nn.init.eye_`` writes through ``torch.eye(..., out=w)``: a factory call with ``out=`` is a write
    to ``w`` (the IRNN's identity recurrence), not a new tensor."""
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.rec = nn.Linear(64, 64)
        nn.init.eye_(self.rec.weight)
""",
    )
    init = rec.param_init(model.rec.weight)
    assert (init.origin, init.last.call, init.last.site.line) == (USER, "eye_()", line_of(path, "eye_("))
    assert init.std == pytest.approx(1 / 8)  # E[w^2] of a 64x64 identity: 64 ones in 4096 entries
    assert torch.equal(model.rec.weight.detach(), torch.eye(64))


def test_init_weights_method(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 32)
        self._init_weights()

    def _init_weights(self):
        nn.init.xavier_uniform_(self.fc.weight, gain=2.0)
""",
    )
    init = rec.param_init(model.fc.weight)
    assert init.last.site.line == line_of(path, "xavier_uniform_")
    assert init.std == pytest.approx(2.0 * math.sqrt(2 / 96))
    assert init.gain == 2.0


def test_apply_with_isinstance_dispatch_is_generic(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
def init_fn(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, std=0.02)
    elif isinstance(m, nn.Conv2d):
        nn.init.kaiming_uniform_(m.weight)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 8)
        self.c = nn.Conv2d(3, 8, 3)
        self.apply(init_fn)
""",
    )
    for layer in (model.a, model.b):
        init = rec.param_init(layer.weight)
        assert init.std == pytest.approx(0.02)
        assert init.last.site.line == line_of(path, "nn.init.normal_")
        assert init.last.generic
    conv = rec.param_init(model.c.weight)
    assert conv.last.site.line == line_of(path, "kaiming_uniform_(m.weight)")
    assert not conv.last.generic  # the only parameter that call set


def test_modules_loop(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3)
        self.b = nn.Conv2d(8, 8, 3)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
""",
    )
    init = rec.param_init(model.b.weight)
    assert init.std == pytest.approx(math.sqrt(2 / (8 * 9)))
    assert init.last.site.line == line_of(path, "kaiming_normal_")


def test_named_parameters_loop(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(16, 16)
        for name, p in self.named_parameters():
            if "weight" in name:
                nn.init.orthogonal_(p, gain=2.0)
            else:
                nn.init.zeros_(p)
""",
    )
    w = rec.param_init(model.a.weight)
    assert w.family == "orthogonal"
    assert w.std == pytest.approx(2.0 / 4)
    assert w.last.site.line == line_of(path, "orthogonal_")
    b = rec.param_init(model.a.bias)
    assert b.is_constant and b.mean == 0.0


def test_function_imported_by_name_before_recording(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 32)
        xavier_normal_(self.fc.weight)
""",
    )
    init = rec.param_init(model.fc.weight)
    assert init.last.call == "xavier_normal_()"
    assert init.last.site.line == line_of(path, "xavier_normal_(self.fc.weight)")
    assert init.std == pytest.approx(math.sqrt(2 / 96))


@pytest.mark.parametrize(
    "statement,family,std,mean",
    [
        ("self.fc.weight.data.normal_(0, 0.01)", "normal", 0.01, 0.0),
        ("self.fc.weight.data.uniform_(-0.1, 0.1)", "uniform", 0.2 / math.sqrt(12), 0.0),
        ("self.fc.weight.data.zero_()", "constant", 0.0, 0.0),
        ("self.fc.weight.data.fill_(0.5)", "constant", 0.0, 0.5),
        ("self.fc.weight.data.copy_(torch.randn(32, 64) * 0.05)", "normal", 0.05, 0.0),
    ],
)
def test_in_place_tensor_ops(tmp_path, statement, family, std, mean):
    path, model, rec = build(
        tmp_path,
        HEADER
        + f"""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 32)
        {statement}
""",
    )
    init = rec.param_init(model.fc.weight)
    assert init.family == family
    assert init.std == pytest.approx(std)
    assert init.mean == pytest.approx(mean)
    assert init.last.site.line == line_of(path, statement.split("(")[0])


def test_mul_after_init_scales(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        nn.init.kaiming_normal_(self.fc.weight)
        with torch.no_grad():
            self.fc.weight.mul_(0.5)
""",
    )
    init = rec.param_init(model.fc.weight)
    assert init.std == pytest.approx(0.5 * math.sqrt(2 / 64))
    assert init.gain == pytest.approx(0.5 * math.sqrt(2))
    assert init.steps[-1].effect == "scale"


def test_parameter_from_scaled_randn(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Dense(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(32, 64) / math.sqrt(64))

Net = Dense
""",
    )
    init = rec.param_init(model.weight)
    assert init.family == "normal"
    assert init.std == pytest.approx(1 / 8)
    assert init.last.site.line == line_of(path, "torch.randn")


def test_data_assignment_keeps_history(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 10)
        self.fc.weight.data = torch.randn(10, 10) * 0.1
""",
    )
    init = rec.param_init(model.fc.weight)
    assert init.std == pytest.approx(0.1)
    assert [s.origin for s in init.steps] == [DEFAULT, USER]
    assert init.last.site.line == line_of(path, "weight.data =")


def test_empty_never_written_is_uninitialized(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(8, 8))
""",
    )
    assert rec.param_init(model.weight).family == "uninitialized"


def test_slice_write_is_partial(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16)
        with torch.no_grad():
            self.lstm.bias_ih_l0[16:32].fill_(1.0)
""",
    )
    init = rec.param_init(model.lstm.bias_ih_l0)
    assert init.family == "uniform"  # the default, except the forget-gate slice
    assert init.steps[-1].effect == "partial"
    assert init.steps[-1].site.line == line_of(path, "fill_(1.0)")


def test_overwrite_history_is_ordered(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        nn.init.kaiming_normal_(self.fc.weight)
        nn.init.normal_(self.fc.weight, std=0.02)
""",
    )
    calls = [s.call for s in rec.param_init(model.fc.weight).steps]
    assert calls == ["kaiming_uniform_(a=2.23607)", "kaiming_normal_()", "normal_(std=0.02)"]


def test_meta_device_is_analytic(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4096, 4096)
        nn.init.kaiming_normal_(self.fc.weight, nonlinearity="relu")
        nn.init.orthogonal_(self.fc.bias.unsqueeze(0))
""",
        device="meta",
    )
    assert model.fc.weight.device.type == "meta"
    init = rec.param_init(model.fc.weight)
    assert init.std == pytest.approx(math.sqrt(2 / 4096))
    assert not init.measured


def test_unknown_values_are_measured_on_cpu(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
import numpy as np

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        values = np.random.default_rng(0).normal(0.0, 0.3, size=(200, 200))
        self.weight = nn.Parameter(torch.from_numpy(values).float())
""",
    )
    init = rec.param_init(model.weight)
    assert init.measured
    assert init.std == pytest.approx(0.3, rel=0.02)


def test_replaced_parameter_has_its_own_distribution(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 10)
        self.fc.weight = nn.Parameter(torch.randn(10, 10) / math.sqrt(10))
""",
    )
    init = rec.param_init(model.fc.weight)
    assert (init.family, init.measured) == ("normal", False)
    assert init.std == pytest.approx(1 / math.sqrt(10))


def test_dtype_conversion_keeps_the_recorded_init(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)
        nn.init.kaiming_normal_(self.fc.weight, nonlinearity="relu")
        self.to(dtype=torch.float64)
""",
    )
    init = rec.param_init(model.fc.weight)
    assert model.fc.weight.dtype == torch.float64
    assert (init.family, init.measured) == ("normal", False)
    assert init.std == pytest.approx(math.sqrt(2 / 16))


def test_in_place_arithmetic_on_data_is_a_shift(tmp_path):
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 10)
        nn.init.normal_(self.fc.weight, std=0.1)
        self.fc.weight.data -= 0.5
""",
    )
    init = rec.param_init(model.fc.weight)
    assert (init.family, init.std, init.mean, init.measured) == ("normal", 0.1, -0.5, False)
    assert init.steps[-1].call == ".sub_(0.5)"


def test_a_freed_tensors_history_never_reaches_a_new_one(tmp_path):
    # Many temporaries are written and freed; parameters built afterwards may reuse their addresses.
    path, model, rec = build(
        tmp_path,
        HEADER
        + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        for _ in range(50):
            scratch = torch.empty(32, 32)
            nn.init.xavier_uniform_(scratch)
            del scratch
        self.weight = nn.Parameter(torch.zeros(32, 32))
""",
    )
    init = rec.param_init(model.weight)
    assert (init.family, init.mean, init.std) == ("constant", 0.0, 0.0)
    assert [s.function for s in init.steps] == ["torch.zeros"]


SPANS = """import torch.nn as nn
# page{sep}break \u00e9


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)  # \u00fc{sep}
        s = "\u00e9{sep}\U0001f600"; nn.init.normal_(self.fc.weight, std=0.5)
        nn.init.kaiming_normal_(  # \u00e9{sep}
            self.fc.weight,
            nonlinearity="relu",
        )
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("sep", ["\f", "\v", "\u2028", "\x85"], ids=["ff", "vt", "ls", "nel"])
def test_call_sites_count_lines_as_python_and_columns_in_code_points(tmp_path, newline, sep):
    source = SPANS.format(sep=sep)
    path = tmp_path / "spans.py"
    path.write_bytes(source.replace("\n", newline).encode())
    model = build_model(import_file(str(path)).Net, [str(path)], str(path))
    steps = model.recorder.param_init(model.model.fc.weight).steps
    # (line, column, end line, end column) counted by hand: the only line breaks are the "\n"s above.
    assert [(s.site.line, s.site.column, s.site.end_line, s.site.end_column) for s in steps] == [
        (8, len("        self.fc = ") + 1, 8, len("        self.fc = nn.Linear(4, 4)") + 1),
        (
            9,
            len(f'        s = "é{sep}😀"; ') + 1,
            9,
            len(f'        s = "é{sep}😀"; nn.init.normal_(self.fc.weight, std=0.5)') + 1,
        ),
        (10, 9, 13, len("        )") + 1),
    ]

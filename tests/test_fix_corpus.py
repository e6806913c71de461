"""--fix --unsafe-fixes on tests/fix_corpus, the init code people write (issue 13).

Each corpus file says, at module level, which model it defines (``MODEL``), two other
constructor arguments to build it with (``VARIANTS``), the init function a script applies
after construction (``APPLY``, optional), and which activation each layer feeds
(``FEEDS``: a regular expression of layer names -> ``"relu"``, ``"linear|relu"``,
``"leaky_relu:0.2"``; ``"linear~1.5"``: a final projection, where any std within 1.5x is
immaterial, as IL101 judges it). A file may state a gap it shows: ``NOT_FIXED`` (no fix is
offered, and the message says why) or ``STD_DEFAULT_ONLY`` (the fix writes numbers for the
sizes built by default: other sizes are only built). The oracle for the fixed weights' std is computed here, by hand:
the gain of the activation (He, Glorot; GELU/SiLU/Mish by quadrature) over the square root
of the true fan_in read from the layer's constructor arguments.
"""

from __future__ import annotations

import ast
import importlib.util
import math
import re
from pathlib import Path

import pytest
import torch
from conftest import run_cli, run_json
from torch import nn

CORPUS = Path(__file__).resolve().parent / "fix_corpus"
FILES = sorted(CORPUS.glob("*.py"))
FIXABLE = {"IL101", "IL102", "IL201", "IL202", "IL203", "IL301"}  # the rules that offer fixes
GAIN_TOLERANCE = 1.10  # initlint's gain-tolerance: a gain this close to the right one is accepted


def _settings(path: Path) -> dict[str, object]:
    """The file's module-level constants, read with ast (nothing of the file runs)."""
    found: dict[str, object] = {}
    for statement in ast.parse(path.read_text()).body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name) and target.id.isupper():
                found[target.id] = ast.literal_eval(_literal(statement.value))
    return found


def _literal(node: ast.expr) -> ast.expr:
    """``dict(a=1)`` as ``{"a": 1}``, so literal_eval reads the VARIANTS lists."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return ast.Dict([ast.Constant(k.arg) for k in node.keywords], [_literal(k.value) for k in node.keywords])
    if isinstance(node, ast.List):
        return ast.List([_literal(e) for e in node.elts], ast.Load())
    return node


# -- the oracle: expected std by hand -----------------------------------------------------------


def _forward_gain(f) -> float:
    """1 / sqrt(E[f(z)^2]) for z ~ N(0, 1), by the trapezoid rule on [-12, 12]."""
    z = torch.linspace(-12, 12, 400_001, dtype=torch.float64)
    density = torch.exp(-(z**2) / 2) / math.sqrt(2 * math.pi)
    return 1 / math.sqrt(float(torch.trapezoid(f(z) ** 2 * density, z)))


def _gains(spec: str) -> list[float]:
    """The gains a layer may get: He's for rectifiers, 5/3 for tanh (torch's), 1 for no activation
    and sigmoid (torch's); g_fwd for GELU/SiLU/Mish, and He-ReLU's sqrt(2) where that is within the
    gain tolerance of it."""
    name, _, slope = spec.partition(":")
    if name in ("linear", "sigmoid"):
        return [1.0]
    if name == "relu":
        return [math.sqrt(2)]
    if name == "tanh":
        return [5 / 3]
    if name == "leaky_relu":
        return [math.sqrt(2 / (1 + float(slope) ** 2))]
    smooth = {"gelu": nn.functional.gelu, "silu": nn.functional.silu, "mish": nn.functional.mish}[name]
    g = _forward_gain(smooth)
    return [g] + ([math.sqrt(2)] if abs(math.log(g / math.sqrt(2))) <= math.log(GAIN_TOLERANCE) else [])


def _true_fan_in(layer: nn.Module) -> int:
    """How many inputs each output sums, from the constructor's arguments."""
    if isinstance(layer, nn.Linear):
        return layer.in_features
    assert isinstance(layer, nn.modules.conv._ConvNd)
    kernel = math.prod(layer.kernel_size)
    per_group = layer.in_channels // layer.groups
    if layer.transposed:  # each output position sums the inputs whose kernels overlap it
        return max(1, per_group * kernel // math.prod(layer.stride))
    return per_group * kernel


def _expected_stds(layer: nn.Module, spec: str) -> list[tuple[float, float]]:
    """(std, the factor it may be off by) for each init the spec accepts."""
    fan = _true_fan_in(layer)
    found = []
    for act in spec.split("|"):
        name, _, tolerance = act.partition("~")
        found += [(g / math.sqrt(fan), float(tolerance or 1)) for g in _gains(name)]
    return found


def test_oracle_gains_match_the_reference_table():
    """The quadrature reproduces initialization.md's table (and so can judge the fixes)."""
    assert _gains("gelu") == pytest.approx([1.5335, math.sqrt(2)], abs=1e-4)
    assert _gains("silu") == pytest.approx([1.6765], abs=1e-4)  # sqrt(2) is 16% off: not accepted
    assert _gains("mish") == pytest.approx([1.4868, math.sqrt(2)], abs=1e-4)
    transposed = nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)
    assert _true_fan_in(transposed) == 256 and _true_fan_in(nn.Conv2d(32, 32, 3, groups=32)) == 9


# -- the corpus ---------------------------------------------------------------------------------


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(f"fix_corpus_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(module, settings: dict[str, object], kwargs: dict[str, object]) -> nn.Module:
    """The model as the file builds it: constructed, then the script's init applied."""
    torch.manual_seed(0)
    model = getattr(module, str(settings["MODEL"]))(**kwargs)
    if "APPLY" in settings:
        model.apply(getattr(module, str(settings["APPLY"])))
    return model


def _layers(findings: list[dict]) -> set[tuple[str, str, str]]:
    """(code, file, layer) of each layer a finding names."""
    return {(f["code"], f["path"], layer) for f in findings for layer in f["layers"]}


@pytest.fixture(scope="module")
def fixed(tmp_path_factory):
    """The corpus copied, checked, fixed with --unsafe-fixes and checked again."""
    directory = tmp_path_factory.mktemp("corpus")
    for path in FILES:
        (directory / path.name).write_bytes(path.read_bytes())
    before = run_json(".", "--no-cache", cwd=directory)[1]["findings"]
    run_cli("check", ".", "--no-cache", "--fix", "--unsafe-fixes", cwd=directory)
    after = run_json(".", "--no-cache", cwd=directory)[1]["findings"]
    return directory, before, after


def test_corpus_is_big_and_every_file_declares_what_it_builds():
    assert len(FILES) >= 30
    for path in FILES:
        settings = _settings(path)
        assert {"MODEL", "VARIANTS", "FEEDS"} <= settings.keys(), path.name
        assert len(settings["VARIANTS"]) == 2, path.name  # type: ignore[arg-type]


def test_every_fixable_finding_is_fixed_and_none_is_created(fixed):
    directory, before, after = fixed
    gaps = {path.name for path in FILES if "NOT_FIXED" in _settings(path)}
    wanted = {t for t in _layers(before) if t[0] in FIXABLE}
    left = _layers(after)
    print(f"fix corpus: fixed {len(wanted - left)} of {len(wanted)} fixable layer findings")
    assert left <= _layers(before), f"new findings: {sorted(left - _layers(before))}"
    assert not [f for f in after if f["fix"] is not None], "a fix is still offered after --fix"
    assert sorted(t for t in wanted & left if t[1] not in gaps) == []
    for f in before:  # a stated gap: the finding stays, and says why it has no fix
        if f["path"] in gaps and f["code"] in FIXABLE:
            assert f["fix"] is None and "no automatic fix" in f["message"], f["message"]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_fixed_file_compiles_builds_and_has_the_expected_std(fixed, path):
    directory = fixed[0]
    target = directory / path.name
    compile(target.read_bytes(), path.name, "exec")
    settings = _settings(target)
    module = _import(target)
    feeds: dict[str, str] = settings["FEEDS"]  # type: ignore[assignment]
    for index, kwargs in enumerate([{}, *settings["VARIANTS"]]):  # type: ignore[misc]
        model = _build(module, settings, kwargs)
        if "NOT_FIXED" in settings or index and "STD_DEFAULT_ONLY" in settings:
            continue  # built (the fixed file runs); its std is the stated gap
        checked = 0
        for name, layer in model.named_modules():
            spec = next((s for pattern, s in feeds.items() if re.fullmatch(pattern, name)), None)
            if spec is None or not isinstance(layer, (nn.Linear, nn.modules.conv._ConvNd)):
                continue
            checked += 1
            measured = float(layer.weight.detach().double().std())
            error = 3 / math.sqrt(2 * layer.weight.numel()) + 0.01  # 3 sigma of a std estimate
            candidates = _expected_stds(layer, spec)
            assert any(
                expected / tolerance * (1 - error) <= measured <= expected * tolerance * (1 + error)
                for expected, tolerance in candidates
            ), (
                f"{path.name} {kwargs} {name}: std {measured:.4g}, expected one of "
                f"{', '.join(f'{c:.4g} (x{t:g})' for c, t in candidates)}"
            )
        assert checked >= 1, f"{path.name} {kwargs}: FEEDS matched no layer"

"""The math module against hand-computed values (shared/reference/initialization.md)."""

import math

import pytest

from initlint.shared import theory

# (activation, params, E[f^2], g_fwd, g_bwd) from the reference table.
TABLE = [
    ("identity", {}, 1.0, 1.0, 1.0),
    ("relu", {}, 0.5, 1.4142, 1.4142),
    ("leaky_relu", {"negative_slope": 0.01}, 0.50005, 1.4141, 1.4141),
    ("leaky_relu", {"negative_slope": 0.2}, 0.52, 1.3868, 1.3868),
    ("tanh", {}, 0.39429, 1.5925, 1.4674),
    ("sigmoid", {}, 0.29338, 1.8462, 4.7226),
    ("gelu", {}, 0.42522, 1.5335, 1.4811),
    ("gelu_tanh", {}, 0.42522, 1.5335, 1.4811),
    ("silu", {}, 0.35578, 1.6765, 1.6233),
    ("elu", {"alpha": 1.0}, 0.64495, 1.2452, 1.2234),
    ("selu", {}, 1.0, 1.0, 0.9660),
    ("softplus", {}, 0.92125, 1.0419, 1.8462),
    ("mish", {}, 0.45234, 1.4868, 1.4448),
    ("hardswish", {}, 0.33157, 1.7367, 1.6701),
    ("relu6", {}, 0.5, 1.4142, 1.4142),
    ("hardtanh", {}, 0.51606, 1.3920, 1.2103),
    ("softsign", {}, 0.18301, 2.3375, 2.0958),
]


@pytest.mark.parametrize("name,params,moment,g_fwd,g_bwd", TABLE)
def test_gains_match_reference_table(name, params, moment, g_fwd, g_bwd):
    g = theory.gains(name, **params)
    assert g.second_moment == pytest.approx(moment, abs=2e-4)
    assert g.forward == pytest.approx(g_fwd, abs=2e-4)
    assert g.backward == pytest.approx(g_bwd, abs=2e-4)


def test_gelu_second_moment_closed_form():
    assert theory.gains("gelu").second_moment == pytest.approx(1 / 3 + 1 / (2 * math.sqrt(3) * math.pi), abs=1e-7)


def test_relu_gains_are_exact():
    assert theory.gains("relu").forward == pytest.approx(math.sqrt(2), abs=1e-9)


def test_gains_from_samples_agree_with_named_activation():
    values = [math.tanh(z) for z in theory.SAMPLE_POINTS]
    g = theory.gains_from_samples(values)
    assert g.forward == pytest.approx(1.5925, abs=1e-3)
    assert g.backward == pytest.approx(1.4674, abs=1e-3)


def test_match_activation_names_known_shapes_only():
    assert theory.match_activation([max(z, 0.0) for z in theory.SAMPLE_POINTS]) == "relu"
    assert theory.match_activation([z / (1 + z * z) for z in theory.SAMPLE_POINTS]) is None


@pytest.mark.parametrize(
    "name,param,expected",
    [
        ("linear", None, 1.0),
        ("conv2d", None, 1.0),
        ("sigmoid", None, 1.0),
        ("tanh", None, 5 / 3),
        ("relu", None, math.sqrt(2)),
        ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
        ("leaky_relu", 0, math.sqrt(2)),
        ("leaky_relu", 0.2, math.sqrt(2 / 1.04)),
        ("selu", None, 0.75),
    ],
)
def test_torch_gain_reproduces_calculate_gain(name, param, expected):
    assert theory.torch_gain(name, param) == pytest.approx(expected)


def test_torch_gain_rejects_what_torch_rejects():
    with pytest.raises(ValueError):
        theory.torch_gain("gelu")


def test_torch_fans_linear_and_conv():
    assert theory.torch_fans((32, 64)) == theory.Fans(64, 32)
    assert theory.torch_fans((64, 3, 3, 3)) == theory.Fans(27, 576)


def test_true_fans_depthwise_conv():
    # Conv2d(32, 32, 3, groups=32): weight (32, 1, 3, 3). torch says (9, 288); the true fan_out is 9.
    assert theory.torch_fans((32, 1, 3, 3)) == theory.Fans(9, 288)
    assert theory.true_fans((32, 1, 3, 3), groups=32) == theory.Fans(9, 9)


def test_true_fans_transposed_conv():
    # ConvTranspose2d(512, 256, 4, stride=2): weight (512, 256, 4, 4); each output sums 512*16/4 terms.
    assert theory.torch_fans((512, 256, 4, 4)) == theory.Fans(4096, 8192)
    assert theory.true_fans((512, 256, 4, 4), transposed=True, stride=(2, 2)) == theory.Fans(2048, 4096)


def test_true_fans_input_major_weight():
    # transformers' Conv1D stores (in, out).
    assert theory.true_fans((768, 2304), input_major=True) == theory.Fans(768, 2304)


def test_default_init_std():
    # kaiming_uniform_(a=sqrt(5)) == U(+-1/sqrt(fan_in)): std 1/sqrt(3 * 64) = 0.0722
    d = theory.init_distribution("kaiming_uniform_", theory.DEFAULT_INIT_ARGS, (32, 64))
    assert d.family == "uniform"
    assert d.std == pytest.approx(1 / math.sqrt(3 * 64))


def test_kaiming_normal_fan_out_relu_std():
    d = theory.init_distribution("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}, (64, 3, 3, 3))
    assert d.std == pytest.approx(math.sqrt(2 / 576))


def test_xavier_uniform_std_with_gain():
    d = theory.init_distribution("xavier_uniform_", {"gain": 5 / 3}, (32, 64))
    assert d.std == pytest.approx(5 / 3 * math.sqrt(2 / 96))


def test_uniform_and_normal_std():
    assert theory.init_distribution("uniform_", {"a": -0.1, "b": 0.1}, (4, 4)).std == pytest.approx(0.2 / math.sqrt(12))
    d = theory.init_distribution("normal_", {"mean": 0.5, "std": 0.01}, (4, 4))
    assert (d.std, d.mean) == (0.01, 0.5)


def test_trunc_normal_at_two_absolute_truncates_nothing_for_small_std():
    d = theory.init_distribution("trunc_normal_", {"std": 0.02}, (768, 768))
    assert d.std == pytest.approx(0.02, rel=1e-9)


def test_trunc_normal_at_two_sigma():
    # N(0,1) truncated to +-2: variance 1 - 2*2*phi(2)/(2*Phi(2)-1) = 0.7737
    d = theory.init_distribution("trunc_normal_", {"std": 1.0, "a": -2.0, "b": 2.0}, (4, 4))
    assert d.std == pytest.approx(math.sqrt(0.77367), abs=1e-4)


def test_orthogonal_std():
    assert theory.init_distribution("orthogonal_", {"gain": 2.0}, (64, 32)).std == pytest.approx(2 / 8)


def test_constants():
    assert theory.init_distribution("zeros_", {}, (3, 3)).is_constant
    assert theory.init_distribution("constant_", {"val": 0.5}, (3, 3)).mean == 0.5


def test_sparse_std_counts_the_zeroed_rows():
    d = theory.init_distribution("sparse_", {"sparsity": 0.5, "std": 0.1}, (10, 4))
    assert d.std == pytest.approx(0.1 * math.sqrt(0.5))


def test_expected_std():
    assert theory.expected_std(math.sqrt(2), 64) == pytest.approx(0.1768, abs=1e-4)


def test_variance_factor_he_relu_is_one():
    he = theory.Distribution("normal", math.sqrt(2 / 512))
    assert theory.variance_factor(512, he, input_moment=0.5) == pytest.approx(1.0)


def test_variance_factor_default_relu_is_one_sixth():
    default = theory.init_distribution("kaiming_uniform_", theory.DEFAULT_INIT_ARGS, (512, 512))
    assert theory.variance_factor(512, default, input_moment=0.5) == pytest.approx(1 / 6)


def test_thirty_layer_default_relu_collapse_matches_reference():
    # initialization.md: 30 layers width 512, second moment 0.33 -> ~1e-23.
    default = theory.init_distribution("kaiming_uniform_", theory.DEFAULT_INIT_ARGS, (512, 512))
    moment = theory.variance_factor(512, default, 1.0)
    for _ in range(29):
        moment *= theory.variance_factor(512, default, 0.5)
    assert 1e-24 < moment < 1e-22


@pytest.mark.parametrize(
    ("name", "threshold"),
    [
        # sigma'(z) = s(1 - s) = 0.025 (a tenth of 1/4): s = (1 + sqrt(0.9)) / 2, z = log(s / (1 - s))
        ("sigmoid", math.log((1 + math.sqrt(0.9)) / (1 - math.sqrt(0.9)))),
        ("tanh", math.atanh(math.sqrt(0.9))),  # 1 - tanh^2 = 0.1
        ("softsign", math.sqrt(10) - 1),  # 1 / (1 + z)^2 = 0.1
        ("hardtanh", 1.0),  # flat past its kinks
        ("hardsigmoid", 3.0),
    ],
)
def test_saturation_thresholds_by_hand(name, threshold):
    assert theory.saturation_threshold(name) == pytest.approx(threshold, abs=1e-4)


def test_only_saturating_activations_have_a_threshold():
    assert theory.saturation_threshold("relu") is None and theory.saturation_threshold("gelu") is None


def test_saturated_fraction_is_the_gaussian_tail():
    # z ~ N(0, 11.31^2) (std 1 weights on 128 inputs), |z| > 3.637: erfc(3.637 / (11.31 * sqrt 2)) = 0.748
    assert theory.saturated_fraction(math.sqrt(128), 3.637) == pytest.approx(0.7478, abs=1e-3)
    assert theory.saturated_fraction(1.0, 1.96) == pytest.approx(0.05, abs=1e-3)
    assert theory.saturated_fraction(0.0, 1.0) == 0.0

"""The kernels' numerical edge cases, in one place: saturating activations
at +-1e4, softmax and the log losses at certain probabilities, and the
clipping of log(0) as scikit-learn clips it. (These were repeated between
test_kernels.py and test_kernel_properties.py; each test below is the union
of the assertions of the two it replaces.)"""

import numpy as np
import pytest
import reference
from conftest import SKLEARN_SAMPLE_WEIGHT, sklearn_at_least
from numpy.testing import assert_allclose
from sklearn.neural_network._base import binary_log_loss, log_loss
from test_kernels import ACTIVATIONS, ATOL, DTYPES, EMPTY, RTOL, loss_sum_of

from fastmlp.kernels.activations import HIDDEN_ACTIVATIONS
from fastmlp.kernels.losses import OUTPUT_LOSSES

# scikit-learn's log losses take sample_weight from this version on
WEIGHTED_SKLEARN = sklearn_at_least(SKLEARN_SAMPLE_WEIGHT)
# activations with an exp inside, checked against their references at 1e4
EXP_INSIDE = ["silu", "softplus", "elu", "gelu", "tanh"]


def _loss_names(activation):
    names = [n for n, s in OUTPUT_LOSSES.items() if s.activation == activation]
    if not names:
        pytest.skip(f"no output loss uses {activation!r}")
    return names


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_and_log_loss_at_logits_of_1e4(dtype):
    """Logits of +-1e4 give finite probabilities that sum to 1 (with a
    bias); through softmax, the log loss and its delta they stay finite, and
    the loss of a confidently wrong row is -log(eps), the value
    scikit-learn's clipping gives."""
    spec = OUTPUT_LOSSES[_loss_names("softmax")[0]]
    z = np.array(
        [[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4], [-1e4, 0.0, 1e4]],
        dtype=dtype,
    )
    bias = np.array([0.0, 1.0, -1.0], dtype=dtype)
    spec.forward(z, bias, EMPTY[dtype])
    assert np.all(np.isfinite(z))
    assert_allclose(z.sum(axis=1), 1.0, rtol=RTOL[dtype])
    expected = reference.OUTPUT_ACTIVATIONS["softmax"](
        np.array(
            [
                [1e4, -1e4 + 1, -1],
                [-1e4, -1e4 + 1, -1e4 - 1],
                [1e4, 1e4 + 1, -1e4 - 1],
                [-1e4, 1, 1e4 - 1],
            ]
        )
    )
    assert_allclose(z, expected, rtol=RTOL[dtype], atol=ATOL[dtype])

    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    y = np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 0, 1.0]], dtype=dtype)
    w = np.array([1.0, 2.0, 0.5], dtype=dtype)
    p = z.copy()
    spec.forward(p, np.zeros(3, dtype=dtype), EMPTY[dtype])
    assert np.all(np.isfinite(p))
    assert_allclose(p, [[1, 0, 0], [0, 1, 0], [0.5, 0.5, 0]], atol=0)
    value = loss_sum_of(spec, p, y, w, 0.0)
    if WEIGHTED_SKLEARN:
        expected = float(log_loss(y, p, sample_weight=w)) * w.sum()
        assert_allclose(value, expected, rtol=1e-6)
    assert_allclose(value, -(2.0 + 0.5) * np.log(np.finfo(dtype).eps), rtol=1e-6)
    delta = np.empty_like(p)
    spec.delta(p, y, w, 0.0, delta)
    assert np.all(np.isfinite(delta))
    assert_allclose(delta, w[:, None] * (p - y), atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logistic_saturates_without_nan(dtype):
    """logistic(-1000) == 0 and logistic(1000) == 1, hidden and output, and
    so at +-1e4, with a zero derivative; the binary log loss then is
    -log(eps) per wrong row."""
    (name,) = _loss_names("logistic")
    spec = OUTPUT_LOSSES[name]
    for forward in (HIDDEN_ACTIVATIONS["logistic"].forward, spec.forward):
        z = np.array([[-1000.0, 1000.0], [-500.0, 500.0]], dtype=dtype)
        with np.errstate(all="raise"):
            forward(z, np.zeros(2, dtype=dtype), EMPTY[dtype])
        assert_allclose(z[0], [0.0, 1.0], rtol=0, atol=0)
        expected = reference.OUTPUT_ACTIVATIONS["logistic"]([[-500.0, 500.0]])
        assert_allclose(z[1:], expected.astype(dtype), rtol=RTOL[dtype], atol=0)
    delta = np.ones((1, 2), dtype=dtype)
    HIDDEN_ACTIVATIONS["logistic"].backward(EMPTY[dtype], z[:1].copy(), delta)
    assert_allclose(delta, 0.0, atol=0)

    for forward in (HIDDEN_ACTIVATIONS["logistic"].forward, spec.forward):
        z = np.array([[-1e4, 1e4], [-1e4, -1e4]], dtype=dtype)
        forward(z, np.zeros(2, dtype=dtype), EMPTY[dtype])
        assert_allclose(z, [[0.0, 1.0], [0.0, 0.0]], atol=0)
    p = z[:, :1].copy()
    y = np.array([[1.0], [0.0]], dtype=dtype)
    value = loss_sum_of(spec, p, y, np.ones(2, dtype=dtype), 0.0)
    assert_allclose(value, float(binary_log_loss(y, p)) * 2, rtol=1e-6)
    assert_allclose(value, -np.log(np.finfo(dtype).eps), rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_at_extreme_inputs(name, dtype):
    """z = +-1e4 and +-80: finite outputs and derivatives, no overflow
    warning; an activation with an exp inside matches its reference at +-1e4
    and +-50, derivative included; tanh(+-1000) == +-1 with zero derivative."""
    forward, backward = HIDDEN_ACTIVATIONS[name][:2]
    z = np.array([[-1e4, -80.0, 0.0, 80.0, 1e4]], dtype=dtype)
    saved = np.empty_like(z)
    a = z.copy()
    with np.errstate(over="raise", invalid="raise"):
        forward(a, np.zeros(5, dtype=dtype), saved)
        delta = np.ones_like(z)
        backward(saved, a, delta)
    assert np.all(np.isfinite(a)) or name == "identity"
    assert np.all(np.isfinite(delta))

    if name in EXP_INSIDE:
        if name not in reference.HIDDEN:
            pytest.fail(f"no NumPy reference for the activation {name!r}")
        f, fprime = reference.HIDDEN[name]
        z = np.array([[-1e4, 1e4, -50.0, 50.0]], dtype=dtype)
        total = z.astype(np.float64)
        saved = np.empty_like(z)
        out = z.copy()
        forward(out, np.zeros(4, dtype=dtype), saved)
        assert_allclose(out, f(total), rtol=1e-6, atol=0)
        delta = np.ones_like(z)
        backward(saved, out, delta)
        # elu's derivative is a + 1, so at -50 (where a rounds to -1) it is
        # 0, not 2e-22: an absolute error below eps is what a-based
        # derivatives give
        assert_allclose(delta, fprime(total), rtol=1e-5, atol=np.finfo(dtype).eps)

    if name == "tanh":
        z = np.array([[-1000.0, 1000.0]], dtype=dtype)
        forward(z, np.zeros(2, dtype=dtype), EMPTY[dtype])
        assert_allclose(z, [[-1.0, 1.0]], rtol=0, atol=0)
        delta = np.ones_like(z)
        backward(EMPTY[dtype], z, delta)
        assert_allclose(delta, 0.0, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["softmax", "logistic"])
def test_log_losses_finite_at_certain_probabilities(activation, dtype):
    """p in {0, 1}: finite loss, -log(eps) per confidently wrong entry."""
    names = _loss_names(activation)
    eps = float(np.finfo(dtype).eps)
    p = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=dtype)
    y = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=dtype)
    w = np.array([1.0, 2.0, 0.5], dtype=dtype)
    for name in names:
        value = loss_sum_of(OUTPUT_LOSSES[name], p, y, w, 0.0)
        assert np.isfinite(value)
        assert_allclose(value, reference.loss_sum(name, p, y, w), rtol=1e-12)
        # the wrong rows cost at least -log(eps) each, weighted
        assert value >= 2.5 * -np.log(eps) * (1 - 1e-6)
        delta = np.empty_like(p)
        OUTPUT_LOSSES[name].delta(p, y, w, 0.0, delta)
        assert np.all(np.isfinite(delta))


@pytest.mark.skipif(
    not WEIGHTED_SKLEARN,
    reason=f"needs scikit-learn >= {SKLEARN_SAMPLE_WEIGHT} (sample_weight in "
    "its log losses)",
)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_log_of_zero_guarded_as_sklearn(probability, dtype):
    """Predicted probabilities of exactly 0 and 1 are clipped to
    ``[eps, 1 - eps]`` of their dtype, as scikit-learn's log_loss and
    binary_log_loss do, for matching and mismatching targets."""
    p2 = np.array([[probability, 1.0 - probability]] * 2, dtype=dtype)
    y2 = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=dtype)
    w = np.array([1.0, 3.0], dtype=dtype)
    (softmax_loss,) = _loss_names("softmax")
    (logistic_loss,) = _loss_names("logistic")
    value = loss_sum_of(OUTPUT_LOSSES[softmax_loss], p2, y2, w, 0.0)
    assert_allclose(value, log_loss(y2, p2, sample_weight=w) * w.sum(), rtol=1e-7)
    p1, y1 = p2[:, :1].copy(), y2[:, :1].copy()
    value = loss_sum_of(OUTPUT_LOSSES[logistic_loss], p1, y1, w, 0.0)
    expected = binary_log_loss(y1, p1, sample_weight=w) * w.sum()
    assert_allclose(value, expected, rtol=1e-7)
    assert np.isfinite(value)

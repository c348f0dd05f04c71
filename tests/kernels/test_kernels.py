"""The Numba kernels against NumPy references, finite differences and scikit-learn.

Every registry-driven test iterates over ``HIDDEN_ACTIVATIONS`` and
``OUTPUT_LOSSES``, so a new entry is tested as soon as it is registered (the
comparisons with ``reference`` then ask for its NumPy reference).

Only float64 and float32 C-ordered arrays are used, so that each kernel is
compiled at most twice.
"""

import numpy as np
import pytest
import reference
import scipy.sparse as sp
from conftest import (
    SKLEARN_POISSON,
    SKLEARN_SAMPLE_WEIGHT,
    requires_sklearn,
)
from numba import njit
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.neural_network._base import LOSS_FUNCTIONS
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from fastmlp._engine import Network
from fastmlp.kernels import network
from fastmlp.kernels.activations import (
    ACTIVATION_CODES,
    HIDDEN_ACTIVATIONS,
    activation_backward,
    activation_forward,
)
from fastmlp.kernels.dense import (
    csr_backward_params,
    csr_forward,
    dense_backward_input,
    dense_backward_params,
    dense_forward,
)
from fastmlp.kernels.losses import (
    LOSS_CODES,
    OUTPUT_LOSSES,
    output_backward,
    output_forward,
    output_loss_delta,
    output_loss_mean,
)
from fastmlp.kernels.optimizers import adam_learning_rate, adam_step, sgd_step

ACTIVATIONS = list(HIDDEN_ACTIVATIONS)
LOSSES = list(OUTPUT_LOSSES)
DTYPES = [np.float64, np.float32]
SHAPES = [(1, 1), (1, 7), (5, 1), (13, 6)]
# float32 kernels against a float64 reference on the same float32 inputs
RTOL = {np.float64: 1e-12, np.float32: 1e-5}
ATOL = {np.float64: 1e-14, np.float32: 1e-7}
GRAD_RTOL = 1e-6

# scikit-learn's squared_error averages over the outputs while its backprop
# (and fastmlp's output_delta, shared by the canonical pairs) uses w * (p - y):
# with several outputs the gradient is n_outputs times the gradient of the
# loss. fastmlp reproduces scikit-learn's training, so the tests check exactly
# that relation (scikit-learn issue #8349). The robust losses (huber,
# absolute_error) are fastmlp's own and use the exact gradient.
MEAN_OVER_OUTPUTS = {"squared_error"}
EMPTY = {dtype: np.empty((0, 0), dtype=dtype) for dtype in DTYPES}


def loss_sum_of(spec, p, y, w, param):
    """``sum_i w_i l_i`` from an output loss's weighted mean ``loss_mean``."""
    total = float(np.sum(w, dtype=np.float64))
    return spec.loss_mean(p, y, w, total, param) * total


def _param(name):
    return reference.LOSS_PARAMS.get(name, 0.0)


def _forward(kernel, z, bias):
    """Run ``kernel(z, bias, saved)`` in place on z; return ``saved`` (NaN
    where the kernel saved nothing)."""
    saved = np.full_like(z, np.nan)
    kernel(z, bias, saved)
    return saved


def _reference(table, name):
    if name not in table:
        pytest.fail(f"no NumPy reference for {name!r} in tests/reference.py")
    return table[name]


def _targets(name, rng, n, k):
    return _reference(reference.TARGETS, name)(rng, n, k)


def _gradient_scale(loss, n_outputs):
    """How many times the gradient of ``loss_sum`` the shared delta is."""
    return n_outputs if loss in MEAN_OVER_OUTPUTS else 1


def _pre_activations(rng, shape):
    """``z`` and a per-column ``bias`` with every ``z + bias`` at least 0.05 away
    from 0, so that finite differences never straddle relu's kink."""
    bias = rng.normal(scale=0.5, size=shape[1])
    pre = rng.normal(size=shape)
    pre = np.where(np.abs(pre) < 0.05, np.copysign(0.05, pre) + pre, pre)
    return pre - bias, bias


def numerical_gradient(objective, variable, step=1e-6):
    """Central finite differences of ``objective()`` w.r.t. ``variable``,
    perturbed in place one entry at a time."""
    flat = variable.reshape(-1)
    assert np.shares_memory(flat, variable)
    grad = np.empty(flat.size)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + step
        plus = objective()
        flat[i] = original - step
        minus = objective()
        flat[i] = original
        grad[i] = (plus - minus) / (2 * step)
    return grad.reshape(variable.shape)


def relative_error(actual, expected):
    """Largest absolute difference relative to the largest expected value."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    scale = max(float(np.max(np.abs(expected))), 1e-12)
    return float(np.max(np.abs(actual - expected))) / scale


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_forward_matches_reference(name, dtype, shape):
    """forward(z, bias, saved) adds the bias per column and applies f in
    place; it saves f'(z + bias) in saved exactly when the registry says so,
    and never writes an empty saved (predict)."""
    f, fprime = _reference(reference.HIDDEN, name)
    rng = np.random.default_rng(0)
    z, bias = _pre_activations(rng, shape)
    z, bias = z.astype(dtype), bias.astype(dtype)
    expected = f(z.astype(np.float64) + bias.astype(np.float64))
    out = z.copy()
    saved = _forward(HIDDEN_ACTIVATIONS[name].forward, out, bias)
    assert out.dtype == dtype
    assert_allclose(out, expected, rtol=RTOL[dtype], atol=ATOL[dtype])
    if HIDDEN_ACTIVATIONS[name].saves_derivative:
        derivative = fprime(z.astype(np.float64) + bias.astype(np.float64))
        assert_allclose(saved, derivative, rtol=RTOL[dtype], atol=ATOL[dtype])
    else:
        assert np.isnan(saved).all()
    predict_out = z.copy()
    HIDDEN_ACTIVATIONS[name].forward(predict_out, bias, EMPTY[dtype])
    assert_allclose(predict_out, out, rtol=0, atol=0)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_backward_matches_reference(name, dtype, shape):
    """backward(saved, a, delta), after forward gave a = f(z) and saved,
    overwrites delta with delta * f'(z) and leaves a and saved alone."""
    fprime = _reference(reference.HIDDEN, name)[1]
    rng = np.random.default_rng(1)
    z, bias = _pre_activations(rng, shape)
    z, bias = z.astype(dtype), bias.astype(dtype)
    a = z.copy()
    saved = _forward(HIDDEN_ACTIVATIONS[name].forward, a, bias)
    delta = rng.normal(size=shape).astype(dtype)
    expected = delta.astype(np.float64) * fprime(z.astype(np.float64) + bias)
    out = delta.copy()
    a_before, saved_before = a.copy(), saved.copy()
    HIDDEN_ACTIVATIONS[name].backward(saved, a, out)
    assert_allclose(out, expected, rtol=RTOL[dtype], atol=ATOL[dtype])
    assert_array_equal(a, a_before)
    assert_array_equal(saved, saved_before)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_gradient_finite_differences(name):
    """d sum(g * f(z + b)) / dz and / db equal backward(z + b, f(z + b), g)."""
    activation = HIDDEN_ACTIVATIONS[name]
    rng = np.random.default_rng(2)
    z, bias = _pre_activations(rng, (13, 6))
    g = rng.normal(size=z.shape)

    def objective():
        out = z.copy()
        activation.forward(out, bias, EMPTY[np.float64])
        return float(np.sum(g * out))

    a = z.copy()
    saved = _forward(activation.forward, a, bias)
    delta = g.copy()
    activation.backward(saved, a, delta)
    assert relative_error(delta, numerical_gradient(objective, z)) < GRAD_RTOL
    grad_bias = delta.sum(axis=0)
    assert relative_error(grad_bias, numerical_gradient(objective, bias)) < GRAD_RTOL


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_switch_dispatches_by_code(name):
    """activation_forward/backward(code, ...) run the registry's kernels."""
    rng = np.random.default_rng(3)
    z, bias = _pre_activations(rng, (4, 3))
    code = ACTIVATION_CODES[name]
    kernels = HIDDEN_ACTIVATIONS[name]
    expected, actual = z.copy(), z.copy()
    saved = _forward(kernels.forward, expected, bias)
    actual_saved = np.full_like(z, np.nan)
    activation_forward(code, actual, bias, actual_saved)
    assert_allclose(actual, expected, rtol=0, atol=0)
    assert_allclose(actual_saved, saved, rtol=0, atol=0)
    g = rng.normal(size=z.shape)
    expected_delta, actual_delta = g.copy(), g.copy()
    kernels.backward(saved, expected, expected_delta)
    activation_backward(code, saved, actual, actual_delta)
    assert_allclose(actual_delta, expected_delta, rtol=0, atol=0)


def test_activation_codes_follow_registry():
    """Codes are 0..n-1 in registry order."""
    assert list(ACTIVATION_CODES) == ACTIVATIONS
    assert list(ACTIVATION_CODES.values()) == list(range(len(ACTIVATIONS)))


# ----------------------------------------------------------------------------
# output activations and losses


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", LOSSES)
def test_output_forward_matches_reference(name, dtype):
    """Each pair's output activation, on several shapes."""
    spec = OUTPUT_LOSSES[name]
    f = _reference(reference.OUTPUT_ACTIVATIONS, spec.activation)
    rng = np.random.default_rng(4)
    for shape in SHAPES:
        z, bias = _pre_activations(rng, shape)
        z, bias = z.astype(dtype), bias.astype(dtype)
        out = z.copy()
        spec.forward(out, bias, EMPTY[dtype])
        expected = f(z.astype(np.float64) + bias.astype(np.float64))
        assert_allclose(out, expected, rtol=RTOL[dtype], atol=ATOL[dtype])


@pytest.mark.parametrize("name", LOSSES)
def test_output_backward_matches_reference_and_finite_differences(name):
    """backward(pre, p, g) is the output activation's vector-Jacobian product
    (used by the Jacobians): g * dp/dz, softmax's full Jacobian included."""
    spec = OUTPUT_LOSSES[name]
    rng = np.random.default_rng(41)
    z, bias = _pre_activations(rng, (7, 3))
    g = rng.normal(size=z.shape)
    p = z.copy()
    spec.forward(p, bias, EMPTY[np.float64])
    out = g.copy()
    spec.backward(z + bias, p, out)
    vjp = _reference(reference.OUTPUT_VJPS, spec.activation)
    assert_allclose(out, vjp(p, g), rtol=1e-12, atol=1e-15)

    def objective():
        q = z.copy()
        spec.forward(q, bias, EMPTY[np.float64])
        return float(np.sum(g * q))

    assert relative_error(out, numerical_gradient(objective, z)) < GRAD_RTOL


def _loss_problem(name, rng, n, k, dtype=np.float64):
    """(p, y, w): predictions from the pair's activation, targets, weights."""
    spec = OUTPUT_LOSSES[name]
    z, bias = _pre_activations(rng, (n, k))
    p = z.astype(dtype)
    spec.forward(p, bias.astype(dtype), EMPTY[dtype])
    y = _targets(name, rng, n, k).astype(dtype)
    w = rng.uniform(0.2, 3.0, size=n).astype(dtype)
    return p, y, w


@pytest.mark.parametrize(
    "name, n_outputs",
    [(name, k) for name in LOSSES for k in (1, 3)],
)
def test_output_delta_is_loss_gradient(name, n_outputs):
    """delta is d loss_sum(forward(z + b), y, w) / dz (and / db)."""
    spec = OUTPUT_LOSSES[name]
    rng = np.random.default_rng(5)
    n = 9
    z, bias = _pre_activations(rng, (n, n_outputs))
    y = _targets(name, rng, n, n_outputs)
    w = rng.uniform(0.2, 3.0, size=n)
    param = _param(name)

    def objective():
        p = z.copy()
        spec.forward(p, bias, EMPTY[np.float64])
        return loss_sum_of(spec, p, y, w, param)

    p = z.copy()
    spec.forward(p, bias, EMPTY[np.float64])
    delta = np.empty_like(p)
    spec.delta(p, y, w, param, delta)
    assert_allclose(delta, reference.output_delta(name, p, y, w), rtol=1e-15)
    scale = _gradient_scale(name, n_outputs)
    numeric = scale * numerical_gradient(objective, z)
    assert relative_error(delta, numeric) < GRAD_RTOL
    grad_bias = delta.sum(axis=0)
    numeric_bias = scale * numerical_gradient(objective, bias)
    assert relative_error(grad_bias, numeric_bias) < GRAD_RTOL


@pytest.mark.parametrize("name", LOSSES)
def test_output_delta_is_gradient_for_single_output(name):
    """With one output every pair is canonical, squared_error included."""
    spec = OUTPUT_LOSSES[name]
    rng = np.random.default_rng(6)
    z, bias = _pre_activations(rng, (11, 1))
    y = _targets(name, rng, 11, 1)
    w = rng.uniform(0.2, 3.0, size=11)

    param = _param(name)

    def objective():
        p = z.copy()
        spec.forward(p, bias, EMPTY[np.float64])
        return loss_sum_of(spec, p, y, w, param)

    p = z.copy()
    spec.forward(p, bias, EMPTY[np.float64])
    delta = np.empty_like(p)
    spec.delta(p, y, w, param, delta)
    assert relative_error(delta, numerical_gradient(objective, z)) < GRAD_RTOL


def _with_boundary_probabilities(name, p, y):
    """Put p exactly 0 and 1 (right and wrong) into probability outputs."""
    if OUTPUT_LOSSES[name].activation not in ("softmax", "logistic"):
        return p
    p = p.copy()
    p[0] = 0.0
    p[0, np.argmax(y[0])] = 1.0  # certain, on a positive target
    p[1] = 0.0
    p[1, np.argmin(y[1])] = 1.0  # certain, on a zero target (when there is one)
    if p.shape[1] > 1 and OUTPUT_LOSSES[name].activation == "logistic":
        p[2] = y[2]  # exactly the targets
        p[3] = 1.0 - y[3]  # exactly wrong
    return p


# fastmlp's own losses; every other one must be scikit-learn's and match it
OWN_LOSSES = {"huber", "absolute_error"}
SKLEARN_LOSSES = [
    pytest.param(name, marks=requires_sklearn(SKLEARN_POISSON, "its poisson loss"))
    if name == "poisson"
    else name
    for name in LOSSES
    if name not in OWN_LOSSES
]
NEEDS_WEIGHTED_LOSSES = requires_sklearn(
    SKLEARN_SAMPLE_WEIGHT, "sample_weight in its loss functions"
)


@pytest.mark.parametrize(
    "weighted", [False, pytest.param(True, marks=NEEDS_WEIGHTED_LOSSES)]
)
@pytest.mark.parametrize("n_outputs", [1, 4])
@pytest.mark.parametrize("name", SKLEARN_LOSSES)
def test_loss_matches_sklearn(name, n_outputs, weighted):
    """The weighted mean loss is scikit-learn's LOSS_FUNCTIONS[name] to 1e-12."""
    if name not in LOSS_FUNCTIONS:
        pytest.fail(f"scikit-learn has no loss {name!r} to compare with")
    if OUTPUT_LOSSES[name].activation == "softmax" and n_outputs == 1:
        n_outputs = 2  # scikit-learn's log_loss reads one column as binary
    rng = np.random.default_rng(7)
    p, y, w = _loss_problem(name, rng, 12, n_outputs)
    p = _with_boundary_probabilities(name, p, y)
    if weighted:
        expected = LOSS_FUNCTIONS[name](y, p, sample_weight=w)
    else:
        expected = LOSS_FUNCTIONS[name](y, p)
        w = np.ones_like(w)
    actual = OUTPUT_LOSSES[name].loss_mean(p, y, w, w.sum(), 0.0)
    assert np.isfinite(actual)
    assert_allclose(actual, expected, rtol=1e-12)


@pytest.mark.parametrize("n_outputs", [1, 4])
@pytest.mark.parametrize("name", LOSSES)
def test_loss_matches_reference(name, n_outputs):
    """loss_sum is the NumPy reference's weighted sum, for every loss."""
    rng = np.random.default_rng(17)
    p, y, w = _loss_problem(name, rng, 12, n_outputs)
    p = _with_boundary_probabilities(name, p, y)
    actual = loss_sum_of(OUTPUT_LOSSES[name], p, y, w, _param(name))
    assert_allclose(actual, reference.loss_sum(name, p, y, w), rtol=1e-12)


def test_own_losses_against_sklearn_metrics():
    """absolute_error is mean_absolute_error; huber is 0.5 r**2 inside delta
    (the squared error) and linear, delta * (|r| - delta / 2), outside."""
    from sklearn.metrics import mean_absolute_error, mean_squared_error

    rng = np.random.default_rng(18)
    p, y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    w = rng.uniform(0.5, 2.0, size=30)
    mae = OUTPUT_LOSSES["absolute_error"].loss_mean(p, y, w, w.sum(), 0.0)
    assert_allclose(mae, mean_absolute_error(y, p, sample_weight=w), rtol=1e-12)
    small = OUTPUT_LOSSES["huber"].loss_mean(p, y, w, w.sum(), 100.0)
    assert_allclose(small, 0.5 * mean_squared_error(y, p, sample_weight=w), rtol=1e-12)
    large = OUTPUT_LOSSES["huber"].loss_mean(p + 1e3, y, w, w.sum(), 0.5)
    expected = 0.5 * (np.average(np.abs(p + 1e3 - y), weights=w, axis=0) - 0.25)
    assert_allclose(large, expected.mean(), rtol=1e-12)


def test_own_losses_are_listed():
    """A loss that is neither scikit-learn's nor listed as fastmlp's own fails."""
    assert OWN_LOSSES <= set(LOSSES)
    assert not OWN_LOSSES & set(LOSS_FUNCTIONS)


@NEEDS_WEIGHTED_LOSSES
@pytest.mark.parametrize("name", SKLEARN_LOSSES)
def test_loss_with_zero_targets_matches_sklearn(name):
    """Zero targets are valid for every loss (xlogy(0, .) = 0)."""
    rng = np.random.default_rng(8)
    p, y, w = _loss_problem(name, rng, 10, 3)
    y[::2] = 0.0
    expected = LOSS_FUNCTIONS[name](y, p, sample_weight=w)
    actual = OUTPUT_LOSSES[name].loss_mean(p, y, w, w.sum(), 0.0)
    assert_allclose(actual, expected, rtol=1e-12)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_float32_matches_reference(name):
    """float32 predictions: clipping at float32's eps, a float64 sum.

    Elementwise differences and ratios are float32 in squared_error and poisson
    (numba's float() keeps float32), hence rtol 1e-6 rather than 1e-12.
    """
    rng = np.random.default_rng(9)
    p, y, w = _loss_problem(name, rng, 12, 3, dtype=np.float32)
    p = _with_boundary_probabilities(name, p, y)
    actual = loss_sum_of(OUTPUT_LOSSES[name], p, y, w, _param(name))
    assert isinstance(actual, float)
    assert_allclose(actual, reference.loss_sum(name, p, y, w), rtol=1e-6)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_switch_dispatches_by_code(name):
    """output_forward/backward/loss_mean/loss_delta(code, ...) run the
    registry's kernels."""
    spec = OUTPUT_LOSSES[name]
    code = LOSS_CODES[name]
    rng = np.random.default_rng(10)
    z, bias = _pre_activations(rng, (6, 3))
    expected, actual = z.copy(), z.copy()
    spec.forward(expected, bias, EMPTY[np.float64])
    output_forward(code, actual, bias, EMPTY[np.float64])
    assert_allclose(actual, expected, rtol=0, atol=0)
    y = _targets(name, rng, 6, 3)
    w = rng.uniform(0.5, 2.0, size=6)
    param = _param(name)
    assert output_loss_mean(code, actual, y, w, w.sum(), param) == spec.loss_mean(
        expected, y, w, w.sum(), param
    )
    expected_delta, actual_delta = np.empty_like(z), np.empty_like(z)
    spec.delta(expected, y, w, param, expected_delta)
    output_loss_delta(code, actual, y, w, param, actual_delta)
    assert_allclose(actual_delta, expected_delta, rtol=0, atol=0)
    g = rng.normal(size=z.shape)
    expected_g, actual_g = g.copy(), g.copy()
    spec.backward(z, expected, expected_g)
    output_backward(code, z, actual, actual_g)
    assert_allclose(actual_g, expected_g, rtol=0, atol=0)


def test_loss_codes_follow_registry():
    """Codes are 0..n-1 in registry order."""
    assert list(LOSS_CODES) == LOSSES
    assert list(LOSS_CODES.values()) == list(range(len(LOSSES)))


# ----------------------------------------------------------------------------
# dense layer


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_kernels_match_reference(dtype):
    """Forward, parameter and input gradients of the dense layer."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(7, 5)).astype(dtype)
    coef = rng.normal(size=(5, 4)).astype(dtype)
    delta = rng.normal(size=(7, 4)).astype(dtype)
    out = np.empty((7, 4), dtype=dtype)
    dense_forward(x, coef, out)
    zero = np.zeros(4)
    assert_allclose(out, reference.dense_forward(x, coef, zero), rtol=RTOL[dtype])
    coef_grad = np.empty_like(coef)
    intercept_grad = np.empty(4, dtype=dtype)
    dense_backward_params(x, delta, coef_grad, intercept_grad)
    input_grad = np.empty_like(x)
    dense_backward_input(delta, coef, input_grad)
    ref = reference.dense_backward(x, delta, coef, 0.0, 1.0)
    for actual, expected in zip((coef_grad, intercept_grad, input_grad), ref):
        assert_allclose(actual, expected, rtol=RTOL[dtype], atol=1e-6)


def test_dense_gradient_finite_differences():
    """The vector-Jacobian product: gradients of J = sum(G * (x @ W + b))."""
    rng = np.random.default_rng(12)
    x = rng.normal(size=(7, 5))
    coef = rng.normal(size=(5, 4))
    intercept = rng.normal(size=4)
    g = rng.normal(size=(7, 4))

    def objective():
        out = np.empty((7, 4))
        dense_forward(x, coef, out)
        return float(np.sum(g * (out + intercept)))

    coef_grad, intercept_grad = np.empty_like(coef), np.empty(4)
    dense_backward_params(x, g, coef_grad, intercept_grad)
    input_grad = np.empty_like(x)
    dense_backward_input(g, coef, input_grad)
    checks = [(coef_grad, coef), (intercept_grad, intercept), (input_grad, x)]
    for analytic, variable in checks:
        numeric = numerical_gradient(objective, variable)
        assert relative_error(analytic, numeric) < GRAD_RTOL


def _csr_batch(dtype, seed=13):
    X = sp.random(20, 8, density=0.3, format="csr", random_state=seed, dtype=dtype)
    X.data[:] = np.random.default_rng(seed).normal(size=X.nnz)
    rows = np.random.default_rng(seed).permutation(20)[:12].astype(np.int64)
    csr = (X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64), rows)
    return X, csr, rows


@pytest.mark.parametrize("dtype", DTYPES)
def test_csr_kernels_match_dense(dtype):
    """csr_forward / csr_backward_params on X[rows] equal the dense kernels."""
    X, csr, rows = _csr_batch(dtype)
    dense = X[rows].toarray()
    assert X.nnz > 0 and np.any(dense == 0)
    rng = np.random.default_rng(14)
    coef = rng.normal(size=(8, 3)).astype(dtype)
    delta = rng.normal(size=(12, 3)).astype(dtype)
    tol = dict(rtol=RTOL[dtype], atol=1e-5 if dtype == np.float32 else 1e-13)

    out_csr = np.full((12, 3), np.nan, dtype=dtype)
    out_dense = np.empty((12, 3), dtype=dtype)
    csr_forward(*csr, coef, out_csr)
    dense_forward(dense, coef, out_dense)
    assert_allclose(out_csr, out_dense, **tol)

    grads_csr = np.full_like(coef, np.nan), np.full(3, np.nan, dtype=dtype)
    grads_dense = np.empty_like(coef), np.empty(3, dtype=dtype)
    csr_backward_params(*csr, delta, *grads_csr)
    dense_backward_params(dense, delta, *grads_dense)
    for actual, expected in zip(grads_csr, grads_dense):
        assert_allclose(actual, expected, **tol)
    ref = reference.dense_backward(dense, delta, coef, 0.0, 1.0)
    assert_allclose(grads_csr[0], ref[0], **tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_csr_kernels_add_value_by_value(dtype):
    """Rows of 0 to 11 stored values, some columns stored twice (a CSR matrix
    scipy has not summed): the kernels, which take the values four at a time,
    add into each element in stored order, the bits of one value at a time."""
    rng = np.random.default_rng(15)
    lengths = np.arange(12)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    indices = np.concatenate([rng.integers(0, 6, size=n) for n in lengths])
    data = rng.normal(size=indptr[-1]).astype(dtype)
    rows = rng.permutation(12).astype(np.int64)
    assert any(len(set(indices[a:b])) < b - a for a, b in zip(indptr, indptr[1:]))
    coef = rng.normal(size=(6, 13)).astype(dtype)
    delta = rng.normal(size=(12, 13)).astype(dtype)

    out_expected = np.zeros((12, 13), dtype=dtype)
    grad_expected = np.zeros_like(coef)
    for r, row in enumerate(rows):
        for k in range(indptr[row], indptr[row + 1]):
            out_expected[r] += data[k] * coef[indices[k]]
            grad_expected[indices[k]] += data[k] * delta[r]
    csr = (data, indices.astype(np.int64), indptr, rows)
    out = np.full((12, 13), np.nan, dtype=dtype)
    csr_forward(*csr, coef, out)
    grads = np.full_like(coef, np.nan), np.full(13, np.nan, dtype=dtype)
    csr_backward_params(*csr, delta, *grads)
    assert_array_equal(out, out_expected)
    assert_array_equal(grads[0], grad_expected)


# ----------------------------------------------------------------------------
# whole network


def _network_problem(activation, loss, n_outputs, units=(4, 5, 4), n=8):
    """A 2-hidden-layer network, data and params, no pre-activation near 0."""
    names = (
        [activation] * (len(units) - 1) if isinstance(activation, str) else activation
    )
    net = Network([*units, n_outputs], names, loss, np.float64, _param(loss))
    out_activation = OUTPUT_LOSSES[loss].activation
    for seed in range(100):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(n, units[0]))
        y = _targets(loss, rng, n, n_outputs)
        w = rng.uniform(0.2, 3.0, size=n)
        params = rng.uniform(-0.8, 0.8, size=net.n_params)
        coefs, intercepts = net.unpack(params)
        pre, _ = reference.mlp_forward(x, coefs, intercepts, activation, out_activation)
        if min(np.abs(z).min() for z in pre[:-1]) > 1e-3:
            break
    else:  # pragma: no cover
        raise RuntimeError("no seed keeps the pre-activations away from 0")
    return net, x, y, w, params, out_activation


@njit
def _seed_numba_random(seed):
    np.random.seed(seed)


def _forward_backward(net, x, y, w, params, alpha, dropout=None, seed=0):
    """scikit-learn's batch loss and gradient, as the engine composes them:
    ``forward_backward`` (the layers' VJPs), then the L2 term and the
    division by the total weight (``loss_and_gradient``, L-BFGS's objective).
    ``x`` is a dense batch or a CSR batch tuple ``(data, indices, indptr, rows)``.
    With ``dropout`` rates, the masks come from numba's generator seeded with
    ``seed`` just before, so that the same seed draws the same masks.
    """
    grads = np.full(net.n_params, np.nan)
    if dropout is None:
        dropout = net.no_dropout()
    work = net.allocate_work(y.shape[0], dense_input=False, dropout=dropout.any())
    _seed_numba_random(seed)
    if isinstance(x, tuple):
        X, rows = x[:3], x[3]
    else:
        X, rows = x, np.arange(y.shape[0], dtype=np.int64)
    value = network.loss_and_gradient(
        (X, y, w), rows, params, grads, net.bundle, dropout, alpha, work
    )
    return value, grads


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_backward_matches_reference(activation, loss):
    """Batch loss and gradient equal scikit-learn's _backprop in NumPy."""
    net, x, y, w, params, out_activation = _network_problem(activation, loss, 3)
    alpha = 0.05
    value, grads = _forward_backward(net, x, y, w, params, alpha)
    coefs, intercepts = net.unpack(params)
    expected_value, coef_grads, intercept_grads = reference.mlp_loss_and_gradient(
        x, y, w, coefs, intercepts, activation, loss, out_activation, alpha
    )
    assert_allclose(value, expected_value, rtol=1e-12)
    assert_allclose(
        grads, net.pack(coef_grads, intercept_grads), rtol=1e-10, atol=1e-13
    )


@pytest.mark.parametrize(
    "activation, loss, n_outputs",
    [(act, loss, k) for act in ACTIVATIONS for loss in LOSSES for k in (1, 3)],
)
def test_forward_backward_finite_differences(activation, loss, n_outputs):
    """grads is the gradient of the returned batch loss (alpha > 0, weights)."""
    net, x, y, w, params, out_activation = _network_problem(activation, loss, n_outputs)
    coefs, intercepts = net.unpack(params)
    pre, _ = reference.mlp_forward(x, coefs, intercepts, activation, out_activation)
    margin = min(np.abs(z).min() for z in pre[:-1])
    assert margin > 1e-4  # no hidden pre-activation on the relu kink
    scale = _gradient_scale(loss, n_outputs)
    # scikit-learn's multi-output squared error: the data term's gradient is
    # n_outputs times the loss's, the penalty's is not; check it without one
    alpha = 0.05 if scale == 1 else 0.0
    _, grads = _forward_backward(net, x, y, w, params, alpha)

    def objective():
        return _forward_backward(net, x, y, w, params, alpha)[0]

    numeric = scale * numerical_gradient(objective, params)
    assert relative_error(grads, numeric) < GRAD_RTOL


def test_forward_backward_csr_matches_dense():
    """A CSR first layer gives the dense batch's loss and gradient."""
    X, csr, rows = _csr_batch(np.float64, seed=15)
    dense = X[rows].toarray()
    activation, loss = ACTIVATIONS[-1], LOSSES[0]
    net = Network([8, 5, 4, 2], [activation] * 2, loss, np.float64)
    rng = np.random.default_rng(16)
    params = rng.uniform(-0.8, 0.8, size=net.n_params)
    y = _targets(loss, rng, 12, 2)
    w = rng.uniform(0.2, 3.0, size=12)
    value_dense, grads_dense = _forward_backward(net, dense, y, w, params, 0.1)
    value_csr, grads_csr = _forward_backward(net, csr, y, w, params, 0.1)
    assert_allclose(value_csr, value_dense, rtol=1e-12)
    assert_allclose(grads_csr, grads_dense, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("names", [("gelu", "tanh"), ("logistic", "silu")])
def test_forward_backward_one_activation_per_layer(names):
    """Each hidden layer runs its own activation, forward and backward."""
    net, x, y, w, params, out_activation = _network_problem(list(names), "log_loss", 3)
    value, grads = _forward_backward(net, x, y, w, params, 0.05)
    coefs, intercepts = net.unpack(params)
    expected_value, coef_grads, intercept_grads = reference.mlp_loss_and_gradient(
        x, y, w, coefs, intercepts, list(names), "log_loss", out_activation, 0.05
    )
    assert_allclose(value, expected_value, rtol=1e-12)
    assert_allclose(
        grads, net.pack(coef_grads, intercept_grads), rtol=1e-10, atol=1e-13
    )
    swapped = Network(net.units, names[::-1], "log_loss", np.float64)
    assert _forward_backward(swapped, x, y, w, params, 0.05)[0] != value


def test_forward_backward_with_dropout_is_the_gradient_under_its_masks():
    """Inverted dropout: with the masks fixed (same seed), grads is the
    finite-difference gradient of the loss; the masks change with the seed;
    rate 0 in a layer leaves it alone."""
    net, x, y, w, params, _ = _network_problem("tanh", "log_loss", 3, n=40)
    dropout = np.array([0.3, 0.0])
    value, grads = _forward_backward(net, x, y, w, params, 0.05, dropout, seed=7)

    def objective():
        return _forward_backward(net, x, y, w, params, 0.05, dropout, seed=7)[0]

    assert relative_error(grads, numerical_gradient(objective, params)) < GRAD_RTOL
    other = _forward_backward(net, x, y, w, params, 0.05, dropout, seed=8)[0]
    plain = _forward_backward(net, x, y, w, params, 0.05)[0]
    assert len({value, other, plain}) == 3


def test_dropout_masks_keep_the_expected_share_and_scale():
    """Masks are 0 with probability rate and 1 / (1 - rate) otherwise."""
    net = Network([3, 50, 2], ["relu"], "log_loss", np.float64)
    n = 400
    rng = np.random.default_rng(19)
    x = rng.normal(size=(n, 3))
    y = _targets("log_loss", rng, n, 2)
    work = net.allocate_work(n, dense_input=False, dropout=True)
    params = rng.uniform(-0.5, 0.5, size=net.n_params)
    _seed_numba_random(3)
    network.loss_and_gradient(
        (x, y, np.ones(n)),
        np.arange(n, dtype=np.int64),
        params,
        np.empty(net.n_params),
        net.bundle,
        np.array([0.25]),
        0.0,
        work,
    )
    masks = work[6][: n * 50]
    assert set(np.unique(masks)) == {0.0, 1.0 / 0.75}
    assert abs(np.mean(masks == 0.0) - 0.25) < 0.01


# ----------------------------------------------------------------------------
# optimizers


N_PARAMS, N_COEFS, ALPHA, SCALE = 23, 15, 0.3, 2.5


def _penalized(params, raw, n_coefs, alpha, scale):
    """scikit-learn's gradient: (raw + alpha * W) / scale, intercepts raw / scale."""
    grads = raw / scale
    grads[:n_coefs] = (raw[:n_coefs] + alpha * params[:n_coefs]) / scale
    return grads


@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_step_matches_transcription(momentum, nesterov):
    """Several fused SGD steps equal the NumPy transcription of scikit-learn."""
    rng = np.random.default_rng(17)
    params = rng.normal(size=N_PARAMS)
    expected = params.copy()
    velocity = np.zeros(N_PARAMS)
    ref = reference.SGD(N_PARAMS, 0.05, momentum, nesterov)
    for _ in range(6):
        raw = rng.normal(size=N_PARAMS)
        grads = _penalized(expected, raw, N_COEFS, ALPHA, SCALE)
        sgd_step(
            params, raw, None, velocity, N_COEFS, ALPHA, SCALE, 0.05, momentum,
            nesterov,
        )
        ref.update(expected, grads)
        assert_allclose(params, expected, rtol=1e-14, atol=1e-15)
        assert_allclose(velocity, ref.velocity, rtol=1e-14, atol=1e-15)


def test_adam_step_matches_transcription():
    """Several fused Adam steps equal the NumPy transcription of scikit-learn."""
    rng = np.random.default_rng(18)
    params = rng.normal(size=N_PARAMS)
    expected = params.copy()
    first, second = np.zeros(N_PARAMS), np.zeros(N_PARAMS)
    ref = reference.Adam(N_PARAMS, 0.01, 0.9, 0.999, 1e-8)
    for step in range(1, 8):
        raw = rng.normal(size=N_PARAMS)
        grads = _penalized(expected, raw, N_COEFS, ALPHA, SCALE)
        rate = adam_learning_rate(0.01, 0.9, 0.999, step)
        adam_step(
            params,
            raw,
            None,
            first,
            second,
            N_COEFS,
            ALPHA,
            SCALE,
            rate,
            0.9,
            0.999,
            1e-8,
            0.0,
        )
        ref.update(expected, grads)
        assert_allclose(rate, ref.learning_rate, rtol=1e-15)
        assert_allclose(params, expected, rtol=1e-14, atol=1e-15)
        assert_allclose(first, ref.m, rtol=1e-14, atol=1e-15)
        assert_allclose(second, ref.v, rtol=1e-14, atol=1e-15)


def test_adamw_step_matches_transcription():
    """AdamW: the coefficients shrink by lr * decay, then an Adam step of the
    unpenalized gradient (alpha = 0); intercepts never decay."""
    rng = np.random.default_rng(20)
    params = rng.normal(size=N_PARAMS)
    expected = params.copy()
    first, second = np.zeros(N_PARAMS), np.zeros(N_PARAMS)
    lr, decay = 0.01, 0.1
    ref = reference.AdamW(N_PARAMS, N_COEFS, decay, lr, 0.9, 0.999, 1e-8)
    for step in range(1, 8):
        raw = rng.normal(size=N_PARAMS)
        rate = adam_learning_rate(lr, 0.9, 0.999, step)
        adam_step(
            params,
            raw,
            None,
            first,
            second,
            N_COEFS,
            0.0,
            SCALE,
            rate,
            0.9,
            0.999,
            1e-8,
            lr * decay,
        )
        ref.update(expected, raw / SCALE)
        assert_allclose(params, expected, rtol=1e-14, atol=1e-15)
    assert not np.allclose(params[:N_COEFS], expected[:N_COEFS] / (1 - lr * decay))


def _sklearn_layout(dtype=np.float64):
    """A flat vector and views of it shaped like an MLP's coefs + intercepts."""
    net = Network([3, 4, 2], ACTIVATIONS[:1], LOSSES[0], dtype)
    flat = np.random.default_rng(19).normal(size=net.n_params).astype(dtype)
    coefs, intercepts = net.unpack(flat)
    views, start = [], 0
    for arr in coefs + intercepts:
        views.append(flat[start : start + arr.size].reshape(arr.shape))
        start += arr.size
    return net, flat, views


def _sklearn_grads(net, flat_sk, raw):
    coef_grads, intercept_grads = net.unpack(
        _penalized(flat_sk, raw, net.n_coefs, ALPHA, SCALE)
    )
    return coef_grads + intercept_grads


def _assert_equal_to_sklearn(actual, expected, exact=True):
    """float64 within 1e-14; float32 bit for bit (unless not ``exact``): the
    same operations, each in the dtype NumPy gives it."""
    if actual.dtype == np.float32 and exact:
        assert_array_equal(actual, expected)
    elif actual.dtype == np.float32:
        assert_allclose(actual, expected, rtol=3e-7, atol=1e-7)
    else:
        assert_allclose(actual, expected, rtol=1e-14, atol=1e-15)


# NumPy 2 (NEP 50) computes scikit-learn's float32 Adam step
# -learning_rate * m / (sqrt(v) + eps) in float64 (its learning rate is a
# np.float64), as adam_step does; NumPy 1's value-based casting computes it
# in float32, one rounding apart
NEP_50 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nesterov", [True, False])
def test_sgd_step_matches_sklearn_optimizer(nesterov, dtype):
    """sgd_step on the flat vector equals SGDOptimizer.update_params."""
    net, flat_sk, views = _sklearn_layout(dtype)
    params = flat_sk.copy()
    velocity = np.zeros_like(params)
    opt = SGDOptimizer(views, learning_rate_init=0.1, momentum=0.8, nesterov=nesterov)
    rng = np.random.default_rng(20)
    for _ in range(5):
        raw = rng.normal(size=params.size).astype(dtype)
        grads_sk = _sklearn_grads(net, flat_sk, raw)
        sgd_step(
            params,
            raw,
            None,
            velocity,
            net.n_coefs,
            ALPHA,
            SCALE,
            opt.learning_rate,
            0.8,
            nesterov,
        )
        opt.update_params(views, grads_sk)
        _assert_equal_to_sklearn(params, flat_sk)
    flat_velocity = np.concatenate([v.ravel() for v in opt.velocities])
    _assert_equal_to_sklearn(velocity, flat_velocity)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_step_matches_sklearn_optimizer(dtype):
    """adam_step + adam_learning_rate equal AdamOptimizer.update_params."""
    net, flat_sk, views = _sklearn_layout(dtype)
    params = flat_sk.copy()
    first, second = np.zeros_like(params), np.zeros_like(params)
    b1, b2, eps = 0.85, 0.99, 1e-7
    opt = AdamOptimizer(
        views, learning_rate_init=0.02, beta_1=b1, beta_2=b2, epsilon=eps
    )
    rng = np.random.default_rng(21)
    for step in range(1, 6):
        raw = rng.normal(size=params.size).astype(dtype)
        grads_sk = _sklearn_grads(net, flat_sk, raw)
        rate = adam_learning_rate(0.02, b1, b2, step)
        adam_step(
            params,
            raw,
            None,
            first,
            second,
            net.n_coefs,
            ALPHA,
            SCALE,
            rate,
            b1,
            b2,
            eps,
            0.0,
        )
        opt.update_params(views, grads_sk)
        assert opt.t == step
        assert_allclose(rate, opt.learning_rate, rtol=1e-15)
        _assert_equal_to_sklearn(params, flat_sk, exact=NEP_50)
    # (under NumPy 1 the parameters, so the gradients and moments, drift apart)
    first_sk = np.concatenate([m.ravel() for m in opt.ms])
    second_sk = np.concatenate([v.ravel() for v in opt.vs])
    _assert_equal_to_sklearn(first, first_sk, exact=NEP_50)
    _assert_equal_to_sklearn(second, second_sk, exact=NEP_50)


# ----------------------------------------------------------------------------
# array views (the numerical edge cases are in test_edge_cases.py)


def test_new_array_allocates_like_np_empty():
    """new_array(shape, dtype) in compiled code: a fresh C-ordered array of
    the shape and dtype np.empty gives, for a size or a shape tuple and for a
    scalar type or an array's dtype."""
    from fastmlp.kernels._views import new_array

    @njit
    def allocate(like, n):
        vector = new_array(n, like.dtype)
        matrix = new_array((n, 3), np.float64)
        rows = new_array(n, np.int64)
        for i in range(n):
            vector[i], rows[i] = i, i
        matrix[:] = 1.0
        return vector, matrix, rows

    vector, matrix, rows = allocate(np.zeros(1, dtype=np.float32), 5)
    assert vector.dtype == np.float32 and vector.shape == (5,)
    assert matrix.dtype == np.float64 and matrix.shape == (5, 3)
    assert rows.dtype == np.int64 and rows.flags.c_contiguous
    assert_allclose(vector, np.arange(5.0))
    assert (matrix == 1.0).all() and (rows == np.arange(5)).all()
    assert allocate(np.zeros(1), 0)[1].shape == (0, 3)


def test_matrix_view_shares_memory_and_checks_bounds():
    """matrix_view is a C-ordered window on the flat buffer, never a copy."""
    buffer = np.arange(20.0)
    view = network.matrix_view(buffer, 3, 4, 2)
    assert_allclose(view, buffer[3:11].reshape(4, 2), rtol=0, atol=0)
    assert view.flags.c_contiguous and np.shares_memory(view, buffer)
    view[0, 0] = -1.0
    assert buffer[3] == -1.0
    assert network.matrix_view(buffer, 20, 0, 5).shape == (0, 5)
    with pytest.raises(ValueError, match="does not fit in the buffer"):
        network.matrix_view(buffer, 15, 3, 2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_prefetch_for_write_changes_nothing(dtype):
    """A prefetch is a hint: over whole, unaligned, one-element and empty
    ranges, the last element included, the array keeps every value."""
    from fastmlp.kernels._prefetch import prefetch_for_write

    values = np.random.default_rng(31).normal(size=1001).astype(dtype)
    before = values.copy()
    for begin, end in [(0, 1001), (3, 997), (500, 501), (7, 7), (1000, 1001)]:
        prefetch_for_write(values, begin, end)
    np.testing.assert_array_equal(values, before)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("solver", ["sgd", "adam", "adamw"])
def test_step_adding_the_last_part_equals_summing_first(solver, dtype):
    """A split batch's step adds the last part's gradient in its own loop:
    the bits of the step given the parts' sum (summed in the same order)."""
    rng = np.random.default_rng(32)
    params = rng.normal(size=N_PARAMS).astype(dtype)
    head, last = rng.normal(size=(2, N_PARAMS)).astype(dtype)
    head[:5] = [-0.0, 0.0, -0.0, 1.0, -1.0]
    last[:5] = [-0.0, -0.0, 0.0, -1.0, 1.0]
    results = []
    for grads, tail in ((head, last), (head + last, None)):
        p = params.copy()
        first, second = np.zeros_like(p), np.ones_like(p)
        if solver == "sgd":
            sgd_step(p, grads, tail, first, N_COEFS, ALPHA, SCALE, 0.05, 0.9, True)
        else:
            decay = 0.01 if solver == "adamw" else 0.0
            adam_step(
                p, grads, tail, first, second, N_COEFS, ALPHA, SCALE, 0.01, 0.9,
                0.999, 1e-8, decay,
            )  # fmt: skip
        results.append((p, first, second))
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)
        assert np.array_equal(np.signbit(got), np.signbit(want))

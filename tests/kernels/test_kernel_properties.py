"""Property-based tests of every kernel against its NumPy reference.

Hypothesis draws the shapes (batches of one row, one feature, one unit,
batch sizes that do not divide the number of rows), the dtype (float32,
float64) and the memory layout of every array argument (C-ordered,
Fortran-ordered, or a strided view) over each registry entry; the values come
from a NumPy generator seeded by Hypothesis. The kernels live in
``fastmlp.kernels``; the references in ``reference.py``. The numerical edge
cases are in ``test_edge_cases.py``.
"""

import numpy as np
import pytest
import reference
import scipy.sparse as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from test_kernels import loss_sum_of

from fastmlp import _engine
from fastmlp._engine import Network
from fastmlp.kernels import network
from fastmlp.kernels._compile import KernelSet
from fastmlp.kernels.activations import HIDDEN_ACTIVATIONS
from fastmlp.kernels.bundles import OptimizerBundle
from fastmlp.kernels.dense import (
    column_sums,
    csr_backward_params,
    csr_forward,
    dense_backward_input,
    dense_backward_params,
    dense_forward,
)
from fastmlp.kernels.losses import OUTPUT_LOSSES

# strided inputs are the point here, not speed
pytestmark = pytest.mark.filterwarnings("ignore::numba.NumbaPerformanceWarning")

PROPERTY = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples on every run: no flaky CI
    suppress_health_check=[HealthCheck.too_slow],
)
DTYPES = (np.float64, np.float32)
LAYOUTS = ("C", "F", "strided")
# largest difference relative to the largest reference value
TOL = {np.float64: 1e-11, np.float32: 2e-5}

dtypes = st.sampled_from(DTYPES)
layouts = st.sampled_from(LAYOUTS)
seeds = st.integers(0, 2**32 - 1)
rows = st.integers(1, 9)
units = st.integers(1, 7)


def _hidden(name):
    if name not in reference.HIDDEN:
        pytest.fail(f"no NumPy reference for the activation {name!r}")
    return reference.HIDDEN[name]


def _per_sample_loss(name):
    if name not in reference.PER_SAMPLE_LOSSES:
        pytest.fail(f"no NumPy reference for the loss {name!r}")
    loss = reference.PER_SAMPLE_LOSSES[name]
    if name in reference.LOSS_PARAMS:  # huber's delta
        return lambda p, y, param: loss(p, y, p.dtype, param)
    return lambda p, y, param: loss(p, y, p.dtype)


def _targets(name, rng, n, k):
    return reference.TARGETS[name](rng, n, k)


def _laid_out(values, layout):
    """``values`` (2-D) as a C-ordered, Fortran-ordered or strided array."""
    if layout == "C":
        return np.ascontiguousarray(values)
    if layout == "F":
        return np.asfortranarray(values)
    n, k = values.shape
    wide = np.full((2 * n, 2 * k), np.nan, dtype=values.dtype)
    wide[::2, ::2] = values
    view = wide[::2, ::2]
    # numpy (and numba) call a view of one element contiguous
    assert values.size == 1 or not view.flags.contiguous
    return view


def _vector(values, layout):
    """A 1-D array, strided for any layout but C (1-D has no F order)."""
    if layout == "C":
        return np.ascontiguousarray(values)
    wide = np.full(2 * values.shape[0], np.nan, dtype=values.dtype)
    wide[::2] = values
    return wide[::2]


def _assert_close(actual, expected, dtype):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    assert np.all(np.isfinite(actual))
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1.0)
    assert np.max(np.abs(actual - expected), initial=0.0) <= TOL[dtype] * scale


def _pre_activations(rng, n, k, dtype, spread=3.0):
    """``z`` and ``bias`` whose sum stays 1e-3 away from the kinks at 0."""
    bias = rng.normal(size=k).astype(dtype)
    total = rng.normal(scale=spread, size=(n, k))
    total = np.where(np.abs(total) < 1e-3, 1e-3, total).astype(dtype)
    return (total - bias).astype(dtype), bias


# ----------------------------------------------------------------------------
# hidden activations: forward(z, bias, saved) and backward(saved, a, delta)


@pytest.mark.parametrize("name", list(HIDDEN_ACTIVATIONS))
@PROPERTY
@given(
    n=rows, k=units, dtype=dtypes, layout=layouts, keep_saved=st.booleans(), seed=seeds
)
@example(n=1, k=1, dtype=np.float32, layout="F", keep_saved=True, seed=0)
def test_activation_forward(name, n, k, dtype, layout, keep_saved, seed):
    rng = np.random.default_rng(seed)
    z, bias = _pre_activations(rng, n, k, dtype)
    total = (z + bias).astype(np.float64)
    z = _laid_out(z, layout)
    saved = _laid_out(np.full((n, k), np.nan, dtype=dtype), layout)
    if not keep_saved:
        saved = np.empty((0, 0), dtype=dtype)
    HIDDEN_ACTIVATIONS[name].forward(z, _vector(bias, layout), saved)
    f, fprime = _hidden(name)
    _assert_close(z, f(total), dtype)
    if keep_saved and HIDDEN_ACTIVATIONS[name].saves_derivative:
        _assert_close(saved, fprime(total), dtype)


@pytest.mark.parametrize("name", list(HIDDEN_ACTIVATIONS))
@PROPERTY
@given(n=rows, k=units, dtype=dtypes, layout=layouts, seed=seeds)
@example(n=1, k=1, dtype=np.float64, layout="strided", seed=0)
def test_activation_backward(name, n, k, dtype, layout, seed):
    rng = np.random.default_rng(seed)
    z, bias = _pre_activations(rng, n, k, dtype)
    total = (z + bias).astype(dtype)
    # a = f(z) and what the forward kernel saves for the backward kernel
    a, saved = z.copy(), np.full((n, k), np.nan, dtype=dtype)
    HIDDEN_ACTIVATIONS[name].forward(a, bias, saved)
    delta = rng.normal(size=(n, k)).astype(dtype)
    expected = delta.astype(np.float64) * _hidden(name)[1](total)
    delta = _laid_out(delta, layout)
    HIDDEN_ACTIVATIONS[name].backward(
        _laid_out(saved, layout), _laid_out(a, layout), delta
    )
    _assert_close(delta, expected, dtype)


# ----------------------------------------------------------------------------
# output layers: forward, backward (the VJP), loss_sum and delta


def _loss_problem(name, rng, n, k, dtype):
    """Predictions of the loss's output activation, targets, weights, param."""
    spec = OUTPUT_LOSSES[name]
    z, bias = _pre_activations(rng, n, k, dtype, spread=1.5)
    p = reference.OUTPUT_ACTIVATIONS[spec.activation](z + bias).astype(dtype)
    y = _targets(name, rng, n, k).astype(dtype)
    w = rng.uniform(0.0, 3.0, size=n).astype(dtype)
    param = float(rng.uniform(0.1, 2.0))
    return z, bias, p, y, w, param


@pytest.mark.parametrize("name", list(OUTPUT_LOSSES))
@PROPERTY
@given(n=rows, k=units, dtype=dtypes, layout=layouts, seed=seeds)
@example(n=1, k=1, dtype=np.float32, layout="F", seed=0)
def test_output_forward_and_backward(name, n, k, dtype, layout, seed):
    spec = OUTPUT_LOSSES[name]
    if spec.activation == "softmax" and k == 1:
        k = 2  # a softmax layer has two units or more
    rng = np.random.default_rng(seed)
    z, bias, _, _, _, _ = _loss_problem(name, rng, n, k, dtype)
    total = (z + bias).astype(dtype)
    out = _laid_out(z, layout)
    spec.forward(out, _vector(bias, layout), np.empty((0, 0), dtype=dtype))
    _assert_close(out, reference.OUTPUT_ACTIVATIONS[spec.activation](total), dtype)

    delta = rng.normal(size=(n, k)).astype(dtype)
    expected = reference.output_vjp(spec.activation, total, delta)
    delta = _laid_out(delta, layout)
    spec.backward(_laid_out(total, layout), _laid_out(out.copy(), layout), delta)
    _assert_close(delta, expected, dtype)


@pytest.mark.parametrize("name", list(OUTPUT_LOSSES))
@PROPERTY
@given(n=rows, k=units, dtype=dtypes, layout=layouts, seed=seeds)
@example(n=1, k=1, dtype=np.float64, layout="strided", seed=0)
def test_loss_sum_and_delta(name, n, k, dtype, layout, seed):
    spec = OUTPUT_LOSSES[name]
    if spec.activation == "softmax" and k == 1:
        k = 2
    rng = np.random.default_rng(seed)
    _, _, p, y, w, param = _loss_problem(name, rng, n, k, dtype)
    per_sample = _per_sample_loss(name)(p, y, param)
    expected = float(np.sum(w.astype(np.float64) * per_sample))
    args = (_laid_out(p, layout), _laid_out(y, layout), _vector(w, layout))
    value = loss_sum_of(spec, *args, param)
    assert isinstance(value, float)
    # the loss accumulates in float64 whatever the dtype
    assert_allclose(value, expected, rtol=1e-12 if dtype == np.float64 else 1e-6)

    out = _laid_out(np.full((n, k), np.nan, dtype=dtype), layout)
    spec.delta(*args, param, out)
    _assert_close(out, reference.output_delta(name, p, y, w, param), dtype)


# ----------------------------------------------------------------------------
# dense and CSR layers


# The kernels built on np.dot write into C-ordered outputs only: numba fails
# to compile np.dot(a, b, out) for a Fortran-ordered or strided ``out`` (a bare
# AssertionError in numba.np.linalg). Their inputs may have any layout. The
# engine only passes views of its flat C-ordered buffers as outputs, so no
# estimator reaches that case.


@PROPERTY
@given(
    n=rows,
    fan_in=units,
    fan_out=units,
    dtype=dtypes,
    layout=layouts,
    seed=seeds,
)
@example(n=1, fan_in=1, fan_out=1, dtype=np.float32, layout="F", seed=0)
@example(n=5, fan_in=3, fan_out=1, dtype=np.float64, layout="strided", seed=1)
def test_dense_kernels(n, fan_in, fan_out, dtype, layout, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, fan_in)).astype(dtype)
    coef = rng.normal(size=(fan_in, fan_out)).astype(dtype)
    delta = rng.normal(size=(n, fan_out)).astype(dtype)

    out = _laid_out(np.full((n, fan_out), np.nan, dtype=dtype), "C")
    dense_forward(_laid_out(x, layout), _laid_out(coef, layout), out)
    _assert_close(out, x.astype(float) @ coef.astype(float), dtype)

    coef_grad = _laid_out(np.full((fan_in, fan_out), np.nan, dtype=dtype), "C")
    intercept_grad = _vector(np.full(fan_out, np.nan, dtype=dtype), layout)
    dense_backward_params(
        _laid_out(x, layout), _laid_out(delta, layout), coef_grad, intercept_grad
    )
    ref_coef, ref_intercept, ref_input = reference.dense_backward(
        x, delta, coef, 0.0, 1.0
    )
    _assert_close(coef_grad, ref_coef, dtype)
    _assert_close(intercept_grad, ref_intercept, dtype)

    grad_input = _laid_out(np.full((n, fan_in), np.nan, dtype=dtype), "C")
    dense_backward_input(_laid_out(delta, layout), _laid_out(coef, layout), grad_input)
    _assert_close(grad_input, ref_input, dtype)

    sums = _vector(np.full(fan_out, np.nan, dtype=dtype), layout)
    column_sums(_laid_out(delta, layout), sums)
    _assert_close(sums, delta.astype(float).sum(axis=0), dtype)


@PROPERTY
@given(
    n_total=st.integers(1, 12),
    n_features=units,
    fan_out=units,
    density=st.sampled_from([0.0, 0.3, 1.0]),
    dtype=dtypes,
    layout=layouts,
    seed=seeds,
)
@example(n_total=1, n_features=1, fan_out=1, density=1.0, dtype=np.float32,
         layout="F", seed=0)  # fmt: skip
def test_csr_kernels(n_total, n_features, fan_out, density, dtype, layout, seed):
    rng = np.random.default_rng(seed)
    X = sp.random(
        n_total, n_features, density=density, format="csr", random_state=seed,
        dtype=dtype,
    )  # fmt: skip
    X.data[:] = rng.normal(size=X.nnz)
    batch = rng.permutation(n_total)[: rng.integers(1, n_total + 1)].astype(np.int64)
    csr = (X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64), batch)
    dense = X[batch].toarray().astype(np.float64)
    coef = rng.normal(size=(n_features, fan_out)).astype(dtype)
    delta = rng.normal(size=(batch.shape[0], fan_out)).astype(dtype)

    out = _laid_out(np.full((batch.shape[0], fan_out), np.nan, dtype=dtype), layout)
    csr_forward(*csr, _laid_out(coef, layout), out)
    _assert_close(out, dense @ coef.astype(float), dtype)

    coef_grad = _laid_out(np.full((n_features, fan_out), np.nan, dtype=dtype), layout)
    intercept_grad = _vector(np.full(fan_out, np.nan, dtype=dtype), layout)
    csr_backward_params(*csr, _laid_out(delta, layout), coef_grad, intercept_grad)
    _assert_close(coef_grad, dense.T @ delta.astype(float), dtype)
    _assert_close(intercept_grad, delta.astype(float).sum(axis=0), dtype)


# ----------------------------------------------------------------------------
# whole networks through the engine


@st.composite
def networks(draw):
    """A small random network, its data and parameters."""
    n_hidden = draw(st.integers(0, 2))
    hidden = [draw(units) for _ in range(n_hidden)]
    activations = [draw(st.sampled_from(list(HIDDEN_ACTIVATIONS))) for _ in hidden]
    loss = draw(st.sampled_from(list(OUTPUT_LOSSES)))
    n_out = draw(units)
    if OUTPUT_LOSSES[loss].activation == "softmax":
        n_out = max(n_out, 2)
    dtype = draw(dtypes)
    n_features = draw(units)
    net = Network([n_features, *hidden, n_out], activations, loss, dtype, 0.7)
    rng = np.random.default_rng(draw(seeds))
    n = draw(st.integers(1, 11))
    x = rng.normal(size=(n, n_features)).astype(dtype)
    y = _targets(loss, rng, n, n_out).astype(dtype)
    w = rng.uniform(0.1, 2.0, size=n).astype(dtype)
    params = rng.uniform(-0.7, 0.7, size=net.n_params).astype(dtype)
    return net, x, y, w, params


def _reference_network(net):
    hidden = [_hidden(name) for name in net.activations]
    output = reference.OUTPUT_ACTIVATIONS[OUTPUT_LOSSES[net.loss].activation]
    return hidden, output


@PROPERTY
@given(
    problem=networks(), layout=layouts, chunk=st.integers(1, 12), sparse=st.booleans()
)
def test_network_predict(problem, layout, chunk, sparse):
    """``Network.predict`` (chunked; dense in any layout, or CSR) against the
    reference forward pass."""
    net, x, _, _, params = problem
    hidden, output = _reference_network(net)
    coefs, intercepts = net.unpack(params)
    _, acts = reference.mlp_forward_per_layer(x, coefs, intercepts, hidden, output)
    X = sp.csr_matrix(x) if sparse else _laid_out(x, layout)
    saved = _engine.PREDICT_CHUNK_ROWS, _engine.dense_is_smaller
    _engine.PREDICT_CHUNK_ROWS = chunk
    _engine.dense_is_smaller = lambda X, dtype=None: False  # the CSR kernels
    try:
        predicted = net.predict(X, params)
    finally:
        _engine.PREDICT_CHUNK_ROWS, _engine.dense_is_smaller = saved
    _assert_close(predicted, acts[-1], x.dtype.type)


@PROPERTY
@given(problem=networks(), sparse=st.booleans())
def test_network_forward_backward(problem, sparse):
    """The compiled backprop: loss and raw gradient of a random network."""
    net, x, y, w, params = problem
    dtype = x.dtype.type
    hidden, output = _reference_network(net)
    coefs, intercepts = net.unpack(params)
    name, param = net.loss, net.loss_param
    p, coef_grads, intercept_grads = reference.mlp_raw_gradient(
        x,
        coefs,
        intercepts,
        hidden,
        output,
        lambda p: reference.output_delta(name, p, y, w, param),
    )
    expected_loss = np.sum(w * _per_sample_loss(name)(p.astype(dtype), y, param))

    grads = np.full(net.n_params, np.nan, dtype=dtype)
    work = net.allocate_work(x.shape[0], dense_input=not sparse)
    if sparse:
        X = sp.csr_matrix(x)
        rows = np.arange(x.shape[0], dtype=np.int64)
        data = (X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64))
    else:
        data, rows = x, np.arange(x.shape[0], dtype=np.int64)
    data_loss, weight_sum = network.forward_backward(
        (data, y, w), rows, 0, x.shape[0], False, params, grads, net.bundle,
        net.no_dropout(), -1, work,
    )  # fmt: skip
    assert_allclose(weight_sum, w.astype(float).sum(), rtol=1e-6)
    assert_allclose(
        data_loss, expected_loss / w.astype(float).sum(), rtol=TOL[dtype] * 10
    )
    expected = np.concatenate(
        [g.ravel() for g in coef_grads] + [g.ravel() for g in intercept_grads]
    )
    _assert_close(grads, expected, dtype)


@PROPERTY
@given(problem=networks(), batch_size=st.integers(1, 12), seed=seeds)
def test_sgd_epoch_with_any_batch_size(problem, batch_size, seed):
    """``train_epochs`` (one epoch of plain SGD, shuffled rows, batch sizes
    that need not divide n_samples) against batch-by-batch reference steps."""
    net, x, y, w, params = problem
    dtype = x.dtype.type
    n = x.shape[0]
    order = np.random.default_rng(seed).permutation(n).astype(np.int64)
    learning_rate, alpha = 0.05, 1e-3
    hidden, output = _reference_network(net)
    name, param = net.loss, net.loss_param

    expected = params.astype(np.float64)
    for start in range(0, n, batch_size):
        b = order[start : start + batch_size]
        coefs, intercepts = net.unpack(expected)
        _, coef_grads, intercept_grads = reference.mlp_raw_gradient(
            x[b], coefs, intercepts, hidden, output,
            lambda p, b=b: reference.output_delta(name, p, y[b], w[b], param),
        )  # fmt: skip
        scale = float(w[b].astype(np.float64).sum())
        step = np.concatenate(
            [(g + alpha * c).ravel() for g, c in zip(coef_grads, coefs)]
            + [g.ravel() for g in intercept_grads]
        )
        expected = expected - learning_rate * step / scale

    trained = params.copy()
    velocity = np.zeros_like(params)
    work = net.allocate_work(min(batch_size, n), dense_input=True)
    optimizer = OptimizerBundle(
        KernelSet(solver_codes=(0,)), 0, alpha, learning_rate, 0.0, False, 0.9,
        0.999, 1e-8, velocity, np.empty(0, dtype=dtype),
    )  # fmt: skip
    network.train_epochs(
        (x, y, w), order[None], True, min(batch_size, n), trained,
        np.empty_like(params), net.bundle, net.no_dropout(), np.array([-1]),
        optimizer, 0, work, np.empty(1),
    )  # fmt: skip
    tol = 1e-10 if dtype == np.float64 else 1e-4
    assert_allclose(trained, expected, rtol=tol, atol=tol)


# ----------------------------------------------------------------------------
# dispatch switches


def test_every_switch_has_its_own_stable_name():
    """numba names compiled code by qualname and a per-process counter: two
    different switches with one qualname can swap places when a process loads
    cached callers compiled by different processes (a CSR predict once ran
    the wrong activation that way). Each switch's name is unique, and the
    same registry gives the same name in every process."""
    from fastmlp.kernels import activations, losses, optimizers
    from fastmlp.kernels._compile import make_selector, make_switch

    registries = {
        activations.activation_forward: [
            a.forward for a in HIDDEN_ACTIVATIONS.values()
        ],
        activations.activation_backward: [
            a.backward for a in HIDDEN_ACTIVATIONS.values()
        ],
        losses.output_forward: [spec.forward for spec in OUTPUT_LOSSES.values()],
        losses.output_backward: [spec.backward for spec in OUTPUT_LOSSES.values()],
        losses.output_loss_mean: [spec.loss_mean for spec in OUTPUT_LOSSES.values()],
        losses.output_loss_delta: [spec.delta for spec in OUTPUT_LOSSES.values()],
    }
    names = [switch.py_func.__qualname__ for switch in registries]
    assert len(set(names)) == len(names)
    assert all(name.startswith("switch_") for name in names)
    for switch, kernels in registries.items():
        assert make_switch(kernels).py_func.__qualname__ == switch.py_func.__qualname__
    # the compiled loops' selectors: one name per registry and field
    selectors = [
        network.activation_forward,
        network.activation_backward,
        network.output_forward,
        network.output_backward,
        network.output_loss_mean,
        network.output_loss_delta,
        optimizers.update_rule,
    ]
    selector_names = [selector.__qualname__ for selector in selectors]
    assert len(set(selector_names + names)) == len(selector_names + names)
    assert (
        make_selector(
            [a.forward for a in HIDDEN_ACTIVATIONS.values()], "activations"
        ).__qualname__
        == network.activation_forward.__qualname__
    )

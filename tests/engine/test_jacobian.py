"""Input Jacobians: forward mode, reverse mode, finite differences, mode choice."""

import copy
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from fastmlp import MLPClassifier, MLPRegressor, _jacobian
from fastmlp.kernels.activations import HIDDEN_ACTIVATIONS

N_FEATURES = 4
STEP = 1e-6  # central differences: error ~ STEP**2 + eps / STEP


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, N_FEATURES))


def _targets(task, X):
    rng = np.random.default_rng(1)
    n = X.shape[0]
    if task == "binary":
        return np.arange(n) % 2
    if task == "multiclass":
        return np.arange(n) % 3
    if task == "multilabel":
        return rng.integers(0, 2, size=(n, 3))
    if task == "poisson":
        return rng.poisson(2.0, size=n).astype(float)
    if task == "multioutput":
        return rng.standard_normal((n, 3))
    return rng.standard_normal(n)


def _fit(task, activation="tanh", hidden=(6, 5), X=None):
    X = _data() if X is None else X
    classifier = task in ("binary", "multiclass", "multilabel")
    params = dict(
        hidden_layer_sizes=hidden,
        activation=activation,
        max_iter=5,
        learning_rate_init=0.05,
        random_state=0,
    )
    if classifier:
        model = MLPClassifier(**params)
    else:
        model = MLPRegressor(
            loss="poisson" if task == "poisson" else "squared_error", **params
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, _targets(task, X))


def _outputs(model, X):
    """What ``jacobian`` differentiates: predict_proba, its positive column
    for a binary classifier, predict for a regressor; always 2-D."""
    if isinstance(model, MLPClassifier):
        proba = model.predict_proba(X)
        return (
            proba[:, 1:] if len(model.classes_) == 2 and proba.shape[1] == 2 else proba
        )
    return model.predict(X).reshape(X.shape[0], -1)


def _finite_differences(model, X):
    columns = []
    for k in range(X.shape[1]):
        step = np.zeros(X.shape[1])
        step[k] = STEP
        columns.append(
            (_outputs(model, X + step) - _outputs(model, X - step)) / STEP / 2
        )
    return np.stack(columns, axis=-1)


def _check_against_finite_differences(model, X):
    forward = model.jacobian(X, mode="forward")
    reverse = model.jacobian(X, mode="reverse")
    numeric = _finite_differences(model, X)
    assert forward.shape == numeric.shape
    scale = np.abs(numeric).max()
    assert scale > 1e-3  # the test would see a zero Jacobian
    np.testing.assert_allclose(forward, reverse, rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_allclose(forward, numeric, rtol=1e-6, atol=1e-6 * scale)
    np.testing.assert_allclose(reverse, numeric, rtol=1e-6, atol=1e-6 * scale)
    return forward


TASKS = [
    "binary",
    "multiclass",
    "multilabel",
    "squared_error",
    "poisson",
    "multioutput",
]
N_OUTPUTS = {"binary": 1, "multiclass": 3, "multilabel": 3, "multioutput": 3}


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("activation", list(HIDDEN_ACTIVATIONS))
def test_modes_agree_with_finite_differences(task, activation):
    model = _fit(task, activation)
    X = _data(n=10, seed=2)
    J = _check_against_finite_differences(model, X)
    assert J.shape == (10, N_OUTPUTS.get(task, 1), N_FEATURES)
    assert J.dtype == np.float64


@pytest.mark.parametrize("task", TASKS)
def test_no_hidden_layer(task):
    model = _fit(task, hidden=())
    _check_against_finite_differences(model, _data(n=10, seed=2))


def test_one_activation_per_layer():
    model = _fit("multiclass", activation=["silu", "logistic", "elu"], hidden=(5, 4, 3))
    _check_against_finite_differences(model, _data(n=10, seed=2))


def test_multiclass_jacobian_rows_sum_to_zero():
    # the probabilities sum to one, so their derivatives sum to zero
    J = _fit("multiclass").jacobian(_data(n=10, seed=2))
    np.testing.assert_allclose(J.sum(axis=1), 0.0, atol=1e-14)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_chunks_give_the_same_result(monkeypatch, mode):
    model = _fit("multiclass")
    X = _data(n=50, seed=3)
    whole = model.jacobian(X, mode=mode)
    monkeypatch.setattr(_jacobian, "BUFFER_ELEMENTS", 7 * 6 * 4)  # 7-row chunks
    np.testing.assert_allclose(model.jacobian(X, mode=mode), whole, rtol=1e-13)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_sparse_input_gives_the_dense_result(mode):
    model = _fit("multioutput")
    X = _data(n=12, seed=4)
    X[np.abs(X) < 0.8] = 0.0
    dense = model.jacobian(X, mode=mode)
    for matrix in (sp.csr_matrix(X), sp.csc_matrix(X)):
        np.testing.assert_allclose(model.jacobian(matrix, mode=mode), dense, rtol=1e-13)


@pytest.mark.parametrize("task", ["multiclass", "poisson"])
def test_float32(task):
    X32 = _data().astype(np.float32)
    model = _fit(task, activation="gelu", X=X32)
    as64 = copy.deepcopy(model)
    as64.coefs_ = [c.astype(np.float64) for c in model.coefs_]
    as64.intercepts_ = [b.astype(np.float64) for b in model.intercepts_]
    X = _data(n=10, seed=2)
    expected = _check_against_finite_differences(as64, X)
    scale = np.abs(expected).max()
    for mode in ("forward", "reverse"):
        J = model.jacobian(X.astype(np.float32), mode=mode)
        assert J.dtype == np.float32
        np.testing.assert_allclose(J, expected, rtol=1e-4, atol=1e-5 * scale)


def test_mode_costs_count_multiply_adds():
    # forward: 3 * (8 + 8*5 + 5*2); reverse: 2 * (3*8 + 8*5 + 5*2)
    assert _jacobian.mode_costs([3, 8, 5, 2]) == (174, 148)
    assert _jacobian.mode_costs([3, 2]) == (6, 12)


@pytest.mark.parametrize(
    "units",
    [[2, 16, 10], [5, 64, 64, 10], [9, 32, 10], [1, 3], [4, 100, 100, 100, 5]],
)
def test_auto_picks_forward_with_fewer_features_than_outputs(units):
    assert _jacobian.choose_mode(units) == "forward"


@pytest.mark.parametrize("units", [[20, 16, 1], [100, 32, 32, 2], [500, 64, 64, 10]])
def test_auto_picks_reverse_with_many_more_features_than_outputs(units):
    assert _jacobian.choose_mode(units) == "reverse"


def test_auto_keeps_forward_a_little_past_n_outputs():
    # one hidden layer: forward skips the first product, so it wins while
    # n_features < n_outputs**2 (here 20 * 11 * 16 < 10 * 16 * 30)
    assert _jacobian.choose_mode([20, 16, 10]) == "forward"
    assert _jacobian.choose_mode([101, 16, 10]) == "reverse"


def test_auto_uses_the_cheaper_mode(monkeypatch):
    model = _fit("multiclass")
    X = _data(n=5)
    chosen = []
    choose = _jacobian.choose_mode
    monkeypatch.setattr(
        _jacobian,
        "choose_mode",
        lambda units: chosen.append(list(units)) or choose(units),
    )
    np.testing.assert_array_equal(
        model.jacobian(X), model.jacobian(X, mode=choose(model._fitted_network().units))
    )
    assert chosen == [[N_FEATURES, 6, 5, 3]]


@pytest.mark.parametrize("mode", ["Forward", "backward", None, 1])
def test_bad_mode_raises(mode):
    model = _fit("binary")
    with pytest.raises(ValueError, match="mode must be one of"):
        model.jacobian(_data(n=3), mode=mode)


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_unfitted_raises(Estimator):
    with pytest.raises(NotFittedError):
        Estimator().jacobian(_data(n=3))


def test_wrong_number_of_features_raises():
    model = _fit("squared_error")
    with pytest.raises(ValueError, match="features"):
        model.jacobian(np.ones((3, N_FEATURES + 1)))

"""The features fastmlp adds to scikit-learn's MLP, through the estimators.

Every new parameter defaults to scikit-learn's behaviour (the parity tests
check that); these tests check what each one does when it is used. The kernels
behind them are checked against NumPy references and finite differences in
test_kernels.py.
"""

import warnings

import numpy as np
import pytest
from conftest import SKLEARN_SAMPLE_WEIGHT, mostly_zero, sklearn_at_least
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss, mean_absolute_error
from sklearn.utils.class_weight import compute_class_weight

from fastmlp import MLPClassifier, MLPRegressor, _registry
from fastmlp.kernels.activations import HIDDEN_ACTIVATIONS

X, Y = make_classification(
    n_samples=240, n_features=6, n_informative=4, n_classes=3, random_state=0
)
X_BIN, Y_BIN = make_classification(
    n_samples=200, n_features=5, weights=[0.8], random_state=1
)
X_REG, Y_REG = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=2)
Y_REG = Y_REG / Y_REG.std()
# the activations scikit-learn lacks, from their specs
NEW_ACTIVATIONS = [
    name for name, spec in _registry.hidden_activations().items() if not spec.sklearn
]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _clf(**params):
    params = {"random_state": 0, "max_iter": 15, **params}
    return MLPClassifier(**params)


def _coefs(model):
    return np.concatenate([c.ravel() for c in model.coefs_ + model.intercepts_])


# --------------------------------------------------------------- activations
def test_new_activations_are_registered():
    assert set(NEW_ACTIVATIONS) <= set(HIDDEN_ACTIVATIONS)


@pytest.mark.parametrize("activation", NEW_ACTIVATIONS)
def test_new_activation_trains(activation):
    """Each activation lowers the loss and predicts better than chance."""
    model = _clf(activation=activation, hidden_layer_sizes=(20,), max_iter=60)
    model.fit(X, Y)
    assert model.loss_curve_[-1] < 0.8 * model.loss_curve_[0]
    assert model.score(X, Y) > 0.6


def test_activation_list_of_one_name_equals_the_name():
    one = _clf(activation="gelu", hidden_layer_sizes=(8, 6)).fit(X, Y)
    listed = _clf(activation=["gelu", "gelu"], hidden_layer_sizes=(8, 6)).fit(X, Y)
    assert_array_equal(_coefs(one), _coefs(listed))


def test_activation_list_runs_each_layer_its_own():
    """The model's output is the NumPy forward pass with layer-wise functions."""
    model = _clf(activation=["tanh", "relu"], hidden_layer_sizes=(8, 6)).fit(X, Y)
    a = np.tanh(X @ model.coefs_[0] + model.intercepts_[0])
    a = np.maximum(a @ model.coefs_[1] + model.intercepts_[1], 0.0)
    z = a @ model.coefs_[2] + model.intercepts_[2]
    expected = np.exp(z - z.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    assert_allclose(model.predict_proba(X), expected, rtol=1e-12, atol=1e-14)
    swapped = _clf(activation=["relu", "tanh"], hidden_layer_sizes=(8, 6)).fit(X, Y)
    assert not np.allclose(_coefs(model), _coefs(swapped))


@pytest.mark.parametrize(
    "activation, message",
    [
        (["relu"], "activation has 1 entries but the network has 2 hidden layers"),
        (["relu", "swish"], "activation entries must be in"),
    ],
)
def test_activation_list_errors(activation, message):
    model = _clf(activation=activation, hidden_layer_sizes=(4, 4))
    with pytest.raises(ValueError, match=message):
        model.fit(X, Y)


# ------------------------------------------------------------------- dropout
def test_dropout_is_reproducible_and_seeded_by_random_state():
    params = {"hidden_layer_sizes": (16, 8), "dropout": 0.3}
    first = _clf(**params).fit(X, Y)
    again = _clf(**params).fit(X, Y)
    other_seed = _clf(random_state=1, **params).fit(X, Y)
    assert_array_equal(_coefs(first), _coefs(again))
    assert not np.allclose(_coefs(first), _coefs(other_seed))


def test_dropout_changes_training_but_not_predict():
    plain = _clf(hidden_layer_sizes=(16,)).fit(X, Y)
    dropped = _clf(hidden_layer_sizes=(16,), dropout=0.5).fit(X, Y)
    assert not np.allclose(_coefs(plain), _coefs(dropped))
    # predict is the plain forward pass of the weights: deterministic, no masks
    a = np.maximum(X @ dropped.coefs_[0] + dropped.intercepts_[0], 0.0)
    z = a @ dropped.coefs_[1] + dropped.intercepts_[1]
    expected = np.exp(z - z.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    assert_allclose(dropped.predict_proba(X), expected, rtol=1e-12, atol=1e-14)
    assert_array_equal(dropped.predict_proba(X), dropped.predict_proba(X))


def test_zero_dropout_rates_are_no_dropout():
    """A rate of 0 in every layer is no dropout (and draws no seeds)."""
    plain = _clf(hidden_layer_sizes=(8, 6)).fit(X, Y)
    zeros = _clf(hidden_layer_sizes=(8, 6), dropout=[0.0, 0.0]).fit(X, Y)
    assert_array_equal(_coefs(plain), _coefs(zeros))
    second_only = _clf(hidden_layer_sizes=(8, 6), dropout=[0.0, 0.4]).fit(X, Y)
    assert not np.allclose(_coefs(plain), _coefs(second_only))


def test_dropout_works_with_sparse_input_and_partial_fit():
    import scipy.sparse as sp

    model = _clf(hidden_layer_sizes=(8,), dropout=0.2)
    model.fit(sp.csr_matrix(mostly_zero(X)), Y)  # the CSR kernels
    model.partial_fit(X, Y)
    assert np.isfinite(_coefs(model)).all()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"dropout": [0.1]}, "dropout has 1 entries but the network has 2"),
        ({"dropout": [0.1, 1.0]}, r"dropout rates must be in \[0, 1\)"),
        ({"dropout": [-0.1, 0.2]}, r"dropout rates must be in \[0, 1\)"),
        ({"dropout": 0.2, "solver": "lbfgs"}, "dropout needs a stochastic solver"),
    ],
)
def test_dropout_errors(params, message):
    model = _clf(hidden_layer_sizes=(4, 4), **params)
    with pytest.raises(ValueError, match=message):
        model.fit(X, Y)


def test_dropout_out_of_range_float_is_a_parameter_error():
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="'dropout' parameter"):
        _clf(dropout=1.0).fit(X, Y)


# -------------------------------------------------------------- class_weight
def test_class_weight_dict_equals_sample_weight():
    weights = {0: 3.0, 1: 0.5, 2: 1.0}
    by_class = _clf(class_weight=weights).fit(X, Y)
    by_sample = _clf().fit(X, Y, sample_weight=np.vectorize(weights.get)(Y))
    assert_array_equal(_coefs(by_class), _coefs(by_sample))


@pytest.mark.parametrize("weighted", [False, True])
def test_class_weight_balanced_multiplies_sample_weight(weighted):
    """As in scikit-learn's linear models: balanced weights (weighted by
    sample_weight when given) times sample_weight."""
    sample_weight = np.linspace(0.5, 2.0, Y_BIN.shape[0]) if weighted else None
    balanced = _clf(class_weight="balanced").fit(X_BIN, Y_BIN, sample_weight)
    # n_samples / (n_classes * count), with weights summed in place of counts
    class_totals = np.bincount(Y_BIN, weights=sample_weight)
    per_class = class_totals.sum() / (2 * class_totals)
    if sklearn_at_least(SKLEARN_SAMPLE_WEIGHT):  # scikit-learn's own formula
        assert_allclose(
            per_class,
            compute_class_weight(
                "balanced",
                classes=np.unique(Y_BIN),
                y=Y_BIN,
                sample_weight=sample_weight,
            ),
            rtol=1e-15,
        )
    expected_weight = per_class[Y_BIN] * (
        1.0 if sample_weight is None else sample_weight
    )
    manual = _clf().fit(X_BIN, Y_BIN, sample_weight=expected_weight)
    assert_allclose(_coefs(balanced), _coefs(manual), rtol=1e-12, atol=1e-14)
    unweighted = _clf().fit(X_BIN, Y_BIN, sample_weight)
    assert not np.allclose(_coefs(balanced), _coefs(unweighted))


def test_class_weight_balanced_raises_in_partial_fit():
    model = _clf(class_weight="balanced")
    with pytest.raises(ValueError, match="not supported for partial_fit"):
        model.partial_fit(X, Y, classes=[0, 1, 2])
    _clf(class_weight={0: 2.0}).partial_fit(X, Y, classes=[0, 1, 2])


def test_class_weight_rejects_multilabel():
    Y_multi = np.column_stack([Y == 0, Y == 1]).astype(int)
    with pytest.raises(ValueError, match="not supported for multilabel"):
        _clf(class_weight="balanced").fit(X, Y_multi)


# ------------------------------------------------------------ robust losses
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_huber_with_large_delta_is_the_squared_error(solver):
    """For one output, 0.5 r**2 everywhere is scikit-learn's squared error."""
    params = {"random_state": 0, "max_iter": 20, "solver": solver}
    squared = MLPRegressor(**params).fit(X_REG, Y_REG)
    huber = MLPRegressor(loss="huber", huber_delta=1e12, **params).fit(X_REG, Y_REG)
    assert_allclose(_coefs(huber), _coefs(squared), rtol=1e-10, atol=1e-13)


def test_robust_losses_report_their_loss():
    """With L-BFGS and alpha=0, loss_ is the loss of the final predictions."""
    params = {"random_state": 0, "max_iter": 30, "solver": "lbfgs", "alpha": 0.0}
    mae = MLPRegressor(loss="absolute_error", **params).fit(X_REG, Y_REG)
    assert_allclose(mae.loss_, mean_absolute_error(Y_REG, mae.predict(X_REG)))
    huber = MLPRegressor(loss="huber", huber_delta=0.3, **params).fit(X_REG, Y_REG)
    r = np.abs(Y_REG - huber.predict(X_REG))
    expected = np.mean(np.where(r <= 0.3, 0.5 * r**2, 0.3 * (r - 0.15)))
    assert_allclose(huber.loss_, expected, rtol=1e-10)


def test_absolute_error_resists_outliers():
    """A constant model (no hidden layer, zero features) fits the median
    under absolute_error and the mean under squared_error."""
    rng = np.random.default_rng(3)
    y = np.concatenate([rng.normal(size=95), np.full(5, 200.0)])
    X0 = np.zeros((100, 1))
    params = {"hidden_layer_sizes": (), "solver": "lbfgs", "alpha": 0.0}
    params["max_iter"] = 500
    mae = MLPRegressor(loss="absolute_error", **params).fit(X0, y)
    mse = MLPRegressor(**params).fit(X0, y)
    assert abs(mae.predict(X0[:1])[0] - np.median(y)) < 0.2
    assert abs(mse.predict(X0[:1])[0] - np.mean(y)) < 1e-3


def test_huber_delta_must_be_positive():
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="'huber_delta' parameter"):
        MLPRegressor(loss="huber", huber_delta=0.0).fit(X_REG, Y_REG)


# ------------------------------------------------------- AdamW, cosine schedule
def test_adamw_without_decay_is_adam():
    adam = _clf(alpha=0.0).fit(X, Y)
    adamw = _clf(alpha=0.0, solver="adamw").fit(X, Y)
    assert_array_equal(_coefs(adam), _coefs(adamw))


def test_adamw_decay_is_decoupled():
    """AdamW's alpha shrinks the coefficients; it is not in the reported loss
    (no L2 term), unlike Adam's."""
    adam = _clf(alpha=0.5).fit(X, Y)
    adamw = _clf(alpha=0.5, solver="adamw").fit(X, Y)
    free = _clf(alpha=0.0, solver="adamw").fit(X, Y)
    assert not np.allclose(_coefs(adam), _coefs(adamw))
    norm = lambda m: sum(np.sum(c**2) for c in m.coefs_)  # noqa: E731
    assert norm(adamw) < norm(free)
    # adam's first loss includes 0.5 * alpha * ||W||^2 / n on top of adamw's
    assert adam.loss_curve_[0] > adamw.loss_curve_[0]


@pytest.mark.parametrize("solver", ["sgd", "adam", "adamw"])
def test_cosine_schedule(solver):
    """learning rate after epoch t is lr0 * (1 + cos(pi * t / max_iter)) / 2."""
    model = _clf(solver=solver, learning_rate="cosine", max_iter=8)
    model.learning_rate_init = 0.02
    for t in range(1, 11):
        model.partial_fit(X, Y, classes=[0, 1, 2])
        expected = 0.02 * (1 + np.cos(np.pi * min(t, 8) / 8)) / 2
        assert_allclose(model._optimizer.learning_rate, expected, atol=1e-15)
    full = _clf(solver=solver, learning_rate="cosine", max_iter=8, tol=0.0).fit(X, Y)
    assert full.n_iter_ == 8
    assert full._optimizer.learning_rate == pytest.approx(0.0, abs=1e-15)
    constant = _clf(solver=solver, max_iter=8, tol=0.0).fit(X, Y)
    assert not np.allclose(_coefs(full), _coefs(constant))


# ------------------------------------------------------------------ eval_set
def test_eval_set_records_the_validation_loss():
    model = _clf(max_iter=12, tol=0.0).fit(
        X[:180], Y[:180], eval_set=(X[180:], Y[180:])
    )
    curve = model.validation_loss_curve_
    assert len(curve) == model.n_iter_ == 12
    assert_allclose(curve[-1], log_loss(Y[180:], model.predict_proba(X[180:])))
    assert model.t_ == 12 * 180  # every training row trains
    assert model.validation_scores_ is None  # no early stopping asked


def test_eval_set_with_sample_weight_and_regressor():
    w = np.linspace(0.5, 2.0, 50)
    model = MLPRegressor(random_state=0, max_iter=10).fit(
        X_REG[:150], Y_REG[:150], eval_set=(X_REG[150:], Y_REG[150:], w)
    )
    residual = Y_REG[150:] - model.predict(X_REG[150:])
    assert_allclose(
        model.validation_loss_curve_[-1], 0.5 * np.average(residual**2, weights=w)
    )


def test_eval_set_drives_early_stopping():
    """The given set replaces the validation_fraction split."""
    X_val, y_val = X[180:], Y[180:]
    model = _clf(early_stopping=True, max_iter=40, n_iter_no_change=3)
    model.fit(X[:180], Y[:180], eval_set=(X_val, y_val))
    assert model.t_ == model.n_iter_ * 180
    assert len(model.validation_scores_) == len(model.validation_loss_curve_)
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.score(X_val, y_val) == model.best_validation_score_


def test_early_stopping_split_records_validation_loss():
    model = _clf(early_stopping=True, max_iter=10).fit(X, Y)
    assert len(model.validation_loss_curve_) == model.n_iter_
    assert _clf().fit(X, Y).validation_loss_curve_ is None


def test_eval_set_with_lbfgs_records_each_iteration():
    model = _clf(solver="lbfgs", max_iter=15).fit(
        X[:180], Y[:180], eval_set=(X[180:], Y[180:])
    )
    assert len(model.validation_loss_curve_) == model.n_iter_
    assert_allclose(
        model.validation_loss_curve_[-1],
        log_loss(Y[180:], model.predict_proba(X[180:])),
    )


def test_eval_set_warm_start_continues_the_curve():
    model = _clf(max_iter=5, warm_start=True, tol=0.0)
    model.fit(X[:180], Y[:180], eval_set=(X[180:], Y[180:]))
    model.fit(X[:180], Y[:180], eval_set=(X[180:], Y[180:]))
    assert len(model.validation_loss_curve_) == 10


@pytest.mark.parametrize(
    "eval_set, error, message",
    [
        ((X[:10],), ValueError, "eval_set must be a tuple"),
        ((X[:10], Y[:9]), ValueError, "eval_set has 10 samples in X_val but 9"),
        ((X[:10, :3], Y[:10]), ValueError, "X has 3 features"),
        ((X[:10], np.full(10, 7)), ValueError, "classes not in the training data"),
        ((X[:10], Y[:10], np.ones(4)), ValueError, "sample_weight"),
    ],
)
def test_eval_set_errors_leave_the_model_unchanged(eval_set, error, message):
    model = _clf(max_iter=3).fit(X, Y)
    before = _coefs(model).copy()
    with pytest.raises(error, match=message):
        model.fit(X, Y, eval_set=eval_set)
    assert_array_equal(_coefs(model), before)

"""Training parity with scikit-learn's ``sklearn.neural_network``.

Every test fits fastmlp's estimator and scikit-learn's with the same data,
parameters and ``random_state`` and compares the training run: the loss curve
(relative 1e-6 over the first 10 epochs in float64), lbfgs's final loss
(relative 1e-5), the fitted attributes, the weights and the predictions.

Run with ``-s`` to see the largest deviations observed, per solver.
"""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn.neural_network as sk
from conftest import (
    SKLEARN_POISSON,
    SKLEARN_SAMPLE_WEIGHT,
    requires_sklearn,
    skip_unless_sklearn,
    sklearn_at_least,
)
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import is_classifier
from sklearn.datasets import (
    make_classification,
    make_multilabel_classification,
    make_regression,
)

import fastmlp as fm
from fastmlp import _registry

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# scikit-learn's solvers (the specs whose nearest scikit-learn solver is itself)
SOLVERS = [name for name, spec in _registry.solvers().items() if spec.sklearn == name]
STOCHASTIC = [name for name in SOLVERS if _registry.is_stochastic(name)]
N_SAMPLES = 250  # not a multiple of the batch sizes used below
LOSS_RTOL = 1e-6  # loss_curve_, float64, sgd and adam
LBFGS_LOSS_RTOL = 1e-5
COEF_RTOL, COEF_ATOL = 1e-6, 1e-9
PRED_RTOL, PRED_ATOL = 1e-6, 1e-9
N_EPOCHS = 10

# largest relative deviation seen in float64, printed at the end of the module
MAX_DEVIATION = {"sgd loss_curve_": 0.0, "adam loss_curve_": 0.0, "lbfgs loss_": 0.0}


@pytest.fixture(scope="module", autouse=True)
def _report_deviations():
    yield
    print("\nlargest relative deviation from scikit-learn (float64):")
    for name, value in MAX_DEVIATION.items():
        print(f"  {name}: {value:.3e}")


# ------------------------------------------------------------------------- data
def _classification(n_classes, random_state=0):
    return make_classification(
        n_samples=N_SAMPLES,
        n_features=8,
        n_informative=5,
        n_classes=n_classes,
        random_state=random_state,
    )


X_BIN, Y_BIN = _classification(2)
X_MC3, Y_MC3 = _classification(3)
X_MC5, Y_MC5 = _classification(5)
X_ML, Y_ML = make_multilabel_classification(
    n_samples=N_SAMPLES, n_features=8, n_classes=4, random_state=0
)
Y_STR = np.array(["ant", "bee", "cat"], dtype=object)[Y_MC3]

X_REG, Y_REG = make_regression(
    n_samples=N_SAMPLES, n_features=8, noise=1.0, random_state=0
)
Y_REG = Y_REG / Y_REG.std()
X_REG2, Y_REG2 = make_regression(
    n_samples=N_SAMPLES, n_features=8, n_targets=3, noise=1.0, random_state=1
)
Y_REG2 = Y_REG2 / Y_REG2.std(axis=0)
_rng = np.random.RandomState(0)
_POISSON_MEAN = np.exp(0.3 * X_REG[:, 0] - 0.2 * X_REG[:, 1])
Y_POISSON = _POISSON_MEAN * _rng.gamma(4.0, 0.25, N_SAMPLES)  # positive
Y_COUNTS = _rng.poisson(_POISSON_MEAN).astype(np.float64)  # with zeros

SW_POSITIVE = _rng.uniform(0.1, 3.0, N_SAMPLES)
SW_ZEROS = SW_POSITIVE.copy()
SW_ZEROS[_rng.rand(N_SAMPLES) < 0.25] = 0.0
SAMPLE_WEIGHTS = {"positive": SW_POSITIVE, "zeros": SW_ZEROS}

X_SPARSE = X_MC3.copy()
X_SPARSE[_rng.rand(*X_SPARSE.shape) < 0.6] = 0.0


def _params(solver, **overrides):
    params = dict(
        hidden_layer_sizes=(7,),
        solver=solver,
        random_state=3,
        max_iter=N_EPOCHS,
        learning_rate_init=0.05 if solver == "sgd" else 0.01,
    )
    params.update(overrides)
    return params


def _pair(name, **params):
    """The scikit-learn and the fastmlp estimator ``name`` with ``params``."""
    sk_params = dict(params)
    if "loss" in params and not sklearn_at_least(SKLEARN_POISSON):
        # an older MLPRegressor has no loss parameter: squared error only
        if params["loss"] != "squared_error":
            skip_unless_sklearn(
                SKLEARN_POISSON, f"MLPRegressor(loss={params['loss']!r})"
            )
        del sk_params["loss"]
    return getattr(sk, name)(**sk_params), getattr(fm, name)(**params)


def _fit_pair(name, X, y, sample_weight=None, **params):
    sk_model, fm_model = _pair(name, **params)
    kwargs = {}
    if sample_weight is not None:
        skip_unless_sklearn(SKLEARN_SAMPLE_WEIGHT, "sample_weight in its MLP")
        kwargs["sample_weight"] = sample_weight
    sk_model.fit(X, y, **kwargs)
    fm_model.fit(X, y, **kwargs)
    return sk_model, fm_model


# ----------------------------------------------------------------------- helper
# fitted attributes fastmlp adds to scikit-learn's (documented features)
FASTMLP_ONLY_ATTRIBUTES = {"validation_loss_curve_"}


def _public_fitted_attributes(model):
    return sorted(
        k
        for k in vars(model)
        if k.endswith("_")
        and not k.startswith("_")
        and k not in FASTMLP_ONLY_ATTRIBUTES
    )


def _max_relative_deviation(expected, actual):
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if expected.size == 0:
        return 0.0
    return float(np.max(np.abs(actual - expected) / np.abs(expected)))


def assert_same_training(sk_model, fm_model, X, n_epochs=N_EPOCHS):
    """Assert that ``fm_model`` trained as ``sk_model`` did (float64)."""
    solver = sk_model.solver
    assert _public_fitted_attributes(fm_model) == _public_fitted_attributes(sk_model)

    for attr in ("n_iter_", "t_", "n_layers_", "n_outputs_", "out_activation_"):
        assert getattr(fm_model, attr) == getattr(sk_model, attr), attr
    assert fm_model.n_features_in_ == sk_model.n_features_in_
    if hasattr(sk_model, "feature_names_in_"):
        assert_array_equal(fm_model.feature_names_in_, sk_model.feature_names_in_)
    if is_classifier(sk_model):
        assert_array_equal(fm_model.classes_, sk_model.classes_)
        assert fm_model.classes_.dtype == sk_model.classes_.dtype

    if solver == "lbfgs":
        assert_allclose(fm_model.loss_, sk_model.loss_, rtol=LBFGS_LOSS_RTOL)
        deviation = _max_relative_deviation(sk_model.loss_, fm_model.loss_)
        MAX_DEVIATION["lbfgs loss_"] = max(MAX_DEVIATION["lbfgs loss_"], deviation)
    else:
        assert len(fm_model.loss_curve_) == len(sk_model.loss_curve_)
        sk_curve = sk_model.loss_curve_[:n_epochs]
        fm_curve = fm_model.loss_curve_[:n_epochs]
        assert_allclose(fm_curve, sk_curve, rtol=LOSS_RTOL)
        key = f"{solver} loss_curve_"
        deviation = _max_relative_deviation(sk_curve, fm_curve)
        MAX_DEVIATION[key] = max(MAX_DEVIATION[key], deviation)
        assert_allclose(fm_model.loss_, sk_model.loss_, rtol=LOSS_RTOL)

        if sk_model.best_loss_ is None:
            assert fm_model.best_loss_ is None
        else:
            assert_allclose(fm_model.best_loss_, sk_model.best_loss_, rtol=LOSS_RTOL)
        if sk_model.validation_scores_ is None:
            assert fm_model.validation_scores_ is None
            assert fm_model.best_validation_score_ is None
        else:
            assert_allclose(
                fm_model.validation_scores_, sk_model.validation_scores_, rtol=1e-9
            )
            assert_allclose(
                fm_model.best_validation_score_,
                sk_model.best_validation_score_,
                rtol=1e-9,
            )

    for name in ("coefs_", "intercepts_"):
        sk_params, fm_params = getattr(sk_model, name), getattr(fm_model, name)
        assert len(fm_params) == len(sk_params)
        for sk_p, fm_p in zip(sk_params, fm_params):
            assert fm_p.shape == sk_p.shape
            assert fm_p.dtype == sk_p.dtype
            assert_allclose(fm_p, sk_p, rtol=COEF_RTOL, atol=COEF_ATOL)

    sk_pred, fm_pred = sk_model.predict(X), fm_model.predict(X)
    assert fm_pred.shape == sk_pred.shape
    if is_classifier(sk_model):
        assert_array_equal(fm_pred, sk_pred)
        assert fm_pred.dtype == sk_pred.dtype
        assert_allclose(
            fm_model.predict_proba(X),
            sk_model.predict_proba(X),
            rtol=PRED_RTOL,
            atol=PRED_ATOL,
        )
    else:
        assert_allclose(fm_pred, sk_pred, rtol=PRED_RTOL, atol=PRED_ATOL)


# ------------------------------------------------------------------------ tests
@pytest.mark.parametrize("hidden_layer_sizes", [(), (7,), (15, 8)])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_solver_activation_architecture(solver, activation, hidden_layer_sizes):
    params = _params(
        solver, activation=activation, hidden_layer_sizes=hidden_layer_sizes
    )
    models = _fit_pair("MLPClassifier", X_MC3, Y_MC3, **params)
    assert_same_training(*models, X_MC3)


CLASSIFICATION_TARGETS = {
    "binary": (X_BIN, Y_BIN, "logistic"),
    "multiclass3": (X_MC3, Y_MC3, "softmax"),
    "multiclass5": (X_MC5, Y_MC5, "softmax"),
    "multilabel": (X_ML, Y_ML, "logistic"),
    "strings": (X_MC3, Y_STR, "softmax"),
}


@pytest.mark.parametrize("target", list(CLASSIFICATION_TARGETS))
@pytest.mark.parametrize("solver", SOLVERS)
def test_classification_targets(solver, target):
    X, y, out_activation = CLASSIFICATION_TARGETS[target]
    models = _fit_pair("MLPClassifier", X, y, **_params(solver))
    assert models[1].out_activation_ == out_activation
    assert_same_training(*models, X)


REGRESSION_TARGETS = {
    "squared_error": (X_REG, Y_REG, "squared_error"),
    "squared_error_multioutput": (X_REG2, Y_REG2, "squared_error"),
    "poisson": (X_REG, Y_POISSON, "poisson"),
    "poisson_counts": (X_REG, Y_COUNTS, "poisson"),
}


@pytest.mark.parametrize("target", list(REGRESSION_TARGETS))
@pytest.mark.parametrize("solver", SOLVERS)
def test_regression(solver, target):
    X, y, loss = REGRESSION_TARGETS[target]
    params = _params(solver, loss=loss, learning_rate_init=0.01)
    models = _fit_pair("MLPRegressor", X, y, **params)
    assert_same_training(*models, X)


@pytest.mark.parametrize("weights", list(SAMPLE_WEIGHTS))
@pytest.mark.parametrize("estimator", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_sample_weight(solver, estimator, weights):
    X, y = (X_MC3, Y_MC3) if estimator == "MLPClassifier" else (X_REG2, Y_REG2)
    params = _params(solver, batch_size=64)
    models = _fit_pair(estimator, X, y, SAMPLE_WEIGHTS[weights], **params)
    assert_same_training(*models, X)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_matrix])
@pytest.mark.parametrize("solver", SOLVERS)
def test_sparse_input(solver, container, weighted):
    X = container(X_SPARSE)
    sample_weight = SW_ZEROS if weighted else None
    models = _fit_pair("MLPClassifier", X, Y_MC3, sample_weight, **_params(solver))
    assert_same_training(*models, X)
    # dense and sparse input train the same model
    dense = fm.MLPClassifier(**_params(solver))
    dense.fit(X_SPARSE, Y_MC3, sample_weight=sample_weight)
    assert_allclose(dense.coefs_[0], models[1].coefs_[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("estimator", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_float32(solver, estimator):
    X, y = (X_MC3, Y_MC3) if estimator == "MLPClassifier" else (X_REG, Y_REG)
    X = X.astype(np.float32)
    sk_model, fm_model = _fit_pair(estimator, X, y, **_params(solver))

    assert all(c.dtype == np.float32 for c in fm_model.coefs_)
    assert all(i.dtype == np.float32 for i in fm_model.intercepts_)
    if is_classifier(fm_model):
        assert fm_model.predict_proba(X).dtype == np.float32
        proba = (sk_model.predict_proba(X), fm_model.predict_proba(X))
        assert_allclose(proba[1], proba[0], rtol=1e-3, atol=1e-4)
    else:
        assert fm_model.predict(X).dtype == np.float32
        assert_allclose(fm_model.predict(X), sk_model.predict(X), rtol=1e-3, atol=1e-4)

    assert fm_model.n_iter_ == sk_model.n_iter_
    if solver == "lbfgs":
        assert_allclose(fm_model.loss_, sk_model.loss_, rtol=1e-3)
    else:
        assert len(fm_model.loss_curve_) == len(sk_model.loss_curve_)
        assert_allclose(fm_model.loss_curve_, sk_model.loss_curve_, rtol=1e-3)
        # scikit-learn keeps float32 parameters with the stochastic solvers
        # (its lbfgs returns float64 ones: a scikit-learn quirk, not checked)
        assert all(c.dtype == np.float32 for c in sk_model.coefs_)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("nesterovs_momentum", [True, False])
@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "adaptive"])
def test_sgd_options(learning_rate, nesterovs_momentum, momentum):
    params = _params(
        "sgd",
        learning_rate=learning_rate,
        nesterovs_momentum=nesterovs_momentum,
        momentum=momentum,
        batch_size=50,
    )
    models = _fit_pair("MLPClassifier", X_MC3, Y_MC3, **params)
    assert_same_training(*models, X_MC3)


@pytest.mark.parametrize("alpha", [0.0, 1e-2])
@pytest.mark.parametrize("batch_size", [32, 37, "auto"])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_batches_shuffle_alpha(solver, shuffle, batch_size, alpha):
    params = _params(solver, shuffle=shuffle, batch_size=batch_size, alpha=alpha)
    models = _fit_pair("MLPClassifier", X_MC3, Y_MC3, **params)
    assert_same_training(*models, X_MC3)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("estimator", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_early_stopping(solver, estimator, weighted):
    X, y = (X_MC3, Y_MC3) if estimator == "MLPClassifier" else (X_REG, Y_REG)
    params = _params(
        solver, early_stopping=True, max_iter=40, n_iter_no_change=3, tol=1e-2
    )
    sample_weight = SW_ZEROS if weighted else None
    sk_model, fm_model = _fit_pair(estimator, X, y, sample_weight, **params)
    assert_same_training(sk_model, fm_model, X, n_epochs=params["max_iter"])
    assert sk_model.n_iter_ < params["max_iter"]  # the early stop did happen
    assert len(fm_model.validation_scores_) == fm_model.n_iter_
    if estimator == "MLPClassifier":  # accuracies: exactly equal
        assert fm_model.validation_scores_ == sk_model.validation_scores_
        assert fm_model.best_validation_score_ == sk_model.best_validation_score_


def test_early_stopping_accuracy_is_accuracy_score():
    """Early stopping scores a classifier with a lighter accuracy_score
    (``_accuracy``): the same floats, so the same stopping epoch."""
    from sklearn.metrics import accuracy_score

    from fastmlp._estimators import _accuracy

    rng = np.random.RandomState(0)
    label_sets = (np.arange(3), np.array(["a", "b", "c"], dtype=object), [-1.0, 2.0])
    for n in (1, 2, 3, 7, 10, 97, 1000, 4099):
        for labels in map(np.asarray, label_sets):
            y_true, y_pred = (labels[rng.randint(len(labels), size=n)] for _ in "tp")
            assert _accuracy(y_true, y_pred) == accuracy_score(y_true, y_pred)
    y_true, y_pred = rng.randint(3, size=(2, 50))
    weights = rng.rand(50)
    assert _accuracy(y_true, y_pred, weights) == accuracy_score(
        y_true, y_pred, sample_weight=weights
    )
    Y_true, Y_pred = rng.randint(2, size=(2, 50, 3))  # multilabel: whole rows
    assert _accuracy(Y_true, Y_pred) == accuracy_score(Y_true, Y_pred)


@pytest.mark.parametrize("estimator", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_warm_start(solver, estimator):
    X, y = (X_MC3, Y_MC3) if estimator == "MLPClassifier" else (X_REG, Y_REG)
    sk_model, fm_model = _pair(estimator, **_params(solver, warm_start=True))
    for _ in range(2):
        sk_model.fit(X, y)
        fm_model.fit(X, y)
        assert_same_training(sk_model, fm_model, X)
    if solver != "lbfgs":
        assert fm_model.t_ == 2 * N_EPOCHS * N_SAMPLES


def test_warm_start_early_stopping_without_improvement_keeps_best_weights():
    """A deliberate difference: scikit-learn aliases coefs_ to _best_coefs after
    an early-stopped fit, so a warm-started fit that never beats the previous
    best validation score returns its last weights. fastmlp returns the best
    weights, as early stopping promises; the training itself is the same."""
    params = _params(
        "adam", warm_start=True, early_stopping=True, max_iter=15, n_iter_no_change=2
    )
    sk_model, fm_model = _pair("MLPClassifier", **params)
    sk_model.fit(X_MC3, Y_MC3)
    fm_model.fit(X_MC3, Y_MC3)
    for _ in range(5):
        best_coefs = [c.copy() for c in fm_model.coefs_]
        best_score = fm_model.best_validation_score_
        sk_model.fit(X_MC3, Y_MC3)
        fm_model.fit(X_MC3, Y_MC3)
        assert fm_model.validation_scores_ == sk_model.validation_scores_
        np.testing.assert_allclose(
            fm_model.loss_curve_, sk_model.loss_curve_, rtol=1e-6
        )
        if fm_model.best_validation_score_ == best_score:  # no improvement
            for best, returned in zip(best_coefs, fm_model.coefs_):
                np.testing.assert_array_equal(returned, best)
            return
        for sk_coef, fm_coef in zip(sk_model.coefs_, fm_model.coefs_):
            np.testing.assert_allclose(fm_coef, sk_coef, rtol=1e-6)
    pytest.fail("no warm-started fit without improvement happened")


PARTIAL_FIT_CHUNKS = [slice(0, 100), slice(100, 180), slice(180, 250), slice(0, 250)]


@requires_sklearn(SKLEARN_SAMPLE_WEIGHT, "sample_weight in its MLP")
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_partial_fit_classifier(solver):
    sk_model, fm_model = _pair("MLPClassifier", **_params(solver, batch_size=32))
    y = Y_STR
    for i, chunk in enumerate(PARTIAL_FIT_CHUNKS):
        X_chunk, y_chunk = X_MC3[chunk], y[chunk]
        kwargs = {"sample_weight": SW_ZEROS[chunk]} if i == 2 else {}
        if i == 0:
            kwargs["classes"] = np.unique(y)
            # the first chunk need not contain every class
            X_chunk, y_chunk = X_chunk[y_chunk != "cat"], y_chunk[y_chunk != "cat"]
        sk_model.partial_fit(X_chunk, y_chunk, **kwargs)
        fm_model.partial_fit(X_chunk, y_chunk, **kwargs)
        assert fm_model.n_iter_ == 1  # one epoch per call, as in scikit-learn
        assert fm_model.t_ == sk_model.t_
        assert_same_training(sk_model, fm_model, X_MC3)


@pytest.mark.parametrize("solver", STOCHASTIC)
def test_partial_fit_multilabel(solver):
    sk_model, fm_model = _pair("MLPClassifier", **_params(solver))
    for i in range(3):
        classes = np.arange(Y_ML.shape[1]) if i == 0 else None
        sk_model.partial_fit(X_ML, Y_ML, classes=classes)
        fm_model.partial_fit(X_ML, Y_ML, classes=classes)
        assert_same_training(sk_model, fm_model, X_ML)


@requires_sklearn(SKLEARN_SAMPLE_WEIGHT, "sample_weight in its MLP")
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_partial_fit_regressor(solver):
    params = _params(solver, learning_rate="invscaling", batch_size=64)
    sk_model, fm_model = _pair("MLPRegressor", **params)
    for i, chunk in enumerate(PARTIAL_FIT_CHUNKS):
        kwargs = {"sample_weight": SW_POSITIVE[chunk]} if i == 1 else {}
        sk_model.partial_fit(X_REG2[chunk], Y_REG2[chunk], **kwargs)
        fm_model.partial_fit(X_REG2[chunk], Y_REG2[chunk], **kwargs)
        assert_same_training(sk_model, fm_model, X_REG2)


@pytest.mark.parametrize("solver", STOCHASTIC)
def test_fit_then_partial_fit(solver):
    sk_model, fm_model = _fit_pair("MLPClassifier", X_MC3, Y_MC3, **_params(solver))
    for _ in range(2):
        sk_model.partial_fit(X_MC3, Y_MC3)
        fm_model.partial_fit(X_MC3, Y_MC3)
    assert_same_training(sk_model, fm_model, X_MC3)


@pytest.mark.parametrize(
    "solver, learning_rate",
    [("sgd", "constant"), ("sgd", "adaptive"), ("sgd", "invscaling"), ("adam", None)],
)
def test_tol_stopping(solver, learning_rate):
    params = _params(solver, tol=1e-1, n_iter_no_change=2, max_iter=50)
    if learning_rate is not None:
        params["learning_rate"] = learning_rate
    sk_model, fm_model = _fit_pair("MLPClassifier", X_MC3, Y_MC3, **params)
    assert sk_model.n_iter_ < params["max_iter"]  # stopped on tol, not max_iter
    assert fm_model.n_iter_ == sk_model.n_iter_
    assert_same_training(sk_model, fm_model, X_MC3, n_epochs=params["max_iter"])


@pytest.mark.parametrize("estimator", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_fitted_attributes_dataframe(solver, estimator):
    X, y = (X_MC3, Y_STR) if estimator == "MLPClassifier" else (X_REG2, Y_REG2)
    X = pd.DataFrame(X, columns=[f"feature_{i}" for i in range(X.shape[1])])
    params = _params(solver, hidden_layer_sizes=(6, 5))
    sk_model, fm_model = _fit_pair(estimator, X, y, **params)
    assert_same_training(sk_model, fm_model, X)
    assert_array_equal(fm_model.feature_names_in_, X.columns.to_numpy())
    assert fm_model.n_features_in_ == 8
    assert fm_model.n_layers_ == 4
    if solver != "lbfgs":
        assert fm_model.t_ == N_EPOCHS * N_SAMPLES
        assert fm_model.best_loss_ == pytest.approx(min(fm_model.loss_curve_))


@pytest.mark.parametrize("max_iter", [5, 200])
@pytest.mark.parametrize("max_fun", [1, 4, 15])
def test_lbfgs_max_fun(max_fun, max_iter):
    params = _params("lbfgs", max_fun=max_fun, max_iter=max_iter)
    sk_model, fm_model = _fit_pair("MLPClassifier", X_MC3, Y_MC3, **params)
    assert fm_model.n_iter_ == sk_model.n_iter_
    assert fm_model.n_iter_ <= min(max_fun, max_iter)
    assert_same_training(sk_model, fm_model, X_MC3)


def test_lbfgs_converges_on_tol():
    params = _params("lbfgs", max_iter=300, tol=1e-2)
    sk_model, fm_model = _fit_pair("MLPRegressor", X_REG, Y_REG, **params)
    assert sk_model.n_iter_ < params["max_iter"]
    assert_same_training(sk_model, fm_model, X_REG)

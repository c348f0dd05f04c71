"""How far fastmlp's L-BFGS objective matches scikit-learn's, and what follows.

The full-batch loss and gradient are scikit-learn's bit for bit in float64
where every operation is: the matrix products (the same BLAS calls), NumPy's
summation orders (``fastmlp.kernels.sums``), and elementwise functions whose
numba and NumPy/SciPy versions round alike (relu, identity, and the logistic
function, which SciPy's ``expit`` computes with the C library's ``exp`` as
numba does). ``np.tanh`` and ``np.exp`` are NumPy's own SIMD code, which
rounds differently from the C library in the last bit for a share of inputs:
tanh hidden layers, softmax and Poisson (exp) outputs agree to rounding only,
and long L-BFGS runs with them agree statistically (the last test).
"""

import warnings

import numpy as np
import pytest
import scipy.optimize
from conftest import SKLEARN_SAMPLE_WEIGHT, requires_sklearn
from scipy import stats
from sklearn import neural_network
from sklearn.datasets import (
    make_circles,
    make_classification,
    make_moons,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import fastmlp

# scikit-learn 1.7 to 1.9 compute the MLP's loss alike (with sample weights);
# 1.6's loss is computed otherwise, so its bits are not these
pytestmark = requires_sklearn(SKLEARN_SAMPLE_WEIGHT, "the loss computation of 1.7")


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # fastmlp trains on one BLAS thread; scikit-learn's products then match
    with threadpool_limits(1, "blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _circles():
    X, y = make_circles(noise=0.2, factor=0.5, random_state=1)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.4, random_state=42
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def _regression(n_targets):
    X, y = make_regression(150, 5, n_targets=n_targets, random_state=0)
    return X, y / y.std(axis=0)


X_ML, Y_ML = make_multilabel_classification(150, 5, n_classes=3, random_state=0)
X_MC, Y_MC = make_classification(150, 5, n_informative=3, n_classes=4, random_state=0)
DATA = {
    "binary": ("MLPClassifier", _circles()[0], _circles()[2]),
    "multilabel": ("MLPClassifier", X_ML, Y_ML),
    "regression": ("MLPRegressor", *_regression(1)),
    "3 targets": ("MLPRegressor", *_regression(3)),
    "multiclass": ("MLPClassifier", X_MC, Y_MC),
    "poisson": ("MLPRegressor", X_ML, Y_ML[:, 0] + 0.5),
}


class _Captured(Exception):
    pass


def _objective(model, X, y, monkeypatch):
    """The function ``model.fit`` hands to L-BFGS, and its starting point."""
    captured = {}

    def capture(fun, x0, args=(), **kwargs):
        captured["objective"] = lambda x: fun(x.copy(), *args)
        captured["x0"] = x0.copy()
        raise _Captured

    with monkeypatch.context() as patch:
        patch.setattr(scipy.optimize, "minimize", capture)
        with pytest.raises(_Captured):
            model.fit(X, y)
    return captured["objective"], captured["x0"]


def _objectives_along_sklearns_path(case, activation, monkeypatch, n_iter=15):
    """(scikit-learn's, fastmlp's) loss and gradient at the starting point and
    at each iterate of scikit-learn's L-BFGS run."""
    name, X, y = DATA[case]
    params = dict(
        solver="lbfgs",
        activation=activation,
        alpha=0.01,
        hidden_layer_sizes=(8, 6),
        random_state=0,
    )
    if case == "poisson":
        params["loss"] = "poisson"
    sk_objective, x0 = _objective(
        getattr(neural_network, name)(**params), X, y, monkeypatch
    )
    fm_objective, fm_x0 = _objective(
        getattr(fastmlp, name)(**params), X, y, monkeypatch
    )
    np.testing.assert_array_equal(fm_x0, x0)
    points = [x0]
    scipy.optimize.minimize(
        sk_objective, x0, method="L-BFGS-B", jac=True,
        options={"maxiter": n_iter, "gtol": 0.0},
        callback=lambda xk: points.append(np.array(xk, copy=True)),
    )  # fmt: skip
    return [(sk_objective(x), fm_objective(x)) for x in points]


@pytest.mark.parametrize("activation", ["relu", "identity", "logistic"])
@pytest.mark.parametrize("case", ["binary", "multilabel", "regression", "3 targets"])
def test_full_batch_loss_and_gradient_are_sklearns_bits(case, activation, monkeypatch):
    for (sk_loss, sk_grad), (loss, grad) in _objectives_along_sklearns_path(
        case, activation, monkeypatch
    ):
        assert loss == sk_loss
        np.testing.assert_array_equal(grad, sk_grad)


@pytest.mark.parametrize(
    "case, activation",
    [
        ("binary", "tanh"),
        ("regression", "tanh"),
        ("multiclass", "relu"),
        ("multiclass", "tanh"),
        ("poisson", "relu"),
    ],
)
def test_full_batch_loss_and_gradient_agree_to_rounding(case, activation, monkeypatch):
    """np.tanh and np.exp round differently from numba's in the last bit."""
    for (sk_loss, sk_grad), (loss, grad) in _objectives_along_sklearns_path(
        case, activation, monkeypatch
    ):
        np.testing.assert_allclose(loss, sk_loss, rtol=1e-14)
        assert np.max(np.abs(grad - sk_grad)) <= 1e-12 * np.max(np.abs(sk_grad))


def test_long_lbfgs_run_on_circles_is_sklearns():
    """The issue's case: 183 iterations and a test score of 0.775 in both."""
    X_train, X_test, y_train, y_test = _circles()
    params = dict(
        solver="lbfgs",
        alpha=0.1,
        hidden_layer_sizes=[10, 10],
        random_state=1,
        max_iter=2000,
    )
    reference = neural_network.MLPClassifier(**params).fit(X_train, y_train)
    model = fastmlp.MLPClassifier(**params).fit(X_train, y_train)
    assert model.n_iter_ == reference.n_iter_
    assert model.loss_ == reference.loss_
    for ours, theirs in zip(model.coefs_ + model.intercepts_,
                            reference.coefs_ + reference.intercepts_):  # fmt: skip
        np.testing.assert_array_equal(ours, theirs)
    assert model.score(X_test, y_test) == reference.score(X_test, y_test)


def _datasets():
    yield "moons", make_moons(200, noise=0.3, random_state=0)
    yield "circles", make_circles(200, noise=0.2, factor=0.5, random_state=0)
    yield (
        "4 classes",
        make_classification(200, 6, n_informative=4, n_classes=4, random_state=0),
    )


def test_long_lbfgs_runs_agree_statistically_where_bits_differ():
    """tanh networks (and softmax outputs): rounding differences grow along
    long L-BFGS runs, so single fits may end elsewhere; over seeds and
    datasets, the held-out scores of the two libraries have one distribution."""
    scores = {"sklearn": [], "fastmlp": []}
    for _, (X, y) in _datasets():
        X_train, X_test, y_train, y_test = train_test_split(
            StandardScaler().fit_transform(X), y, test_size=0.4, random_state=0
        )
        for seed in range(8):
            params = dict(
                solver="lbfgs", activation="tanh", alpha=1e-3,
                hidden_layer_sizes=(8, 8), random_state=seed, max_iter=300,
            )  # fmt: skip
            for module in (neural_network, fastmlp):
                model = module.MLPClassifier(**params).fit(X_train, y_train)
                scores[module.__name__.split(".")[0]].append(
                    model.score(X_test, y_test)
                )
    ours, theirs = np.array(scores["fastmlp"]), np.array(scores["sklearn"])
    assert abs(ours.mean() - theirs.mean()) < 0.01
    assert stats.ks_2samp(ours, theirs).pvalue > 0.05
    differences = ours - theirs
    if np.any(differences):
        assert stats.wilcoxon(differences, zero_method="zsplit").pvalue > 0.05

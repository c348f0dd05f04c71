"""Estimator behaviour beyond the parity runs: errors, dtypes, state, threads."""

import pickle
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from conftest import SKLEARN_CALLBACKS, mostly_zero, sklearn_at_least
from sklearn import neural_network
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastmlp

X_CLF, Y_CLF = make_classification(
    n_samples=120, n_features=5, n_informative=3, n_classes=3, random_state=0
)
X_REG, Y_REG = make_regression(n_samples=120, n_features=5, random_state=0)


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _pair(name, **params):
    params.setdefault("max_iter", 5)
    params.setdefault("random_state", 0)
    return getattr(neural_network, name)(**params), getattr(fastmlp, name)(**params)


def _with_nan(X):
    X = X.copy()
    X[3, 1] = np.nan
    return X


def test_wrong_number_of_features_at_predict():
    model = fastmlp.MLPClassifier(max_iter=5, random_state=0).fit(X_CLF, Y_CLF)
    with pytest.raises(ValueError, match="X has 4 features"):
        model.predict(X_CLF[:, :4])


def test_partial_fit_rejects_unseen_labels_and_keeps_model():
    model = fastmlp.MLPClassifier(random_state=0)
    model.partial_fit(X_CLF, Y_CLF, classes=[0, 1, 2])
    coefs = [c.copy() for c in model.coefs_]
    with pytest.raises(ValueError, match="classes not in"):
        model.partial_fit(X_CLF[:4], np.array([0, 1, 2, 7]))
    for before, after in zip(coefs, model.coefs_):
        np.testing.assert_array_equal(before, after)
    with pytest.raises(ValueError, match="classes must be passed"):
        fastmlp.MLPClassifier().partial_fit(X_CLF, Y_CLF)


def test_partial_fit_not_available_for_lbfgs():
    for name in ("MLPClassifier", "MLPRegressor"):
        model = getattr(fastmlp, name)(solver="lbfgs")
        assert not hasattr(model, "partial_fit")


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_diverging_fit_raises_non_finite_error_and_keeps_model(name):
    X, y = (X_CLF, Y_CLF) if name == "MLPClassifier" else (X_REG, Y_REG)
    reference, model = _pair(name, solver="sgd", warm_start=True)
    huge = X * 1e200
    with pytest.raises(ValueError, match="non-finite parameter weights"):
        reference.fit(huge, y)
    model.fit(X, y)
    coefs = [c.copy() for c in model.coefs_]
    curve = list(model.loss_curve_)
    with pytest.raises(ValueError, match="non-finite parameter weights"):
        model.fit(huge, y)
    assert model.loss_curve_ == curve
    for before, after in zip(coefs, model.coefs_):
        np.testing.assert_array_equal(before, after)
    assert np.isfinite(model.predict(X)).all() if name == "MLPRegressor" else True


def test_failed_warm_start_with_nan_keeps_model():
    model = fastmlp.MLPRegressor(max_iter=5, random_state=0, warm_start=True)
    model.fit(X_REG, Y_REG)
    expected = model.predict(X_REG)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(_with_nan(X_REG), Y_REG)
    np.testing.assert_array_equal(model.predict(X_REG), expected)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("sparse", [False, True])
def test_float32_stays_float32(solver, sparse):
    X = X_CLF.astype(np.float32)
    X = sp.csr_matrix(mostly_zero(X)) if sparse else X  # the CSR kernels
    model = fastmlp.MLPClassifier(solver=solver, max_iter=5, random_state=0)
    model.fit(X, Y_CLF)
    assert all(c.dtype == np.float32 for c in model.coefs_ + model.intercepts_)
    assert model.predict_proba(X).dtype == np.float32
    reg = fastmlp.MLPRegressor(solver=solver, max_iter=5, random_state=0)
    reg.fit(X, Y_REG.astype(np.float32))
    assert reg.predict(X).dtype == np.float32


def test_no_hidden_layer_is_logistic_regression_like_sklearn():
    reference, model = _pair("MLPClassifier", hidden_layer_sizes=(), solver="lbfgs")
    reference.fit(X_CLF, Y_CLF)
    model.fit(X_CLF, Y_CLF)
    np.testing.assert_allclose(model.loss_, reference.loss_, rtol=1e-6)
    np.testing.assert_array_equal(model.predict(X_CLF), reference.predict(X_CLF))


def test_pickle_round_trip_predicts_identically():
    model = fastmlp.MLPClassifier(max_iter=5, random_state=0).fit(X_CLF, Y_CLF)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(
        loaded.predict_proba(X_CLF), model.predict_proba(X_CLF)
    )


def test_pipeline_in_grid_search():
    pipe = make_pipeline(StandardScaler(), fastmlp.MLPClassifier(random_state=0))
    search = GridSearchCV(
        pipe,
        {"mlpclassifier__alpha": [1e-4, 1e-2], "mlpclassifier__max_iter": [5]},
        cv=3,
    )
    search.fit(X_CLF, Y_CLF)
    assert 0.0 <= search.best_score_ <= 1.0
    assert search.predict(X_CLF).shape == Y_CLF.shape


def test_predict_in_chunks_equals_one_pass(monkeypatch):
    model = fastmlp.MLPClassifier(hidden_layer_sizes=(6, 4), max_iter=5, random_state=0)
    model.fit(X_CLF, Y_CLF)
    whole = model.predict_proba(X_CLF)
    monkeypatch.setattr(fastmlp._engine, "PREDICT_CHUNK_ROWS", 7)
    np.testing.assert_array_equal(model.predict_proba(X_CLF), whole)


def _run_python(code):
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_import_compiles_nothing():
    out = _run_python(
        """
        import sys
        import fastmlp
        print("numba" in sys.modules)
        from numba.core.registry import CPUDispatcher
        compiled = [
            name
            for module_name, module in list(sys.modules.items())
            if module_name.startswith("fastmlp")
            for name, obj in vars(module).items()
            if isinstance(obj, CPUDispatcher) and obj.signatures
        ]
        print(compiled)
        print("fastmlp.kernels.network" in sys.modules)
        """
    )
    # numba itself is imported by the first fit or predict, not by the import
    assert out.split() == ["False", "[]", "False"]


def test_thread_policy_numba_pool_idle_and_fork_safe():
    """Training and predicting never start numba's thread pool, so a forked
    child can train after its parent did (GNU OpenMP would kill it)."""
    _run_python(
        """
        import os
        import numpy as np
        from numba.np.ufunc import parallel
        from sklearn.datasets import make_classification
        from fastmlp import MLPClassifier
        X, y = make_classification(n_samples=300, random_state=0)
        for solver in ("adam", "sgd", "lbfgs"):
            MLPClassifier(solver=solver, max_iter=3, early_stopping=solver != "lbfgs",
                          random_state=0).fit(X, y).predict_proba(X)
        assert not parallel._is_initialized, "numba thread pool was started"
        pid = os.fork()
        if pid == 0:
            score = MLPClassifier(max_iter=3, random_state=0).fit(X, y).score(X, y)
            os._exit(0 if score > 0.5 else 3)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        """
    )


def test_loading_a_model_from_another_version_warns(monkeypatch):
    model = fastmlp.MLPRegressor(max_iter=5, random_state=0).fit(X_REG, Y_REG)
    blob = pickle.dumps(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error", fastmlp.InconsistentVersionWarning)
        pickle.loads(blob)  # same version: silent
    monkeypatch.setattr(fastmlp, "__version__", "99.0.0")
    with pytest.warns(fastmlp.InconsistentVersionWarning, match="99.0.0") as record:
        loaded = pickle.loads(blob)
    assert "0.1.0" in str(record[0].message)
    np.testing.assert_array_equal(loaded.predict(X_REG), model.predict(X_REG))


def test_predict_sees_coefs_edited_in_place_or_assigned():
    import reference

    model = fastmlp.MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0)
    model.fit(X_CLF, Y_CLF)

    def expected():
        _, outputs = reference.mlp_forward(
            X_CLF, model.coefs_, model.intercepts_, "relu", "softmax"
        )
        return outputs[-1]

    model.coefs_[0][:2] *= -3.0  # in place
    np.testing.assert_allclose(model.predict_proba(X_CLF), expected(), rtol=1e-12)
    model.coefs_ = [2.0 * c for c in model.coefs_]  # new arrays
    np.testing.assert_allclose(model.predict_proba(X_CLF), expected(), rtol=1e-12)


def _warnings_of_fit(model, ignore_module=None):
    """(category, file) of each warning a fit gives; ``ignore_module`` applies
    scikit-learn's gallery filter with that ``module=`` pattern."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        if ignore_module is not None:
            warnings.filterwarnings(
                "ignore", category=ConvergenceWarning, module=ignore_module
            )
        model.fit(X_CLF, Y_CLF)
    return [(w.category, w.filename) for w in record]


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_warnings_come_from_fastmlp_as_sklearns_come_from_sklearn(solver):
    """Every solver's warnings are attributed to fastmlp/_estimators.py, so a
    ``module=`` filter selects them as it selects scikit-learn's: the README's
    ``module="sklearn|fastmlp"`` silences both libraries, while the gallery's
    ``module="sklearn"`` only scikit-learn's."""
    reference, model = _pair("MLPClassifier", solver=solver, max_iter=2, batch_size=500)
    expected = {ConvergenceWarning} | ({UserWarning} if solver != "lbfgs" else set())
    for fitted, source in (
        (reference, "sklearn/neural_network/_multilayer_perceptron.py"),
        (model, "fastmlp/_estimators.py"),
    ):
        warned = _warnings_of_fit(fitted)
        assert {category for category, _ in warned} == expected
        assert all(Path(file).as_posix().endswith(source) for _, file in warned)
        assert ConvergenceWarning not in dict(
            _warnings_of_fit(fitted, "sklearn|fastmlp")
        )
    assert ConvergenceWarning not in dict(_warnings_of_fit(model, "fastmlp"))
    assert ConvergenceWarning in dict(_warnings_of_fit(model, "sklearn"))


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_set_callbacks_needs_sklearn_with_callbacks(name):
    """Below scikit-learn 1.9 (no sklearn.callback) the estimators have no
    set_callbacks, and using it says which scikit-learn it needs."""
    model = getattr(fastmlp, name)()
    if sklearn_at_least(SKLEARN_CALLBACKS):
        assert callable(model.set_callbacks)
        return
    assert not hasattr(model, "set_callbacks")
    message = (
        f"{name}.set_callbacks needs scikit-learn >= {SKLEARN_CALLBACKS} "
        f"(sklearn.callback); scikit-learn {sklearn.__version__} is installed"
    )
    with pytest.raises(AttributeError, match=re.escape(message)):
        model.set_callbacks(object())
    model.fit(X_CLF, Y_CLF if name == "MLPClassifier" else Y_REG)  # the rest works

"""Saved and loaded models: pickle, joblib and skops round trips, and the
fastmlp version each pickle records."""

import copy
import importlib
import pickle
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from conftest import mostly_zero
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor

X_CLF, Y_CLF = make_classification(
    n_samples=150, n_features=8, n_informative=4, n_classes=3, random_state=0
)
Y_STR = np.array(["cat", "dog", "emu"])[Y_CLF]
X_REG, Y_REG = make_regression(
    n_samples=150, n_features=8, n_targets=2, noise=1.0, random_state=0
)
Y_REG = Y_REG / Y_REG.std(axis=0)

# name -> (estimator class, parameters, X, y)
CASES = {
    "classifier, dense, adam": (MLPClassifier, {"solver": "adam"}, X_CLF, Y_CLF),
    "classifier, sparse, sgd": (
        MLPClassifier,
        {"solver": "sgd", "early_stopping": True},
        sp.csr_matrix(mostly_zero(X_CLF)),  # the CSR kernels
        Y_CLF,
    ),
    "classifier, float32, lbfgs, string labels": (
        MLPClassifier,
        {"solver": "lbfgs"},
        X_CLF.astype(np.float32),
        Y_STR,
    ),
    "regressor, dense, lbfgs": (MLPRegressor, {"solver": "lbfgs"}, X_REG, Y_REG),
    "regressor, sparse, adam": (
        MLPRegressor,
        {"solver": "adam"},
        sp.csr_matrix(mostly_zero(X_REG)),
        Y_REG,
    ),
    "regressor, float32, sgd": (
        MLPRegressor,
        {"solver": "sgd"},
        X_REG.astype(np.float32),
        Y_REG,
    ),
}

# Types outside fastmlp that skops may not trust by default and that a fastmlp
# model may legitimately hold (numpy arrays, dtypes and RandomState, and
# scikit-learn's LabelBinarizer are trusted by skops already). Anything else
# showing up in get_untrusted_types must be reviewed before it is added here.
EXPECTED_UNTRUSTED_NON_FASTMLP = frozenset()


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _fitted(case):
    cls, params, X, y = CASES[case]
    model = cls(hidden_layer_sizes=(7, 5), max_iter=8, random_state=0, **params)
    return model.fit(X, y), X, y


def _outputs(model, X):
    outputs = [model.predict(X)]
    if hasattr(model, "predict_proba"):
        outputs.append(model.predict_proba(X))
    return outputs


def _assert_same_model(loaded, model, X):
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    for got, want in zip(_outputs(loaded, X), _outputs(model, X)):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    for name in ("coefs_", "intercepts_"):
        for got, want in zip(getattr(loaded, name), getattr(model, name)):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
    for name in ("n_iter_", "t_", "loss_", "n_features_in_", "out_activation_"):
        assert getattr(loaded, name) == getattr(model, name), name
    if hasattr(model, "classes_"):
        np.testing.assert_array_equal(loaded.classes_, model.classes_)
    if hasattr(model, "loss_curve_"):
        assert loaded.loss_curve_ == model.loss_curve_


def _pickle(model, tmp_path):
    return pickle.loads(pickle.dumps(model))


def _pickle_protocol_5(model, tmp_path):
    return pickle.loads(pickle.dumps(model, protocol=5))


def _joblib(model, tmp_path):
    joblib.dump(model, tmp_path / "model.joblib")
    return joblib.load(tmp_path / "model.joblib")


def _joblib_compressed(model, tmp_path):
    joblib.dump(model, tmp_path / "model.joblib.gz", compress=3)
    return joblib.load(tmp_path / "model.joblib.gz")


def _joblib_memmapped(model, tmp_path):
    """Weights loaded as read-only memmaps."""
    joblib.dump(model, tmp_path / "model.joblib")
    return joblib.load(tmp_path / "model.joblib", mmap_mode="r")


def _deepcopy(model, tmp_path):
    return copy.deepcopy(model)


ROUND_TRIPS = [
    _pickle,
    _pickle_protocol_5,
    _joblib,
    _joblib_compressed,
    _joblib_memmapped,
    _deepcopy,
]


@pytest.mark.parametrize("round_trip", ROUND_TRIPS, ids=lambda f: f.__name__[1:])
@pytest.mark.parametrize("case", CASES)
def test_round_trip_predicts_identically(case, round_trip, tmp_path):
    model, X, _ = _fitted(case)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same version: no warning of any kind
        loaded = round_trip(model, tmp_path)
    _assert_same_model(loaded, model, X)


def _train_further(estimator, X, y):
    if estimator.solver == "lbfgs" or estimator.early_stopping:
        estimator.set_params(warm_start=True, max_iter=4).fit(X, y)
    else:
        estimator.partial_fit(X, y)
        estimator.partial_fit(X, y)


@pytest.mark.parametrize(
    "round_trip",
    [f for f in ROUND_TRIPS if f is not _joblib_memmapped],
    ids=lambda f: f.__name__[1:],
)
@pytest.mark.parametrize("case", CASES)
def test_training_resumes_after_round_trip(case, round_trip, tmp_path):
    """Optimizer state, random state and weights all survive: training the
    loaded model further gives what training the original further gives."""
    model, X, y = _fitted(case)
    loaded = round_trip(model, tmp_path)
    _train_further(model, X, y)
    _train_further(loaded, X, y)
    _assert_same_model(loaded, model, X)


@pytest.mark.parametrize("case", CASES)
def test_training_after_memmapped_load_resumes_or_raises_like_sklearn(case, tmp_path):
    """A model loaded with joblib's mmap_mode='r' holds read-only arrays.
    scikit-learn then refuses to train it further with "ValueError: output array
    is read-only"; fastmlp must either do the same, leaving the model as it
    was, or train it exactly as the original trains."""
    model, X, y = _fitted(case)
    loaded = _joblib_memmapped(model, tmp_path)
    untouched = _joblib_memmapped(model, tmp_path / "..")
    try:
        _train_further(loaded, X, y)
    except ValueError as error:
        assert "read-only" in str(error)
        _assert_same_model(loaded, untouched, X)
    else:
        _train_further(model, X, y)
        _assert_same_model(loaded, model, X)


def _skops_dump(model, tmp_path):
    sio = pytest.importorskip("skops.io")
    sio.dump(model, tmp_path / "model.skops")


@pytest.mark.parametrize(
    "save",
    [
        lambda model, tmp_path: pickle.dumps(model),
        lambda model, tmp_path: joblib.dump(model, tmp_path / "model.joblib"),
        lambda model, tmp_path: copy.deepcopy(model),
        _skops_dump,
    ],
    ids=["pickle", "joblib", "deepcopy", "skops"],
)
def test_saving_does_not_change_the_model(save, tmp_path):
    model, X, _ = _fitted("classifier, dense, adam")
    model.predict(X)
    before = dict(vars(model))
    save(model, tmp_path)
    after = vars(model)
    added, removed = set(after) - set(before), set(before) - set(after)
    assert not added and not removed, f"added {added}, removed {removed}"
    for name, value in before.items():
        assert after[name] is value, name


# ------------------------------------------------------------------- skops


def _type_name(obj_type):
    return f"{obj_type.__module__}.{obj_type.__qualname__}"


def _check_untrusted(untrusted, model):
    assert _type_name(type(model)) in untrusted
    for name in untrusted:
        if name in EXPECTED_UNTRUSTED_NON_FASTMLP:
            continue
        assert name.startswith("fastmlp."), f"unexpected untrusted type {name}"
        module_name, _, qualname = name.rpartition(".")
        obj = getattr(importlib.import_module(module_name), qualname)
        assert isinstance(obj, type), name  # a fastmlp class, nothing callable


@pytest.mark.parametrize("case", CASES)
def test_skops_round_trip_with_trusted_fastmlp_types(case, tmp_path):
    sio = pytest.importorskip("skops.io")
    model, X, _ = _fitted(case)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    _check_untrusted(untrusted, model)
    with pytest.raises(Exception, match="[Uu]ntrusted"):
        sio.load(path)  # refuses without being told what to trust
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = sio.load(path, trusted=untrusted)
    _assert_same_model(loaded, model, X)


# ---------------------------------------------------------------- versions


@pytest.mark.parametrize("case", ["classifier, dense, adam", "regressor, dense, lbfgs"])
def test_pickle_records_the_fastmlp_version(case):
    model, _, _ = _fitted(case)
    assert model.__getstate__()["_fastmlp_version"] == fastmlp.__version__
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same version loads silently
        loaded = pickle.loads(pickle.dumps(model))
    assert "_fastmlp_version" not in vars(loaded)


def _dump_load_pickle(model, tmp_path, before_load):
    blob = pickle.dumps(model)
    before_load()
    return pickle.loads(blob)


def _dump_load_joblib(model, tmp_path, before_load):
    joblib.dump(model, tmp_path / "model.joblib")
    before_load()
    return joblib.load(tmp_path / "model.joblib")


@pytest.mark.parametrize("dump_load", [_dump_load_pickle, _dump_load_joblib])
@pytest.mark.parametrize("case", ["classifier, dense, adam", "regressor, dense, lbfgs"])
def test_loading_under_another_fastmlp_version_warns(
    case, dump_load, tmp_path, monkeypatch
):
    assert issubclass(fastmlp.InconsistentVersionWarning, UserWarning)
    model, X, _ = _fitted(case)
    saved_by = fastmlp.__version__
    loaded_by = saved_by + ".post999"

    def upgrade():
        monkeypatch.setattr(fastmlp, "__version__", loaded_by)

    with pytest.warns(fastmlp.InconsistentVersionWarning) as record:
        loaded = dump_load(model, tmp_path, upgrade)
    messages = [
        str(w.message)
        for w in record
        if issubclass(w.category, fastmlp.InconsistentVersionWarning)
    ]
    assert len(messages) == 1, messages
    assert saved_by in messages[0] and loaded_by in messages[0], messages[0]
    _assert_same_model(loaded, model, X)  # a warning, and still a working model


def test_state_from_another_version_warns_naming_both():
    model, X, _ = _fitted("classifier, dense, adam")
    state = model.__getstate__()
    state["_fastmlp_version"] = "0.0.1"
    fresh = MLPClassifier.__new__(MLPClassifier)
    with pytest.warns(fastmlp.InconsistentVersionWarning) as record:
        fresh.__setstate__(state)
    message = str(record[0].message)
    assert "0.0.1" in message and fastmlp.__version__ in message, message
    np.testing.assert_array_equal(fresh.predict_proba(X), model.predict_proba(X))

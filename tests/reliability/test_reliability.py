"""Reliability of the estimators: nothing is lost when a call fails, bad and
edge-case input as a table (the whole table: bad X, bad parameters, bad y and
sample weights, and the edge cases accepted as scikit-learn accepts them),
and float32 training that stays close to float64.
"""

import copy
import dataclasses
import importlib.util
import re
import signal
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    SKLEARN_ALL_ZERO_WEIGHTS,
    SKLEARN_EARLY_STOPPING_STRING_LABELS,
    SKLEARN_POISSON,
    SKLEARN_SAMPLE_WEIGHT,
    requires_sklearn,
    same_message,
)
from sklearn import neural_network
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

import fastmlp
from fastmlp import _engine, _estimators

X_CLF, Y_CLF = make_classification(
    n_samples=80,
    n_features=4,
    n_informative=3,
    n_redundant=0,
    n_classes=3,
    random_state=0,
)
X_REG, Y_REG = make_regression(n_samples=80, n_features=4, random_state=0)
Y_REG = Y_REG / Y_REG.std()


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _data(name):
    return (X_CLF, Y_CLF) if name == "MLPClassifier" else (X_REG, Y_REG)


def _model(name, **params):
    params.setdefault("hidden_layer_sizes", (6, 5))
    params.setdefault("max_iter", 5)
    params.setdefault("random_state", 0)
    return getattr(fastmlp, name)(**params)


# ----------------------------------------------------------------------------
# 2. nothing lost: a failed warm start or partial_fit leaves the model as it was

# attributes that are caches, rebuilt on demand, not model state
_CACHES = {"_network_cache", "_linked_weights"}
# attributes every test model must have, so that the comparison cannot pass
# vacuously on a model that lacks them
_REQUIRED = (
    "coefs_",
    "intercepts_",
    "loss_",
    "loss_curve_",
    "n_iter_",
    "t_",
    "best_loss_",
    "_optimizer",
    "_best_coefs",
    "n_features_in_",
)


def _state(model):
    """A deep copy of every fitted attribute of ``model``."""
    for name in _REQUIRED:
        assert hasattr(model, name), name
    return {k: copy.deepcopy(v) for k, v in vars(model).items() if k not in _CACHES}


def _assert_same(expected, actual, where="model"):
    """Exact equality, recursing into containers and plain objects."""
    if isinstance(expected, np.random.RandomState):
        _assert_same(expected.get_state(), actual.get_state(), where)
    elif isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), where
        assert expected.dtype == actual.dtype, where
        np.testing.assert_array_equal(actual, expected, err_msg=where)
    elif isinstance(expected, dict):
        assert expected.keys() == actual.keys(), where
        for key in expected:
            _assert_same(expected[key], actual[key], f"{where}.{key}")
    elif isinstance(expected, (list, tuple)):
        assert type(expected) is type(actual), where
        assert len(expected) == len(actual), where
        for i, (e, a) in enumerate(zip(expected, actual)):
            _assert_same(e, a, f"{where}[{i}]")
    elif hasattr(expected, "__dict__") and not callable(expected):
        assert type(expected) is type(actual), where
        _assert_same(vars(expected), vars(actual), where)
    elif isinstance(expected, float) and np.isnan(expected):
        assert isinstance(actual, float) and np.isnan(actual), where
    else:
        assert expected == actual, f"{where}: {expected!r} != {actual!r}"


def _assert_linked_and_predicting(model, X, expected_output):
    """coefs_ and intercepts_ are still the views predict uses, and predict
    gives what it gave before the failed call."""
    params = model._linked_weights[0]
    assert model._weights(model._fitted_network()) is params
    for array in model.coefs_ + model.intercepts_:
        assert np.shares_memory(array, params)
    np.testing.assert_array_equal(_output(model, X), expected_output)


def _output(model, X):
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)
    return model.predict(X)


def _one_epoch_per_call(monkeypatch):
    # the stochastic solvers train several small epochs per compiled call;
    # one per call makes call n epoch n
    monkeypatch.setattr(_estimators, "EPOCHS_RUN_SECONDS", 0.0)


class _FailOnCall:
    """Wraps ``StochasticTrainer.run_epochs``, one epoch per call: raises
    ``error`` on call ``n``, before the epoch (``after=False``) or after it
    updated the weights."""

    def __init__(self, error, n, after):
        self.error, self.n, self.after = error, n, after
        self.calls = 0
        self.original = _engine.StochasticTrainer.run_epochs

    def install(self, monkeypatch):
        wrapper = self
        _one_epoch_per_call(monkeypatch)

        def run_epochs(trainer, *args, **kwargs):
            wrapper.calls += 1
            if wrapper.calls == wrapper.n and not wrapper.after:
                raise wrapper.error
            result = wrapper.original(trainer, *args, **kwargs)
            if wrapper.calls == wrapper.n:
                raise wrapper.error
            return result

        monkeypatch.setattr(_engine.StochasticTrainer, "run_epochs", run_epochs)


def _continue(model, how, X, y):
    """The second call that fails: a warm-started fit or a partial_fit."""
    if how == "warm_start":
        return model.fit(X, y)
    return model.partial_fit(X, y)


def _with_nan(X):
    X = X.copy()
    X[5, 2] = np.nan
    return X


# each cause: (prepare(monkeypatch) -> None, X transform, exception, message)
FAILURES = {
    "bad input": (None, _with_nan, ValueError, "Input X contains NaN"),
    "diverging loss": (
        None,
        lambda X: X * 1e300,
        ValueError,
        "non-finite parameter weights",
    ),
    "error before an epoch": (
        _FailOnCall(RuntimeError("callback failed"), 1, after=False),
        None,
        RuntimeError,
        "callback failed",
    ),
    "error after an epoch updated the weights": (
        _FailOnCall(RuntimeError("callback failed"), 1, after=True),
        None,
        RuntimeError,
        "callback failed",
    ),
    "error on the 3rd epoch": (
        _FailOnCall(RuntimeError("callback failed"), 3, after=True),
        None,
        RuntimeError,
        "callback failed",
    ),
}


# Adam's steps are bounded by its learning rate, so huge inputs saturate the
# outputs instead of making the weights diverge: that cause runs with SGD.
CAUSES_AND_SOLVERS = [
    (cause, solver)
    for cause in FAILURES
    for solver in ("adam", "sgd")
    if cause != "diverging loss" or solver == "sgd"
]


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
@pytest.mark.parametrize("cause, solver", CAUSES_AND_SOLVERS)
@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_failed_call_keeps_every_attribute(name, cause, how, solver, monkeypatch):
    X, y = _data(name)
    model = _model(name, solver=solver, warm_start=how == "warm_start", batch_size=16)
    if how == "partial_fit" and name == "MLPClassifier":
        model.partial_fit(X, y, classes=np.unique(y))
    else:
        model.fit(X, y)
    fail, transform, error, message = FAILURES[cause]
    if fail is not None:
        fail = copy.copy(fail)
        fail.install(monkeypatch)
        if how == "partial_fit":  # one epoch per call: fail on the n-th call
            for _ in range(fail.n - 1):
                model.partial_fit(X, y)
    before = _state(model)
    output = _output(model, X)

    with pytest.raises(error, match=message):
        _continue(model, how, transform(X) if transform else X, y)
    if fail is not None:
        assert fail.calls == fail.n

    _assert_same(before, _state(model))
    _assert_linked_and_predicting(model, X, output)
    monkeypatch.undo()
    _continue(model, how, X, y)  # and the model trains on from there
    assert np.isfinite(model.loss_)


@pytest.mark.parametrize("users", [False, True])
def test_a_failed_call_restores_the_random_generator(users, monkeypatch):
    """The rollback keeps the estimator's own generator as the same object and
    rewinds it (saving its state is cheaper than copying it); a generator the
    user passed as random_state is copied as before, never rewound."""
    X, y = _data("MLPClassifier")
    seed = np.random.RandomState(0) if users else 0
    model = _model("MLPClassifier", random_state=seed).partial_fit(
        X, y, classes=np.unique(y)
    )
    generator = model._random_state
    assert (generator is seed) == users
    before = generator.get_state()
    _FailOnCall(RuntimeError("epoch failed"), 1, after=True).install(monkeypatch)
    with pytest.raises(RuntimeError, match="epoch failed"):
        model.partial_fit(X, y)
    _assert_same(before, model._random_state.get_state())
    if users:  # the user's generator went on; the model holds the copy
        assert model._random_state is not seed
        after = seed.get_state()
        assert not (np.array_equal(after[1], before[1]) and after[2:] == before[2:])
    else:
        assert model._random_state is generator


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_failed_lbfgs_warm_start_keeps_every_attribute(name, monkeypatch):
    """An error or a KeyboardInterrupt inside L-BFGS (which scikit-learn does
    not catch either) propagates and leaves the model as it was."""
    X, y = _data(name)
    model = _model(name, solver="lbfgs", warm_start=True).fit(X, y)
    before = {k: copy.deepcopy(v) for k, v in vars(model).items() if k not in _CACHES}
    output = _output(model, X)
    original = _engine.FullBatchObjective.__call__
    for error in (RuntimeError("objective failed"), KeyboardInterrupt()):
        calls = []

        def objective(self, packed, error=error, calls=calls):
            calls.append(1)
            result = original(self, packed)
            if len(calls) == 3:
                raise error
            return result

        monkeypatch.setattr(_engine.FullBatchObjective, "__call__", objective)
        with pytest.raises(type(error)):
            model.fit(X, y)
        assert len(calls) == 3
        _assert_same(before, {k: v for k, v in vars(model).items() if k not in _CACHES})
        _assert_linked_and_predicting(model, X, output)


def _interrupt_run_epoch(n):
    return _FailOnCall(KeyboardInterrupt(), n, after=False)


class _SigintDuringEpoch:
    """A real Ctrl-C arriving while the compiled epoch runs: SIGINT is raised
    inside ``train_epochs``'s call ``n`` (after the compiled loop updated the
    weights; one epoch per call), so Python raises KeyboardInterrupt at the
    next bytecode, before the epoch's results reach the estimator."""

    def __init__(self, n):
        self.n = n
        self.calls = 0

    def install(self, monkeypatch):
        from fastmlp.kernels import network

        original = network.train_epochs
        _one_epoch_per_call(monkeypatch)

        def train_epochs(*args):
            self.calls += 1
            result = original(*args)
            if self.calls == self.n:
                signal.raise_signal(signal.SIGINT)
            return result

        monkeypatch.setattr(network, "train_epochs", train_epochs)


INTERRUPTS = {"before the epoch": _interrupt_run_epoch, "sigint": _SigintDuringEpoch}


# a background job (``cmd &`` in a script) starts with SIGINT ignored
NEEDS_SIGINT = pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
    reason="needs Python's default SIGINT handler",
)


@NEEDS_SIGINT
@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("interrupt", INTERRUPTS)
@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_keyboard_interrupt_keeps_last_completed_epoch(
    name, interrupt, early_stopping, monkeypatch
):
    """As scikit-learn: a KeyboardInterrupt in the epoch loop warns and keeps
    the weights of the last completed epoch (with early stopping, the best
    weights so far), never a half-recorded epoch."""
    X, y = _data(name)
    params = dict(solver="adam", early_stopping=early_stopping, max_iter=10)
    if early_stopping:
        params["n_iter_no_change"] = 100  # no early stop before the interrupt
    completed = 4
    expected = _model(name, **{**params, "max_iter": completed}).fit(X, y)

    model = _model(name, **params)
    INTERRUPTS[interrupt](completed + 1).install(monkeypatch)
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        model.fit(X, y)

    for attr in ("coefs_", "intercepts_", "loss_curve_", "n_iter_", "t_", "loss_"):
        _assert_same(getattr(expected, attr), getattr(model, attr), attr)
    if early_stopping:
        _assert_same(expected.validation_scores_, model.validation_scores_)
    for attr in ("first_moment", "second_moment", "step", "learning_rate", "epochs"):
        _assert_same(
            getattr(expected._optimizer, attr), getattr(model._optimizer, attr), attr
        )
    assert all(np.isfinite(c).all() for c in model.coefs_ + model.intercepts_)
    _assert_linked_and_predicting(model, X, _output(expected, X))


@NEEDS_SIGINT
@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_keyboard_interrupt_in_a_run_of_epochs_keeps_the_runs_before(
    name, monkeypatch
):
    """Small epochs train several per compiled call: a Ctrl-C during one
    rolls back to its start, keeping the epochs of the calls before it."""
    from fastmlp.kernels import network

    X, y = _data(name)
    params = dict(solver="adam", max_iter=30, n_iter_no_change=100)
    # runs as long as the no-improvement rule and max_iter allow: the first
    # call trains 1 epoch (to time it), the second the other 29
    monkeypatch.setattr(_estimators, "EPOCHS_RUN_SECONDS", 1e6)
    lengths = []
    original = network.train_epochs

    def train_epochs(*args):
        result = original(*args)
        lengths.append(args[-1].shape[0])  # totals: one per epoch
        if len(lengths) == 2:
            signal.raise_signal(signal.SIGINT)
        return result

    monkeypatch.setattr(network, "train_epochs", train_epochs)
    model = _model(name, **params)
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        model.fit(X, y)
    monkeypatch.undo()
    assert lengths == [1, 29]
    expected = _model(name, **{**params, "max_iter": 1}).fit(X, y)
    for attr in ("coefs_", "intercepts_", "loss_curve_", "n_iter_", "t_", "loss_"):
        _assert_same(getattr(expected, attr), getattr(model, attr), attr)
    for attr in ("first_moment", "second_moment", "step", "learning_rate", "epochs"):
        _assert_same(
            getattr(expected._optimizer, attr), getattr(model._optimizer, attr), attr
        )
    _assert_linked_and_predicting(model, X, _output(expected, X))


@NEEDS_SIGINT
@pytest.mark.parametrize("interrupt", INTERRUPTS)
def test_keyboard_interrupted_partial_fit_keeps_the_model(interrupt, monkeypatch):
    X, y = X_REG, Y_REG
    model = _model("MLPRegressor").partial_fit(X, y)
    before = _state(model)
    output = _output(model, X)
    INTERRUPTS[interrupt](1).install(monkeypatch)
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        model.partial_fit(X, y)
    after = _state(model)
    # n_iter_ counts the epochs of the last call (scikit-learn's: 0 here), and
    # every call starts a new generator from random_state
    assert after.pop("n_iter_") == 0 and before.pop("n_iter_") == 1
    del after["_random_state"], before["_random_state"]
    _assert_same(before, after)
    _assert_linked_and_predicting(model, X, output)


# ----------------------------------------------------------------------------
# 3. bad and edge-case input, as a table


# The first rows: bad X and bad parameters, each raised as scikit-learn
# raises it, on data of their own (120 x 5, three classes).
X_BAD, Y_BAD = make_classification(
    n_samples=120, n_features=5, n_informative=3, n_classes=3, random_state=0
)


def _pair(name, **params):
    params.setdefault("max_iter", 5)
    params.setdefault("random_state", 0)
    return getattr(neural_network, name)(**params), getattr(fastmlp, name)(**params)


def _nan_at_3_1(X):
    X = X.copy()
    X[3, 1] = np.nan
    return X


def _with_inf(X):
    X = X.copy()
    X[0, 0] = np.inf
    return X


BAD_FITS = {
    "nan in X": lambda: (_nan_at_3_1(X_BAD), Y_BAD),
    "inf in X": lambda: (_with_inf(X_BAD), Y_BAD),
    "empty X": lambda: (np.empty((0, 5)), np.empty(0)),
    "y wrong length": lambda: (X_BAD, Y_BAD[:-1]),
    "3-D X": lambda: (X_BAD.reshape(12, 10, 5), Y_BAD[:12]),
    "string X": lambda: (np.full((4, 2), "a"), np.array([0, 1, 0, 1])),
    "complex X": lambda: (X_BAD + 1j, Y_BAD),
}


@pytest.mark.parametrize("case", BAD_FITS)
@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_bad_input_raises_like_sklearn(name, case):
    X, y = BAD_FITS[case]()
    reference, model = _pair(name)
    with pytest.raises(Exception) as expected:
        reference.fit(X, y)
    with pytest.raises(type(expected.value)) as raised:
        model.fit(X, y)
    assert same_message(raised.value, expected.value)


@pytest.mark.parametrize(
    "params",
    [
        {"hidden_layer_sizes": (0,)},
        {"hidden_layer_sizes": (-3, 2)},
        {"hidden_layer_sizes": 2.5},
        {"alpha": -1.0},
        {"learning_rate_init": 0.0},
        {"max_iter": 0},
        {"momentum": 1.5},
        {"beta_1": 1.0},
        {"validation_fraction": 1.0},
        {"n_iter_no_change": 0},
        {"activation": "softmax"},
        {"solver": "newton"},
        {"batch_size": 0},
    ],
)
def test_invalid_parameters_raise_like_sklearn(params):
    reference, model = _pair("MLPClassifier", **params)
    with pytest.raises(Exception) as expected:
        reference.fit(X_BAD, Y_BAD)
    with pytest.raises(type(expected.value)) as raised:
        model.fit(X_BAD, Y_BAD)
    ((name, value),) = params.items()
    if name in EXTENDED_OPTIONS:
        # fastmlp accepts more values here, so its list of options is longer
        message = str(raised.value)
        assert f"The {name!r} parameter of MLPClassifier" in message
        assert f"Got {value!r} instead." in message
    else:
        assert same_message(raised.value, expected.value)


# parameters whose options fastmlp extends beyond scikit-learn's
EXTENDED_OPTIONS = {"activation", "solver", "learning_rate"}


def _set(values, index, value):
    values = np.array(values, dtype=float)
    values[index] = value
    return values


_ONES = np.ones(X_CLF.shape[0])
_IPE = InvalidParameterError


# (case, estimator, params, X, y, sample_weight, exception, message regex)
# Rows with ``sklearn=True`` also run scikit-learn's MLP and must raise the
# same exception type with the same message.
SAME_AS_SKLEARN = [
    ("nan in y", "MLPRegressor", {}, X_REG, _set(Y_REG, 3, np.nan), None,
     ValueError, "Input y contains NaN"),
    ("inf in y", "MLPRegressor", {}, X_REG, _set(Y_REG, 3, np.inf), None,
     ValueError, "Input y contains infinity"),
    ("nan in class labels", "MLPClassifier", {}, X_CLF, _set(Y_CLF, 3, np.nan),
     None, ValueError, "Input y contains NaN"),
    ("object X of strings", "MLPClassifier", {},
     np.array([["a", 1.0]] * 80, dtype=object), Y_CLF, None, ValueError,
     "could not convert string to float"),
    ("sample_weight NaN", "MLPClassifier", {}, X_CLF, Y_CLF,
     _set(_ONES, 0, np.nan), ValueError, "Input sample_weight contains NaN"),
    ("sample_weight inf", "MLPRegressor", {}, X_REG, Y_REG,
     _set(_ONES, 0, np.inf), ValueError, "sample_weight contains infinity"),
    ("sample_weight all zero", "MLPClassifier", {}, X_CLF, Y_CLF, 0 * _ONES,
     ValueError, "at least one non-zero"),
    ("sample_weight all zero, lbfgs", "MLPRegressor", {"solver": "lbfgs"},
     X_REG, Y_REG, 0 * _ONES, ValueError, "at least one non-zero"),
    ("sample_weight wrong length", "MLPClassifier", {}, X_CLF, Y_CLF,
     _ONES[:-1], ValueError, r"sample_weight.shape == \(79,\), expected \(80,\)"),
    ("sample_weight 2-D", "MLPRegressor", {}, X_REG, Y_REG, _ONES[:, None],
     ValueError, "Sample weights must be 1D"),
    ("hidden_layer_sizes (2.5,)", "MLPClassifier", {"hidden_layer_sizes": (2.5,)},
     X_CLF, Y_CLF, None, TypeError, "'float' object cannot be interpreted"),
    ("hidden_layer_sizes 3.0", "MLPClassifier", {"hidden_layer_sizes": 3.0},
     X_CLF, Y_CLF, None, _IPE, "'hidden_layer_sizes' parameter"),
    ("hidden_layer_sizes -2", "MLPClassifier", {"hidden_layer_sizes": -2},
     X_CLF, Y_CLF, None, _IPE, "'hidden_layer_sizes' parameter"),
    ("hidden_layer_sizes [3, 0]", "MLPRegressor", {"hidden_layer_sizes": [3, 0]},
     X_REG, Y_REG, None, ValueError, r"hidden_layer_sizes must be > 0"),
    ("1e30 in X, sgd regressor", "MLPRegressor", {"solver": "sgd"},
     X_REG * 1e30, Y_REG, None, ValueError, "non-finite parameter weights"),
] + [
    # every numeric parameter out of its range (the ones above
    # does not cover)
    (f"{param}={value}", "MLPClassifier", {param: value}, X_CLF, Y_CLF, None,
     _IPE, f"'{param}' parameter")
    for param, value in [
        ("alpha", np.nan),
        ("batch_size", -1),
        ("learning_rate_init", -1.0),
        ("learning_rate_init", np.inf),
        ("power_t", -0.5),
        ("max_iter", 2.5),
        ("tol", -1e-3),
        ("momentum", -0.1),
        ("validation_fraction", -0.1),
        ("beta_1", -0.1),
        ("beta_2", 1.0),
        ("epsilon", 0.0),
        ("n_iter_no_change", -1),
        ("max_fun", 0),
    ]
]  # fmt: skip

# fastmlp's own parameters, and inputs scikit-learn accepts silently although
# they make no sense (each row says why)
FASTMLP_ONLY = [
    # scikit-learn trains on: a negative weight turns that sample's loss into
    # one to maximize, and the fit diverges or is meaningless
    ("sample_weight negative", "MLPClassifier", {}, X_CLF, Y_CLF,
     _set(_ONES, 0, -1.0), ValueError, "Negative values in data passed to"),
    ("sample_weight negative, lbfgs", "MLPRegressor", {"solver": "lbfgs"},
     X_REG, Y_REG, _set(_ONES, 0, -1.0), ValueError, "Negative values"),
    # scikit-learn trains to a NaN loss (log of a negative target)
    ("poisson with negative y", "MLPRegressor", {"loss": "poisson"}, X_REG,
     Y_REG, None, ValueError, "negative which is not allowed for Poisson"),
    ("dropout negative", "MLPClassifier", {"dropout": -0.1}, X_CLF, Y_CLF, None,
     _IPE, "'dropout' parameter"),
    ("dropout 1", "MLPClassifier", {"dropout": 1.0}, X_CLF, Y_CLF, None, _IPE,
     "'dropout' parameter"),
    ("dropout NaN", "MLPClassifier", {"dropout": np.nan}, X_CLF, Y_CLF, None,
     _IPE, "'dropout' parameter"),
    ("dropout list entry >= 1", "MLPClassifier",
     {"dropout": [0.1, 1.0], "hidden_layer_sizes": (4, 4)}, X_CLF, Y_CLF, None,
     ValueError, r"dropout rates must be in \[0, 1\)"),
    ("dropout list entry negative", "MLPRegressor",
     {"dropout": [-0.1], "hidden_layer_sizes": (4,)}, X_REG, Y_REG, None,
     ValueError, r"dropout rates must be in \[0, 1\)"),
    ("dropout list wrong length", "MLPClassifier", {"dropout": [0.1, 0.2]},
     X_CLF, Y_CLF, None, ValueError, "dropout has 2 entries but the network has 1"),
    ("dropout with lbfgs", "MLPRegressor", {"dropout": 0.2, "solver": "lbfgs"},
     X_REG, Y_REG, None, ValueError, "dropout needs a stochastic solver"),
    ("activation list too long", "MLPClassifier",
     {"activation": ["relu", "tanh"]}, X_CLF, Y_CLF, None, ValueError,
     "activation has 2 entries but the network has 1 hidden"),
    ("activation list empty", "MLPRegressor", {"activation": []}, X_REG, Y_REG,
     None, ValueError, "activation has 0 entries"),
    ("activation list unknown name", "MLPClassifier",
     {"activation": ["relu", "swish"], "hidden_layer_sizes": (3, 3)}, X_CLF,
     Y_CLF, None, ValueError, "activation entries must be in .* got 'swish'"),
    ("activation unknown name", "MLPRegressor", {"activation": "softmax"}, X_REG,
     Y_REG, None, _IPE, "'activation' parameter"),
    ("huber_delta 0", "MLPRegressor", {"loss": "huber", "huber_delta": 0.0},
     X_REG, Y_REG, None, _IPE, "'huber_delta' parameter"),
    ("huber_delta negative", "MLPRegressor", {"loss": "huber", "huber_delta": -1},
     X_REG, Y_REG, None, _IPE, "'huber_delta' parameter"),
    ("huber_delta NaN", "MLPRegressor", {"loss": "huber", "huber_delta": np.nan},
     X_REG, Y_REG, None, _IPE, "'huber_delta' parameter"),
    ("class_weight unknown string", "MLPClassifier", {"class_weight": "bal"},
     X_CLF, Y_CLF, None, _IPE, "'class_weight' parameter"),
    ("class_weight unknown class", "MLPClassifier", {"class_weight": {7: 1.0}},
     X_CLF, Y_CLF, None, ValueError, r"The classes, \[0, 1, 2\], are not in"),
    ("class_weight negative", "MLPClassifier", {"class_weight": {0: -1.0}},
     X_CLF, Y_CLF, None, ValueError, "class_weight values must be finite and"),
    ("class_weight NaN", "MLPClassifier", {"class_weight": {0: np.nan}},
     X_CLF, Y_CLF, None, ValueError, "class_weight values must be finite and"),
    ("class_weight all zero", "MLPClassifier",
     {"class_weight": {0: 0.0, 1: 0.0, 2: 0.0}}, X_CLF, Y_CLF, None,
     ValueError, "at least one non-zero"),
    ("class_weight zero on the sampled classes", "MLPClassifier",
     {"class_weight": {0: 0.0, 1: 1.0, 2: 1.0}}, X_CLF, Y_CLF,
     np.where(Y_CLF == 0, 1.0, 0.0), ValueError, "at least one non-zero"),
]  # fmt: skip


def _table_ids(table):
    return [row[0] for row in table]


def _fit_raising(model, X, y, sample_weight):
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
    with pytest.raises(Exception) as raised:
        model.fit(X, y, **kwargs)
    return raised.value


def _sklearn_table_params(table):
    """The rows, each skipped below the scikit-learn that raises its error."""
    params = []
    for row in table:
        sample_weight = row[5]
        marks = []
        if sample_weight is not None and not np.any(sample_weight):
            marks.append(
                requires_sklearn(
                    SKLEARN_ALL_ZERO_WEIGHTS, "its error for all-zero sample_weight"
                )
            )
        elif sample_weight is not None:
            marks.append(
                requires_sklearn(SKLEARN_SAMPLE_WEIGHT, "sample_weight in its MLP")
            )
        params.append(pytest.param(row, id=row[0], marks=marks))
    return params


@pytest.mark.parametrize("row", _sklearn_table_params(SAME_AS_SKLEARN))
def test_bad_input_table_same_as_sklearn(row):
    _, name, params, X, y, sample_weight, error, message = row
    params = {"max_iter": 5, "random_state": 0, **params}
    with np.errstate(all="ignore"):  # scikit-learn's overflow warnings
        reference = getattr(neural_network, name)(**params)
        expected = _fit_raising(reference, X, y, sample_weight)
    raised = _fit_raising(getattr(fastmlp, name)(**params), X, y, sample_weight)
    assert type(expected) is error and re.search(message, str(expected))
    assert type(raised) is type(expected)
    assert same_message(raised, expected)


@pytest.mark.parametrize("row", FASTMLP_ONLY, ids=_table_ids(FASTMLP_ONLY))
def test_bad_input_table_fastmlp(row):
    _, name, params, X, y, sample_weight, error, message = row
    model = getattr(fastmlp, name)(max_iter=5, random_state=0, **params)
    with pytest.raises(error, match=message):
        model.fit(X, y, sample_weight=sample_weight)
    assert not hasattr(model, "coefs_")


def test_one_class_in_a_partial_fit_batch_is_fine():
    model = _model("MLPClassifier")
    model.partial_fit(X_CLF, Y_CLF, classes=[0, 1, 2])
    model.partial_fit(X_CLF[Y_CLF == 1], Y_CLF[Y_CLF == 1])


def _fit_recording_warnings(model, how, X, y):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        if how == "fit":
            model.fit(X, y)
        else:
            model.partial_fit(X, y, classes=np.unique(y))
            model.partial_fit(X, y)
    return [(w.category, str(w.message)) for w in record]


@pytest.mark.parametrize(
    "how, params",
    [
        ("fit", {"solver": "adam"}),
        pytest.param(
            "fit",
            {"solver": "sgd", "early_stopping": True},
            marks=requires_sklearn(
                SKLEARN_EARLY_STOPPING_STRING_LABELS,
                "early stopping with string labels",
            ),
        ),
        ("fit", {"solver": "lbfgs"}),
        ("partial_fit", {"solver": "adam"}),
        ("partial_fit", {"solver": "sgd"}),
    ],
)
def test_one_class_y_fits_and_predicts_it_like_sklearn(how, params):
    """A y with a single class trains one logistic output towards that class,
    as in scikit-learn: same attributes, warnings, loss and predictions."""
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(X_CLF, columns=[f"f{i}" for i in range(X_CLF.shape[1])])
    y = pd.Series(np.full(len(X), "only"), name="label")
    params = {"hidden_layer_sizes": (6,), "max_iter": 20, "random_state": 0, **params}
    models, warned = [], []
    for module in (neural_network, fastmlp):
        model = module.MLPClassifier(**params)
        warned.append(_fit_recording_warnings(model, how, X, y))
        models.append(model)
    reference, model = models
    assert warned[1] == warned[0]
    assert model.classes_.tolist() == ["only"] == reference.classes_.tolist()
    assert (model.n_outputs_, model.out_activation_) == (1, "logistic")
    assert model.n_iter_ == reference.n_iter_
    np.testing.assert_array_equal(model.feature_names_in_, reference.feature_names_in_)
    np.testing.assert_allclose(model.loss_, reference.loss_, rtol=1e-10)
    for attribute in ("validation_scores_", "best_validation_score_"):
        assert getattr(model, attribute, None) == getattr(reference, attribute, None)
    assert (model.predict(X) == "only").all()
    np.testing.assert_allclose(
        model.predict_proba(X), reference.predict_proba(X), rtol=1e-10, atol=1e-14
    )


@pytest.mark.parametrize("how", ["predict", "partial_fit", "warm_start"])
def test_different_number_of_features_later_like_sklearn(how):
    errors = []
    for module in (neural_network, fastmlp):
        model = module.MLPRegressor(max_iter=5, random_state=0, warm_start=True)
        model.fit(X_REG, Y_REG)
        call = {
            "predict": lambda m: m.predict(X_REG[:, :3]),
            "partial_fit": lambda m: m.partial_fit(X_REG[:, :3], Y_REG),
            "warm_start": lambda m: m.fit(X_REG[:, :3], Y_REG),
        }[how]
        with pytest.raises(ValueError) as raised:
            call(model)
        errors.append(raised.value)
    assert same_message(errors[1], errors[0])
    assert "X has 3 features" in str(errors[1])


# valid edge cases: both libraries accept them and train the same model
EDGE_CASES = {
    "one sample": ("MLPRegressor", {}, lambda: (X_REG[:1], Y_REG[:1])),
    "two samples, two classes": (
        "MLPClassifier",
        {},
        lambda: (X_CLF[[0, 1]], np.array([0, 1])),
    ),
    "one feature": ("MLPClassifier", {}, lambda: (X_CLF[:, :1], Y_CLF)),
    "zero-variance feature": (
        "MLPClassifier",
        {},
        lambda: (np.c_[X_CLF, np.full(80, 3.0), np.zeros(80)], Y_CLF),
    ),
    "int X": ("MLPClassifier", {}, lambda: ((X_CLF * 4).astype(np.int64), Y_CLF)),
    "int X, lbfgs": (
        "MLPRegressor",
        {"solver": "lbfgs"},
        lambda: ((X_REG * 4).astype(np.int32), Y_REG),
    ),
    "object X of numbers": (
        "MLPClassifier",
        {},
        lambda: (X_CLF.astype(object), Y_CLF),
    ),
    "y with one class": ("MLPClassifier", {}, lambda: (X_CLF, np.zeros(80))),
    "y with one class, lbfgs": (
        "MLPClassifier",
        {"solver": "lbfgs"},
        lambda: (X_CLF, np.ones(80)),
    ),
    "one unit": (
        "MLPRegressor",
        {"hidden_layer_sizes": (1,)},
        lambda: (X_REG, Y_REG),
    ),
    # the loss does not blow up: scikit-learn and fastmlp train on, with huge
    # but finite weights and outputs
    "1e30 in X, adam classifier": (
        "MLPClassifier",
        {},
        lambda: (X_CLF * 1e30, Y_CLF),
    ),
    "1e30 in X, lbfgs classifier": (
        "MLPClassifier",
        {"solver": "lbfgs"},
        lambda: (X_CLF * 1e30, Y_CLF),
    ),
    "1e30 in X, adam regressor": ("MLPRegressor", {}, lambda: (X_REG * 1e30, Y_REG)),
}


@pytest.mark.parametrize("case", EDGE_CASES)
def test_edge_cases_accepted_like_sklearn(case):
    name, params, make = EDGE_CASES[case]
    X, y = make()
    params = {"max_iter": 5, "random_state": 0, **params}
    reference = getattr(neural_network, name)(**params).fit(X, y)
    model = getattr(fastmlp, name)(**params).fit(X, y)
    expected, actual = _output(reference, X), _output(model, X)
    assert np.isfinite(actual).all() and np.isfinite(model.loss_)
    assert actual.dtype == expected.dtype
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model.loss_, reference.loss_, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_huge_inputs_raise_non_finite_error_or_stay_finite(name, solver, dtype):
    """Values of 1e30 in X: either scikit-learn's non-finite weights error or
    a model with finite weights, loss and outputs; never NaN output."""
    X, y = _data(name)
    X = (X * 1e30).astype(dtype)
    model = getattr(fastmlp, name)(solver=solver, max_iter=5, random_state=0)
    try:
        model.fit(X, y)
    except ValueError as error:
        assert str(error) == (
            "Solver produced non-finite parameter weights. The input data may"
            " contain large values and need to be preprocessed."
        )
        assert not hasattr(model, "coefs_")
        return
    assert all(np.isfinite(c).all() for c in model.coefs_ + model.intercepts_)
    assert np.isfinite(model.loss_)
    assert np.isfinite(_output(model, X)).all()


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_batch_size_larger_than_n_samples_clipped_with_sklearns_warning(name):
    X, y = _data(name)
    params = dict(batch_size=1000, max_iter=3, random_state=0)
    warned = []
    for module in (neural_network, fastmlp):
        with pytest.warns(UserWarning, match="batch_size") as record:
            model = getattr(module, name)(**params).fit(X, y)
        warned.append([str(w.message) for w in record if "batch_size" in str(w)])
        model.loss_curve_  # noqa: B018
    assert warned[0] == warned[1]
    clipped = getattr(fastmlp, name)(**{**params, "batch_size": X.shape[0]})
    np.testing.assert_array_equal(clipped.fit(X, y).loss_curve_, model.loss_curve_)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fortran_and_strided_X_train_and_predict_as_C_ordered(solver, dtype):
    """The engine makes X contiguous before any kernel sees it: the layout of
    the user's array changes nothing."""
    X = X_CLF.astype(dtype)
    wide = np.zeros((X.shape[0] * 2, X.shape[1] * 3), dtype=dtype)
    wide[::2, ::3] = X
    layouts = {"F": np.asfortranarray(X), "strided": wide[::2, ::3]}
    params = dict(solver=solver, max_iter=5, random_state=0)
    expected = fastmlp.MLPClassifier(**params).fit(X, Y_CLF)
    for name, X_other in layouts.items():
        model = fastmlp.MLPClassifier(**params).fit(X_other, Y_CLF)
        _assert_same(expected.coefs_, model.coefs_, name)
        np.testing.assert_array_equal(
            expected.predict_proba(X_other), expected.predict_proba(X)
        )


NO_HIDDEN_LAYER = {
    "logistic regression, adam": ("MLPClassifier", {}, X_CLF, Y_CLF),
    "binary logistic regression, sgd": (
        "MLPClassifier",
        {"solver": "sgd"},
        X_CLF,
        Y_CLF == 1,
    ),
    "linear regression, adam": ("MLPRegressor", {}, X_REG, Y_REG),
    "linear regression, lbfgs": ("MLPRegressor", {"solver": "lbfgs"}, X_REG, Y_REG),
    "poisson regression, sgd": (
        "MLPRegressor",
        {"solver": "sgd", "loss": "poisson", "learning_rate_init": 1e-3},
        X_REG,
        np.exp(Y_REG / 3),
    ),
}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            marks=requires_sklearn(SKLEARN_POISSON, "MLPRegressor(loss='poisson')"),
        )
        if "poisson" in case
        else case
        for case in NO_HIDDEN_LAYER
    ],
)
def test_no_hidden_layer_matches_sklearn(case):
    """``hidden_layer_sizes=()`` is allowed, as in scikit-learn: linear,
    logistic or Poisson regression, the convex special cases."""
    name, params, X, y = NO_HIDDEN_LAYER[case]
    params = {"hidden_layer_sizes": (), "max_iter": 20, "random_state": 0, **params}
    reference = getattr(neural_network, name)(**params).fit(X, y)
    model = getattr(fastmlp, name)(**params).fit(X, y)
    assert len(model.coefs_) == 1 and model.n_layers_ == 2
    if params.get("solver") == "lbfgs":
        np.testing.assert_allclose(model.loss_, reference.loss_, rtol=1e-8)
    else:
        np.testing.assert_allclose(model.loss_curve_, reference.loss_curve_, rtol=1e-8)
    np.testing.assert_allclose(model.coefs_[0], reference.coefs_[0], rtol=1e-6)
    np.testing.assert_allclose(_output(model, X), _output(reference, X), rtol=1e-7)
    if name == "MLPClassifier":
        np.testing.assert_array_equal(model.predict(X), reference.predict(X))


# ----------------------------------------------------------------------------
# 6. float32 training stays within 1e-4 of float64 on the benchmark workloads


def _workloads_module():
    path = Path(__file__).parents[2] / "benchmarks" / "workloads.py"
    spec = importlib.util.spec_from_file_location("_bench_workloads", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


WORKLOADS = _workloads_module()
# the training workloads, scaled down in rows and epochs (shapes kept)
SCALED = {"small": 600, "mid": 600, "wide": 300, "regression": 600}
FLOAT32_RTOL = 1e-4


@pytest.mark.parametrize("workload", SCALED)
def test_float32_loss_curve_within_1e4_of_float64(workload):
    spec = dataclasses.replace(
        WORKLOADS.WORKLOADS[workload], n_samples=SCALED[workload], n_test=10
    )
    params = WORKLOADS.sklearn_params(spec, max_iter=3)
    Estimator = (
        fastmlp.MLPRegressor if spec.task == "regression" else (fastmlp.MLPClassifier)
    )
    curves = {}
    for dtype in (np.float64, np.float32):
        X, _, y, _ = WORKLOADS.make_data(spec, dtype)
        model = Estimator(**params).fit(X, y)
        assert model.coefs_[0].dtype == dtype
        curves[dtype] = np.array(model.loss_curve_)
    deviation = np.max(np.abs(curves[np.float32] / curves[np.float64] - 1.0))
    assert deviation < FLOAT32_RTOL, f"float32 deviates by {deviation:.2e}"

"""Conversion to and from scikit-learn: ``to_sklearn()`` and ``from_sklearn``,
and the ONNX export they open (through skl2onnx, when installed)."""

import copy
import pickle
import re
import warnings

import numpy as np
import pytest
import sklearn
from conftest import (
    SKLEARN_EARLY_STOPPING_STRING_LABELS,
    SKLEARN_POISSON,
    requires_sklearn,
    sklearn_at_least,
)
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import neural_network
from sklearn.datasets import (
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor, _registry, from_sklearn

X, Y_BINARY = make_classification(
    n_samples=120, n_features=6, n_informative=4, random_state=0
)
_, Y_MULTICLASS = make_classification(
    n_samples=120, n_features=6, n_informative=4, n_classes=3, random_state=1
)
Y_MULTICLASS = np.array(["ant", "bee", "cat"])[Y_MULTICLASS]
_, Y_MULTILABEL = make_multilabel_classification(
    n_samples=120, n_features=6, n_classes=3, random_state=0
)
X_REG, Y_REG = make_regression(
    n_samples=120, n_features=6, n_targets=2, noise=1.0, random_state=0
)
X_REG = X_REG / X_REG.std(axis=0)
Y_REG = Y_REG / Y_REG.std(axis=0)
Y_COUNTS = np.random.default_rng(0).poisson(np.exp(0.3 * X_REG[:, 0]))

SMALL = {"hidden_layer_sizes": (7, 5), "max_iter": 15, "random_state": 0}

# name -> (is classifier, parameters, X, y)
CASES = {
    "binary, adam": (True, {"activation": "tanh"}, X, Y_BINARY),
    "multiclass, sgd, early stopping": (
        True,
        {"solver": "sgd", "early_stopping": True},
        X,
        Y_MULTICLASS,
    ),
    "multiclass, lbfgs": (True, {"solver": "lbfgs"}, X, Y_MULTICLASS),
    "multilabel, logistic": (True, {"activation": "logistic"}, X, Y_MULTILABEL),
    "classifier, no hidden layer": (True, {"hidden_layer_sizes": ()}, X, Y_MULTICLASS),
    "squared_error, sgd": (False, {"solver": "sgd"}, X_REG, Y_REG[:, 0]),
    "poisson": (False, {"loss": "poisson"}, X_REG, Y_COUNTS),
    "multi-output, identity, lbfgs": (
        False,
        {"activation": "identity", "solver": "lbfgs"},
        X_REG,
        Y_REG,
    ),
    "regressor, no hidden layer": (
        False,
        {"hidden_layer_sizes": (), "solver": "sgd"},
        X_REG,
        Y_REG,
    ),
}
# cases scikit-learn trains only from a later version than the oldest supported
CASE_NEEDS = {
    "multiclass, sgd, early stopping": (
        SKLEARN_EARLY_STOPPING_STRING_LABELS,
        "early stopping with string class labels",
    ),
    "poisson": (SKLEARN_POISSON, "MLPRegressor(loss='poisson')"),
}


def _cases(names):
    return [
        pytest.param(name, marks=requires_sklearn(*CASE_NEEDS[name]))
        if name in CASE_NEEDS
        else name
        for name in names
    ]


STOCHASTIC_CASES = _cases(name for name in CASES if "lbfgs" not in name)


def _classes(is_classifier):
    if is_classifier:
        return MLPClassifier, neural_network.MLPClassifier
    return MLPRegressor, neural_network.MLPRegressor


def _fit(cls, params, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cls(**{**SMALL, **params}).fit(X, y)


def _assert_same_predictions(a, b, X, atol=1e-12):
    """predict (and predict_proba) of a and b agree to atol."""
    if hasattr(a, "predict_proba"):
        assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=0, atol=atol)
        assert_array_equal(a.predict(X), b.predict(X))
    else:
        assert_allclose(a.predict(X), b.predict(X), rtol=0, atol=atol)


def _assert_same_fitted_attributes(a, b):
    for name in ("n_iter_", "n_layers_", "n_outputs_", "out_activation_", "t_"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.n_features_in_ == b.n_features_in_
    assert_allclose(a.loss_, b.loss_, rtol=0)
    for name in ("coefs_", "intercepts_"):
        for left, right in zip(getattr(a, name), getattr(b, name)):
            assert left.dtype == right.dtype
            assert_array_equal(left, right)
            assert not np.shares_memory(left, right)  # copies, not views
    if hasattr(a, "classes_"):
        assert_array_equal(a.classes_, b.classes_)
    if hasattr(a, "loss_curve_"):
        assert a.loss_curve_ == b.loss_curve_
        assert a.best_loss_ == b.best_loss_
        assert a.validation_scores_ == b.validation_scores_
        assert a.best_validation_score_ == b.best_validation_score_
    else:
        assert not hasattr(b, "loss_curve_")


@pytest.mark.parametrize("name", _cases(CASES))
def test_to_sklearn_is_the_same_fitted_model(name):
    is_classifier, params, X_fit, y = CASES[name]
    fm_class, sk_class = _classes(is_classifier)
    model = _fit(fm_class, params, X_fit, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an expressible model converts silently
        converted = model.to_sklearn()

    assert type(converted) is sk_class
    sk_params = converted.get_params()
    assert sk_params == {key: model.get_params()[key] for key in sk_params}
    _assert_same_fitted_attributes(model, converted)
    _assert_same_predictions(model, converted, X_fit)
    assert converted.score(X_fit, y) == pytest.approx(model.score(X_fit, y), abs=1e-12)
    # a copy: training the converted estimator leaves the model alone
    before = model.predict(X_fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        converted.set_params(warm_start=True, max_iter=2).fit(X_fit, y)
    assert_array_equal(model.predict(X_fit), before)


@pytest.mark.parametrize("name", _cases(CASES))
def test_from_sklearn_is_the_same_fitted_model(name):
    is_classifier, params, X_fit, y = CASES[name]
    fm_class, sk_class = _classes(is_classifier)
    sk_model = _fit(sk_class, params, X_fit, y)
    model = from_sklearn(sk_model)

    assert type(model) is fm_class
    assert model.get_params() == {
        **fm_class().get_params(),
        **sk_model.get_params(),
    }
    _assert_same_fitted_attributes(sk_model, model)
    _assert_same_predictions(sk_model, model, X_fit)
    assert model.validation_loss_curve_ is None
    network = model._fitted_network()
    assert network.dtype == np.float64
    assert_array_equal(
        model._weights(network), network.pack(sk_model.coefs_, sk_model.intercepts_)
    )
    loaded = pickle.loads(pickle.dumps(model))
    _assert_same_predictions(sk_model, loaded, X_fit)


@pytest.mark.parametrize("name", STOCHASTIC_CASES)
def test_converted_models_train_on_like_scikit_learn(name):
    """partial_fit and warm_start continue from the converted weights with a
    fresh optimizer: the same steps scikit-learn takes with no ``_optimizer``."""
    is_classifier, params, X_fit, y = CASES[name]
    fm_class, sk_class = _classes(is_classifier)
    params = {**params, "early_stopping": False}
    sk_model = _fit(sk_class, params, X_fit, y)
    reference = copy.deepcopy(sk_model)
    del reference._optimizer
    converted = from_sklearn(sk_model)
    reference.partial_fit(X_fit, y)
    converted.partial_fit(X_fit, y)
    assert converted.n_iter_ == reference.n_iter_
    assert converted.t_ == reference.t_
    assert_allclose(converted.loss_curve_, reference.loss_curve_, rtol=1e-6)
    _assert_same_predictions(reference, converted, X_fit, atol=1e-9)

    model = _fit(fm_class, params, X_fit, y)
    reference = copy.deepcopy(model)
    del reference._optimizer
    converted = model.to_sklearn()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for estimator in (reference, converted):
            estimator.set_params(warm_start=True, max_iter=3).fit(X_fit, y)
    assert converted.n_iter_ == reference.n_iter_ == 3
    assert converted.t_ == reference.t_
    assert_allclose(converted.loss_curve_, reference.loss_curve_, rtol=1e-6)
    _assert_same_predictions(reference, converted, X_fit, atol=1e-9)


@pytest.mark.parametrize("is_classifier", [True, False])
def test_float32_models_keep_their_dtype(is_classifier):
    fm_class, sk_class = _classes(is_classifier)
    X32 = (X if is_classifier else X_REG).astype(np.float32)
    y = Y_MULTICLASS if is_classifier else Y_REG

    model = _fit(fm_class, {}, X32, y)
    converted = model.to_sklearn()
    assert all(coef.dtype == np.float32 for coef in converted.coefs_)
    _assert_same_predictions(model, converted, X32, atol=1e-5)

    sk_model = _fit(sk_class, {}, X32, y)
    model = from_sklearn(sk_model)
    assert all(coef.dtype == np.float32 for coef in model.coefs_)
    assert model._fitted_network().dtype == np.float32
    _assert_same_predictions(sk_model, model, X32, atol=1e-5)


def test_feature_names_carry_over():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    renamed = frame.rename(columns={"f0": "other"})

    model = _fit(MLPClassifier, {}, frame, Y_BINARY)
    converted = model.to_sklearn()
    back = from_sklearn(converted)
    for estimator in (converted, back):
        assert_array_equal(estimator.feature_names_in_, model.feature_names_in_)
        _assert_same_predictions(model, estimator, frame)
        with pytest.raises(ValueError, match="feature names"):
            estimator.predict(renamed)


@pytest.mark.parametrize(
    "activation, reason",
    [
        (name, f"{name!r} is not one of scikit-learn's activations")
        for name, spec in _registry.hidden_activations().items()
        if not spec.sklearn
    ]
    + [
        (["relu", "gelu"], "'gelu' is not one of scikit-learn's activations"),
        (["relu", "tanh"], "scikit-learn uses one activation for all hidden layers"),
    ],
)
def test_inexpressible_activation_is_refused(activation, reason):
    model = _fit(MLPClassifier, {"activation": activation}, X, Y_BINARY)
    message = f"activation={activation!r} has no scikit-learn equivalent: {reason}"
    with pytest.raises(ValueError, match=re.escape(message)):
        model.to_sklearn()


@pytest.mark.parametrize(
    "is_classifier, params, sklearn_params, described",
    [
        (True, {"dropout": 0.3}, {}, "dropout=0.3 -> dropped"),
        (True, {"dropout": [0.0, 0.5]}, {}, "dropout=[0.0, 0.5] -> dropped"),
        (True, {"class_weight": "balanced"}, {}, "class_weight='balanced' -> dropped"),
        (True, {"class_weight": {0: 1.0, 1: 3.0}}, {}, "class_weight={0: 1.0"),
        (True, {"solver": "adamw"}, {"solver": "adam"}, "solver='adamw' -> 'adam'"),
        (
            False,
            {"learning_rate": "cosine", "solver": "sgd"},
            {"learning_rate": "constant"},
            "learning_rate='cosine' -> 'constant'",
        ),
        (
            False,
            {"loss": "huber", "huber_delta": 0.5},
            {"loss": "squared_error"},
            "loss='huber' (huber_delta=0.5) -> 'squared_error'",
        ),
        (
            False,
            {"loss": "absolute_error"},
            {"loss": "squared_error"},
            "loss='absolute_error' -> 'squared_error'",
        ),
        (
            True,
            {"hidden_layer_sizes": (), "activation": "gelu"},
            {"activation": "relu"},
            "activation='gelu' -> 'relu' (the network has no hidden layer)",
        ),
    ],
)
def test_training_only_setting_warns_and_predicts_the_same(
    is_classifier, params, sklearn_params, described
):
    fm_class, _ = _classes(is_classifier)
    X_fit, y = (X, Y_BINARY) if is_classifier else (X_REG, Y_REG)
    model = _fit(fm_class, params, X_fit, y)
    with pytest.warns(UserWarning) as record:
        converted = model.to_sklearn()

    assert len(record) == 1
    message = str(record[0].message)
    assert described in message
    assert "predictions are identical" in message
    assert "refitting it" in message and "trains differently" in message
    for key, value in sklearn_params.items():
        # getattr: scikit-learn < 1.7's MLPRegressor has no loss parameter,
        # only a loss attribute
        assert getattr(converted, key) == value
    _assert_same_predictions(model, converted, X_fit)


def test_one_warning_lists_every_replaced_setting():
    params = {
        "solver": "adamw",
        "learning_rate": "cosine",
        "dropout": 0.2,
        "class_weight": "balanced",
    }
    model = _fit(MLPClassifier, params, X, Y_MULTICLASS)
    with pytest.warns(UserWarning) as record:
        converted = model.to_sklearn()
    assert len(record) == 1
    message = str(record[0].message)
    for name in params:
        assert f"{name}=" in message
    _assert_same_predictions(model, converted, X)


def test_to_sklearn_of_poisson_needs_sklearn_with_poisson():
    """scikit-learn < 1.7 has no loss='poisson': to_sklearn says which it needs."""
    model = _fit(MLPRegressor, {"loss": "poisson"}, X_REG, Y_COUNTS)
    if sklearn_at_least(SKLEARN_POISSON):
        assert model.to_sklearn().loss == "poisson"
        return
    message = (
        f"loss='poisson' needs scikit-learn >= {SKLEARN_POISSON} in to_sklearn; "
        f"scikit-learn {sklearn.__version__} is installed."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        model.to_sklearn()


def test_per_layer_activation_list_of_one_name_converts_silently():
    model = _fit(MLPRegressor, {"activation": ["tanh", "tanh"]}, X_REG, Y_REG)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        converted = model.to_sklearn()
    assert converted.activation == "tanh"
    _assert_same_predictions(model, converted, X_REG)


@pytest.mark.parametrize(
    "make_estimator",
    [
        lambda: _fit(MLPClassifier, {}, X, Y_BINARY),
        lambda: LogisticRegression().fit(X, Y_BINARY),
        lambda: None,
    ],
    ids=["fitted fastmlp", "fitted LogisticRegression", "None"],
)
def test_from_sklearn_rejects_other_estimators(make_estimator):
    with pytest.raises(TypeError, match="scikit-learn MLPClassifier or MLPRegressor"):
        from_sklearn(make_estimator())


@pytest.mark.parametrize(
    "estimator", [neural_network.MLPClassifier(), neural_network.MLPRegressor()]
)
def test_from_sklearn_rejects_unfitted_estimators(estimator):
    with pytest.raises(NotFittedError):
        from_sklearn(estimator)


@pytest.mark.parametrize("estimator", [MLPClassifier(), MLPRegressor()])
def test_to_sklearn_rejects_unfitted_models(estimator):
    with pytest.raises(NotFittedError):
        estimator.to_sklearn()


def test_from_sklearn_is_public():
    assert "from_sklearn" in fastmlp.__all__
    assert fastmlp.from_sklearn is from_sklearn


@pytest.mark.parametrize("is_classifier", [True, False])
def test_onnx_export_matches(is_classifier, tmp_path):
    pytest.importorskip("skl2onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import DoubleTensorType

    fm_class, _ = _classes(is_classifier)
    # skl2onnx 1.20 flattens a multi-output regressor's output to one column
    X_fit, y = (X, Y_MULTICLASS) if is_classifier else (X_REG, Y_REG[:, 0])
    model = _fit(fm_class, {}, X_fit, y)
    options = {"zipmap": False} if is_classifier else None
    onnx_model = to_onnx(
        model.to_sklearn(),
        initial_types=[("X", DoubleTensorType([None, X_fit.shape[1]]))],
        options=options,
        target_opset=17,
    )
    session = onnxruntime.InferenceSession(
        onnx_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    outputs = session.run(None, {"X": X_fit})
    if is_classifier:
        assert_array_equal(outputs[0], model.predict(X_fit))
        assert_allclose(outputs[1], model.predict_proba(X_fit), rtol=0, atol=1e-12)
    else:
        assert_allclose(outputs[0].ravel(), model.predict(X_fit), rtol=0, atol=1e-12)

"""Conversion between fastmlp's and scikit-learn's fitted MLP estimators.

A fitted network is its parameters (constructor arguments) plus its fitted
attributes; both libraries store the same ones under the same names, so a
conversion copies them and translates the few settings only fastmlp has.
The optimizer's state (``_optimizer``) is not carried over: a warm start or
``partial_fit`` of the converted model starts a fresh optimizer, as either
library does for a model that has none.
"""

import copy
import warnings

import numpy as np
import sklearn
from sklearn import neural_network
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

from fastmlp import _engine, _registry

# the fitted attributes both libraries keep (when present) and read back in
# predict, score, warm_start, partial_fit and early stopping
_SHARED_ATTRIBUTES = (
    "coefs_",
    "intercepts_",
    "n_iter_",
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "loss_",
    "best_loss_",
    "loss_curve_",
    "validation_scores_",
    "best_validation_score_",
    "t_",
    "n_features_in_",
    "feature_names_in_",
    "classes_",
    "_label_binarizer",
    "_best_coefs",
    "_best_intercepts",
    "_no_improvement_count",
)

# settings that change training only, and scikit-learn's nearest value
# (the solvers' and losses' come from their specs in fastmlp._registry)
_NEAREST_LEARNING_RATE = {"cosine": "constant"}

# scikit-learn 1.6's MLPRegressor has no ``loss`` parameter
_SKLEARN_DEFAULT_OPTIONS = {"loss": {"squared_error"}}


def _sklearn_options(sklearn_class, name):
    """The string values scikit-learn's estimator accepts for ``name``."""
    if name not in sklearn_class._parameter_constraints:
        return _SKLEARN_DEFAULT_OPTIONS[name]
    return sklearn_class._parameter_constraints[name][0].options


def _sklearn_class_of(estimator):
    if is_classifier(estimator):
        return neural_network.MLPClassifier
    return neural_network.MLPRegressor


def _copy_fitted_attributes(source, target):
    for name in _SHARED_ATTRIBUTES:
        if hasattr(source, name):
            setattr(target, name, copy.deepcopy(getattr(source, name)))


def _sklearn_activation(estimator, sklearn_class):
    """scikit-learn's ``activation`` for the estimator's fitted hidden layers."""
    supported = _sklearn_options(sklearn_class, "activation")
    supported_text = ", ".join(sorted(supported))
    hidden = estimator._hidden_activations(estimator.n_layers_ - 2)
    for name in hidden:
        if name not in supported:
            raise ValueError(
                f"activation={estimator.activation!r} has no scikit-learn "
                f"equivalent: {name!r} is not one of scikit-learn's activations "
                f"({supported_text})."
            )
    if len(set(hidden)) > 1:
        raise ValueError(
            f"activation={estimator.activation!r} has no scikit-learn equivalent: "
            "scikit-learn uses one activation for all hidden layers."
        )
    if hidden:
        return hidden[0]
    if isinstance(estimator.activation, str) and estimator.activation in supported:
        return estimator.activation
    # no hidden layer: the activation only sets the initialization's scale
    factor = _engine.init_factor(
        estimator.activation if isinstance(estimator.activation, str) else "relu"
    )
    return "logistic" if factor == _engine.init_factor("logistic") else "relu"


def _sklearn_loss(estimator, sklearn_class):
    """scikit-learn's ``loss`` and the replacement made (or None)."""
    supported = _sklearn_options(sklearn_class, "loss")
    if estimator.loss in supported:
        return estimator.loss, None
    spec = _registry.losses()[estimator.loss]
    nearest = spec.sklearn if spec.sklearn != estimator.loss else None
    same_output = (
        nearest in supported
        and spec.output_activation == _registry.losses()[nearest].output_activation
    )
    version = spec.sklearn_version
    if version is not None and not same_output:
        raise ValueError(
            f"loss={estimator.loss!r} needs scikit-learn >= {version} in "
            f"to_sklearn; scikit-learn {sklearn.__version__} is installed."
        )
    if not same_output:
        raise ValueError(
            f"loss={estimator.loss!r} has no scikit-learn equivalent: its output "
            f"activation has no counterpart among scikit-learn's losses "
            f"({', '.join(sorted(supported))})."
        )
    described = f"loss={estimator.loss!r}"
    if spec.parameter is not None:
        name = spec.parameter.name
        described += f" ({name}={getattr(estimator, name)!r})"
    return nearest, f"{described} -> {nearest!r}"


def to_sklearn(estimator):
    """A scikit-learn estimator computing the same function as ``estimator``.

    See :meth:`fastmlp.MLPClassifier.to_sklearn`.
    """
    check_is_fitted(estimator)
    sklearn_class = _sklearn_class_of(estimator)
    params = copy.deepcopy(estimator.get_params(deep=False))
    replaced = []

    activation = _sklearn_activation(estimator, sklearn_class)
    if activation != estimator.activation and isinstance(estimator.activation, str):
        replaced.append(
            f"activation={estimator.activation!r} -> {activation!r} "
            "(the network has no hidden layer)"
        )
    params["activation"] = activation

    if "loss" in params:  # the classifier's log-loss is not a parameter
        params["loss"], replacement = _sklearn_loss(estimator, sklearn_class)
        if replacement:
            replaced.append(replacement)

    nearest_solver = {name: s.sklearn for name, s in _registry.solvers().items()}
    for name, nearest in (
        ("solver", nearest_solver),
        ("learning_rate", _NEAREST_LEARNING_RATE),
    ):
        if params[name] not in _sklearn_options(sklearn_class, name):
            params[name] = nearest[params[name]]
            replaced.append(f"{name}={getattr(estimator, name)!r} -> {params[name]!r}")

    if np.any(np.asarray(estimator.dropout) > 0):
        replaced.append(f"dropout={estimator.dropout!r} -> dropped")
    if getattr(estimator, "class_weight", None) is not None:
        replaced.append(f"class_weight={estimator.class_weight!r} -> dropped")

    sklearn_params = sklearn_class().get_params(deep=False)
    result = sklearn_class(**{name: params[name] for name in sklearn_params})
    _copy_fitted_attributes(estimator, result)
    if replaced:
        warnings.warn(
            f"{type(estimator).__name__}.to_sklearn replaced settings "
            "scikit-learn does not have with its nearest ones: "
            + "; ".join(replaced)
            + ". They only affect training: the returned estimator's predictions "
            "are identical, but refitting it (fit, warm_start or partial_fit) "
            "trains differently.",
            UserWarning,
            stacklevel=3,
        )
    return result


def from_sklearn(estimator):
    """Build a fastmlp model from a fitted scikit-learn MLP.

    Parameters
    ----------
    estimator : sklearn.neural_network.MLPClassifier or MLPRegressor
        A fitted scikit-learn multilayer perceptron.

    Returns
    -------
    model : fastmlp.MLPClassifier or fastmlp.MLPRegressor
        The fastmlp estimator with the same parameters and fitted attributes:
        it predicts the same values (to rounding), and can be scored, pickled,
        warm-started and trained further with ``partial_fit``. The optimizer's
        state is not carried over: further training starts a fresh optimizer,
        as scikit-learn does for a model without one.

    Raises
    ------
    TypeError
        If ``estimator`` is not a scikit-learn MLPClassifier or MLPRegressor.
    NotFittedError
        If ``estimator`` is not fitted.

    See Also
    --------
    fastmlp.MLPClassifier.to_sklearn : The conversion the other way.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.neural_network import MLPClassifier
    >>> from fastmlp import from_sklearn
    >>> X, y = make_classification(n_samples=100, random_state=0)
    >>> sk = MLPClassifier(solver="lbfgs", random_state=0).fit(X, y)
    >>> model = from_sklearn(sk)
    >>> bool((model.predict(X) == sk.predict(X)).all())
    True
    """
    from fastmlp._estimators import MLPClassifier, MLPRegressor

    if isinstance(estimator, neural_network.MLPClassifier):
        fastmlp_class = MLPClassifier
    elif isinstance(estimator, neural_network.MLPRegressor):
        fastmlp_class = MLPRegressor
    else:
        raise TypeError(
            "from_sklearn expects a scikit-learn MLPClassifier or MLPRegressor "
            f"(sklearn.neural_network), got {type(estimator).__module__}."
            f"{type(estimator).__qualname__}."
        )
    check_is_fitted(estimator)
    model = fastmlp_class(**copy.deepcopy(estimator.get_params(deep=False)))
    _copy_fitted_attributes(estimator, model)
    model.validation_loss_curve_ = None  # scikit-learn records none
    model._relink_weights()  # coefs_ as views of one flat vector
    return model


class SklearnInteropMixin:
    """The estimators' public ``to_sklearn`` method."""

    def to_sklearn(self):
        """Return the equivalent fitted scikit-learn estimator.

        The result is a :class:`sklearn.neural_network.MLPClassifier` or
        :class:`~sklearn.neural_network.MLPRegressor` with the same parameters
        and copies of the fitted attributes, so it predicts the same values
        (to rounding) and can be scored, pickled, warm-started, trained further
        with ``partial_fit`` or converted by tools that know scikit-learn's
        MLPs (such as skl2onnx). The optimizer's state is not carried over:
        further training starts a fresh optimizer.

        Returns
        -------
        estimator : sklearn.neural_network.MLPClassifier or MLPRegressor
            The fitted scikit-learn estimator.

        Raises
        ------
        ValueError
            If the fitted network has no scikit-learn equivalent: a hidden
            activation scikit-learn lacks (such as 'gelu') or different
            activations per hidden layer; or ``loss='poisson'`` with
            scikit-learn < 1.7, which has no Poisson loss.
        NotFittedError
            If the model is not fitted.

        Warns
        -----
        UserWarning
            When settings that only change training (``dropout``,
            ``class_weight``, solver='adamw', learning_rate='cosine', the
            'huber' and 'absolute_error' losses) are replaced by
            scikit-learn's nearest ones: predictions are identical, but
            refitting the returned estimator trains differently.

        See Also
        --------
        fastmlp.from_sklearn : The conversion the other way.
        """
        return to_sklearn(self)

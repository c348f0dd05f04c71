"""The scikit-learn layer: MLPClassifier and MLPRegressor.

Validation, labels, random state, the epoch loop's Python part (early
stopping, learning-rate schedules, verbose output, convergence), warm start
and partial_fit live here and follow scikit-learn 1.9's
``sklearn.neural_network`` step for step, so that the same data, parameters and
random_state train the same model. The arithmetic runs in ``_engine``; this
module never imports numba.
"""

import copy
import warnings
from abc import ABC, abstractmethod
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import scipy.optimize
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.fixes import parse_version, sp_version
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    validate_data,
)

from fastmlp import _engine, _jacobian, _registry
from fastmlp._callbacks import (
    CALLBACK_ATTRIBUTES,
    CallbackSupportMixin,
    FitTasks,
    callback_management_context,
)

_STOCHASTIC_SOLVERS = _registry.STOCHASTIC_SOLVERS

# scikit-learn >= 1.7's compute_class_weight("balanced") takes sample_weight
_SKLEARN_WEIGHTED_BALANCE = parse_version(sklearn.__version__) >= parse_version("1.7")
# scipy >= 1.11 gives callbacks the loss and stops on StopIteration
_SCIPY_CALLBACK_STOPS = sp_version >= parse_version("1.11")

_NON_FINITE_WEIGHTS = (
    "Solver produced non-finite parameter weights. The input data may"
    " contain large values and need to be preprocessed."
)


class InconsistentVersionWarning(UserWarning):
    """A model is loaded by a fastmlp version other than the one that saved it."""


class BaseMultilayerPerceptron(CallbackSupportMixin, BaseEstimator, ABC):
    """Base class for fastmlp's MLP classifier and regressor.

    Use :class:`MLPClassifier` or :class:`MLPRegressor`.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [
            StrOptions(set(_registry.HIDDEN_ACTIVATION_NAMES)),
            list,
            tuple,
        ],
        "solver": [StrOptions({"lbfgs", "sgd", "adam", "adamw"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive", "cosine"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
    }

    @abstractmethod
    def __init__(
        self,
        hidden_layer_sizes,
        activation,
        solver,
        alpha,
        batch_size,
        learning_rate,
        learning_rate_init,
        power_t,
        max_iter,
        loss,
        shuffle,
        random_state,
        tol,
        verbose,
        warm_start,
        momentum,
        nesterovs_momentum,
        early_stopping,
        validation_fraction,
        beta_1,
        beta_2,
        epsilon,
        n_iter_no_change,
        max_fun,
        dropout,
    ):
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout

    # ------------------------------------------------------------- persistence
    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never edit the live model
        state.pop("_linked_weights", None)  # coefs_ hold the same numbers
        state.pop("_network_cache", None)
        state["_fastmlp_version"] = _fastmlp_version()
        return state

    def __setstate__(self, state):
        saved = state.pop("_fastmlp_version", "unknown (before 0.1.0)")
        current = _fastmlp_version()
        if saved != current:
            _warn(
                f"Loading {type(self).__name__} saved by fastmlp {saved} with "
                f"fastmlp {current}. This might lead to breaking code or invalid "
                "results; refit the model with this version to be safe.",
                InconsistentVersionWarning,
            )
        super().__setstate__(state)
        optimizer = getattr(self, "_optimizer", None)
        if optimizer is not None:  # e.g. joblib.load(..., mmap_mode="r")
            optimizer.make_writable()
        self._relink_weights()

    # ----------------------------------------------------------------- network
    def _network(self):
        """The engine's view of the current coefs_ (shape, activations, loss)."""
        units = (self.coefs_[0].shape[0],) + tuple(c.shape[1] for c in self.coefs_)
        activations = tuple(self._hidden_activations(len(units) - 2))
        loss = self._training_loss_name()
        dtype = self.coefs_[0].dtype
        key = (units, activations, loss, self._loss_param(), dtype)
        cached = getattr(self, "_network_cache", None)
        if cached is None or cached[0] != key:
            network = self._make_network(units, key[-1])
            cached = self._network_cache = (key, network)
        return cached[1]

    def _make_network(self, layer_units, dtype):
        return _engine.Network(
            layer_units,
            self._hidden_activations(len(layer_units) - 2),
            self._training_loss_name(),
            dtype,
            loss_param=self._loss_param(),
        )

    def _training_loss_name(self):
        if self.loss == "log_loss" and self.out_activation_ == "logistic":
            return "binary_log_loss"
        return self.loss

    def _loss_param(self):
        return 0.0

    def _hidden_activations(self, n_hidden):
        """One activation name per hidden layer, from ``activation``."""
        if isinstance(self.activation, str):
            return [self.activation] * n_hidden
        activations = list(self.activation)
        if len(activations) != n_hidden:
            raise ValueError(
                f"activation has {len(activations)} entries but the network has "
                f"{n_hidden} hidden layers; give one activation per hidden layer "
                "or a single name."
            )
        for name in activations:
            if name not in _registry.HIDDEN_ACTIVATION_NAMES:
                raise ValueError(
                    f"activation entries must be in "
                    f"{sorted(_registry.HIDDEN_ACTIVATION_NAMES)}, got {name!r}."
                )
        return activations

    def _dropout_rates(self, n_hidden):
        """One dropout rate per hidden layer, from ``dropout``."""
        if np.ndim(self.dropout) == 0:
            rates = np.full(n_hidden, float(self.dropout))
        else:
            rates = np.asarray(self.dropout, dtype=np.float64).ravel()
            if rates.shape[0] != n_hidden:
                raise ValueError(
                    f"dropout has {rates.shape[0]} entries but the network has "
                    f"{n_hidden} hidden layers; give one rate per hidden layer or "
                    "a single float."
                )
        if not np.all((rates >= 0.0) & (rates < 1.0)):
            raise ValueError(f"dropout rates must be in [0, 1), got {self.dropout}.")
        if np.any(rates > 0.0) and self.solver not in _STOCHASTIC_SOLVERS:
            raise ValueError(
                "dropout needs a stochastic solver ('sgd', 'adam' or 'adamw'); "
                f"solver={self.solver!r} minimizes a deterministic objective."
            )
        return rates

    def _set_weights(self, network, params):
        """Store the flat parameter vector, with coefs_ and intercepts_ as views."""
        self.coefs_, self.intercepts_ = network.unpack(params)
        self._linked_weights = (params, tuple(self.coefs_), tuple(self.intercepts_))

    def _fit_state(self, network, params, **attributes):
        """Reconstruction attributes for callbacks: this model with ``params``
        as its weights (and ``attributes``), as copies training leaves alone."""
        params = params.copy()
        coefs, intercepts = network.unpack(params)
        state = {
            "coefs_": coefs,
            "intercepts_": intercepts,
            "_linked_weights": (params, tuple(coefs), tuple(intercepts)),
        }
        for name in ("loss_curve_", "validation_scores_", "validation_loss_curve_"):
            if getattr(self, name, None) is not None:
                state[name] = list(getattr(self, name))
        for name in ("_optimizer", "_random_state"):
            if hasattr(self, name):
                state[name] = copy.deepcopy(getattr(self, name))
        state.update(attributes)
        return state

    def _weights(self, network):
        """The flat parameter vector of the current coefs_ and intercepts_.

        Free while coefs_ and intercepts_ hold the views ``_set_weights`` made
        (edits to them in place are edits of the vector); otherwise (arrays
        assigned by the user) a packed copy, and the model is left unchanged.
        """
        linked = getattr(self, "_linked_weights", None)
        if (
            linked is not None
            and linked[0].dtype == network.dtype
            and _same_objects(linked[1], self.coefs_)
            and _same_objects(linked[2], self.intercepts_)
        ):
            return linked[0]
        return network.pack(self.coefs_, self.intercepts_)

    def _relink_weights(self):
        """Make coefs_ and intercepts_ views of one flat vector again (after a
        copy of the model's state broke the link)."""
        if hasattr(self, "coefs_"):
            network = self._network()
            self._set_weights(network, network.pack(self.coefs_, self.intercepts_))

    def _validated_for_predict(self, X):
        """validate_data(reset=False), with a fast path for plain float arrays."""
        if (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype in (np.float32, np.float64)
            and X.shape[0] > 0
            and X.shape[1] == getattr(self, "n_features_in_", -1)
            and not hasattr(self, "feature_names_in_")
            and np.isfinite(X).all()
        ):
            return X
        return validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)

    def _forward_pass_fast(self, X, check_input=True):
        """The network's output (after the output activation) for X."""
        if check_input:
            X = self._validated_for_predict(X)
        network = self._network()
        params = self._weights(network)
        # scikit-learn's dtype: float64 X through float32 weights is float64
        dtype = np.result_type(X.dtype, network.dtype)
        if dtype != network.dtype:
            network = network.with_dtype(dtype)
            params = params.astype(dtype)
        return network.predict(X, params)

    def jacobian(self, X, mode="auto"):
        """Derivatives of the model's output with respect to each input feature.

        The output is the network's output units after the output activation:
        ``predict_proba`` of a multiclass classifier (softmax, one column per
        class), the logistic units of a binary or multilabel classifier (one
        column per label; a binary classifier has a single column, the
        probability of ``classes_[1]``, whereas ``predict_proba`` has two,
        the first being one minus the second, so its derivative is the
        negative of this one), and ``predict`` of a regressor (the identity
        output, or ``exp`` with ``loss='poisson'``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data. Sparse input is made dense one chunk of rows at a
            time.

        mode : {'auto', 'forward', 'reverse'}, default='auto'
            'forward' pushes one tangent per input feature through the layers
            (forward-mode differentiation), 'reverse' pulls one cotangent per
            output back through them (reverse mode, the backward pass of
            training). Both give the same Jacobian up to rounding. 'auto'
            picks the one with fewer multiply-adds for this network's layer
            sizes: forward costs grow with n_features, reverse costs with
            n_outputs (see ``fastmlp._jacobian`` for the rule).

        Returns
        -------
        J : ndarray of shape (n_samples, n_outputs, n_features)
            ``J[i, o, k]`` is the derivative of output ``o`` with respect to
            feature ``k`` at sample ``i``, in the model's dtype. Always 3-D,
            also for a single output.
        """
        self._check_is_fitted()
        _jacobian.check_mode(mode)
        X = self._validated_for_predict(X)
        network = self._network()
        return _jacobian.jacobian(network, self._weights(network), X, mode)

    def _check_is_fitted(self):
        if not hasattr(self, "coefs_"):
            check_is_fitted(self)  # raises NotFittedError

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coefs_")

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
        from fastmlp._interop import to_sklearn

        return to_sklearn(self)

    # ----------------------------------------------------------------- fitting
    def _initialize(self, y, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)

        if not is_classifier(self):
            self.out_activation_ = _registry.OUTPUT_ACTIVATION_OF_LOSS[self.loss]
        elif self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:
            self.out_activation_ = "logistic"

        self.coefs_ = []
        self.intercepts_ = []
        activations = self._hidden_activations(len(layer_units) - 2)
        for layer, (fan_in, fan_out) in enumerate(
            zip(layer_units[:-1], layer_units[1:])
        ):
            # scikit-learn sizes every layer by its one hidden activation; with
            # one per layer, a layer by its own (the output layer by the last)
            if isinstance(self.activation, str):
                activation = self.activation
            elif not activations:
                activation = "relu"
            else:
                activation = activations[min(layer, len(activations) - 1)]
            coef_init, intercept_init = self._init_coef(
                fan_in, fan_out, dtype, activation
            )
            self.coefs_.append(coef_init)
            self.intercepts_.append(intercept_init)

        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [i.copy() for i in self.intercepts_]

        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _init_coef(self, fan_in, fan_out, dtype, activation):
        # Glorot-uniform, drawn in scikit-learn's order: weights, then biases
        init_bound = np.sqrt(_engine.init_factor(activation) / (fan_in + fan_out))
        coef_init = self._random_state.uniform(
            -init_bound, init_bound, (fan_in, fan_out)
        )
        intercept_init = self._random_state.uniform(-init_bound, init_bound, fan_out)
        return coef_init.astype(dtype, copy=False), intercept_init.astype(
            dtype, copy=False
        )

    @contextmanager
    def _fitting(self):
        """Around fit and partial_fit: the callbacks' teardown always runs,
        and then a failure leaves the model as it was before the call."""
        with self._unchanged_on_failure(), callback_management_context(self):
            yield

    @contextmanager
    def _unchanged_on_failure(self):
        """Restore every attribute if the block raises: a failed fit, warm
        start or partial_fit (a raising callback too) leaves the model as it
        was before the call. The callbacks are kept, not restored copies."""
        kept = {k: v for k, v in self.__dict__.items() if k in CALLBACK_ATTRIBUTES}
        saved_state = copy.deepcopy(
            {k: v for k, v in self.__dict__.items() if k not in kept}
        )
        try:
            yield
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved_state)
            self.__dict__.update(kept)  # the callbacks themselves, not copies
            self._relink_weights()
            raise

    def _fit(self, X, y, sample_weight=None, incremental=False, eval_set=None):
        X_given, y_given, sample_weight_given = X, y, sample_weight
        hidden_layer_sizes = self.hidden_layer_sizes
        if not hasattr(hidden_layer_sizes, "__iter__"):
            hidden_layer_sizes = [hidden_layer_sizes]
        hidden_layer_sizes = list(hidden_layer_sizes)
        if np.any(np.array(hidden_layer_sizes) <= 0):
            raise ValueError(
                "hidden_layer_sizes must be > 0, got %s." % hidden_layer_sizes
            )
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        if not first_pass:
            # a warm start or partial_fit continues the fitted network
            hidden_layer_sizes = self._fitted_hidden_layer_sizes(hidden_layer_sizes)

        self._hidden_activations(len(hidden_layer_sizes))  # raises if invalid
        dropout = self._dropout_rates(len(hidden_layer_sizes))

        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        if not first_pass:
            # the model keeps its dtype, as scikit-learn's does
            X = X.astype(self.coefs_[0].dtype, copy=False)
        n_samples, n_features = X.shape
        if sample_weight is not None:
            # scikit-learn's MLP takes negative weights silently: they turn a
            # sample's loss into one to maximize
            sample_weight = _check_sample_weight(
                sample_weight, X, ensure_non_negative=True
            )
        sample_weight = self._with_class_weight(y, sample_weight, incremental)
        if eval_set is not None:
            eval_set = self._validate_eval_set(eval_set, X.dtype)
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        if not first_pass and y.shape[1] != self.coefs_[-1].shape[1]:
            raise ValueError(
                f"y has {y.shape[1]} output column(s), but the fitted network "
                f"has {self.coefs_[-1].shape[1]} output unit(s); a warm start or "
                "partial_fit continues the fitted network. Fit with "
                "warm_start=False to train a new network for this target."
            )
        self.n_outputs_ = y.shape[1]
        layer_units = [n_features] + hidden_layer_sizes + [self.n_outputs_]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, layer_units, X.dtype)

        tasks = FitTasks(
            self,
            "partial_fit" if incremental else "fit",
            1 if incremental else self.max_iter,
            X_given,
            y_given,
            sample_weight_given,
        )
        # bit-identical for any BLAS setting; threads: for split batches
        with _engine.training_threads() as threads:
            if self.solver in _STOCHASTIC_SOLVERS:
                self._fit_stochastic(
                    X,
                    y,
                    sample_weight,
                    layer_units,
                    incremental,
                    dropout,
                    eval_set,
                    tasks,
                    threads,
                )
            else:
                self._fit_lbfgs(X, y, sample_weight, layer_units, eval_set, tasks)

        weights = self.coefs_ + self.intercepts_
        if not all(np.isfinite(w).all() for w in weights):
            raise ValueError(_NON_FINITE_WEIGHTS)
        network = self._network()  # cached now, so predict leaves __dict__ alone
        tasks.end_fit(lambda: self._fit_state(network, self._weights(network)))
        return self

    def _fitted_hidden_layer_sizes(self, hidden_layer_sizes):
        """The fitted network's hidden layer sizes, which a warm start or
        partial_fit keeps training, as scikit-learn's MLP does when
        ``hidden_layer_sizes`` changed widths since; a changed number of
        hidden layers raises ValueError."""
        fitted = [c.shape[1] for c in self.coefs_[:-1]]
        if len(fitted) != len(hidden_layer_sizes):
            raise ValueError(
                f"hidden_layer_sizes={tuple(hidden_layer_sizes)} has "
                f"{len(hidden_layer_sizes)} hidden layer(s), but the fitted "
                f"network has {len(fitted)} ({tuple(fitted)}); a warm start or "
                "partial_fit continues the fitted network. Fit with "
                "warm_start=False to train a new network of this shape."
            )
        return fitted

    def _training_arrays(self, network, y, sample_weight, n_samples):
        if sample_weight is None:
            sample_weight = np.ones(n_samples, dtype=network.dtype)
        return y.astype(network.dtype), sample_weight

    def _with_class_weight(self, y, sample_weight, incremental):
        """Sample weights times class weights (classifiers with class_weight)."""
        return sample_weight

    def _validate_eval_set(self, eval_set, dtype):
        """``(X_val, Y_val, sample_weight_val)`` from a user's ``eval_set``.

        ``Y_val`` is the 2-D training target (binarized labels for a
        classifier); the labels themselves are scored through ``_score``.
        """
        if not isinstance(eval_set, (tuple, list)) or len(eval_set) not in (2, 3):
            raise ValueError(
                "eval_set must be a tuple (X_val, y_val) or "
                "(X_val, y_val, sample_weight_val)."
            )
        X_val, y_val = eval_set[0], eval_set[1]
        X_val = validate_data(
            self, X_val, accept_sparse=["csr", "csc"], dtype=dtype, reset=False
        )
        y_val = self._validate_eval_target(y_val)
        if y_val.shape[0] != X_val.shape[0]:
            raise ValueError(
                f"eval_set has {X_val.shape[0]} samples in X_val but "
                f"{y_val.shape[0]} in y_val."
            )
        weight_val = eval_set[2] if len(eval_set) == 3 else None
        if weight_val is not None:
            weight_val = _check_sample_weight(
                weight_val, X_val, ensure_non_negative=True
            )
        return X_val, y_val, weight_val

    def _validation_loss(self, network, X_val, y_val, sample_weight_val):
        """Mean data loss (no penalty) on a validation set, in float64."""
        Y_val = self._training_target(y_val).reshape(X_val.shape[0], -1)
        if sample_weight_val is None:
            sample_weight_val = np.ones(X_val.shape[0])
        params = self._weights(network)
        return float(network.mean_loss(X_val, Y_val, sample_weight_val, params))

    def _training_target(self, y):
        """The network's target for ``y`` as the user gives it."""
        return np.asarray(y, dtype=np.float64)

    def _fit_lbfgs(self, X, y, sample_weight, layer_units, eval_set, tasks):
        network = self._make_network(layer_units, X.dtype)
        y, sample_weight = self._training_arrays(network, y, sample_weight, X.shape[0])
        objective = _engine.FullBatchObjective(network, X, y, sample_weight, self.alpha)
        iprint = 1 if (self.verbose is True or self.verbose >= 1) else -1
        options = {"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol}
        if sp_version < parse_version("1.15"):
            options["iprint"] = iprint
        self._start_validation_curve(eval_set is not None)
        x0 = network.pack(self.coefs_, self.intercepts_).astype(np.float64)
        # the last iterate (weights, loss, iteration count), for the callbacks
        iterate = (x0, None, 0)
        stopped = False

        def state(x, loss, n_iter):
            attributes = {"n_iter_": n_iter}
            if loss is not None:
                attributes["loss_"] = loss
            params = x.astype(network.dtype, copy=False)
            return lambda: self._fit_state(network, params, **attributes)

        def fun(packed):
            # an iteration's first evaluation begins its callback task
            if not tasks.in_subtask:
                tasks.begin("iteration", state(*iterate))
            return objective(packed)

        def on_iteration(x, loss):
            nonlocal iterate, stopped
            if eval_set is not None:
                self._set_weights(network, x.astype(X.dtype))
                self.validation_loss_curve_.append(
                    self._validation_loss(network, *eval_set)
                )
            if tasks.active:
                iterate = (
                    x.copy(),
                    None if loss is None else float(loss),
                    iterate[2] + 1,
                )
                stopped = tasks.end(state(*iterate)) and _SCIPY_CALLBACK_STOPS
            return stopped

        needs_callback = eval_set is not None or tasks.active
        opt_res = scipy.optimize.minimize(
            fun if tasks.active else objective,
            x0,
            method="L-BFGS-B",
            jac=True,
            options=options,
            callback=_scipy_callback(on_iteration) if needs_callback else None,
        )
        if not np.isfinite(opt_res.fun):
            # the loss or gradient overflowed (e.g. float32 with huge inputs):
            # scipy then stops at the initial weights with a NaN loss
            raise ValueError(_NON_FINITE_WEIGHTS)
        self.n_iter_ = _lbfgs_iterations(opt_res, self.max_iter, warn=not stopped)
        self.loss_ = opt_res.fun
        self._set_weights(network, opt_res.x.astype(X.dtype))

    def _start_validation_curve(self, has_validation_set):
        """validation_loss_curve_: continued by a warm start, else restarted;
        None without a validation set."""
        if not has_validation_set:
            self.validation_loss_curve_ = None
        elif getattr(self, "validation_loss_curve_", None) is None or self.n_iter_ == 0:
            self.validation_loss_curve_ = []

    def _fit_stochastic(
        self,
        X,
        y,
        sample_weight,
        layer_units,
        incremental,
        dropout,
        eval_set,
        tasks,
        threads,
    ):
        network = self._make_network(layer_units, X.dtype)
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = _engine.OptimizerState(
                self.solver,
                network.n_params,
                X.dtype,
                learning_rate_init=self.learning_rate_init,
                lr_schedule=self.learning_rate,
                momentum=self.momentum,
                nesterov=self.nesterovs_momentum,
                power_t=self.power_t,
                beta_1=self.beta_1,
                beta_2=self.beta_2,
                epsilon=self.epsilon,
                max_iter=self.max_iter,
            )

        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        if eval_set is not None:
            X_train, y_train, sample_weight_train = X, y, sample_weight
            X_val, y_val, sample_weight_val = eval_set
        elif early_stopping:
            # don't stratify in multilabel classification
            should_stratify = is_classifier(self) and self.n_outputs_ == 1
            stratify = y if should_stratify else None
            arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
            split = train_test_split(
                *arrays,
                random_state=self._random_state,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            X_train, X_val, y_train, y_val = split[:4]
            sample_weight_train, sample_weight_val = (
                (None, None) if sample_weight is None else split[4:]
            )
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset."
                )
            if is_classifier(self):
                y_val = self._label_binarizer.inverse_transform(y_val)
        else:
            X_train, y_train, sample_weight_train = X, y, sample_weight
            X_val = y_val = sample_weight_val = None

        n_samples = X_train.shape[0]
        sample_idx = np.arange(n_samples, dtype=int)
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                _warn(
                    "Got `batch_size` less than 1 or larger than "
                    "sample size. It is going to be clipped"
                )
            batch_size = np.clip(self.batch_size, 1, n_samples)

        y_train, sample_weight_train = self._training_arrays(
            network, y_train, sample_weight_train, n_samples
        )
        params = network.pack(self.coefs_, self.intercepts_)
        self._set_weights(network, params)  # coefs_ follow the training
        trainer = _engine.StochasticTrainer(
            network,
            X_train,
            y_train,
            sample_weight_train,
            params,
            self._optimizer,
            batch_size,
            self.alpha,
            dropout,
            threads,
        )
        self._start_validation_curve(X_val is not None)

        def state():
            # as if fit stopped now: with early stopping, the best weights
            if early_stopping:
                params = network.pack(self._best_coefs, self._best_intercepts)
            else:
                params = self._weights(network)
            return self._fit_state(network, params)

        checkpoint = None
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                checkpoint = self._epoch_checkpoint(params)
                tasks.begin("epoch", state)
                if self.shuffle:
                    sample_idx = _shuffled(sample_idx, self._random_state)
                # drawn only with dropout, so that without it the draws (and
                # the model) stay scikit-learn's
                seed = self._random_state.randint(2**31) if dropout.any() else -1
                self.loss_ = trainer.run_epoch(
                    sample_idx if self.shuffle else None, seed
                )
                self.n_iter_ += 1
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                if X_val is not None:
                    self.validation_loss_curve_.append(
                        self._validation_loss(network, X_val, y_val, sample_weight_val)
                    )

                self._update_no_improvement_count(
                    early_stopping, X_val, y_val, sample_weight_val
                )
                self._optimizer.iteration_ends(self.t_)

                converged = False
                if self._no_improvement_count > self.n_iter_no_change:
                    if early_stopping:
                        msg = (
                            "Validation score did not improve more than "
                            "tol=%f for %d consecutive epochs."
                            % (self.tol, self.n_iter_no_change)
                        )
                    else:
                        msg = (
                            "Training loss did not improve more than tol=%f"
                            " for %d consecutive epochs."
                            % (self.tol, self.n_iter_no_change)
                        )
                    converged = self._optimizer.trigger_stopping(msg, self.verbose)
                    if not converged:
                        self._no_improvement_count = 0
                checkpoint = None  # the epoch is recorded

                if not (converged or incremental) and self.n_iter_ == self.max_iter:
                    _warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet."
                        % self.max_iter,
                        ConvergenceWarning,
                    )
                # a callback's request to stop ends fit like convergence does
                if tasks.end(state) or converged or incremental:
                    break
        except KeyboardInterrupt:
            if checkpoint is not None:
                self._roll_back_epoch(checkpoint, params)
            _warn("Training interrupted by user.")

        if early_stopping:
            self._set_weights(
                network, network.pack(self._best_coefs, self._best_intercepts)
            )

    def _epoch_checkpoint(self, params):
        """The state an interrupted epoch rolls back to: the attributes, the
        flat weights and the optimizer's state at the start of the epoch.

        A Ctrl-C during the compiled epoch surfaces as KeyboardInterrupt only
        when it returns, after it updated the weights in place but before the
        epoch is recorded; rolling back keeps the last recorded epoch.
        """
        optimizer = self._optimizer
        return (
            {k: v.copy() if isinstance(v, list) else v for k, v in vars(self).items()},
            params.copy(),
            dict(vars(optimizer)),
            optimizer.state_1.copy(),
            optimizer.state_2.copy(),
        )

    def _roll_back_epoch(self, checkpoint, params):
        attributes, weights, optimizer_attributes, state_1, state_2 = checkpoint
        self.__dict__.clear()
        self.__dict__.update(attributes)
        params[:] = weights
        vars(self._optimizer).update(optimizer_attributes)
        self._optimizer.state_1[:] = state_1
        self._optimizer.state_2[:] = state_2

    def _update_no_improvement_count(self, early_stopping, X, y, sample_weight):
        if early_stopping:
            val_score = self._score(X, y, sample_weight=sample_weight)
            self.validation_scores_.append(val_score)
            if self.verbose:
                print("Validation score: %f" % self.validation_scores_[-1])
            last_valid_score = self.validation_scores_[-1]
            if last_valid_score < (self.best_validation_score_ + self.tol):
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last_valid_score > self.best_validation_score_:
                self.best_validation_score_ = last_valid_score
                self._best_coefs = [c.copy() for c in self.coefs_]
                self._best_intercepts = [i.copy() for i in self.intercepts_]
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def fit(self, X, y, sample_weight=None, eval_set=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers in
            regression).

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        eval_set : tuple (X_val, y_val) or (X_val, y_val, sample_weight_val), \
                default=None
            A validation set. Its loss (the data loss, without the L2 term) is
            recorded after every epoch (L-BFGS: every iteration) in
            ``validation_loss_curve_``, and with ``early_stopping=True`` it
            replaces the ``validation_fraction`` split: all of X trains and
            ``validation_scores_`` are scores on this set.

        Returns
        -------
        self : object
            Returns a trained MLP model.

        Notes
        -----
        Callbacks set with ``set_callbacks`` see this call as a task named
        "fit" with one subtask per epoch (L-BFGS: per iteration); a callback
        whose ``on_fit_task_end`` returns True stops training after that
        subtask (L-BFGS: with scipy >= 1.11), and one that raises leaves the
        model as it was before the call.
        """
        self._validate_params()
        with self._fitting():
            return self._fit(
                X, y, sample_weight=sample_weight, incremental=False, eval_set=eval_set
            )

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic"
                " optimizers. %s is not stochastic." % self.solver
            )
        return True

    def _score_with_function(self, X, y, sample_weight, score_function):
        """Score without input validation (used for early stopping)."""
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return score_function(y, y_pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _same_objects(expected, actual):
    return len(expected) == len(actual) and all(
        a is b for a, b in zip(expected, actual)
    )


def _fastmlp_version():
    import fastmlp

    return fastmlp.__version__


def _shuffled(sample_idx, random_state):
    """``sklearn.utils.shuffle(sample_idx, random_state=random_state)``: the
    same draws from the same generator, without its validation overhead."""
    permutation = np.arange(sample_idx.shape[0])
    random_state.shuffle(permutation)
    return sample_idx[permutation]


def _scipy_callback(on_iteration):
    """A ``scipy.optimize.minimize`` callback calling ``on_iteration(x, loss)``
    after each iteration; True from it stops the minimizer (scipy >= 1.11;
    before, the loss is None and the request is ignored)."""
    if _SCIPY_CALLBACK_STOPS:

        def callback(intermediate_result):
            if on_iteration(intermediate_result.x, intermediate_result.fun):
                raise StopIteration

    else:

        def callback(xk):
            on_iteration(xk, None)

    return callback


def _warn(message, category=UserWarning):
    """Warn from fastmlp, as scikit-learn's MLP warns from sklearn.

    scikit-learn attributes its MLP's warnings to
    ``sklearn.neural_network._multilayer_perceptron``; these are attributed to
    ``fastmlp._estimators`` for every solver, so that
    ``warnings.filterwarnings(..., module="fastmlp")`` selects them as
    ``module="sklearn"`` selects scikit-learn's (``module="sklearn|fastmlp"``
    selects both).
    """
    warnings.warn(message, category, stacklevel=2)


def _lbfgs_iterations(result, max_iter, warn=True):
    """Iterations L-BFGS ran; warns as scikit-learn does when it did not
    converge (unless ``warn`` is False: a callback stopped it)."""
    n_iter = min(result.nit, max_iter)
    if warn and result.status != 0:
        message = (
            f"lbfgs failed to converge after {n_iter} iteration(s) "
            f"(status={result.status}):\n{result.message}\n"
        )
        if n_iter == max_iter:
            message += (
                "\nIncrease the number of iterations to improve the "
                f"convergence (max_iter={max_iter})."
            )
        message += (
            "\nYou might also want to scale the data as shown in:\n"
            "    https://scikit-learn.org/stable/modules/preprocessing.html"
        )
        _warn(message, ConvergenceWarning)
    return n_iter


_COMMON_PARAMETERS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.

    activation : str or list of str, default='relu'
        Activation function for the hidden layers: 'identity', 'logistic',
        'tanh', 'relu' (scikit-learn's), 'leaky_relu' (slope 0.01 below 0),
        'elu', 'gelu' (the exact, erf form), 'silu' or 'softplus'; or a list
        with one of those names per hidden layer.

    solver : {'lbfgs', 'sgd', 'adam', 'adamw'}, default='adam'
        The solver for weight optimization: quasi-Newton L-BFGS, stochastic
        gradient descent, Adam, or AdamW (Adam with decoupled weight decay:
        ``alpha`` then shrinks the coefficients by ``learning_rate * alpha``
        per step instead of adding an L2 term to the loss).

    alpha : float, default=0.0001
        Strength of the L2 regularization term, divided by the sample size
        (the sum of sample weights) when added to the loss; AdamW's weight
        decay with solver='adamw'.

    batch_size : int, default='auto'
        Size of minibatches for the stochastic solvers; 'auto' means
        ``min(200, n_samples)``. Unused by 'lbfgs'.

    learning_rate : {'constant', 'invscaling', 'adaptive', 'cosine'}, \
            default='constant'
        Learning rate schedule. 'invscaling' and 'adaptive' apply to
        solver='sgd' as in scikit-learn; 'cosine' applies to every stochastic
        solver and anneals the rate from ``learning_rate_init`` to 0 over
        ``max_iter`` epochs: ``learning_rate_init * (1 + cos(pi * t /
        max_iter)) / 2`` after epoch ``t``.

    learning_rate_init : float, default=0.001
        The initial learning rate of the stochastic solvers.

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.

    max_iter : int, default=200
        Maximum number of iterations; epochs for the stochastic solvers.

    shuffle : bool, default=True
        Whether to shuffle samples in each epoch (stochastic solvers).

    random_state : int, RandomState instance, default=None
        Seeds weight initialization, the early-stopping split and the
        shuffling, exactly as in scikit-learn.

    tol : float, default=1e-4
        Tolerance for the optimization.

    verbose : bool, default=False
        Whether to print progress messages to stdout.

    warm_start : bool, default=False
        Reuse the solution of the previous call to fit as initialization.

    momentum : float, default=0.9
        Momentum of solver='sgd'.

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum (solver='sgd', momentum > 0).

    early_stopping : bool, default=False
        Whether to set aside ``validation_fraction`` of the data and stop when
        the validation score stops improving (stochastic solvers).

    validation_fraction : float, default=0.1
        Share of the training data set aside for early stopping.

    beta_1 : float, default=0.9
        Decay rate of Adam's first-moment estimates.

    beta_2 : float, default=0.999
        Decay rate of Adam's second-moment estimates.

    epsilon : float, default=1e-8
        Adam's numerical-stability constant.

    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping.

    max_fun : int, default=15000
        Maximum number of loss function calls of solver='lbfgs'.

    dropout : float or array-like of shape (n_layers - 2,), default=0.0
        Dropout rate of the hidden layers' outputs (one float for all, or one
        per hidden layer): inverted dropout during training with the
        stochastic solvers, reproducible with ``random_state``; never applied
        at predict time.
"""

_CALLBACKS_DOC = """
    Supports scikit-learn's callbacks (scikit-learn >= 1.9): ``set_callbacks``
    with e.g. :class:`sklearn.callback.ProgressBar` or
    :class:`sklearn.callback.ScoringMonitor`. Each ``fit`` or ``partial_fit``
    call is a task with one subtask per epoch (L-BFGS: per iteration), and
    each subtask can give the callbacks the model as if fit had stopped there.
"""

_COMMON_ATTRIBUTES_DOC = """
    loss_ : float
        The current loss computed with the loss function.

    best_loss_ : float or None
        The minimum loss reached during fitting (None with early stopping).

    loss_curve_ : list of shape (`n_iter_`,)
        The loss at each iteration (stochastic solvers).

    validation_scores_ : list of shape (`n_iter_`,) or None
        The validation score at each iteration when ``early_stopping=True``.

    best_validation_score_ : float or None
        The best validation score when ``early_stopping=True``.

    validation_loss_curve_ : list of shape (`n_iter_`,) or None
        The loss (data loss, without the L2 term) on the validation set after
        each iteration, whenever there is one (``eval_set`` given to fit, or
        split off by ``early_stopping``); None otherwise.

    t_ : int
        The number of training samples seen by the solver.

    coefs_ : list of shape (n_layers - 1,)
        The weight matrix of each layer.

    intercepts_ : list of shape (n_layers - 1,)
        The bias vector of each layer.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when they are all strings.

    n_iter_ : int
        The number of iterations the solver has run.

    n_layers_ : int
        Number of layers.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation function.
"""


class MLPClassifier(ClassifierMixin, BaseMultilayerPerceptron):
    __doc__ = (
        """Multi-layer perceptron classifier, a drop-in for scikit-learn's.

    Optimizes the log-loss with L-BFGS, SGD or Adam. Same parameters, defaults,
    attributes and results as :class:`sklearn.neural_network.MLPClassifier`;
    the training runs in compiled code.
"""
        + _CALLBACKS_DOC
        + _COMMON_PARAMETERS_DOC
        + """
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into the sample weights as
        scikit-learn's linear models do: a dict ``{class_label: weight}``, or
        'balanced' for ``n_samples / (n_classes * np.bincount(y))`` (weighted
        by ``sample_weight`` when given). Not for multilabel targets, and
        'balanced' not for partial_fit.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels for each output.
"""
        + _COMMON_ATTRIBUTES_DOC
        + """
    Examples
    --------
    >>> from fastmlp import MLPClassifier
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(n_samples=100, random_state=1)
    >>> clf = MLPClassifier(random_state=1, max_iter=300).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
"""
    )

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        class_weight=None,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss="log_loss",
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dropout=dropout,
        )
        self.class_weight = class_weight

    def _with_class_weight(self, y, sample_weight, incremental):
        if self.class_weight is None:
            return sample_weight
        if self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError("class_weight is not supported for multilabel targets.")
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit. In "
                "order to use 'balanced' weights, use compute_class_weight("
                "'balanced', classes=classes, y=y). In place of y you can use a "
                "large enough sample of the full training set target to properly "
                "estimate the class frequency distributions. Pass the resulting "
                "weights as the class_weight parameter."
            )
        if isinstance(self.class_weight, dict):
            values = np.asarray(list(self.class_weight.values()), dtype=np.float64)
            if not np.all(np.isfinite(values) & (values >= 0)):
                raise ValueError(
                    "class_weight values must be finite and non-negative, got "
                    f"{self.class_weight}."
                )
        # y is binarized: one 0/1 column (binary) or one-hot (multiclass)
        if y.shape[1] == 1:
            class_index = y[:, 0].astype(np.intp)
        else:
            class_index = np.argmax(y, axis=1)
        if self.class_weight != "balanced" or sample_weight is None:
            weights = compute_class_weight(
                self.class_weight, classes=self.classes_, y=self.classes_[class_index]
            )
        elif _SKLEARN_WEIGHTED_BALANCE:
            weights = compute_class_weight(
                "balanced",
                classes=self.classes_,
                y=self.classes_[class_index],
                sample_weight=sample_weight,
            )
        else:  # scikit-learn < 1.7: its weighted formula, written out
            class_totals = np.bincount(
                class_index, weights=sample_weight, minlength=len(self.classes_)
            )
            weights = class_totals.sum() / (len(self.classes_) * class_totals)
        sample_weight = weights[class_index] * (
            1.0 if sample_weight is None else sample_weight
        )
        if not np.any(sample_weight):
            raise ValueError(
                "Sample weights must contain at least one non-zero number: "
                "class_weight gives every sample a zero weight."
            )
        return sample_weight

    def _validate_eval_target(self, y_val):
        y_val = check_array(y_val, ensure_2d=False, dtype=None)
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = column_or_1d(y_val, warn=True)
        unknown = np.setdiff1d(unique_labels(y_val), self.classes_)
        if len(unknown):
            raise ValueError(
                f"eval_set's y_val has classes not in the training data: {unknown}."
            )
        return y_val

    def _training_target(self, y):
        return self._label_binarizer.transform(y).astype(np.float64)

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)

        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        # bool keeps float32 data from being upcast
        y = self._label_binarizer.transform(y).astype(bool)
        return X, y

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray, shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        self._check_is_fitted()
        return self._predict(X)

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(
            X, y, sample_weight=sample_weight, score_function=accuracy_score
        )

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit; required on the first
            call, optional afterwards.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        self._validate_params()
        with self._fitting():
            if self._check_partial_fit_first_call(classes):
                self._label_binarizer = LabelBinarizer()
                if type_of_target(y).startswith("multilabel"):
                    self._label_binarizer.fit(y)
                else:
                    self._label_binarizer.fit(classes)
            return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _check_partial_fit_first_call(self, classes):
        """True on the first call to partial_fit (and sets classes_ then)."""
        known = getattr(self, "classes_", None)
        if known is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is None:
            return False
        if known is not None:
            if not np.array_equal(known, unique_labels(classes)):
                raise ValueError(
                    "`classes=%r` is not the same as on last call "
                    "to partial_fit, was: %r" % (classes, known)
                )
            return False
        self.classes_ = unique_labels(classes)
        return True

    def predict_log_proba(self, X):
        """Return the log of probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            The log-probability of each class, classes ordered as in
            ``classes_``. Equivalent to ``log(predict_proba(X))``.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The probability of each class, classes ordered as in ``classes_``.
        """
        self._check_is_fitted()
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMultilayerPerceptron):
    __doc__ = (
        """Multi-layer perceptron regressor, a drop-in for scikit-learn's.

    Optimizes the squared error or the Poisson deviance with L-BFGS, SGD or
    Adam. Same parameters, defaults, attributes and results as
    :class:`sklearn.neural_network.MLPRegressor`; the training runs in
    compiled code.
"""
        + _CALLBACKS_DOC
        + """
    Parameters
    ----------
    loss : {'squared_error', 'poisson', 'huber', 'absolute_error'}, \
            default='squared_error'
        The loss; 'poisson' uses an exponential output activation. 'huber'
        is quadratic for residuals up to ``huber_delta`` and linear beyond,
        'absolute_error' is the mean absolute error; both average over the
        outputs and train with their exact gradient.

    huber_delta : float, default=1.0
        Residual size where the 'huber' loss turns from quadratic to linear.
"""
        + _COMMON_PARAMETERS_DOC.replace("    Parameters\n    ----------\n", "")
        + """
    Attributes
    ----------"""
        + _COMMON_ATTRIBUTES_DOC
        + """
    Examples
    --------
    >>> from fastmlp import MLPRegressor
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(n_samples=200, random_state=1)
    >>> reg = MLPRegressor(random_state=1, max_iter=500).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
"""
    )

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson", "huber", "absolute_error"})],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        huber_delta=1.0,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss=loss,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dropout=dropout,
        )
        self.huber_delta = huber_delta

    def _loss_param(self):
        return float(self.huber_delta) if self.loss == "huber" else 0.0

    def _validate_eval_target(self, y_val):
        y_val = check_array(y_val, ensure_2d=False, dtype="numeric")
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = column_or_1d(y_val, warn=True)
        return y_val

    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        self._check_is_fitted()
        return self._predict(X)

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(
            X, y, sample_weight=sample_weight, score_function=r2_score
        )

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            # scikit-learn's MLP trains on to a NaN loss
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for "
                "Poisson regression."
            )
        return X, y

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : ndarray of shape (n_samples,)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        self._validate_params()
        with self._fitting():
            return self._fit(X, y, sample_weight=sample_weight, incremental=True)

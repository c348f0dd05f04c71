"""The scikit-learn layer: MLPClassifier and MLPRegressor.

Validation, labels, random state, the epoch loop's Python part (early
stopping, learning-rate schedules, verbose output, convergence), warm start
and partial_fit live here and follow scikit-learn 1.9's
``sklearn.neural_network`` step for step, so that the same data, parameters and
random_state train the same model. The arithmetic runs in ``_engine``; this
module never imports numba.

``BaseMultilayerPerceptron`` keeps the skeleton of scikit-learn's class (its
methods in scikit-learn's order and names, so that a diff against
``sklearn/neural_network/_multilayer_perceptron.py`` stays readable); the
other concerns are mixins of their own modules: ``_network_config`` (the
network the parameters describe), ``_weights`` (coefs_ and intercepts_ as
views of one flat vector), ``_eval_set`` (validation sets), ``_rollback``
(the snapshot restored on failure), ``_persistence`` (pickling, version
checks), ``_jacobian`` and ``_interop`` (the ``jacobian`` and ``to_sklearn``
methods), ``_callbacks`` (scikit-learn's callbacks) and ``_docstrings`` (the
shared parameter and attribute docs).
"""

import time
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

from fastmlp import _engine, _registry
from fastmlp._callbacks import (
    CallbackSupportMixin,
    FitTasks,
    callback_management_context,
    reconstruction_attributes,
)
from fastmlp._docstrings import (
    CALLBACKS_DOC,
    COMMON_ATTRIBUTES_DOC,
    COMMON_PARAMETERS_DOC,
    REGRESSOR_LOSS_DOC,
)
from fastmlp._eval_set import EvalSetMixin
from fastmlp._interop import SklearnInteropMixin
from fastmlp._jacobian import JacobianMixin
from fastmlp._labels import binarized, classes_of, fitted_binarizer
from fastmlp._network_config import NetworkConfigMixin
from fastmlp._persistence import InconsistentVersionWarning, PersistenceMixin
from fastmlp._rollback import Snapshot, unchanged_on_failure
from fastmlp._weights import FlatWeightsMixin

# scikit-learn >= 1.7's compute_class_weight("balanced") takes sample_weight
_SKLEARN_WEIGHTED_BALANCE = parse_version(sklearn.__version__) >= parse_version("1.7")
# scipy >= 1.11 gives callbacks the loss and stops on StopIteration
_SCIPY_CALLBACK_STOPS = sp_version >= parse_version("1.11")

#: About how long one compiled call of the stochastic solvers' training runs
#: (several epochs of a small network; see ``_epochs_per_run``): between
#: epochs Python takes tens of microseconds, most of the epoch of a network
#: on a few hundred rows; a Ctrl-C waits for the call.
EPOCHS_RUN_SECONDS = 0.02

_NON_FINITE_WEIGHTS = (
    "Solver produced non-finite parameter weights. The input data may"
    " contain large values and need to be preprocessed."
)


__all__ = ["InconsistentVersionWarning", "MLPClassifier", "MLPRegressor"]


class BaseMultilayerPerceptron(
    PersistenceMixin,
    NetworkConfigMixin,
    FlatWeightsMixin,
    EvalSetMixin,
    JacobianMixin,
    SklearnInteropMixin,
    CallbackSupportMixin,
    BaseEstimator,
    ABC,
):
    """Base class for fastmlp's MLP classifier and regressor.

    Use :class:`MLPClassifier` or :class:`MLPRegressor`.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [
            StrOptions(_registry.Names("activations")),
            list,
            tuple,
        ],
        "solver": [StrOptions(_registry.Names("solvers"))],
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
        network = self._fitted_network()
        params = self._weights(network)
        # scikit-learn's dtype: float64 X through float32 weights is float64
        dtype = np.result_type(X.dtype, network.dtype)
        if dtype != network.dtype:
            network = network.with_dtype(dtype)
            params = params.astype(dtype)
        return network.predict(X, params)

    def _check_is_fitted(self):
        if not hasattr(self, "coefs_"):
            check_is_fitted(self)  # raises NotFittedError

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coefs_")

    # ----------------------------------------------------------------- fitting
    def _initialize(self, y, layer_units, activations, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)

        if not is_classifier(self):
            self.out_activation_ = _registry.losses()[self.loss].output_activation
        elif self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:
            self.out_activation_ = "logistic"

        self.coefs_ = []
        self.intercepts_ = []
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

        if _registry.is_stochastic(self.solver):
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
        with unchanged_on_failure(self), callback_management_context(self):
            yield

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

        activations = self._hidden_activations(len(hidden_layer_sizes))
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
            self._initialize(y, layer_units, activations, X.dtype)
        network = self._make_network(layer_units, activations, X.dtype)

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
            if _registry.is_stochastic(self.solver):
                self._fit_stochastic(
                    network,
                    X,
                    y,
                    sample_weight,
                    incremental,
                    dropout,
                    eval_set,
                    tasks,
                    threads,
                )
            else:
                self._fit_lbfgs(network, X, y, sample_weight, eval_set, tasks)

        weights = self.coefs_ + self.intercepts_
        if not all(np.isfinite(w).all() for w in weights):
            raise ValueError(_NON_FINITE_WEIGHTS)
        self._remember_network(network)
        tasks.end_fit(
            lambda: reconstruction_attributes(self, network, self._weights(network))
        )
        return self

    def _targets_and_weights(self, network, y, sample_weight, n_samples):
        if sample_weight is None:
            sample_weight = np.ones(n_samples, dtype=network.dtype)
        return y.astype(network.dtype), sample_weight

    def _with_class_weight(self, y, sample_weight, incremental):
        """Sample weights times class weights (classifiers with class_weight)."""
        return sample_weight

    def _fit_lbfgs(self, network, X, y, sample_weight, eval_set, tasks):
        y, sample_weight = self._targets_and_weights(
            network, y, sample_weight, X.shape[0]
        )
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
            return lambda: reconstruction_attributes(
                self, network, params, **attributes
            )

        def fun(packed):
            # an iteration's first evaluation begins its callback task
            if not tasks.in_subtask:
                tasks.begin("iteration", state(*iterate))
            return objective(packed)

        if eval_set is not None:
            validation_targets = self._validation_targets(network, *eval_set)

        def on_iteration(x, loss):
            nonlocal iterate, stopped
            if eval_set is not None:
                self._set_weights(network, x.astype(X.dtype))
                self.validation_loss_curve_.append(
                    self._validation_loss(network, *validation_targets)
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

    def _fit_stochastic(
        self,
        network,
        X,
        y,
        sample_weight,
        incremental,
        dropout,
        eval_set,
        tasks,
        threads,
    ):
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer(network)

        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        (X_train, y_train, sample_weight_train), validation = self._split_validation(
            X, y, sample_weight, eval_set
        )
        X_val, y_val, sample_weight_val = validation

        n_samples = X_train.shape[0]
        sample_idx = np.arange(n_samples, dtype=int)
        batch_size = self._batch_size(n_samples)

        y_train, sample_weight_train = self._targets_and_weights(
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
            return reconstruction_attributes(self, network, params)

        # several epochs run in one compiled call where nothing needs Python
        # between them (see _epochs_per_run); a validation set (an eval_set,
        # or early stopping's split) is scored after every epoch
        runs_several = not (
            incremental
            or X_val is not None
            or tasks.active
            or self._optimizer.changes_each_epoch()
        )
        with_dropout = bool(dropout.any())
        if X_val is not None:
            validation_targets = self._validation_targets(
                network, X_val, y_val, sample_weight_val
            )
        # the first run is one epoch: it times an epoch, and a no-improvement
        # count carried over by a warm start may end fit after it
        epochs = 1
        checkpoint = None
        try:
            self.n_iter_ = 0
            while True:
                # what a Ctrl-C during the compiled epochs rolls back to
                checkpoint = Snapshot(
                    self,
                    deep=False,
                    arrays=(params, *self._optimizer.arrays()),
                    objects=(self._optimizer,),
                )
                tasks.begin("epoch", state)
                orders, seeds = self._draw_epochs(sample_idx, epochs, with_dropout)
                started = time.perf_counter()
                losses = trainer.run_epochs(orders, seeds)
                seconds_per_epoch = (time.perf_counter() - started) / epochs
                if orders is not None:
                    sample_idx = orders[-1]
                rate, converged = self._optimizer.learning_rate, False
                for epoch, loss in enumerate(losses):
                    if epoch and (converged or self._optimizer.learning_rate != rate):
                        raise RuntimeError(
                            "fastmlp trained past an epoch that ended fit or "
                            "changed its learning rate; this is a bug in "
                            "fastmlp (please report it)"
                        )
                    self.loss_ = float(loss)
                    self.n_iter_ += 1
                    self.t_ += n_samples
                    self.loss_curve_.append(self.loss_)
                    if self.verbose:
                        print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                    if X_val is not None:
                        self.validation_loss_curve_.append(
                            self._validation_loss(network, *validation_targets)
                        )
                    self._update_no_improvement_count(
                        early_stopping, X_val, y_val, sample_weight_val
                    )
                    self._optimizer.iteration_ends(self.t_)
                    # True at the run's last epoch at most (_epochs_per_run)
                    converged = self._stops_without_improvement(early_stopping)
                checkpoint = None  # the epochs are recorded

                if not (converged or incremental) and self.n_iter_ == self.max_iter:
                    _warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet."
                        % self.max_iter,
                        ConvergenceWarning,
                    )
                # a callback's request to stop ends fit like convergence does
                stops = tasks.end(state) or converged or incremental
                if stops or self.n_iter_ == self.max_iter:
                    break
                if runs_several:
                    epochs = self._epochs_per_run(seconds_per_epoch)
        except KeyboardInterrupt:
            if checkpoint is not None:
                checkpoint.restore(self)
            _warn("Training interrupted by user.")

        if early_stopping:
            self._set_weights(
                network, network.pack(self._best_coefs, self._best_intercepts)
            )

    def _make_optimizer(self, network):
        return _engine.OptimizerState(
            self.solver,
            network.n_params,
            network.dtype,
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

    def _split_validation(self, X, y, sample_weight, eval_set):
        """``(X, y, sample_weight)`` to train on and the validation set's
        (all None without one): the user's ``eval_set``, else with early
        stopping a ``validation_fraction`` split, as scikit-learn draws it."""
        if eval_set is not None:
            return (X, y, sample_weight), eval_set
        if not self.early_stopping:
            return (X, y, sample_weight), (None, None, None)
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
        return (X_train, y_train, sample_weight_train), (
            X_val,
            y_val,
            sample_weight_val,
        )

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            _warn(
                "Got `batch_size` less than 1 or larger than "
                "sample size. It is going to be clipped"
            )
        return np.clip(self.batch_size, 1, n_samples)

    def _draw_epochs(self, sample_idx, epochs, with_dropout):
        """The sample orders (None without shuffling) and dropout seeds of the
        next ``epochs`` epochs, drawn from ``self._random_state`` as
        scikit-learn draws them, epoch by epoch: the shuffle of the previous
        order (Fisher-Yates in place on a copy of it: the draws and the order
        of ``sklearn.utils.shuffle``), then the seed (only with dropout, so
        that without it the draws, and the model, stay scikit-learn's)."""
        seeds = np.full(epochs, -1, dtype=np.int64)
        orders = None
        if self.shuffle:
            orders = np.empty((epochs, sample_idx.shape[0]), dtype=np.int64)
        for epoch in range(epochs):
            if orders is not None:
                orders[epoch] = sample_idx if epoch == 0 else orders[epoch - 1]
                self._random_state.shuffle(orders[epoch])
            if with_dropout:
                seeds[epoch] = self._random_state.randint(2**31)
        return orders, seeds

    def _epochs_per_run(self, seconds_per_epoch):
        """How many epochs the next compiled call trains: as many as take
        about ``EPOCHS_RUN_SECONDS``, but never beyond an epoch after which
        fit may stop or change the learning rate (``max_iter``, or
        ``n_iter_no_change`` epochs without improvement: the no-improvement
        count grows by one per epoch at most), so each epoch's checks still
        run after it, on what it recorded: the same model as one epoch per
        call. A Ctrl-C rolls back to the start of the call (the random
        generator keeps the draws of its epochs). Only used where nothing else
        needs Python between epochs (``runs_several`` in ``_fit_stochastic``:
        not for partial_fit, early stopping, an eval_set, callbacks or a
        learning rate that changes every epoch)."""
        room = min(
            self.n_iter_no_change + 1 - self._no_improvement_count,
            self.max_iter - self.n_iter_,
        )
        by_time = int(EPOCHS_RUN_SECONDS / max(seconds_per_epoch, 1e-9))
        return max(1, min(room, by_time))

    def _stops_without_improvement(self, early_stopping):
        """Whether fit converged: no improvement for ``n_iter_no_change``
        epochs (the adaptive schedule first lowers the learning rate)."""
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        if early_stopping:
            msg = (
                "Validation score did not improve more than "
                "tol=%f for %d consecutive epochs." % (self.tol, self.n_iter_no_change)
            )
        else:
            msg = (
                "Training loss did not improve more than tol=%f"
                " for %d consecutive epochs." % (self.tol, self.n_iter_no_change)
            )
        converged = self._optimizer.trigger_stopping(msg, self.verbose)
        if not converged:
            self._no_improvement_count = 0
        return converged

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
        if not _registry.is_stochastic(self.solver):
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


def _accuracy(y_true, y_pred, sample_weight=None):
    """``accuracy_score``'s value for early stopping, without its input
    checks for labels (the estimator's own predictions, and validation labels
    checked once per fit) and a single label per sample, unweighted: the
    number of matches over the number of samples, the exact mean of zeros
    and ones that accuracy_score computes (its checks, every epoch, took
    longer than a small network's epoch). Otherwise accuracy_score itself."""
    if sample_weight is None and np.ndim(y_true) == 1 and np.ndim(y_pred) == 1:
        return float(np.count_nonzero(y_true == y_pred) / y_true.shape[0])
    return accuracy_score(y_true, y_pred, sample_weight=sample_weight)


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


class MLPClassifier(ClassifierMixin, BaseMultilayerPerceptron):
    __doc__ = (
        """Multi-layer perceptron classifier, a drop-in for scikit-learn's.

    Optimizes the log-loss with L-BFGS, SGD or Adam. Same parameters, defaults,
    attributes and results as :class:`sklearn.neural_network.MLPClassifier`;
    the training runs in compiled code.
"""
        + CALLBACKS_DOC
        + COMMON_PARAMETERS_DOC
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
        + COMMON_ATTRIBUTES_DOC
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
        return binarized(self._label_binarizer, y).astype(np.float64)

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
            self._label_binarizer = fitted_binarizer(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = classes_of(y)
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
        y = binarized(self._label_binarizer, y)
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
            X, y, sample_weight=sample_weight, score_function=_accuracy
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
        + CALLBACKS_DOC
        + REGRESSOR_LOSS_DOC
        + COMMON_PARAMETERS_DOC.replace("    Parameters\n    ----------\n", "")
        + """
    Attributes
    ----------"""
        + COMMON_ATTRIBUTES_DOC
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
        "loss": [
            StrOptions(_registry.Names("losses", lambda s: s.estimator == "regressor"))
        ],
        # the losses' parameters (such as huber_delta)
        **{
            spec.parameter.name: spec.parameter.constraints
            for spec in _registry.losses().values()
            if spec.parameter is not None
        },
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

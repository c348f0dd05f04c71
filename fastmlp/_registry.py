"""The building blocks, one spec each: hidden activations, output losses, solvers.

Each entry names its kernels and carries what the rest of fastmlp derives
from it: the parameter validation and the parameter docs of the estimators,
the Glorot initialisation factor, scikit-learn's nearest equivalent for
``to_sklearn``, the compiled dispatch (``fastmlp.kernels`` builds its tables
from these entries at import) and the tests' parametrization. No numba here:
``import fastmlp`` never imports it, the first fit or predict does; kernels
are named as ``"module:function"`` strings and looked up by the kernel
modules.

Adding a building block is one entry here plus its kernels (README, *How it
works*). ``temporary_registry`` gives a copy to add throwaway entries to, in a
process whose first fit comes after the registration (the compiled loops
hold the kernels the registry had when ``fastmlp.kernels`` was imported).
"""

import importlib
import sys
from collections.abc import Set
from contextlib import contextmanager
from numbers import Real
from typing import NamedTuple

from sklearn.utils._param_validation import Interval


class ActivationSpec(NamedTuple):
    """A hidden activation.

    Attributes
    ----------
    name : str
        The value of the estimators' ``activation`` parameter.
    kernels : tuple of str
        ``"module:function"`` of its forward and backward kernels (the
        contracts of ``fastmlp.kernels.activations``).
    init_factor : float
        Glorot-uniform factor: initial weights are drawn from U(-b, b),
        ``b = sqrt(init_factor / (fan_in + fan_out))`` (scikit-learn: 2 for
        logistic units, 6 otherwise).
    sklearn : str or None
        scikit-learn's activation of the same function, or None.
    doc : str
        One line for the parameter docs.
    saves_derivative : bool
        Whether the forward kernel saves the derivative for the backward
        kernel (else the backward kernel reads only the output).
    """

    name: str
    kernels: tuple
    init_factor: float
    sklearn: object
    doc: str
    saves_derivative: bool = False


class Parameter(NamedTuple):
    """An estimator parameter a building block reads (such as huber's delta)."""

    name: str
    constraints: list
    default: object
    doc: str


class LossSpec(NamedTuple):
    """An output activation with the loss it is paired with.

    Attributes
    ----------
    name : str
        The loss's name (the regressor's ``loss`` parameter).
    output_activation : str
        Name of the output activation (``out_activation_``).
    kernels : tuple of str
        ``"module:function"`` of the output activation's forward and backward
        kernels, the loss's mean and its delta (``fastmlp.kernels.losses``).
    estimator : str
        'regressor' (a value of MLPRegressor's ``loss``) or 'classifier'
        (chosen by MLPClassifier from the target).
    sklearn : str or None
        scikit-learn's loss of the same name, or the nearest one with the
        same output activation that ``to_sklearn`` replaces it with; None
        for the classifier's.
    sklearn_version : str or None
        The first scikit-learn with this loss, when later than the oldest
        supported one.
    parameter : Parameter or None
        The estimator parameter passed to the kernels as their scalar
        ``param`` (one slot), or None.
    doc : str
        One line for the parameter docs.
    """

    name: str
    output_activation: str
    kernels: tuple
    estimator: str
    sklearn: object
    doc: str
    sklearn_version: object = None
    parameter: object = None


class SolverSpec(NamedTuple):
    """A solver.

    Attributes
    ----------
    name : str
        The value of the estimators' ``solver`` parameter.
    kernels : str or None
        ``"module:function"`` of its compiled update rule (stochastic
        solvers; the signature is in ``fastmlp/kernels/optimizers.py``), or
        None (L-BFGS runs in scipy).
    sklearn : str
        scikit-learn's solver of the same name, or the nearest one.
    doc : str
        One line for the parameter docs.
    moments : int
        How many state arrays of the parameters' size the rule updates: 1
        (``first_moment``: SGD's velocity) or 2 (and ``second_moment``).
    learning_rate_schedules : bool
        Whether ``learning_rate='invscaling'`` and ``'adaptive'`` apply (as
        in scikit-learn, SGD's only).
    decoupled_decay : bool
        Whether ``alpha`` is a decoupled weight decay applied by the rule
        instead of an L2 term in the loss and the gradient (AdamW).
    counts_updates : bool
        Whether the rule reads the number of the update (Adam's bias
        correction); the count then advances with every batch.
    prefetches : bool
        Whether a split epoch's step first prefetches its ranges of a small
        parameter vector, to be written (``network.train_epochs_in_parts``):
        for rules with too little arithmetic per element to hide the
        transfers of those lines between cores (SGD).
    """

    name: str
    kernels: object
    sklearn: str
    doc: str
    moments: int = 1
    learning_rate_schedules: bool = False
    decoupled_decay: bool = False
    counts_updates: bool = False
    prefetches: bool = False

    @property
    def stochastic(self):
        """Whether it trains on mini-batches (with its own compiled step)."""
        return self.kernels is not None


def _activation(name, init_factor, sklearn, doc, saves_derivative=False):
    module = "fastmlp.kernels.activations"
    kernels = (f"{module}:{name}_forward", f"{module}:{name}_backward")
    return ActivationSpec(
        name, kernels, init_factor, sklearn, doc, saves_derivative
    )


def _loss(name, output, mean, delta="output_delta", **fields):
    losses, activations = "fastmlp.kernels.losses", "fastmlp.kernels.activations"
    module = activations if output in ("identity", "logistic") else losses
    kernels = (
        f"{module}:{output}_forward",
        f"{module}:{output}_backward",
        f"{losses}:{mean}",
        f"{losses}:{delta}",
    )
    return LossSpec(name, output, kernels, **fields)


_ACTIVATIONS = (
    _activation("identity", 6.0, "identity", "no-op, ``f(z) = z``"),
    _activation("logistic", 2.0, "logistic", "the logistic sigmoid"),
    _activation("tanh", 6.0, "tanh", "the hyperbolic tangent"),
    _activation("relu", 6.0, "relu", "the rectified linear unit, ``max(z, 0)``"),
    _activation("leaky_relu", 6.0, None, "``z``, and ``0.01 * z`` below 0"),
    _activation("elu", 6.0, None, "``z``, and ``exp(z) - 1`` below 0"),
    _activation("gelu", 6.0, None, "``z * Phi(z)``, the exact (erf) form", True),
    _activation("silu", 6.0, None, "``z * logistic(z)``", True),
    _activation("softplus", 6.0, None, "``log(1 + exp(z))``", True),
)

_LOSSES = (
    _loss(
        "squared_error",
        "identity",
        "squared_error_mean",
        estimator="regressor",
        sklearn="squared_error",
        doc="half the mean squared error",
    ),
    _loss(
        "log_loss",
        "softmax",
        "log_loss_mean",
        estimator="classifier",
        sklearn=None,
        doc="cross-entropy of a softmax output (multiclass)",
    ),
    _loss(
        "binary_log_loss",
        "logistic",
        "binary_log_loss_mean",
        estimator="classifier",
        sklearn=None,
        doc="cross-entropy of logistic outputs (binary, multilabel)",
    ),
    _loss(
        "poisson",
        "exp",
        "poisson_mean",
        estimator="regressor",
        sklearn="poisson",
        sklearn_version="1.7",
        doc="the Poisson deviance, with an exponential output activation",
    ),
    _loss(
        "huber",
        "identity",
        "huber_mean",
        "huber_delta",
        estimator="regressor",
        sklearn="squared_error",
        parameter=Parameter(
            "huber_delta",
            [Interval(Real, 0, None, closed="neither")],
            1.0,
            "Residual size where the 'huber' loss turns from quadratic to linear.",
        ),
        doc=(
            "quadratic for residuals up to ``huber_delta`` and linear beyond, "
            "averaged over the outputs"
        ),
    ),
    _loss(
        "absolute_error",
        "identity",
        "absolute_error_mean",
        "absolute_error_delta",
        estimator="regressor",
        sklearn="squared_error",
        doc="the mean absolute error, averaged over the outputs",
    ),
)

_OPTIMIZERS = "fastmlp.kernels.optimizers"
_SOLVERS = (
    SolverSpec("lbfgs", None, "lbfgs", "quasi-Newton L-BFGS (scipy's), full batch"),
    SolverSpec(
        "sgd",
        f"{_OPTIMIZERS}:sgd_update",
        "sgd",
        "stochastic gradient descent",
        learning_rate_schedules=True,
        prefetches=True,
    ),
    SolverSpec(
        "adam",
        f"{_OPTIMIZERS}:adam_update",
        "adam",
        "Adam",
        moments=2,
        counts_updates=True,
    ),
    SolverSpec(
        "adamw",
        f"{_OPTIMIZERS}:adamw_update",
        "adam",
        "AdamW, Adam with decoupled weight decay: ``alpha`` shrinks the "
        "coefficients by ``learning_rate * alpha`` per step instead of adding "
        "an L2 term to the loss",
        moments=2,
        decoupled_decay=True,
        counts_updates=True,
    ),
)


class Registry:
    """Tables of specs by name: ``activations``, ``losses``, ``solvers``."""

    def __init__(self, activations=(), losses=(), solvers=()):
        self.activations = {spec.name: spec for spec in activations}
        self.losses = {spec.name: spec for spec in losses}
        self.solvers = {spec.name: spec for spec in solvers}

    def copy(self):
        """A registry with the same entries, to change without changing this."""
        return Registry(
            self.activations.values(), self.losses.values(), self.solvers.values()
        )

    def add(self, spec):
        """Register ``spec`` (an ActivationSpec, LossSpec or SolverSpec).

        Raises RuntimeError once the kernels are imported (their compiled
        dispatch is built from the registry then) and ValueError for a name
        already registered.
        """
        if "fastmlp.kernels.network" in sys.modules:
            raise RuntimeError(
                "register building blocks before the first fit or predict: the "
                "compiled loops hold the kernels registered when they were imported"
            )
        table = {
            ActivationSpec: self.activations,
            LossSpec: self.losses,
            SolverSpec: self.solvers,
        }[type(spec)]
        if spec.name in table:
            raise ValueError(f"{spec.name!r} is registered already")
        table[spec.name] = spec


_registry = Registry(_ACTIVATIONS, _LOSSES, _SOLVERS)


def current():
    """The registry in use (see ``temporary_registry``)."""
    return _registry


@contextmanager
def temporary_registry():
    """Use a copy of the registry inside the block; yield it.

    Entries added to the copy (``Registry.add``) are seen by the estimators'
    validation and by kernels imported inside the block; on exit the
    registry in use is the one before. Kernels imported inside keep the
    copy's entries: use it in a process of its own, as the tests do.
    """
    global _registry
    saved = _registry
    _registry = saved.copy()
    try:
        yield _registry
    finally:
        _registry = saved


class Names(Set):
    """The names of one table of the registry in use, read at each use: the
    options of the estimators' parameter constraints."""

    def __init__(self, table, where=None):
        self._table = table
        self._where = where  # a filter on the specs, or None

    @classmethod
    def _from_iterable(cls, iterable):
        return set(iterable)  # the result of set operations: a plain set

    def _names(self):
        specs = getattr(_registry, self._table).values()
        return [s.name for s in specs if self._where is None or self._where(s)]

    def __contains__(self, name):
        return name in self._names()

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())


def hidden_activations():
    """The hidden activations' specs by name."""
    return _registry.activations


def losses():
    """The output losses' specs by name."""
    return _registry.losses


def solvers():
    """The solvers' specs by name."""
    return _registry.solvers


def regressor_losses():
    """The names MLPRegressor's ``loss`` accepts, in registry order."""
    return [s.name for s in _registry.losses.values() if s.estimator == "regressor"]


def is_stochastic(solver):
    """Whether ``solver`` (a registered name) trains on mini-batches."""
    return _registry.solvers[solver].stochastic


def stochastic_solvers():
    """The names of the stochastic solvers, in registry order."""
    return tuple(s.name for s in _registry.solvers.values() if s.stochastic)


def init_factor(activation):
    """The Glorot-uniform factor of ``activation`` (see ActivationSpec)."""
    return _registry.activations[activation].init_factor


def resolve(reference):
    """The object a ``"module:name"`` reference names (a kernel, a code).

    Works from inside the kernel module being imported: its functions
    defined above the lookup are already attributes of the module.
    """
    module, name = reference.split(":")
    return getattr(importlib.import_module(module), name)

"""The benchmark workloads: their shapes, their data and the shared parameters.

Every library trains the same architecture with the same optimizer settings
(``COMMON``): Adam, batch size 200, relu, ``alpha=1e-4``, learning rate 1e-3,
shuffled every epoch, and exactly ``epochs`` epochs (``tol=0`` and
``n_iter_no_change=10**9`` turn scikit-learn's stopping rule off).
"""

import dataclasses

from sklearn.datasets import make_classification, make_regression
from sklearn.preprocessing import StandardScaler

#: Optimizer and model settings shared by every library and workload.
COMMON = {
    "activation": "relu",
    "alpha": 1e-4,
    "batch_size": 200,
    "learning_rate_init": 1e-3,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "epsilon": 1e-8,
    "shuffle": True,
    "tol": 0.0,
    "n_iter_no_change": 10**9,
    "random_state": 0,
}

#: How a FLOP count is made; printed with the results.
FLOP_FORMULA = (
    "FLOPs = n_rows x sum over layers of 2*fan_in*fan_out forward, x3 for a "
    "training step (backward ~2x forward), x epochs (lbfgs: x iterations)"
)


@dataclasses.dataclass(frozen=True)
class Workload:
    """One benchmark problem.

    Parameters
    ----------
    name : str
    n_samples : int
        Training rows (the predict workload: rows predicted at once).
    n_features : int
    hidden : tuple of int
        ``hidden_layer_sizes``.
    task : str
        ``'binary'``, ``'multiclass'`` (10 classes) or ``'regression'``.
    epochs : int
        Epochs of Adam, or iterations of L-BFGS when ``solver='lbfgs'``.
    solver : str
        ``'adam'`` or ``'lbfgs'``.
    kind : str
        ``'train'`` or ``'predict'``.
    n_test : int
        Held-out rows for the score.
    """

    name: str
    n_samples: int
    n_features: int
    hidden: tuple
    task: str
    epochs: int
    solver: str = "adam"
    kind: str = "train"
    n_test: int = 5000

    @property
    def n_classes(self):
        """Number of classes (0 for regression)."""
        return {"binary": 2, "multiclass": 10, "regression": 0}[self.task]

    @property
    def n_outputs(self):
        """Output units of the network, as scikit-learn builds it."""
        return self.n_classes if self.task == "multiclass" else 1

    @property
    def units(self):
        """``[n_features, hidden..., n_outputs]``."""
        return [self.n_features, *self.hidden, self.n_outputs]

    @property
    def peers_allowed(self):
        """Whether PyTorch and JAX take part (not for L-BFGS)."""
        return self.solver == "adam"

    def describe(self):
        """A one-line description."""
        what = {
            "binary": "binary classification",
            "multiclass": "10 classes",
            "regression": "regression",
        }[self.task]
        steps = "iterations" if self.solver == "lbfgs" else "epochs"
        return (
            f"{self.name}: {self.n_samples:,} x {self.n_features}, "
            f"hidden {self.hidden}, {what}, {self.solver}, {self.epochs} {steps}"
        )


WORKLOADS = {
    "small": Workload("small", 20_000, 20, (100,), "binary", 10),
    "mid": Workload("mid", 20_000, 100, (256, 128), "multiclass", 5),
    "wide": Workload("wide", 20_000, 784, (512, 512), "multiclass", 2),
    "regression": Workload("regression", 50_000, 50, (64, 64), "regression", 5),
    "lbfgs": Workload("lbfgs", 5_000, 20, (50,), "binary", 200, solver="lbfgs"),
    "predict": Workload(
        "predict", 100_000, 784, (512, 512), "multiclass", 1, kind="predict"
    ),
}

#: Workloads of ``--quick`` (and their reduced sizes): name -> changes.
QUICK = {
    "small": {"n_samples": 5_000, "n_test": 2_000},
    "lbfgs": {"n_samples": 2_000, "epochs": 100, "n_test": 2_000},
}

#: Further reductions of ``--tiny`` (for the test suite), applied to any mode.
TINY = {
    "small": {"n_samples": 400, "epochs": 2, "n_test": 200},
    "mid": {"n_samples": 400, "epochs": 1, "n_test": 200},
    "wide": {"n_samples": 400, "epochs": 1, "n_test": 200},
    "regression": {"n_samples": 400, "epochs": 2, "n_test": 200},
    "lbfgs": {"n_samples": 300, "epochs": 10, "n_test": 200},
    "predict": {"n_samples": 1_000, "n_test": 400},
}


def selected(names, quick, tiny):
    """The workloads to run, resized for ``quick`` and ``tiny``."""
    pool = QUICK if quick else WORKLOADS
    names = list(pool) if names is None else [n for n in names if n in pool]
    chosen = []
    for name in names:
        workload = WORKLOADS[name]
        if quick:
            workload = dataclasses.replace(workload, **QUICK[name])
        if tiny:
            workload = dataclasses.replace(workload, **TINY[name])
        chosen.append(workload)
    return chosen


def sklearn_params(workload, **changes):
    """Keyword arguments of scikit-learn's (and fastmlp's) estimator."""
    params = dict(COMMON)
    params.update(
        hidden_layer_sizes=workload.hidden,
        solver=workload.solver,
        max_iter=workload.epochs,
    )
    if workload.solver == "lbfgs":
        params["max_fun"] = 10**9  # stop on max_iter (or scipy's own tolerances)
    params.update(changes)
    return params


def make_data(workload, dtype, seed=0):
    """Standardized ``(X_train, X_test, y_train, y_test)`` of ``dtype``.

    Classification targets are integer labels; regression targets are
    standardized floats of ``dtype``. The same ``seed`` gives the same data.
    """
    n = workload.n_samples + workload.n_test
    informative = min(max(workload.n_features // 2, 5), 32)
    if workload.task == "regression":
        X, y = make_regression(
            n_samples=n,
            n_features=workload.n_features,
            n_informative=informative,
            noise=10.0,
            random_state=seed,
        )
    else:
        X, y = make_classification(
            n_samples=n,
            n_features=workload.n_features,
            n_informative=informative,
            n_redundant=min(4, workload.n_features - informative),
            n_classes=workload.n_classes,
            random_state=seed,
        )
    split = workload.n_samples
    X_train, X_test = X[:split], X[split:]
    scaler = StandardScaler().fit(X_train)
    X_train = scaler.transform(X_train).astype(dtype)
    X_test = scaler.transform(X_test).astype(dtype)
    y_train, y_test = y[:split], y[split:]
    if workload.task == "regression":
        mean, std = y_train.mean(), y_train.std()
        y_train = ((y_train - mean) / std).astype(dtype)
        y_test = ((y_test - mean) / std).astype(dtype)
    return X_train, X_test, y_train, y_test


def forward_flops(units, n_rows):
    """FLOPs of one forward pass over ``n_rows`` rows: 2*n*fan_in*fan_out."""
    return 2.0 * n_rows * sum(a * b for a, b in zip(units[:-1], units[1:]))


def training_flops(workload, n_steps=None):
    """FLOPs of a fit: forward x3 (backward ~2x forward) x epochs or iterations."""
    steps = workload.epochs if n_steps is None else n_steps
    return 3.0 * forward_flops(workload.units, workload.n_samples) * steps

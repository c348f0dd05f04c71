"""``python -m fastmlp warmup``: compile the kernels ahead, into numba's cache.

Each configuration is compiled by fitting and using a tiny model through the
public estimators, so exactly the compiled versions a real fit, predict or
jacobian asks for land in the cache (their argument types do not depend on
the data's size). A stochastic solver's tiny model is fitted twice: with
whole batches, and with its batches split into parts as a larger network's
are (``fastmlp._engine.SPLIT_MIN_MACS``), which runs its own epoch kernel.

Run it when building a Docker image or a CI cache, with the same
``NUMBA_CACHE_DIR`` (if any) and on the same kind of CPU as the processes
that will use it: numba's cache is keyed on the CPU model.
"""

import argparse
import contextlib
import itertools
import time
import warnings

import numpy as np
import scipy.sparse as sp

from fastmlp import _registry

DEFAULTS = {
    "dtypes": ("float64", "float32"),
    "inputs": ("dense", "csr"),
    "activations": ("relu",),
    "losses": ("log_loss", "binary_log_loss", "squared_error"),
    "solvers": ("adam", "lbfgs"),
}
LOSSES = tuple(_registry.losses())
SOLVERS = ("adam", "lbfgs")  # each stochastic solver compiles its own epoch
ALL_SOLVERS = SOLVERS + tuple(s for s in _registry.solvers() if s not in SOLVERS)


def parse_args(argv=None):
    """The command line of ``python -m fastmlp warmup``."""
    parser = argparse.ArgumentParser(
        prog="python -m fastmlp warmup",
        description="Compile fastmlp's kernels ahead into numba's on-disk cache.",
    )

    def choices(name, allowed):
        parser.add_argument(
            f"--{name}",
            default=",".join(DEFAULTS[name]),
            help=f"comma-separated, from {', '.join(allowed)} "
            f"(default: {','.join(DEFAULTS[name])}; 'all' for every one)",
        )

    choices("dtypes", ("float64", "float32"))
    choices("inputs", ("dense", "csr"))
    choices("activations", tuple(_registry.hidden_activations()))
    choices("losses", LOSSES)
    choices("solvers", ALL_SOLVERS)
    parser.add_argument(
        "--jacobian", action="store_true", help="also compile both Jacobian modes"
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    allowed = {
        "dtypes": ("float64", "float32"),
        "inputs": ("dense", "csr"),
        "activations": tuple(_registry.hidden_activations()),
        "losses": LOSSES,
        "solvers": ALL_SOLVERS,
    }
    for name, options in allowed.items():
        value = getattr(args, name)
        picked = options if value == "all" else tuple(value.split(","))
        unknown = [p for p in picked if p not in options]
        if unknown:
            parser.error(f"--{name}: unknown {unknown}; choose from {list(options)}")
        setattr(args, name, tuple(dict.fromkeys(picked)))
    return args


def configurations(args):
    """Every (dtype, input, activation, loss, solver) the arguments ask for."""
    return list(
        itertools.product(
            args.dtypes, args.inputs, args.activations, args.losses, args.solvers
        )
    )


def warm(dtype, input_kind, activation, loss, solver, jacobian=False):
    """Fit and use a tiny model of this configuration (compiles or loads)."""
    from fastmlp import MLPClassifier, MLPRegressor

    rng = np.random.RandomState(0)
    X = rng.uniform(size=(8, 3)).astype(dtype)
    if loss in ("log_loss", "binary_log_loss"):
        classes = 3 if loss == "log_loss" else 2
        y = np.arange(8) % classes
        model = MLPClassifier(activation=activation, solver=solver)
    else:
        y = rng.uniform(size=8)
        model = MLPRegressor(activation=activation, solver=solver, loss=loss)
    model.set_params(hidden_layer_sizes=(2,), max_iter=1, random_state=0)
    if input_kind == "csr":
        # a quarter of the entries stored: sparse enough for the CSR kernels
        # (a denser sparse X is trained as a dense array)
        X = sp.csr_matrix(np.where(np.arange(X.size).reshape(X.shape) % 4, 0, X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
        if _registry.solvers()[solver].stochastic:
            with _every_batch_split():
                model.fit(X, y)
        model.predict(X)
        if jacobian:
            for mode in ("forward", "reverse"):
                model.jacobian(X, mode=mode)


@contextlib.contextmanager
def _every_batch_split():
    """Fits inside split every batch into parts (this process only)."""
    from fastmlp import _engine

    threshold = _engine.SPLIT_MIN_MACS
    _engine.SPLIT_MIN_MACS = 0
    try:
        yield
    finally:
        _engine.SPLIT_MIN_MACS = threshold


def main(argv=None):
    """Compile every configuration asked for; print what it took."""
    args = parse_args(argv)
    say = (lambda *_: None) if args.quiet else print
    from fastmlp._compilation import cache_folder

    say(f"fastmlp warmup: compiling into {cache_folder()}")
    start = time.perf_counter()
    for config in configurations(args):
        began = time.perf_counter()
        warm(*config, jacobian=args.jacobian)
        say(f"  {' '.join(config)}: {time.perf_counter() - began:.1f} s")
    say(f"done in {time.perf_counter() - start:.1f} s")
    return 0

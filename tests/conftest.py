"""Test-session settings, and the skips for features of newer scikit-learns.

The suite runs on every supported scikit-learn (README, *Supported
versions*). Tests that need a feature only a newer scikit-learn has skip
below it, with a reason naming the version: mark them with
``requires_sklearn(SKLEARN_..., "what")``, or call ``skip_unless_sklearn``
where the need is known only inside a test or at a module's import.

Also here: ``record_calling_threads``, for the tests of which threads run
which compiled calls.
"""

import os
import re
import threading

# scikit-learn's estimator checks run their array-API input check only when
# scipy's array-API support is switched on (it must be set before scipy loads).
os.environ.setdefault("SCIPY_ARRAY_API", "1")

# The suite trains hundreds of activation and loss combinations: compiled
# loops holding every kernel serve them all with one compile per dtype and
# input kind (fastmlp._engine.KERNEL_SETS). tests/engine/test_compilation.py checks
# the default, specialized loops and that both give the same bits.
os.environ.setdefault("FASTMLP_KERNELS", "all")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sklearn  # noqa: E402
from sklearn.utils.fixes import parse_version  # noqa: E402

from fastmlp._callbacks import SKLEARN_VERSION_FOR_CALLBACKS  # noqa: E402

# The first scikit-learn with each feature the tests compare against.
# sample_weight in MLPClassifier/MLPRegressor fit and partial_fit, in the loss
# functions of sklearn.neural_network._base and in compute_class_weight
SKLEARN_SAMPLE_WEIGHT = "1.7"
# a ValueError for all-zero sample_weight (1.7 and 1.8: ZeroDivisionError)
SKLEARN_ALL_ZERO_WEIGHTS = "1.9"
# MLPRegressor(loss="poisson")
SKLEARN_POISSON = "1.7"
# early stopping of an MLPClassifier with string class labels (before, its
# validation score raised TypeError from np.isnan on the predicted labels)
SKLEARN_EARLY_STOPPING_STRING_LABELS = "1.9"
# sklearn.callback (set_callbacks, ProgressBar, ScoringMonitor)
SKLEARN_CALLBACKS = SKLEARN_VERSION_FOR_CALLBACKS

SKLEARN_VERSION = parse_version(sklearn.__version__)


def sklearn_at_least(version):
    """Whether the installed scikit-learn is ``version`` or newer."""
    return SKLEARN_VERSION >= parse_version(version)


def _reason(version, feature):
    return (
        f"needs scikit-learn >= {version} ({feature}); "
        f"scikit-learn {sklearn.__version__} is installed"
    )


def requires_sklearn(version, feature):
    """A mark skipping the test (or parameter) below scikit-learn ``version``."""
    return pytest.mark.skipif(
        not sklearn_at_least(version), reason=_reason(version, feature)
    )


def skip_unless_sklearn(version, feature):
    """Skip the running test, or the module being imported, below ``version``."""
    if not sklearn_at_least(version):
        pytest.skip(_reason(version, feature), allow_module_level=True)


def same_message(a, b):
    """Messages equal up to the order of items in a printed set."""

    def normalise(message):
        return re.sub(
            r"\{([^{}]*)\}",
            lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}",
            str(message),
        )

    return normalise(a) == normalise(b)


def record_calling_threads(monkeypatch, name, before_call=None):
    """Wrap the entry point ``fastmlp.kernels.network.<name>`` (as the engine
    calls it) so that each call appends its thread's id to the returned list,
    then runs ``before_call(thread_id)`` when given, then the entry point."""
    from fastmlp.kernels import network

    original = getattr(network, name)
    threads = []

    def recorded(*args):
        thread = threading.get_ident()
        threads.append(thread)
        if before_call is not None:
            before_call(thread)
        return original(*args)

    monkeypatch.setattr(network, name, recorded)
    return threads


def mostly_zero(X):
    """``X`` with three entries in four set to zero (a fixed pattern, a
    quarter of every row and column kept): a CSR matrix of it is sparse
    enough for fastmlp's CSR kernels, where a denser one is trained as a
    dense array (``fastmlp._engine.dense_is_smaller``)."""
    X = np.asarray(X)
    rows, columns = X.shape
    keep = np.add.outer(np.arange(rows), 3 * np.arange(columns)) % 4 == 0
    return np.where(keep, X, 0).astype(X.dtype)

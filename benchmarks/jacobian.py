"""Forward against reverse mode of ``jacobian``: where the cheaper mode changes.

A 10-class MLPClassifier (``n_outputs = 10``) with hidden layers ``(64, 64)``
is fitted for a few epochs at each ``n_features`` of a sweep; then
``jacobian(X, mode='forward')`` and ``mode='reverse'`` take turns on the same
rows. The result gives both median times, the mode the measurements favour
and the mode ``mode='auto'`` picks by its multiply-add count
(``fastmlp._jacobian.mode_costs``), so the two crossovers can be compared.
"""

import functools
import warnings

import measure
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from fastmlp import MLPClassifier, _jacobian

N_OUTPUTS = 10
SIZES = {"rows": 500, "hidden": (64, 64), "n_features": (2, 5, 10, 20, 50, 100)}
SIZES_TINY = {"rows": 100, "hidden": (16, 16), "n_features": (2, 10, 50)}


def _model(n_features, rows, hidden, seed=0):
    """Rows of standard normal data and a classifier fitted on them."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, n_features))
    y = np.argmax(X @ rng.standard_normal((n_features, N_OUTPUTS)), axis=1)
    y[:N_OUTPUTS] = np.arange(N_OUTPUTS)  # every class present
    model = MLPClassifier(hidden_layer_sizes=hidden, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model, X


def crossover(repeats, tiny):
    """Median seconds of both modes along the n_features sweep (float64)."""
    sizes = SIZES_TINY if tiny else SIZES
    points = []
    for n_features in sizes["n_features"]:
        model, X = _model(n_features, sizes["rows"], sizes["hidden"])
        calls = {
            mode: functools.partial(model.jacobian, X, mode=mode)
            for mode in ("forward", "reverse")
        }
        for call in calls.values():
            call()  # warm up (loads the compiled kernels)
        seconds, _ = measure.alternate(calls, repeats)
        median = measure.medians(seconds)
        units = model._fitted_network().units
        forward_cost, reverse_cost = _jacobian.mode_costs(units)
        points.append(
            {
                "n_features": n_features,
                "median_seconds": median,
                "min_seconds": measure.minima(seconds),
                "reverse_over_forward": median["reverse"] / median["forward"],
                "faster": min(median, key=median.get),
                "auto": _jacobian.choose_mode(units),
                "multiply_adds_per_row": {
                    "forward": forward_cost,
                    "reverse": reverse_cost,
                },
            }
        )
    return {
        "rows": sizes["rows"],
        "hidden": list(sizes["hidden"]),
        "n_outputs": N_OUTPUTS,
        "dtype": "float64",
        "repeats": repeats,
        "points": points,
    }

"""scikit-learn's example datasets with default classifiers: many short epochs.

iris, wine, breast cancer and digits, standardized, each fitted with
``MLPClassifier(random_state=0, max_iter=500)`` and otherwise scikit-learn's
defaults (adam, one hidden layer of 100, batches of 200, its stopping rule:
both libraries stop at the same epoch), and breast cancer and digits again
with ``early_stopping=True`` (a validation score every epoch). Such a fit
is hundreds of epochs of one to nine batches, so the time between epochs
counts as much as the epochs' arithmetic. fastmlp and scikit-learn take
turns; the section reports median fit times, their ratio, the epochs run
and fastmlp's time per epoch.

Usage::

    python benchmarks/datasets.py [--repeats N] [--tiny] [--json PATH]
"""

import os
import sys
import warnings

import measure
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

DATASETS = {
    "iris": load_iris,
    "wine": load_wine,
    "breast cancer": load_breast_cancer,
    "digits": load_digits,
}
#: (label, dataset, extra parameters), in the table's order
CASES = (
    ("iris", "iris", {}),
    ("wine", "wine", {}),
    ("breast cancer", "breast cancer", {}),
    ("digits", "digits", {}),
    ("breast cancer, early stopping", "breast cancer", {"early_stopping": True}),
    ("digits, early stopping", "digits", {"early_stopping": True}),
)
PARAMS = {"random_state": 0, "max_iter": 500}
TINY_MAX_ITER = 20
LIBRARIES = ("fastmlp", "scikit-learn")


def _fit(library, X, y, params):
    if library == "fastmlp":
        from fastmlp import MLPClassifier
    else:
        from sklearn.neural_network import MLPClassifier
    return lambda: MLPClassifier(**params).fit(X, y)


def run(repeats=5, tiny=False):
    """The section: a JSON-ready dict."""
    max_iter = TINY_MAX_ITER if tiny else PARAMS["max_iter"]
    rows = []
    load_average = [os.getloadavg()[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for label, name, extra in CASES:
            X, y = DATASETS[name](return_X_y=True)
            X = StandardScaler().fit_transform(X)
            params = {**PARAMS, "max_iter": max_iter, **extra}
            calls = {lib: _fit(lib, X, y, params) for lib in LIBRARIES}
            for call in calls.values():
                call()  # compiles (fastmlp) and imports before the timing
            seconds, models = measure.alternate(calls, repeats)
            median = measure.medians(seconds)
            epochs = int(models["fastmlp"].n_iter_)
            rows.append(
                {
                    "dataset": label,
                    "params": extra,
                    "shape": list(X.shape),
                    "n_classes": int(len(set(y))),
                    "epochs": {lib: int(m.n_iter_) for lib, m in models.items()},
                    "median_seconds": median,
                    "sklearn_over_fastmlp": median["scikit-learn"] / median["fastmlp"],
                    "fastmlp_us_per_epoch": median["fastmlp"] / epochs * 1e6,
                }
            )
            load_average.append(os.getloadavg()[0])
    return {
        "params": {**PARAMS, "max_iter": max_iter},
        "repeats": repeats,
        "load_average": load_average,
        "rows": rows,
    }


def text(section):
    """The section as a Markdown table."""
    lines = [
        "Example datasets: MLPClassifier(random_state=0, max_iter="
        f"{section['params']['max_iter']}), standardized X, median of "
        f"{section['repeats']} (load {min(section['load_average']):.1f} to "
        f"{max(section['load_average']):.1f})",
        "",
        "| dataset | rows x features | epochs | fastmlp | scikit-learn "
        "| scikit-learn / fastmlp | fastmlp per epoch |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in section["rows"]:
        median = row["median_seconds"]
        rows, features = row["shape"]
        lines.append(
            f"| {row['dataset']} | {rows:,} x {features} | "
            f"{row['epochs']['fastmlp']} | {median['fastmlp'] * 1e3:.1f} ms | "
            f"{median['scikit-learn'] * 1e3:.1f} ms | "
            f"{row['sklearn_over_fastmlp']:.2f}x | "
            f"{row['fastmlp_us_per_epoch']:.0f} us |"
        )
    return "\n".join(lines)


def main(argv=None):
    """Entry point."""
    args = measure.section_parser(__doc__).parse_args(argv)
    measure.print_section(run(args.repeats, args.tiny), text, args.json)


if __name__ == "__main__":
    sys.exit(main())

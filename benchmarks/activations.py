"""Training time per hidden activation, and a many-class softmax output.

One network (20,000 x 64, 5 classes, one hidden layer of 256, 3 epochs) is
trained with every hidden activation of fastmlp; each activation's median
time is reported against relu's, measured alternately in the same run. For
scikit-learn's four activations the same fits are timed against scikit-learn
(adam, and sgd for tanh and logistic), and a relu network with a 100-class
softmax output is timed against scikit-learn too. Both dtypes.

Usage::

    python benchmarks/activations.py [--repeats N] [--tiny] [--json PATH]
        [--sklearn-blas-threads N]

scikit-learn runs with NumPy's BLAS threads as they are (all cores), and so
does fastmlp (its products on one BLAS thread each; a network whose batches
it splits, such as the 100-class one, trains its parts on that many
threads); on a loaded machine the spinning BLAS threads make scikit-learn
many times slower. ``--sklearn-blas-threads 1`` gives it one
BLAS thread too, the like-for-like comparison.
"""

import os
import sys
import warnings

import measure
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

ACTIVATIONS = (
    "relu",
    "identity",
    "logistic",
    "tanh",
    "leaky_relu",
    "elu",
    "gelu",
    "silu",
    "softplus",
)
SKLEARN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
SHAPE = {"n_samples": 20_000, "n_features": 64, "hidden": 256, "epochs": 3}
TINY = {"n_samples": 400, "n_features": 16, "hidden": 16, "epochs": 1}
SETTINGS = {
    "batch_size": 200,
    "learning_rate_init": 1e-3,
    "alpha": 1e-4,
    "tol": 0.0,
    "n_iter_no_change": 10**9,
    "shuffle": True,
    "random_state": 0,
}


def _data(shape, n_classes, dtype):
    X, y = make_classification(
        n_samples=shape["n_samples"],
        n_features=shape["n_features"],
        n_informative=min(32, shape["n_features"] // 2),
        n_redundant=2,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=0,
    )
    return StandardScaler().fit_transform(X).astype(dtype), y


def _estimator(library, shape, **params):
    if library == "fastmlp":
        from fastmlp import MLPClassifier
    else:
        from sklearn.neural_network import MLPClassifier
    settings = dict(SETTINGS, hidden_layer_sizes=(shape["hidden"],))
    settings["max_iter"] = shape["epochs"]
    settings.update(params)
    return MLPClassifier(**settings)


SKLEARN_BLAS_THREADS = None  # None: as NumPy's BLAS has them


def _fit(library, shape, X, y, **params):
    if library == "scikit-learn" and SKLEARN_BLAS_THREADS is not None:
        from threadpoolctl import threadpool_limits

        def fit():
            with threadpool_limits(SKLEARN_BLAS_THREADS, "blas"):
                return _estimator(library, shape, **params).fit(X, y)

        return fit
    return lambda: _estimator(library, shape, **params).fit(X, y)


def _timed(calls, repeats):
    seconds, _ = measure.alternate(calls, repeats)
    return measure.medians(seconds)


def run(repeats=5, tiny=False, dtypes=("float64", "float32")):
    """The activation section: a JSON-ready dict."""
    shape = TINY if tiny else SHAPE
    result = {
        "shape": dict(shape),
        "n_classes": 5,
        "repeats": repeats,
        "load_average": [os.getloadavg()[0]],
        "sklearn_blas_threads": SKLEARN_BLAS_THREADS,
        "rows": [],
        "sklearn": [],
        "many_classes": [],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for dtype in dtypes:
            X, y = _data(shape, 5, dtype)
            for name in ACTIVATIONS:  # compile outside the timing
                _estimator("fastmlp", shape, activation=name, max_iter=1).fit(X, y)
            median = _timed(
                {name: _fit("fastmlp", shape, X, y, activation=name)
                 for name in ACTIVATIONS},
                repeats,
            )
            for name in ACTIVATIONS:
                result["rows"].append(
                    {
                        "dtype": dtype,
                        "activation": name,
                        "seconds": median[name],
                        "ratio_to_relu": median[name] / median["relu"],
                    }
                )
            pairs = [(name, "adam") for name in SKLEARN_ACTIVATIONS]
            pairs += [("logistic", "sgd"), ("tanh", "sgd")]
            for name, solver in pairs:
                _estimator("fastmlp", shape, activation=name, solver=solver,
                           max_iter=1).fit(X, y)
                median = _timed(
                    {lib: _fit(lib, shape, X, y, activation=name, solver=solver)
                     for lib in ("fastmlp", "scikit-learn")},
                    repeats,
                )
                result["sklearn"].append(
                    {
                        "dtype": dtype,
                        "activation": name,
                        "solver": solver,
                        "seconds": median,
                        "sklearn_over_fastmlp": median["scikit-learn"]
                        / median["fastmlp"],
                    }
                )
            n_classes = 10 if tiny else 100
            X, y = _data(shape, n_classes, dtype)
            _estimator("fastmlp", shape, max_iter=1).fit(X, y)
            median = _timed(
                {lib: _fit(lib, shape, X, y) for lib in ("fastmlp", "scikit-learn")},
                repeats,
            )
            result["many_classes"].append(
                {
                    "dtype": dtype,
                    "n_classes": n_classes,
                    "seconds": median,
                    "sklearn_over_fastmlp": median["scikit-learn"] / median["fastmlp"],
                }
            )
    result["load_average"].append(os.getloadavg()[0])
    return result


def text(section):
    """The section as Markdown tables."""
    shape = section["shape"]
    lines = [
        f"Activations: {shape['n_samples']:,} x {shape['n_features']}, "
        f"{section['n_classes']} classes, hidden ({shape['hidden']},), "
        f"{shape['epochs']} epochs, median of {section['repeats']} "
        f"(load {section['load_average'][0]:.1f} to "
        f"{section['load_average'][-1]:.1f})",
        "",
        "| activation | float64 time | / relu | float32 time | / relu |",
        "|---|---|---|---|---|",
    ]
    by = {(r["activation"], r["dtype"]): r for r in section["rows"]}
    for name in ACTIVATIONS:
        cells = []
        for dtype in ("float64", "float32"):
            row = by.get((name, dtype))
            cells += (
                [f"{row['seconds']:.3f} s", f"{row['ratio_to_relu']:.2f}"]
                if row else ["-", "-"]
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "scikit-learn's BLAS threads: "
        f"{section.get('sklearn_blas_threads') or 'all'}",
        "",
        "| activation | solver | scikit-learn / fastmlp, float64 | float32 |",
        "|---|---|---|---|",
    ]
    by = {(r["activation"], r["solver"], r["dtype"]): r for r in section["sklearn"]}
    for name, solver in sorted({(r["activation"], r["solver"])
                                for r in section["sklearn"]}):
        cells = [
            f"{by[(name, solver, d)]['sklearn_over_fastmlp']:.2f}x"
            if (name, solver, d) in by else "-"
            for d in ("float64", "float32")
        ]
        lines.append(f"| {name} | {solver} | " + " | ".join(cells) + " |")
    for row in section["many_classes"]:
        lines.append(
            f"| relu, {row['n_classes']} classes | adam ({row['dtype']}) | "
            f"{row['sklearn_over_fastmlp']:.2f}x | |"
        )
    return "\n".join(lines)


def main(argv=None):
    """Entry point."""
    parser = measure.section_parser(__doc__)
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--sklearn-blas-threads", type=int, default=None)
    args = parser.parse_args(argv)
    global SKLEARN_BLAS_THREADS
    SKLEARN_BLAS_THREADS = args.sklearn_blas_threads
    section = run(args.repeats, args.tiny, tuple(args.dtypes.split(",")))
    measure.print_section(section, text, args.json)


if __name__ == "__main__":
    sys.exit(main())

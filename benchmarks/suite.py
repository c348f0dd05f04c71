"""The measurements of one benchmark run, each returning a JSON-ready dict."""

import contextlib
import dataclasses
import os
import statistics
import tempfile
import time
import warnings

import libraries
import measure
import numpy as np
import probes
import workloads
from sklearn.exceptions import ConvergenceWarning

#: Sizes of the scaling sweep on the small workload: (axis, values).
SWEEP = {"n_samples": (5_000, 20_000, 80_000), "width": (25, 100, 400)}
SWEEP_TINY = {"n_samples": (200, 400, 800), "width": (8, 16, 32)}


@contextlib.contextmanager
def _quiet():
    """Hide ConvergenceWarning (every fit stops on max_iter by design)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _fit_call(library, workload, X, y):
    return lambda: libraries.estimator(library, workload).fit(X, y)


def _warm_up(library, workload, X, y):
    """Compile or warm what a first call would: one short fit on the same shapes."""
    if library == "scikit-learn":
        return
    steps = 2 if workload.solver == "lbfgs" else 1
    libraries.estimator(library, workload, max_iter=steps).fit(X, y)


def train(workload, dtype, names, repeats, peak_gflops, memory):
    """Time, score, GFLOP/s and (optionally) memory of fits of ``workload``."""
    X, X_test, y, y_test = workloads.make_data(workload, dtype)
    load = os.getloadavg()[0]
    with _quiet():
        for name in names:
            _warm_up(name, workload, X, y)
        calls = {name: _fit_call(name, workload, X, y) for name in names}
        seconds, models = measure.alternate(calls, repeats)
    median = measure.medians(seconds)
    n_iter = {
        name: int(model.n_iter_)
        for name, model in models.items()
        if hasattr(model, "n_iter_")
    }
    steps = n_iter["fastmlp"] if workload.solver == "lbfgs" else workload.epochs
    flops = workloads.training_flops(workload, steps)
    gflops = {name: flops / value / 1e9 for name, value in median.items()}
    result = {
        "workload": workload.name,
        "kind": "train",
        "dtype": np.dtype(dtype).name,
        "description": workload.describe(),
        "shape": dataclasses.asdict(workload),
        "libraries": names,
        "repeats": repeats,
        "seconds": seconds,
        "median_seconds": median,
        "ratio_to_fastmlp": measure.ratios(median),
        "min_seconds": measure.minima(seconds),
        "ratio_of_minima_to_fastmlp": measure.ratios(measure.minima(seconds)),
        "load_average": [load, os.getloadavg()[0]],
        "score_name": "r2" if workload.task == "regression" else "accuracy",
        "score": {name: float(m.score(X_test, y_test)) for name, m in models.items()},
        "n_iter": n_iter,
        "gflop": flops / 1e9,
        "gflops": gflops,
        "fastmlp_fraction_of_peak": gflops["fastmlp"] / peak_gflops,
        "memory": None,
    }
    if memory:
        result["memory"] = {
            name: probes.fit_memory(name, workload, X, y) for name in names
        }
    return result


def _predict_models(workload, names, X_fit, y_fit):
    """Models of every library with the same weights (fastmlp's, one epoch)."""
    with _quiet():
        reference = libraries.estimator("fastmlp", workload).fit(X_fit, y_fit)
        sklearn_model = libraries.estimator("scikit-learn", workload).fit(X_fit, y_fit)
    sklearn_model.coefs_ = [c.copy() for c in reference.coefs_]
    sklearn_model.intercepts_ = [b.copy() for b in reference.intercepts_]
    models = {"fastmlp": reference, "scikit-learn": sklearn_model}
    for name in names[2:]:
        models[name] = libraries.estimator(name, workload).set_params_from(
            reference.coefs_, reference.intercepts_, reference.classes_
        )
    return models


def predict(workload, dtype, names, repeats, peak_gflops, latency_calls):
    """Throughput of ``predict_proba`` on many rows and its latency on one row.

    The network is trained by fastmlp for one epoch on ``n_test`` rows; every
    library then predicts with those same weights.
    """
    X, X_fit, y, y_fit = workloads.make_data(workload, dtype)
    load = os.getloadavg()[0]
    models = _predict_models(workload, names, X_fit, y_fit)
    for model in models.values():  # warm up (jit compiles, thread pools)
        model.predict_proba(X[:4096])
        model.predict_proba(X[:1])
    calls = {name: (lambda m=m: m.predict_proba(X)) for name, m in models.items()}
    seconds, probas = measure.alternate(calls, repeats)
    median = measure.medians(seconds)

    one_row = X[:1]
    latency = {name: [] for name in names}
    block = max(1, latency_calls // max(repeats, 1))
    for _ in range(max(repeats, 1)):
        for name, model in models.items():
            for _ in range(block):
                start = time.perf_counter()
                model.predict_proba(one_row)
                latency[name].append(time.perf_counter() - start)
    latency_us = {name: statistics.median(v) * 1e6 for name, v in latency.items()}
    flops = workloads.forward_flops(workload.units, X.shape[0])
    gflops = {name: flops / value / 1e9 for name, value in median.items()}
    return {
        "workload": workload.name,
        "kind": "predict",
        "dtype": np.dtype(dtype).name,
        "description": (
            f"predict: predict_proba on {X.shape[0]:,} x {X.shape[1]} rows, "
            f"hidden {workload.hidden}, 10 classes; latency: one row"
        ),
        "shape": dataclasses.asdict(workload),
        "libraries": names,
        "repeats": repeats,
        "seconds": seconds,
        "median_seconds": median,
        "rows_per_second": {name: X.shape[0] / value for name, value in median.items()},
        "load_average": [load, os.getloadavg()[0]],
        "ratio_to_fastmlp": measure.ratios(median),
        "min_seconds": measure.minima(seconds),
        "ratio_of_minima_to_fastmlp": measure.ratios(measure.minima(seconds)),
        "latency_calls": len(latency["fastmlp"]),
        "latency_us": latency_us,
        "latency_ratio_to_fastmlp": measure.ratios(latency_us),
        "score_name": "accuracy",
        "score": {name: float(m.score(X, y)) for name, m in models.items()},
        "max_abs_proba_difference_to_fastmlp": {
            name: float(np.max(np.abs(p - probas["fastmlp"])))
            for name, p in probas.items()
        },
        "gflops": gflops,
        "fastmlp_fraction_of_peak": gflops["fastmlp"] / peak_gflops,
    }


def sweep(base, repeats, tiny):
    """fastmlp's and scikit-learn's fit times as n_samples and width grow."""
    sizes = SWEEP_TINY if tiny else SWEEP
    points = []
    for axis, values in sizes.items():
        for value in values:
            if axis == "n_samples":
                workload = dataclasses.replace(base, n_samples=value, n_test=200)
            else:
                workload = dataclasses.replace(base, hidden=(value,), n_test=200)
            X, _, y, _ = workloads.make_data(workload, np.float64)
            with _quiet():
                _warm_up("fastmlp", workload, X[:400], y[:400])
                calls = {
                    name: _fit_call(name, workload, X, y)
                    for name in ("fastmlp", "scikit-learn")
                }
                seconds, _ = measure.alternate(calls, repeats)
            median = measure.medians(seconds)
            points.append(
                {
                    "axis": axis,
                    "value": value,
                    "n_samples": workload.n_samples,
                    "hidden": list(workload.hidden),
                    "median_seconds": median,
                    "ratio_to_fastmlp": measure.ratios(median),
                    "min_seconds": measure.minima(seconds),
                }
            )
    return {
        "base": base.describe(),
        "dtype": "float64",
        "repeats": repeats,
        "points": points,
    }


def startup(workload, repeats, cold):
    """Import time of fastmlp, and its first fit in a fresh process."""
    return {
        "import": probes.import_time(repeats),
        "first_fit_warm_cache": probes.first_fit(workload),
        "first_fit_cold_cache": probes.first_fit(workload, cold=True) if cold else None,
        "workload": workload.describe(),
    }


def first_use(tiny, cold=True, sklearn_runs=2):
    """First sessions in fresh processes: fastmlp cold and warm, scikit-learn.

    fastmlp runs twice on one new, empty ``NUMBA_CACHE_DIR``: cold (it
    compiles everything the session uses) and then warm (it loads all of it
    from that cache). Without ``cold`` (tests) it runs once, warm, on numba's
    default cache. scikit-learn has no cache; it runs ``sklearn_runs`` times,
    the first one before fastmlp's and the last one after them, so the OS's
    file cache is warm for both libraries; the last one is the reported one.
    """
    load_before = os.getloadavg()[0]
    sklearn = [probes.first_use("sklearn", tiny=tiny)]
    if cold:
        with tempfile.TemporaryDirectory(prefix="fastmlp-first-use-") as folder:
            fastmlp_cold = probes.first_use("fastmlp", folder, tiny)
            fastmlp_warm = probes.first_use("fastmlp", folder, tiny)
    else:
        fastmlp_cold, fastmlp_warm = None, probes.first_use("fastmlp", tiny=tiny)
    for _ in range(sklearn_runs - 1):
        sklearn.append(probes.first_use("sklearn", tiny=tiny))
    return {
        "fastmlp_cold": fastmlp_cold,
        "fastmlp_warm": fastmlp_warm,
        "scikit_learn": sklearn[-1],
        "scikit_learn_runs": sklearn,
        "load_average": [load_before, os.getloadavg()[0]],
        "first_fit_extra_target_seconds": 0.3,
    }

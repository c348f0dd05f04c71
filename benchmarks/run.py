"""fastmlp next to scikit-learn on a data set that ships with scikit-learn.

Trains the default ``MLPClassifier`` of each library on the same split of the
digits data set (the same parameters and random_state), alternating the two
libraries over repeats, and prints the median fit time of each, their ratio
and the test accuracy each reached.

Usage: ``python benchmarks/run.py [--quick] [--repeats N] [--json PATH]``
"""

import argparse
import json
import os
import platform
import statistics
import time
import warnings

import numpy as np
from sklearn import neural_network
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import fastmlp


def _timed_fit(estimator, X, y):
    start = time.perf_counter()
    estimator.fit(X, y)
    return time.perf_counter() - start


def run(repeats, max_iter):
    """Median fit times and scores of both libraries; returns a dict."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    params = {"random_state": 0, "max_iter": max_iter}
    libraries = {
        "scikit-learn": neural_network.MLPClassifier,
        "fastmlp": fastmlp.MLPClassifier,
    }

    times = {name: [] for name in libraries}
    scores = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        fastmlp.MLPClassifier(**params).fit(X_train[:50], y_train[:50])
        first_fit = time.perf_counter() - start
        for _ in range(repeats):
            for name, cls in libraries.items():
                model = cls(**params)
                times[name].append(_timed_fit(model, X_train, y_train))
                scores[name] = model.score(X_test, y_test)
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        "data": f"digits, {X_train.shape[0]} x {X_train.shape[1]}, 10 classes",
        "estimator": f"MLPClassifier(random_state=0, max_iter={max_iter})",
        "repeats": repeats,
        "median_fit_seconds": medians,
        "test_accuracy": scores,
        "speedup": medians["scikit-learn"] / medians["fastmlp"],
        "first_fit_seconds_including_compile_or_cache_load": first_fit,
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs, 3 repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 5)
    max_iter = 50 if args.quick else 200
    result = run(repeats, max_iter)

    print(f"data: {result['data']}; {result['estimator']}; {repeats} repeats")
    print(
        "first fastmlp fit in this process (compile or cache load): "
        f"{result['first_fit_seconds_including_compile_or_cache_load']:.2f} s"
    )
    print(f"{'library':<14}{'median fit (s)':>16}{'test accuracy':>16}")
    for name, seconds in result["median_fit_seconds"].items():
        print(f"{name:<14}{seconds:>16.3f}{result['test_accuracy'][name]:>16.4f}")
    print(f"fastmlp is {result['speedup']:.1f}x faster than scikit-learn")
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(result, stream, indent=2)


if __name__ == "__main__":
    main()

"""GridSearchCV over fastmlp with n_jobs=1 and n_jobs=2: wall time of each.

8 candidates x 3 folds (24 fits, then a refit) of MLPClassifier on a 4000 x 20
classification problem, max_iter=30. Each setting runs once untimed first
(worker start-up, loading the compiled code), then ``--repeats`` timed runs;
prints the median of each and their ratio, plus the thread settings that
explain them (joblib's loky workers each get cpu_count // n_jobs BLAS threads;
a third row runs n_jobs=1 with BLAS held to one thread, for comparison).
On a shared machine, read the numbers as a rough indication.

    python benchmarks/grid_search_jobs.py [--repeats 3] [--n-jobs 2]
"""

import argparse
import statistics
import time
import warnings

import joblib
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, ParameterGrid
from threadpoolctl import threadpool_info, threadpool_limits

from fastmlp import MLPClassifier

GRID = {
    "hidden_layer_sizes": [(32,), (64,)],
    "alpha": [1e-4, 1e-2],
    "learning_rate_init": [1e-3, 1e-2],
}


def run_search(X, y, n_jobs):
    search = GridSearchCV(
        MLPClassifier(max_iter=30, random_state=0), GRID, cv=3, n_jobs=n_jobs
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        search.fit(X, y)
        return time.perf_counter() - start, search.best_score_


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()

    X, y = make_classification(
        n_samples=4000, n_features=20, n_informative=10, random_state=0
    )
    blas_threads = max(lib["num_threads"] for lib in threadpool_info())
    print(
        f"{len(ParameterGrid(GRID))} candidates x 3 folds, X {X.shape}, "
        f"max_iter=30; {joblib.cpu_count()} CPUs, {blas_threads} BLAS threads "
        f"in this process"
    )
    settings = {
        "n_jobs=1": (1, None),
        f"n_jobs={args.n_jobs}": (args.n_jobs, None),
        # for context: serial, with BLAS held to one thread as in each worker
        "n_jobs=1, 1 BLAS thread": (1, 1),
    }
    medians = {}
    for label, (n_jobs, blas_limit) in settings.items():
        with threadpool_limits(blas_limit, user_api="blas"):
            run_search(X, y, n_jobs)  # warm-up
            runs = [run_search(X, y, n_jobs) for _ in range(args.repeats)]
        times = [seconds for seconds, _ in runs]
        medians[label] = statistics.median(times)
        print(
            f"{label:>24}: median {medians[label]:.2f} s over {args.repeats} runs "
            f"({', '.join(f'{t:.2f}' for t in times)}); "
            f"best cv accuracy {runs[0][1]:.4f}"
        )
    ratio = medians["n_jobs=1"] / medians[f"n_jobs={args.n_jobs}"]
    print(f"time ratio n_jobs=1 / n_jobs={args.n_jobs}: {ratio:.2f}x")


if __name__ == "__main__":
    main()

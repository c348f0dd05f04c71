"""First use: one fresh Python session of fastmlp or scikit-learn, step by step.

Run as ``python benchmarks/first_use.py fastmlp|sklearn [--tiny]``; prints one
JSON object. The session does what a new user does first, each step timed
inside this process (wall seconds, and CPU seconds of this process and its
children, all threads):

1. Python starts (process start to this file's first line);
2. ``import numpy`` and ``make_classification`` of 2,000 x 20 (random_state=0);
3. ``import fastmlp`` (numba with it) or ``import sklearn.neural_network``,
   then ``MLPClassifier(random_state=0).fit(X, y)``: float64, adam, the
   default network (100,) and ``max_iter=200``;
4. ``predict_proba``; 5. a float32 fit; 6. an lbfgs fit; 7. a fit and a
   predict on a CSR matrix; 8. a (512, 512) network, 2 epochs (its batches are
   big enough for fastmlp to split them); 9. ``jacobian`` (fastmlp only);
10. the whole session, process start to here.

Then a second fit identical to step 3's, in the same process: the first fit's
extra cost over it is what the first use adds (numba's cache loading, or with
an empty ``NUMBA_CACHE_DIR`` its compiling; fastmlp imports numba on its first
fit, so numba's import is in that cost too; its CPU seconds are this
thread's, where the compiling happens, since BLAS threads that the earlier
steps leave spinning would count in the second fit's). Warnings (ConvergenceWarning) are
silenced. ``--tiny`` (tests): 200 rows and at most 5 epochs per fit (the
(512, 512) network: 2 as always).

The parent (``probes.first_use``) sets ``FIRST_USE_LAUNCH`` to its
``time.time()`` just before starting this process, so step 1 counts from the
launch; without it step 1 counts from the process's start time in ``/proc``
(10 ms resolution).
"""

import time

_START_WALL = time.perf_counter()
_START_EPOCH = time.time()

import json  # noqa: E402  (the clock starts first)
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

#: The steps in session order, with the labels of the printed table.
STEPS = {
    "python_start": "Python starts",
    "data": "import numpy, make_classification",
    "fit_default": "import + default fit (float64, adam)",
    "to_first_fit": "  = process start to first fit done",
    "predict_proba": "predict_proba",
    "fit_float32": "float32 fit",
    "fit_lbfgs": "lbfgs fit",
    "csr_fit_predict": "CSR fit + predict",
    "fit_512x512": "(512, 512) fit, 2 epochs (split batches)",
    "jacobian": "jacobian (fastmlp only)",
    "session": "whole session",
}

LIBRARIES = {"fastmlp": "fastmlp", "sklearn": "sklearn.neural_network"}


def _cpu():
    """CPU seconds of this process since it started, plus its children's."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _before_start():
    """Wall seconds from the process's launch to this file's first line."""
    launch = os.environ.get("FIRST_USE_LAUNCH")
    if launch:
        return _START_EPOCH - float(launch), "the parent's launch time"
    try:
        with open("/proc/self/stat") as stream:
            fields = stream.read().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
        since_boot = time.clock_gettime(time.CLOCK_BOOTTIME)
        elapsed = since_boot - started - (time.perf_counter() - _START_WALL)
        return elapsed, "/proc/self/stat starttime (10 ms resolution)"
    except (OSError, ValueError, IndexError, AttributeError):
        return None, None


class Clock:
    """Wall and CPU seconds of each step, in order."""

    def __init__(self):
        self.steps = {}

    def __call__(self, name, function, *args):
        wall, cpu = time.perf_counter(), _cpu()
        value = function(*args)
        self.steps[name] = {
            "wall_seconds": time.perf_counter() - wall,
            "cpu_seconds": _cpu() - cpu,
        }
        return value


def session(library, tiny=False):
    """Run the session of ``library`` (``'fastmlp'`` or ``'sklearn'``)."""
    if library not in LIBRARIES:
        raise ValueError(f"library: one of {sorted(LIBRARIES)}, not {library!r}")
    cpu_at_start = _cpu()  # the interpreter's start-up, imports of this file
    before, before_method = _before_start()
    warnings.simplefilter("ignore")
    rows = 200 if tiny else 2000
    cap = {"max_iter": 5} if tiny else {}
    clock = Clock()
    clock.steps["python_start"] = {
        "wall_seconds": before,
        "cpu_seconds": cpu_at_start,
    }

    def data():
        import numpy as np
        from sklearn.datasets import make_classification

        X, y = make_classification(n_samples=rows, n_features=20, random_state=0)
        return np, X, y

    np, X, y = clock("data", data)

    def fit_default():
        import importlib

        start = time.perf_counter(), _cpu()
        module = importlib.import_module(LIBRARIES[library])
        middle = time.perf_counter(), _cpu(), time.thread_time()
        numba_at_import = "numba" in sys.modules
        model = module.MLPClassifier(random_state=0, **cap).fit(X, y)
        end = time.perf_counter(), _cpu(), time.thread_time()
        parts = {
            "import": {
                "wall_seconds": middle[0] - start[0],
                "cpu_seconds": middle[1] - start[1],
            },
            "fit": {
                "wall_seconds": end[0] - middle[0],
                "cpu_seconds": end[1] - middle[1],
                "thread_cpu_seconds": end[2] - middle[2],
            },
        }
        parts["numba_imported_by"] = (
            "import" if numba_at_import else "fit" if "numba" in sys.modules else None
        )
        return module.MLPClassifier, model, parts

    MLPClassifier, model, parts = clock("fit_default", fit_default)
    clock.steps["fit_default"]["parts"] = parts
    clock.steps["to_first_fit"] = _since_start(before)
    clock("predict_proba", model.predict_proba, X)
    X32 = X.astype(np.float32)
    clock("fit_float32", MLPClassifier(random_state=0, **cap).fit, X32, y)
    lbfgs = MLPClassifier(solver="lbfgs", random_state=0, **cap)
    clock("fit_lbfgs", lbfgs.fit, X, y)

    def csr_fit_predict():
        from scipy import sparse

        X_csr = sparse.csr_matrix(X)
        return MLPClassifier(random_state=0, **cap).fit(X_csr, y).predict(X_csr)

    clock("csr_fit_predict", csr_fit_predict)
    wide = MLPClassifier((512, 512), max_iter=2, random_state=0)
    clock("fit_512x512", wide.fit, X, y)
    if library == "fastmlp":
        clock("jacobian", model.jacobian, X)
    clock.steps["session"] = _since_start(before)

    # the extra cost of the first fit: a second identical fit, same process
    thread_cpu = time.thread_time()
    again = clock("fit_default_again", MLPClassifier(random_state=0, **cap).fit, X, y)
    repeat = clock.steps.pop("fit_default_again")
    repeat["thread_cpu_seconds"] = time.thread_time() - thread_cpu
    first = parts["fit"]
    return {
        "library": library,
        "tiny": tiny,
        "rows": rows,
        "features": 20,
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR"),
        "python_start_measured_from": before_method,
        "versions": _versions(library),
        "n_iter": {"fit_default": int(model.n_iter_), "again": int(again.n_iter_)},
        "steps": clock.steps,
        "second_fit": repeat,
        "first_fit_extra": {
            "wall_seconds": first["wall_seconds"] - repeat["wall_seconds"],
            # this thread's: BLAS threads that earlier steps left spinning
            # would add their CPU time to the second fit's
            "cpu_seconds": first["thread_cpu_seconds"] - repeat["thread_cpu_seconds"],
            "with_import_wall_seconds": clock.steps["fit_default"]["wall_seconds"]
            - repeat["wall_seconds"],
        },
    }


def _since_start(before):
    """Wall (from the launch) and CPU seconds of the process so far."""
    wall = time.perf_counter() - _START_WALL
    return {
        "wall_seconds": None if before is None else before + wall,
        "cpu_seconds": _cpu(),
    }


def _versions(library):
    from importlib import metadata

    names = ["numpy", "scikit-learn"]
    if library == "fastmlp":
        names += ["fastmlp", "numba"]
    return {name: metadata.version(name) for name in names}


def main(argv=None):
    """``first_use.py fastmlp|sklearn [--tiny]``: print the session's JSON."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("library", choices=sorted(LIBRARIES))
    parser.add_argument("--tiny", action="store_true", help="200 rows, 5 epochs")
    args = parser.parse_args(argv)
    print(json.dumps(session(args.library, args.tiny)))


if __name__ == "__main__":
    sys.exit(main())

"""Measurements that need a fresh process: memory, import time, first fit.

The parent calls :func:`fit_memory`, :func:`import_time` and
:func:`first_fit`; each starts this file as a child (``python probes.py
KIND JSON``), which prints one JSON object on its last line.
:func:`first_use` starts ``first_use.py`` (a whole first session) instead.
"""

import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

MEMORY_METHOD = (
    "a fresh process per library and workload loads the data, imports the "
    "library and fits 400 rows (warm-up); then the measured fit. peak = the "
    "process's peak RSS (VmHWM in /proc/self/status), +fit = peak RSS during "
    "the measured fit (VmHWM reset through /proc/self/clear_refs) minus RSS "
    "before it. Not getrusage's ru_maxrss: Linux carries the parent's peak "
    "into a child across fork and exec, which hid every number here"
)


def _child(kind, payload, env=None, timeout=1800):
    """Run this file as ``kind`` with ``payload``; the JSON it prints."""
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), kind, json.dumps(payload)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=None if env is None else {**os.environ, **env},
    )
    if result.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def fit_memory(library, workload, X, y):
    """Peak RSS (MB) of a process that fits ``library`` on ``(X, y)``."""
    import numpy as np

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.npz"
        np.savez(path, X=X, y=y)
        payload = {
            "library": library,
            "workload": dataclasses.asdict(workload),
            "data": str(path),
        }
        return _child("memory", payload)


def import_time(repeats=3):
    """Median seconds of ``import fastmlp`` after ``import sklearn.neural_network``."""
    runs = [_child("import", {}) for _ in range(repeats)]
    return {
        "sklearn_neural_network_seconds": statistics.median(r[0] for r in runs),
        "fastmlp_extra_seconds": statistics.median(r[1] for r in runs),
        "repeats": repeats,
    }


def first_fit(workload, cold=False):
    """First fit of fastmlp in a fresh process, and a later fit in that process.

    With ``cold`` the child's numba cache is an empty folder
    (``NUMBA_CACHE_DIR``), so the first fit compiles; otherwise it loads the
    kernels the parent's runs cached.
    """
    payload = {"workload": dataclasses.asdict(workload)}
    if not cold:
        return _child("first_fit", payload)
    with tempfile.TemporaryDirectory() as folder:
        return _child("first_fit", payload, env={"NUMBA_CACHE_DIR": folder})


def first_use(library, cache_dir=None, tiny=False, timeout=1800):
    """One session of ``first_use.py`` for ``library`` in a fresh process.

    ``library`` is ``'fastmlp'`` or ``'sklearn'``; ``cache_dir`` becomes the
    child's ``NUMBA_CACHE_DIR`` (None: numba's default cache). Adds
    ``process``: the child's wall seconds from launch to exit and its CPU
    seconds (user + system, with any grandchildren), as this process sees them.
    """
    script = Path(__file__).with_name("first_use.py")
    command = [sys.executable, str(script), library] + (["--tiny"] if tiny else [])
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    # Python's default, as in a user's environment: modules' bytecode cached
    # on first import (pip compiles it at install; an editable install of
    # fastmlp under PYTHONDONTWRITEBYTECODE=1 would recompile its ~30
    # modules in every session, about 25 ms, where scikit-learn has its .pyc)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env["FIRST_USE_LAUNCH"] = repr(time.time())
    start = time.perf_counter()
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError(f"first_use {library} failed:\n{result.stderr[-3000:]}")
    session = json.loads(result.stdout.strip().splitlines()[-1])
    session["process"] = {
        "wall_seconds": wall,
        "cpu_seconds": (after.ru_utime - before.ru_utime)
        + (after.ru_stime - before.ru_stime),
    }
    return session


def scale_memory(n_rows):
    """One epoch of fastmlp on ``n_rows`` x 50 float32 rows, (128, 128): the
    rise of the peak RSS during the fit against the input's size."""
    return _child("scale", {"rows": int(n_rows)})


def _status_mb(field):
    """``VmHWM`` (peak RSS) or ``VmRSS`` of this process in MB, or None."""
    try:
        with open("/proc/self/status") as stream:
            for line in stream:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return None


def _reset_peak():
    """Reset VmHWM to the current RSS (Linux 4.0+); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as stream:
            stream.write("5")
        return True
    except OSError:
        return False


def _workload(fields):
    import workloads

    fields["hidden"] = tuple(fields["hidden"])
    return workloads.Workload(**fields)


def _memory_child(payload):
    import libraries
    import numpy as np

    if payload["library"] in ("torch", "jax"):
        import peers

        peers.setup(payload["library"])
    workload = _workload(payload["workload"])
    data = np.load(payload["data"])
    X, y = data["X"], data["y"]
    rows = min(400, X.shape[0])
    libraries.estimator(payload["library"], workload, max_iter=1).fit(
        X[:rows], y[:rows]
    )
    process_peak = _status_mb("VmHWM")
    before = _status_mb("VmRSS")
    reset = _reset_peak()
    libraries.estimator(payload["library"], workload).fit(X, y)
    after = _status_mb("VmHWM")
    if process_peak is None or not reset:
        return {"peak_mb": None, "fit_mb": None, "data_mb": X.nbytes / 2**20}
    return {
        "peak_mb": max(process_peak, after),
        "fit_mb": after - before,
        "data_mb": X.nbytes / 2**20,
    }


def _scale_child(payload):
    import numpy as np

    from fastmlp import MLPClassifier

    rng = np.random.default_rng(0)
    MLPClassifier((128, 128), max_iter=1, random_state=0).fit(  # compile first
        rng.standard_normal((400, 50), dtype=np.float32), rng.integers(0, 2, 400)
    )
    X = rng.standard_normal((payload["rows"], 50), dtype=np.float32)
    y = (X[:, :5].sum(axis=1) > 0).astype(np.int64)
    before = _status_mb("VmRSS")
    reset = _reset_peak()
    start = time.perf_counter()
    model = MLPClassifier((128, 128), max_iter=1, random_state=0).fit(X, y)
    seconds = time.perf_counter() - start
    rise = _status_mb("VmHWM") - before if reset and before is not None else None
    input_mb = X.nbytes / 2**20
    return {
        "rows": payload["rows"],
        "features": 50,
        "hidden": [128, 128],
        "input_mb": input_mb,
        "fit_mb": rise,
        "fit_over_input": None if rise is None else rise / input_mb,
        "seconds": seconds,
        "train_accuracy": float(model.score(X[:20000], y[:20000])),
    }


def _import_child(payload):
    start = time.perf_counter()
    import sklearn.neural_network  # noqa: F401

    middle = time.perf_counter()
    import fastmlp  # noqa: F401

    return [middle - start, time.perf_counter() - middle]


def _first_fit_child(payload):
    import libraries
    import numpy as np
    import workloads

    workload = _workload(payload["workload"])
    X, _, y, _ = workloads.make_data(workload, np.float64)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        libraries.estimator("fastmlp", workload).fit(X, y)
        times.append(time.perf_counter() - start)
    return {
        "first_fit_seconds": times[0],
        "later_fit_seconds": times[1],
        "first_minus_later_seconds": times[0] - times[1],
    }


def main():
    """Child entry point: ``probes.py KIND JSON``."""
    warnings.simplefilter("ignore")
    kind, payload = sys.argv[1], json.loads(sys.argv[2])
    handler = {
        "memory": _memory_child,
        "import": _import_child,
        "first_fit": _first_fit_child,
        "scale": _scale_child,
    }[kind]
    print(json.dumps(handler(payload)))


if __name__ == "__main__":
    main()

"""Timing helpers, the machine's description and its measured matmul peak."""

import argparse
import gc
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np


def alternate(calls, repeats):
    """Time each of ``calls`` (name -> no-argument callable) ``repeats`` times.

    The calls take turns within every repeat, and the order rotates from one
    repeat to the next, so slow spells of a shared machine fall on every
    library alike. Returns ``(seconds, results)``: the lists of times by name,
    and what each call returned the last time.
    """
    names = list(calls)
    seconds = {name: [] for name in names}
    results = {}
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            start = time.perf_counter()
            results[name] = calls[name]()
            seconds[name].append(time.perf_counter() - start)
    return seconds, results


def medians(seconds):
    """The median of each list of times."""
    return {name: statistics.median(values) for name, values in seconds.items()}


def minima(seconds):
    """The best (least disturbed) of each list of times."""
    return {name: min(values) for name, values in seconds.items()}


def ratios(median_seconds, reference="fastmlp"):
    """``median[name] / median[reference]`` for every other name."""
    base = median_seconds[reference]
    return {
        name: value / base
        for name, value in median_seconds.items()
        if name != reference
    }


def matmul_peak(dtype, size=2048, tries=5):
    """Best GFLOP/s of NumPy's ``size x size @ size x size`` in ``dtype``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    out = np.empty((size, size), dtype=dtype)
    np.matmul(a, b, out=out)  # warm up the BLAS threads
    best = float("inf")
    for _ in range(tries):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best / 1e9


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(versions):
    """The machine and software the numbers come from.

    ``versions`` maps library names to versions (None when not importable).
    """
    import scipy.linalg  # noqa: F401  (loads the BLAS that numba's np.dot calls)
    from threadpoolctl import threadpool_info

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    pools = [
        {
            "user_api": pool.get("user_api"),
            "internal_api": pool.get("internal_api"),
            "version": pool.get("version"),
            "architecture": pool.get("architecture"),
            "num_threads": pool.get("num_threads"),
            "library": Path(pool.get("filepath", "")).name,
        }
        for pool in threadpool_info()
    ]
    return {
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": affinity,
        "threadpools": pools,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "load_average_at_start": list(os.getloadavg()),
    }


def section_parser(doc):
    """The command line of a section run on its own (``activations.py``,
    ``datasets.py``): ``--repeats``, ``--tiny`` and ``--json``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--json", default=None, help="write the section here")
    return parser


def print_section(section, text, json_path=None):
    """Print ``text(section)``; write the section as JSON to ``json_path``."""
    print(text(section))
    if json_path:
        with open(json_path, "w") as stream:
            json.dump(section, stream, indent=2)

"""fastmlp next to scikit-learn, PyTorch and JAX: training and predict speed.

Trains the same networks in one process with fastmlp, scikit-learn's MLP on
the same parameters, and PyTorch and JAX on the CPU when they import (same
architecture, Adam, batch size, epochs and dtype; every library shuffles every
epoch). Libraries take turns over repeats; the report gives medians and
ratios of medians (other library / fastmlp), the held-out score each reached,
fastmlp's GFLOP/s against this machine's matmul peak, peak memory of a fit,
a scaling sweep, fastmlp's fit time on 1 and 2 threads, the forward/reverse
crossover of ``jacobian``, startup costs, a first session step by step
(``first_use.py``: fresh processes, fastmlp with an empty and then a warm numba
cache, scikit-learn doing the same), the activation section
(``activations.py``: every hidden activation against relu, scikit-learn's four
against scikit-learn, a 100-class softmax output) and the example datasets
(``datasets.py``: iris, wine, breast cancer and digits with default
classifiers, hundreds of short epochs). See ``workloads.py`` for the
workloads.

Usage::

    python benchmarks/run.py [--quick] [--repeats N] [--json PATH] [--png PATH]
                             [--only NAME[,NAME]] [--dtypes float64[,float32]]
                             [--no-memory] [--tiny] [--threads 1,2,4,...]

``--quick`` (README's quickstart): the small workload in float64 and float32
and the lbfgs workload in float64, at reduced sizes, 3 repeats, no sweep
(and no ``first_use``, which takes a minute or more with its cold cache,
unless ``--only`` names it).
``--threads`` sets the thread counts of the thread section (``threads.py``:
speed-up against one thread, measured up to the machine's cores, and a cost
model's prediction for 16 and 64 cores); default: 1, 2, 4, ... up to the
cores, and the cores.
``--tiny`` shrinks every size further (for the test suite). torch, jax and
matplotlib are optional: without them their parts are skipped with a note.
"""

import argparse
import json
import math
import os
import sys
import time
from importlib import metadata
from pathlib import Path

# the sibling modules import as top-level modules: this folder is sys.path[0]
import activations
import datasets
import jacobian
import libraries
import measure
import numpy as np
import peers
import probes
import report
import suite
import threads
import workloads

SECTIONS = (
    "sweep",
    "threads",
    "jacobian",
    "startup",
    "first_use",
    "scale",
    "activations",
    "datasets",
)
DTYPES = {"float64": np.float64, "float32": np.float32}


def _version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def parse_args(argv=None):
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="small and lbfgs, reduced, 3 repeats"
    )
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (tests)")
    parser.add_argument("--repeats", type=int, default=None, help="default 5 (3)")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--png", default=None, help="bar chart of the ratios here")
    names = ", ".join(list(workloads.WORKLOADS) + list(SECTIONS))
    parser.add_argument(
        "--only", default=None, help=f"comma-separated subset of: {names}"
    )
    parser.add_argument(
        "--dtypes", default=None, help="float64,float32 (default: both)"
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the memory subprocesses"
    )
    parser.add_argument(
        "--threads",
        default=None,
        help="thread counts of the thread section (default 1,2,4,... cores)",
    )
    args = parser.parse_args(argv)
    if args.only:
        args.only = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = set(args.only) - set(workloads.WORKLOADS) - set(SECTIONS)
        if unknown:
            parser.error(f"--only: unknown {sorted(unknown)}; choose from {names}")
    if args.dtypes:
        args.dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
        if not args.dtypes or set(args.dtypes) - set(DTYPES):
            parser.error("--dtypes: float64 and/or float32")
    if args.threads:
        try:
            args.threads = sorted({int(t) for t in args.threads.split(",") if t})
        except ValueError:
            parser.error("--threads: comma-separated integers")
        if not args.threads or min(args.threads) < 1:
            parser.error("--threads: counts of at least 1")
    else:
        args.threads = default_thread_counts()
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def default_thread_counts():
    """1, 2, 4, ... up to the machine's cores, and the cores."""
    cores = os.cpu_count() or 1
    counts = {cores}
    count = 1
    while count < cores:
        counts.add(count)
        count *= 2
    return sorted(counts)


def plan(args):
    """``[(workload, dtype name)]`` to run, in order."""
    names = None
    if args.only:
        names = [n for n in args.only if n in workloads.WORKLOADS]
    chosen = workloads.selected(names, args.quick, args.tiny)
    dtypes = args.dtypes or list(DTYPES)
    steps = []
    for workload in chosen:
        for dtype in dtypes:
            if args.quick and workload.name == "lbfgs" and dtype != "float64":
                continue  # quick: lbfgs in float64 only
            steps.append((workload, dtype))
    return steps


def _measure_memory(args, workload, dtype_name):
    """Memory probes: every training workload; quick: small in float64 only."""
    if args.no_memory:
        return False
    return not args.quick or (workload.name == "small" and dtype_name == "float64")


def _log(text):
    """Progress, on stderr (the report goes to stdout)."""
    print(text, file=sys.stderr, flush=True)


def _wants(args, section):
    return args.only is None or section in args.only


def run(args):
    """Run what ``args`` asks for; the JSON-ready result."""
    mode = "quick" if args.quick else "full"
    if args.tiny:
        mode += "+tiny"
    repeats = args.repeats or (3 if args.quick else 5)
    peer_versions, skipped = peers.available()
    versions = {
        "fastmlp": _version("fastmlp"),
        "numpy": np.__version__,
        "scipy": _version("scipy"),
        "scikit-learn": _version("scikit-learn"),
        "numba": _version("numba"),
        "threadpoolctl": _version("threadpoolctl"),
        **peer_versions,
    }
    size, tries = (256, 2) if args.tiny else (2048, 3 if args.quick else 5)
    peak = {"size": size, "tries": tries}
    for name, dtype in DTYPES.items():
        peak[name] = measure.matmul_peak(dtype, size, tries)
    result = {
        "mode": mode,
        "settings": {**workloads.COMMON, "repeats": repeats, "solver": "adam"},
        "machine": measure.machine(versions),
        "peers": peer_versions,
        "skipped": {name: f"not importable: {why}" for name, why in skipped.items()},
        "matmul_peak_gflops": peak,
        "flop_formula": workloads.FLOP_FORMULA,
        "memory_method": probes.MEMORY_METHOD,
        "workloads": [],
        "predict": [],
        "sweep": None,
        "threads": None,
        "jacobian": None,
        "startup": None,
        "first_use": None,
        "scale": None,
        "activations": None,
        "datasets": None,
    }
    for workload, dtype_name in plan(args):
        start = time.perf_counter()
        names = libraries.for_workload(workload, peer_versions)
        dtype = DTYPES[dtype_name]
        if workload.kind == "predict":
            row = suite.predict(
                workload,
                dtype,
                names,
                repeats,
                peak[dtype_name],
                latency_calls=20 if args.tiny else 300,
            )
            result["predict"].append(row)
        else:
            row = suite.train(
                workload,
                dtype,
                names,
                repeats,
                peak[dtype_name],
                memory=_measure_memory(args, workload, dtype_name),
            )
            result["workloads"].append(row)
        _log(f"{workload.name} {dtype_name}: {time.perf_counter() - start:.1f} s")
    base = workloads.WORKLOADS["small"]
    if args.tiny:
        base = workloads.selected(["small"], False, True)[0]
    if not args.quick and _wants(args, "sweep"):
        start = time.perf_counter()
        result["sweep"] = suite.sweep(base, repeats, args.tiny)
        _log(f"sweep: {time.perf_counter() - start:.1f} s")
    if not args.quick and _wants(args, "threads"):
        start = time.perf_counter()
        # the workloads --only names, or all of them (predict included)
        names = [n for n in args.only or [] if n in workloads.WORKLOADS] or None
        steps = [
            (workload, DTYPES[dtype])
            for workload in workloads.selected(names, False, args.tiny)
            if workload.solver != "lbfgs"
            for dtype in args.dtypes or DTYPES
        ]
        result["threads"] = threads.scaling(steps, args.threads, repeats, args.tiny)
        _log(f"threads: {time.perf_counter() - start:.1f} s")
    if _wants(args, "jacobian"):
        start = time.perf_counter()
        result["jacobian"] = jacobian.crossover(repeats, args.tiny)
        _log(f"jacobian: {time.perf_counter() - start:.1f} s")
    if _wants(args, "startup"):
        start = time.perf_counter()
        small = workloads.selected(["small"], args.quick, args.tiny)[0]
        result["startup"] = suite.startup(
            small, repeats=1 if args.tiny else 3, cold=not (args.quick or args.tiny)
        )
        _log(f"startup: {time.perf_counter() - start:.1f} s")
    if (not args.quick or args.only) and _wants(args, "first_use"):
        start = time.perf_counter()
        # tiny: fastmlp warm on numba's default cache only, scikit-learn once
        result["first_use"] = suite.first_use(
            args.tiny, cold=not args.tiny, sklearn_runs=1 if args.tiny else 2
        )
        _log(f"first_use: {time.perf_counter() - start:.1f} s")
    if not args.quick and _wants(args, "activations"):
        start = time.perf_counter()
        result["activations"] = activations.run(
            repeats, args.tiny, tuple(args.dtypes or DTYPES)
        )
        _log(f"activations: {time.perf_counter() - start:.1f} s")
    if not args.quick and _wants(args, "datasets"):
        start = time.perf_counter()
        result["datasets"] = datasets.run(repeats, args.tiny)
        _log(f"datasets: {time.perf_counter() - start:.1f} s")
    if (not args.quick or args.only) and _wants(args, "scale"):
        start = time.perf_counter()
        result["scale"] = probes.scale_memory(20_000 if args.tiny else 2_000_000)
        _log(f"scale: {time.perf_counter() - start:.1f} s")
    result["summary"] = {
        "scikit_learn_ratio_geometric_mean": _geometric_mean(
            [row["ratio_to_fastmlp"]["scikit-learn"] for row in result["workloads"]]
        ),
        "peer_ratio_geometric_mean": {
            name: _geometric_mean(
                [
                    row["ratio_to_fastmlp"][name]
                    for row in result["workloads"]
                    if name in row["ratio_to_fastmlp"]
                ]
            )
            for name in ("torch", "jax")
        },
    }
    return result


def _geometric_mean(values):
    return math.exp(sum(map(math.log, values)) / len(values)) if values else None


def main(argv=None):
    """Entry point."""
    args = parse_args(argv)
    result = run(args)
    print(report.text(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w") as stream:
            json.dump(result, stream, indent=2)
        print(f"\nresults written to {args.json}")
    if args.png:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("note: matplotlib is not importable; no chart written")
        else:
            Path(args.png).parent.mkdir(parents=True, exist_ok=True)
            report.chart(result, args.png)
            print(f"chart written to {args.png}")


if __name__ == "__main__":
    main()

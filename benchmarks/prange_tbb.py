"""numba ``prange`` (tbb layer) against fastmlp's Python thread pool, for the
parts of a split mini-batch: cold compile time and time per batch.

When this was measured, the engine ran a split batch's parts with
``fastmlp._engine.on_threads`` (a Python thread pool, one ``part_gradient``
call per part; since then each thread runs the whole epoch and the threads
meet at a barrier in compiled code, ``kernels/_atomics.py``); the prototype
here runs them in one ``@njit(parallel=True)`` loop over the parts. The
numbers quoted in ``fastmlp/_engine.py``'s thread policy come from this
script, which still times the pool path it was written against.

The ``tbb`` layer loads from PyPI's ``tbb`` wheel only when its
``libtbb.so.12`` (in the environment's ``lib/``) is loaded first with
``ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)`` (numba #6108): pass the path.

Usage (``NUMBA_CACHE_DIR`` decides cold or warm)::

    NUMBA_CACHE_DIR=$(mktemp -d) python benchmarks/prange_tbb.py LIBTBB compile serial
    NUMBA_CACHE_DIR=$(mktemp -d) python benchmarks/prange_tbb.py LIBTBB compile parallel
    python benchmarks/prange_tbb.py LIBTBB run
"""

import ctypes
import os
import statistics
import sys
import time

if len(sys.argv) < 3:
    sys.exit(__doc__)
ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)

import numba  # noqa: E402
import numpy as np  # noqa: E402
from numba import njit, prange  # noqa: E402

numba.config.THREADING_LAYER = "tbb"

from fastmlp import _compilation, _engine  # noqa: E402
from fastmlp.kernels import network as kernels  # noqa: E402

NETWORKS = {
    "small": [20, 100, 2],
    "mid": [100, 256, 128, 10],
    "wide": [784, 512, 512, 10],
    "regression": [50, 64, 64, 2],
}
BATCH = 200


def make(parallel):
    """The parts of one batch in one compiled loop (``prange`` or ``range``)."""
    loop = prange if parallel else range
    forward_backward = kernels.forward_backward

    def parts_gradient(
        data, rows, starts, stops, params, grads, net, dropout, work, out
    ):
        wx, wy, ww, wa, wp, wd, wm, wdr = work
        for p in loop(starts.shape[0]):
            buffers = (wx[p], wy[p], ww[p], wa[p], wp[p], wd[p], wm[p], wdr[p])
            loss, weight = forward_backward(
                data, rows, starts[p], stops[p], True, params, grads[p], net,
                dropout, -1, buffers,
            )  # fmt: skip
            out[p, 0] = loss
            out[p, 1] = weight

    options = {"parallel": parallel, "nogil": True, "cache": True}
    return njit(error_model="numpy", **options)(parts_gradient)


def problem(units, parts, n=4000, dtype=np.float64):
    rng = np.random.default_rng(0)
    net = _engine.Network(units, ["relu"] * (len(units) - 2), "log_loss", dtype)
    X = _engine.read_only(rng.normal(size=(n, units[0])), dtype)
    Y = _engine.read_only(np.eye(units[-1])[rng.integers(0, units[-1], n)], dtype)
    w = _engine.read_only(np.ones(n), dtype)
    params = (rng.normal(size=net.n_params) * 0.05).astype(dtype)
    rows = _engine.read_only(rng.permutation(n), np.int64)
    size = -(-BATCH // parts)
    works = [net.allocate_work(size, True) for _ in range(parts)]
    stacked = tuple(np.stack([work[i] for work in works]) for i in range(8))
    grads = np.zeros((parts, net.n_params), dtype)
    return net, (X, Y, w), rows, params, grads, works, stacked, size


def loop_arguments(start, parts, size, net, data, rows, params, grads, stacked):
    starts = np.array([start + p * size for p in range(parts)], np.int64)
    stops = np.minimum(starts + size, start + BATCH)
    out = np.empty((parts, 2))
    return (
        data, rows, starts, stops, params, grads, net.bundle, net.no_dropout(),
        stacked, out,
    )  # fmt: skip


def compile_time(kind):
    kernel = make(kind == "parallel")
    net, data, rows, params, grads, _, stacked, size = problem(NETWORKS["mid"], 2)
    cpu, wall = time.process_time(), time.perf_counter()
    kernel(*loop_arguments(0, 2, size, net, data, rows, params, grads, stacked))
    layer = numba.threading_layer() if kind == "parallel" else "-"
    print(
        f"{kind}: first call (compile, or load from the cache) "
        f"CPU {time.process_time() - cpu:.2f} s, "
        f"wall {time.perf_counter() - wall:.2f} s; "
        f"layer {layer}; load {os.getloadavg()[0]:.1f}"
    )


def batch_times(repeats=9):
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    parallel = make(True)
    parts = 2
    starts = range(0, 3800, BATCH)
    with threadpool_limits(limits=1, user_api="blas"):
        for name, units in NETWORKS.items():
            net, data, rows, params, grads, works, stacked, size = problem(units, parts)
            key = net.compile_key("part_gradient", data[0])

            def part(p, start, net=net, data=data, rows=rows, params=params,
                     grads=grads, works=works, size=size, key=key):  # fmt: skip
                return _compilation.call(
                    kernels.part_gradient, key, data, rows, start + p * size,
                    start + (p + 1) * size, True, params, grads[p], net.bundle,
                    net.no_dropout(), -1, works[p],
                )  # fmt: skip

            seconds = {}
            for threads in (1, 2):
                numba.set_num_threads(threads)

                def prange_epoch(net=net, data=data, rows=rows, params=params,
                                 grads=grads, stacked=stacked, size=size):  # fmt: skip
                    for start in starts:
                        parallel(*loop_arguments(
                            start, parts, size, net, data, rows, params, grads,
                            stacked,
                        ))  # fmt: skip

                def pool_epoch(threads=threads, part=part):
                    with ThreadPoolExecutor(threads - 1 or 1) as pool:
                        for start in starts:
                            _engine.on_threads(
                                pool if threads > 1 else None, part,
                                [(p, start) for p in range(parts)], threads,
                            )  # fmt: skip

                for label, epoch in (("prange", prange_epoch), ("pool", pool_epoch)):
                    epoch()
                    times = []
                    for _ in range(repeats):
                        begin = time.perf_counter()
                        epoch()
                        times.append(time.perf_counter() - begin)
                    seconds[label, threads] = statistics.median(times) / len(starts)
            cells = " ".join(
                f"{label}@{threads}: {value * 1e3:.3f} ms"
                for (label, threads), value in seconds.items()
            )
            pool_gain = seconds["pool", 1] / seconds["pool", 2]
            prange_gain = seconds["prange", 1] / seconds["prange", 2]
            print(
                f"{name}: per batch {cells} | 2 threads against 1: pool "
                f"{pool_gain:.2f}x, prange {prange_gain:.2f}x",
                flush=True,
            )
    print(f"layer {numba.threading_layer()}; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    if sys.argv[2] == "compile":
        compile_time(sys.argv[3])
    else:
        batch_times()

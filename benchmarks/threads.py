"""The thread section: fastmlp's speed-up against one thread, measured for
each thread count up to the machine's cores, and a cost model built from
measured per-part times that predicts it for more cores.

A mini-batch of a large enough network is trained as ``P`` row parts
(``fastmlp._engine.batch_parts``: the network and the batch size fix ``P``);
``T`` threads take ``ceil(P / T)`` parts each, then the optimizer step, cut
into ``P`` parameter ranges, the same way, meeting at a barrier after each
(``fastmlp/kernels/_atomics.py``). The model, per fit::

    fit(T) = serial + batches x (ceil(P/T) x (part + update / P) + meet(T))
    meet(T) = 2 x barrier(min(T, P))   (0 for T = 1)

with, measured here on one thread: ``part``, one part's forward and
backward pass (``forward_backward`` on ``B / P`` rows, B the batch size);
``update``, the optimizer step summing ``P`` part gradients over every
parameter; ``serial``, the one-thread fit time less ``batches x (P x part +
update)`` (validation, loss curve, Python per epoch); and ``barrier(T)``,
one crossing of the barrier by ``T`` threads, measured up to the machine's
cores and, beyond, scaled in proportion to ``T`` (each arrival is one
atomic add on a shared counter). It ignores what more cores share (memory
bandwidth, caches, clock boost), so it is an upper bound where the parts
stream the weights. It also
gives the best any row split could do on ``T`` cores: ``P = T`` parts of
``B / T`` rows (``row_split_best``), from measured times of such parts.
"""

import contextlib
import math
import os
import statistics
import time
import warnings

import libraries
import measure
import numpy as np
import workloads
from sklearn.exceptions import ConvergenceWarning

#: Thread counts the model predicts beyond the measured ones.
PREDICTED = (16, 64)


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _engine_problem(workload, dtype):
    """The workload's network, data and parameters as the engine takes them."""
    from fastmlp import _engine

    X, _, y, _ = workloads.make_data(workload, dtype)
    if workload.task == "regression":
        loss, Y = "squared_error", y.reshape(-1, 1)
    elif workload.task == "binary":
        loss, Y = "binary_log_loss", y.reshape(-1, 1).astype(dtype)
    else:
        loss, Y = "log_loss", np.eye(workload.n_classes, dtype=dtype)[y]
    units = workload.units
    net = _engine.Network(units, ["relu"] * (len(units) - 2), loss, dtype)
    rng = np.random.default_rng(0)
    params = (rng.normal(size=net.n_params) * 0.05).astype(dtype)
    return net, X, Y, params


def part_times(workload, dtype, part_counts, tiny=False):
    """One-thread seconds (medians) of a part's forward and backward pass
    for each number of parts ``P`` of a batch (``part_P``), and of the
    optimizer step over ``P`` part gradients (``update_P``)."""
    from threadpoolctl import threadpool_limits

    from fastmlp import _compilation, _engine
    from fastmlp.kernels import network as kernels

    net, X, Y, params = _engine_problem(workload, dtype)
    X = _engine.read_only(X, dtype)
    Y = _engine.read_only(Y, dtype)
    w = _engine.read_only(np.ones(X.shape[0]), dtype)
    batch = workloads.COMMON["batch_size"]
    rows = _engine.read_only(np.random.default_rng(1).permutation(X.shape[0]))
    key = net.compile_key("part_gradient", X)
    calls = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for parts in part_counts:
            size = -(-batch // parts)
            work = net.allocate_work(size, True)
            grads = np.empty(net.n_params, dtype)
            starts = iter(range(0, X.shape[0] - size, size))

            def one(size=size, work=work, grads=grads, starts=starts):
                start = next(starts, None)
                if start is None:
                    start = 0
                _compilation.call(
                    kernels.part_gradient, key, (X, Y, w), rows, start,
                    start + size, True, params, grads, net.bundle,
                    net.no_dropout(), -1, work,
                )  # fmt: skip

            calls[f"part_{parts}"] = one
            # the optimizer step over P part gradients (adam)
            optimizer = _engine.OptimizerState(
                "adam", net.n_params, dtype, learning_rate_init=1e-3
            )
            all_grads = np.zeros((parts, net.n_params), dtype)
            trainer_like = _engine.StochasticTrainer.__new__(_engine.StochasticTrainer)
            trainer_like.optimizer, trainer_like.alpha = optimizer, 1e-4
            trainer_like.network = net
            bundle = trainer_like._optimizer_bundle()
            updated = params.copy()

            def step(all_grads=all_grads, bundle=bundle, updated=updated):
                _compilation.call(
                    kernels.range_update,
                    net.compile_key("range_update", solver="adam"),
                    updated, all_grads,
                    net.n_coefs, float(batch), bundle, 1, 0, net.n_params,
                )  # fmt: skip

            calls[f"update_{parts}"] = step
        # every call in turn, round after round, so that a busy spell of a
        # shared machine falls on all of them alike; medians
        times = {name: [] for name in calls}
        for round_ in range(3 if tiny else 15):
            names = list(calls)
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                calls[name]()  # warm (compile on the first round)
                for _ in range(3):
                    begin = time.perf_counter()
                    calls[name]()
                    times[name].append(time.perf_counter() - begin)
    return {name: statistics.median(values) for name, values in times.items()}


def barrier_times(thread_counts, crossings=4000):
    """Seconds per crossing of the split epoch's barrier by ``T`` threads,
    for each ``T`` in ``thread_counts`` (run together, on a compiled loop of
    ``crossings`` crossings)."""
    import threading

    from numba import njit

    from fastmlp.kernels._atomics import SYNC_SIZE, barrier

    @njit(nogil=True)
    def cross(sync, n_threads, crossings):
        for _ in range(crossings):
            barrier(sync, n_threads)

    cross(np.zeros(SYNC_SIZE, dtype=np.int64), 1, 1)  # compile
    seconds = {}
    for count in thread_counts:
        sync = np.zeros(SYNC_SIZE, dtype=np.int64)
        threads = [
            threading.Thread(target=cross, args=(sync, count, crossings))
            for _ in range(count)
        ]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds[count] = (time.perf_counter() - start) / crossings
    return seconds


def free_cores_control(threads, repeats=3):
    """How much faster ``threads`` threads ran the same one-thread NumPy
    products concurrently than one after the other (median of ``repeats``):
    near ``threads`` when the machine has that many free cores, near 1 when
    other work holds them (then no code can show a speed-up)."""
    import threading

    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a, b = rng.random((100, 784)), rng.random((784, 512))
    outs = [np.empty((100, 512)) for _ in range(threads)]

    def work(i):
        for _ in range(40):
            np.dot(a, b, out=outs[i])

    ratios = []
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(repeats):
            start = time.perf_counter()
            for i in range(threads):
                work(i)
            serial = time.perf_counter() - start
            start = time.perf_counter()
            workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            ratios.append(serial / (time.perf_counter() - start))
    return statistics.median(ratios)


def model_seconds(serial, batches, parts, part, update, barriers, threads):
    """The model's fit time with ``parts`` parts on ``threads`` threads (see
    the module); ``barriers``: ``barrier_times``' measured seconds."""
    meet = 0.0
    used = min(threads, parts)
    if used > 1:
        measured = max(t for t in barriers if t <= used)
        meet = 2 * barriers[measured] * used / measured
    rounds = math.ceil(parts / threads)
    return serial + batches * (rounds * (part + update / parts) + meet)


def _fit_seconds(workload, dtype, counts, repeats):
    from threadpoolctl import threadpool_limits

    X, _, y, _ = workloads.make_data(workload, dtype)

    def fit_on(threads):
        with threadpool_limits(limits=threads, user_api="blas"):
            return libraries.estimator("fastmlp", workload).fit(X, y)

    fit_on(1)  # compile, warm
    calls = {threads: (lambda t=threads: fit_on(t)) for threads in counts}
    seconds, models = measure.alternate(calls, repeats)
    weights = [
        np.concatenate([c.ravel() for c in m.coefs_ + m.intercepts_])
        for m in models.values()
    ]
    same = all(np.array_equal(weights[0], other) for other in weights[1:])
    return measure.medians(seconds), same


def _predict_seconds(workload, dtype, counts, repeats):
    from threadpoolctl import threadpool_limits

    X, X_fit, _, y_fit = workloads.make_data(workload, dtype)
    model = libraries.estimator("fastmlp", workload).fit(X_fit, y_fit)

    def predict_on(threads):
        with threadpool_limits(limits=threads, user_api="blas"):
            return model.predict_proba(X)

    predict_on(1)
    calls = {threads: (lambda t=threads: predict_on(t)) for threads in counts}
    seconds, probas = measure.alternate(calls, repeats)
    values = list(probas.values())
    same = all(np.array_equal(values[0], other) for other in values[1:])
    return measure.medians(seconds), same


def _train_row(workload, dtype, measured, repeats, barriers, tiny):
    from fastmlp import _engine

    median, same = _fit_seconds(workload, dtype, measured, repeats)
    batch = workloads.COMMON["batch_size"]
    net, *_ = _engine_problem(workload, dtype)
    parts = _engine.batch_parts(net, batch)
    top = max([*measured, *PREDICTED])
    split_counts = sorted({1, parts, *[p for p in (2, 4, 8, 16) if p <= top]})
    times = part_times(workload, dtype, split_counts, tiny)
    batches = workload.epochs * math.ceil(workload.n_samples / batch)
    # what is not the parts' work: the one-thread fit less its batches (at
    # least 0: the parts' times, measured apart, can exceed a busy fit's)
    serial = max(
        0.0,
        median[1]
        - batches * (parts * times[f"part_{parts}"] + times[f"update_{parts}"]),
    )

    def model(p, threads):
        return model_seconds(
            serial, batches, p, times[f"part_{p}"], times[f"update_{p}"],
            barriers, threads,
        )  # fmt: skip

    whole = model(1, 1)  # the same fit with whole batches, one thread
    best = {}
    for cores in PREDICTED:
        options = {p: whole / model(p, cores) for p in split_counts}
        p_best = max(options, key=options.get)
        best[str(cores)] = {"parts": p_best, "speedup": options[p_best]}
    return {
        "workload": workload.name,
        "kind": "train",
        "dtype": np.dtype(dtype).name,
        "parts": parts,
        "batches": batches,
        "median_seconds": {str(t): v for t, v in median.items()},
        "speedup": {str(t): median[1] / median[t] for t in median},
        "bit_identical": same,
        "part_seconds": times,
        "serial_seconds": serial,
        "model_speedup": {
            str(t): model(parts, 1) / model(parts, t) for t in [*measured, *PREDICTED]
        },
        "row_split_best": best,
    }


def scaling(steps, counts, repeats, tiny=False):
    """The thread section: for each ``(workload, dtype)``, the median fit
    (predict: ``predict_proba``) time on each of ``counts`` threads (those up
    to the machine's cores), the speed-up against one thread, whether the
    results are bit-identical, and, for training, the cost model's
    prediction next to each measurement and for ``PREDICTED`` cores."""
    cores = os.cpu_count() or 1
    measured = sorted({1, *[c for c in counts if c <= cores]})
    skipped = sorted(c for c in counts if c > cores)
    barriers = barrier_times(measured, 400 if tiny else 4000)
    load = os.getloadavg()[0]
    rows = []
    with _quiet():
        for workload, dtype in steps:
            if workload.kind == "train":
                row = _train_row(workload, dtype, measured, repeats, barriers, tiny)
                rows.append(row)
                continue
            median, same = _predict_seconds(workload, dtype, measured, repeats)
            rows.append(
                {
                    "workload": workload.name,
                    "kind": "predict",
                    "dtype": np.dtype(dtype).name,
                    "median_seconds": {str(t): v for t, v in median.items()},
                    "speedup": {str(t): median[1] / median[t] for t in median},
                    "bit_identical": same,
                }
            )
    top = max(measured)
    return {
        "repeats": repeats,
        "cores": cores,
        "free_cores_control": {
            "threads": top,
            "speedup": free_cores_control(top) if top > 1 else 1.0,
        },
        "counts": measured,
        "not_measured": skipped,
        "predicted": list(PREDICTED),
        "barrier_seconds": {str(t): v for t, v in barriers.items()},
        "load_average": [load, os.getloadavg()[0]],
        "rows": rows,
    }

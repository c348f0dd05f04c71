"""Threads: the split of a mini-batch into row parts and predict's row blocks
follow from the network and the input only, so any number of threads gives
the same bits; the thread count follows the controls users already use.

The networks here are tiny; ``PART_ROWS``, ``PART_MIN_MACS`` and
``PREDICT_CHUNK_ROWS`` are lowered so that they split into several parts and
blocks (more than the threads, and a count that 3 and 4 threads do not
divide). More threads than cores is fine for these tests.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import record_calling_threads
from threadpoolctl import threadpool_limits

from fastmlp import MLPClassifier, MLPRegressor, _engine, _workers
from fastmlp.kernels import network as network_kernels

THREADS = (1, 2, 3, 4, 8)


@pytest.fixture
def many_parts(monkeypatch):
    """Batches of 50 rows in 6 parts (50 // 8); predict in blocks of 32 rows."""
    monkeypatch.setattr(_engine, "SPLIT_MIN_MACS", 0)
    monkeypatch.setattr(_engine, "RUN_THREADS_MIN_MACS", 0)
    monkeypatch.setattr(_engine, "PART_ROWS", 8)
    monkeypatch.setattr(_engine, "PART_MIN_MACS", 1)
    monkeypatch.setattr(_engine, "PREDICT_CHUNK_ROWS", 32)
    monkeypatch.setattr(_engine, "BLAS_THREADS_MIN_MACS", 0)


def _data(dtype, sparse, n=230):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 12))
    X[rng.random(X.shape) < 0.8] = 0.0  # sparse enough for the CSR kernels
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 0)
    X = X.astype(dtype)
    return (sp.csr_matrix(X) if sparse else X), y


def _weights(model):
    return np.concatenate([w.ravel() for w in model.coefs_ + model.intercepts_])


def test_batch_parts_depend_on_the_network_and_batch_size_only():
    wide = _engine.Network([784, 512, 512, 10], ["relu"] * 2, "log_loss", np.float64)
    small = _engine.Network([20, 100, 1], ["relu"], "binary_log_loss", np.float64)
    assert _engine.batch_parts(small, 200) == 2
    assert _engine.batch_parts(small, 100) == 1  # too few multiply-adds
    assert _engine.batch_parts(wide, 200) == 2  # batches of 200: as before
    assert _engine.batch_parts(wide, 64) == 2
    assert _engine.batch_parts(wide, 1000) == 5  # 200 rows a part
    assert _engine.batch_parts(wide, 999) == 4
    assert _engine.batch_parts(wide, 10**6) == _engine.MAX_PARTS


def test_on_threads_keeps_the_order_and_runs_what_a_busy_worker_leaves():
    with ThreadPoolExecutor(3) as pool:
        results = _engine.on_threads(pool, lambda i: i * i, [(i,) for i in range(9)], 4)
        assert results == [i * i for i in range(9)]
    # the pool's only worker is busy: this thread runs every call, and the
    # job queued behind the busy one is cancelled, not waited for
    release = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        pool.submit(release.wait)
        callers = set()

        def record(i):
            callers.add(threading.get_ident())
            return i

        assert _engine.on_threads(pool, record, [(i,) for i in range(5)], 2) == [
            0,
            1,
            2,
            3,
            4,
        ]
        assert callers == {threading.get_ident()}
        release.set()


class _Failure(Exception):
    pass


def test_on_threads_raises_the_first_error_after_every_thread_stopped():
    def fail_on_three(i):
        if i == 3:
            raise _Failure(i)
        return i

    with ThreadPoolExecutor(2) as pool:
        with pytest.raises(_Failure):
            _engine.on_threads(pool, fail_on_three, [(i,) for i in range(8)], 3)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dropout", [0.0, 0.25])
def test_fits_give_the_same_bits_on_any_number_of_threads(
    many_parts, dtype, sparse, dropout
):
    X, y = _data(dtype, sparse)
    fits = {}
    for threads in THREADS:
        model = MLPClassifier(
            hidden_layer_sizes=(9, 6),
            batch_size=50,
            max_iter=3,
            dropout=dropout,
            random_state=0,
        )
        with threadpool_limits(limits=threads, user_api="blas"):
            model.fit(X, y)
            proba = model.predict_proba(X)
        fits[threads] = (_weights(model), proba, model.loss_curve_)
    for threads in THREADS[1:]:
        assert np.array_equal(fits[threads][0], fits[1][0]), threads
        assert np.array_equal(fits[threads][1], fits[1][1]), threads
        assert fits[threads][2] == fits[1][2], threads


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_predict_gives_the_same_bits_in_blocks_on_any_number_of_threads(
    monkeypatch, sparse
):
    X, y = _data(np.float64, sparse, n=200)
    model = MLPRegressor(hidden_layer_sizes=(9,), max_iter=2, random_state=0).fit(
        X, y.astype(float)
    )
    whole = model.predict(X)  # one chunk: one call
    monkeypatch.setattr(_engine, "PREDICT_CHUNK_ROWS", 32)  # 7 blocks
    monkeypatch.setattr(_engine, "BLAS_THREADS_MIN_MACS", 0)
    for threads in THREADS:
        with threadpool_limits(limits=threads, user_api="blas"):
            assert np.array_equal(model.predict(X), whole), threads


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("threads", [1, 2, 8])
def test_parts_run_on_as_many_threads_as_allowed(many_parts, monkeypatch, threads):
    """The split epoch runs as one compiled call per thread: as many threads
    as allowed, at most one per part (6 here), this thread among them."""
    epochs_in_parts = record_calling_threads(monkeypatch, "train_epochs_in_parts")
    X, y = _data(np.float64, False)
    model = MLPClassifier(
        hidden_layer_sizes=(9,), batch_size=50, max_iter=1, random_state=0
    )
    with threadpool_limits(limits=threads, user_api="blas"):
        model.fit(X, y)
    assert len(epochs_in_parts) == len(set(epochs_in_parts)) == min(threads, 6)
    assert threading.get_ident() in epochs_in_parts


def test_worker_pool_gives_every_task_a_worker_at_once():
    """Tasks that wait for each other (as a split epoch's do at its barrier)
    all run at once, each on a worker of its own; a later task reuses one."""
    pool = _workers.WorkerPool()
    meeting = threading.Barrier(4)  # 3 tasks and this thread

    def meet():
        meeting.wait(10)  # a task queued behind another would break it
        return threading.get_ident()

    jobs = [pool.submit(meet) for _ in range(3)]
    meeting.wait(10)
    workers = {job.result(10) for job in jobs}
    assert len(workers) == 3 and threading.get_ident() not in workers
    later = {pool.submit(threading.get_ident).result(10) for _ in range(5)}
    assert len(later) == 1 and later <= workers


def test_worker_pool_reports_errors_and_keeps_the_worker():
    pool = _workers.WorkerPool()

    def fail():
        raise _Failure("task failed")

    first = pool.submit(threading.get_ident).result(10)
    failed = pool.submit(fail)
    assert isinstance(failed.exception(10), _Failure)
    assert pool.submit(threading.get_ident).result(10) == first


def test_idle_workers_end(monkeypatch):
    monkeypatch.setattr(_workers, "IDLE_SECONDS", 0.05)
    pool = _workers.WorkerPool()
    ident = pool.submit(threading.get_ident).result(10)
    deadline = time.monotonic() + 10
    while any(t.ident == ident for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the idle worker did not end"
        time.sleep(0.01)
    assert pool.submit(lambda: 7).result(10) == 7  # a new worker


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_short_run_of_epochs_stays_on_the_calling_thread(many_parts, monkeypatch):
    """A run under ``RUN_THREADS_MIN_MACS`` multiply-adds trains all its
    parts here: the same parts as on 4 threads, so the same bits."""

    def fit():
        model = MLPClassifier(
            hidden_layer_sizes=(9,), batch_size=50, max_iter=3, random_state=0
        )
        with threadpool_limits(limits=4, user_api="blas"):
            model.fit(*_data(np.float64, False))
        return model.coefs_ + model.intercepts_

    on_threads = record_calling_threads(monkeypatch, "train_epochs_in_parts")
    threaded = fit()
    assert len(set(on_threads)) == 4
    monkeypatch.setattr(_engine, "RUN_THREADS_MIN_MACS", 10**12)
    alone = record_calling_threads(monkeypatch, "train_epochs_in_parts")
    assert all(np.array_equal(a, b) for a, b in zip(threaded, fit()))
    assert set(alone) == {threading.get_ident()}


def test_worker_threads_are_kept_between_calls(many_parts, monkeypatch):
    """Fits and predicts hand their parts to one pool of waiting workers
    instead of starting threads each time (``fastmlp._workers``)."""
    epochs_in_parts = record_calling_threads(monkeypatch, "train_epochs_in_parts")
    X, y = _data(np.float64, False)
    model = MLPClassifier(hidden_layer_sizes=(9,), batch_size=50, max_iter=1)
    with threadpool_limits(limits=2, user_api="blas"):
        with pytest.warns(Warning):  # not converged
            for seed in range(3):
                model.set_params(random_state=seed).fit(X, y)
    workers = set(epochs_in_parts) - {threading.get_ident()}
    assert len(epochs_in_parts) == 6 and len(workers) == 1
    (name,) = [t.name for t in threading.enumerate() if t.ident in workers]
    assert name.startswith("fastmlp_")


def test_predict_blocks_run_on_as_many_threads_as_allowed(many_parts, monkeypatch):
    X, y = _data(np.float64, False)
    model = MLPClassifier(hidden_layer_sizes=(9,), max_iter=1, random_state=0)
    with pytest.warns(Warning):  # not converged
        model.fit(X, y)
    callers = set()
    original = network_kernels.predict

    def predict(*args):
        callers.add(threading.get_ident())
        time.sleep(0.01)  # a block long enough for the worker to start
        return original(*args)

    monkeypatch.setattr(network_kernels, "predict", predict)
    with threadpool_limits(limits=2, user_api="blas"):
        model.predict_proba(X)  # 8 blocks of 32 rows
    assert len(callers) == 2
    callers.clear()
    monkeypatch.setattr(_engine, "BLAS_THREADS_MIN_MACS", 10**9)
    with threadpool_limits(limits=2, user_api="blas"):
        model.predict_proba(X)  # products too small to thread: one call
    assert len(callers) == 1


def test_numba_num_threads_caps_the_threads(monkeypatch):
    with threadpool_limits(limits=4, user_api="blas"):
        with _engine.training_threads() as threads:
            assert threads == 4
        monkeypatch.setenv("NUMBA_NUM_THREADS", "3")
        with _engine.training_threads() as threads:
            assert threads == 3
    with threadpool_limits(limits=1, user_api="blas"):
        with _engine.training_threads() as threads:
            assert threads == 1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_concurrent_fits_in_many_parts_match_sequential_ones(many_parts):
    """Three fits on three Python threads at once, each cutting its batches
    into 6 parts on 3 threads of its own, and predicting in blocks."""
    X, y = _data(np.float64, False)

    def fit(seed):
        model = MLPClassifier(
            hidden_layer_sizes=(9, 6), batch_size=50, max_iter=2, random_state=seed
        )
        model.fit(X, y)
        return _weights(model), model.predict_proba(X)

    with threadpool_limits(limits=3, user_api="blas"):
        sequential = [fit(seed) for seed in range(3)]
        with ThreadPoolExecutor(3) as pool:
            concurrent = list(pool.map(fit, range(3)))
    for one, other in zip(sequential, concurrent):
        assert np.array_equal(one[0], other[0])
        assert np.array_equal(one[1], other[1])

"""The split epoch's barrier (``fastmlp.kernels._atomics``): every thread sees
every other thread's writes from before the barrier, more threads than cores
still progress, and an abort releases the waiting threads."""

import threading
import time

import numpy as np
import pytest
from numba import njit

from fastmlp.kernels._atomics import ABORT, SYNC_SIZE, atomic_add, barrier


@njit(nogil=True)
def _rounds(sync, n_threads, counter, seen, thread):
    # each round: every thread adds one, meets the others, reads the sum
    for r in range(seen.shape[1]):
        atomic_add(counter, 0, 1)
        if not barrier(sync, n_threads):
            return False
        seen[thread, r] = counter[0]
        if not barrier(sync, n_threads):
            return False
    return True


def _run(n_threads, n_rounds, sync=None):
    sync = np.zeros(SYNC_SIZE, dtype=np.int64) if sync is None else sync
    counter = np.zeros(1, dtype=np.int64)
    seen = np.zeros((n_threads, n_rounds), dtype=np.int64)
    results = [None] * n_threads

    def run(thread):
        results[thread] = _rounds(sync, n_threads, counter, seen, thread)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(n_threads)]
    for thread in threads:
        thread.start()
    return threads, results, seen


@pytest.mark.parametrize("n_threads", [1, 2, 3, 8])
def test_threads_meet_at_every_barrier(n_threads):
    threads, results, seen = _run(n_threads, 500)
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert all(results)
    expected = np.arange(1, 501) * n_threads  # all adds of a round, none more
    assert (seen == expected).all()


def _lone_waiter():
    """One of two threads, started: it waits at the first barrier for a
    thread that never comes. Returns (sync, the thread, its result list)."""
    sync = np.zeros(SYNC_SIZE, dtype=np.int64)
    counter = np.zeros(1, dtype=np.int64)
    seen = np.zeros((2, 5), dtype=np.int64)
    result = []
    waiter = threading.Thread(
        target=lambda: result.append(_rounds(sync, 2, counter, seen, 0))
    )
    waiter.start()
    return sync, waiter, result


def test_an_abort_releases_the_waiting_threads():
    sync, waiter, result = _lone_waiter()
    time.sleep(0.1)
    assert waiter.is_alive()
    sync[ABORT] = 1
    waiter.join(timeout=10)
    assert not waiter.is_alive() and result == [False]


def test_a_long_wait_leaves_the_core_idle():
    """After ``SPINS_BEFORE_SLEEP`` tries a waiting thread sleeps between
    tries, so that the OS can give its core to a thread that needs one (one
    of ours sharing a core with another busy thread): it uses a small share
    of a core while it waits, where yielding alone used all of it."""
    sync, waiter, result = _lone_waiter()
    time.sleep(0.1)  # past the tries before sleeping (about 0.3 ms)
    cpu, wall = time.process_time(), time.perf_counter()
    time.sleep(0.4)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    sync[ABORT] = 1
    waiter.join(timeout=10)
    assert not waiter.is_alive() and result == [False]
    assert cpu < 0.25 * wall

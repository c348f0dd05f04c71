"""fastmlp's worker threads: kept waiting between calls, one task each.

Split mini-batches and predict's row blocks run on the calling thread and on
these workers. Starting a thread pool for each run of epochs and shutting it
down after cost about 160 microseconds here (threads started, then joined),
against about 70 for a task handed to a waiting worker: on a 1,000-row
``partial_fit`` call of the default network, most of what a second thread
saves.

A split epoch's tasks meet at a barrier in compiled code, so each must start
at once, never queue behind another task: ``submit`` hands every task to a
worker of its own, one that is waiting or a new one. (A
``concurrent.futures.ThreadPoolExecutor`` kept between calls does not
guarantee that: it counts a worker idle before the worker has finished, and
may queue a task behind a busy one: two tasks of one epoch queued so would
wait for each other.) Idle workers wait on their queues and take no CPU;
a worker idle for ``IDLE_SECONDS`` ends, so that a burst of concurrent
calls leaves no threads behind for good; they are daemon threads, so they
never hold up the interpreter's exit.

A child process started with ``fork`` has none of its parent's workers: it
starts its own on first use.
"""

import itertools
import os
import queue
import threading
from concurrent.futures import Future

# a worker waiting longer than this for a task ends (the next call starts a
# new one, about 100 microseconds)
IDLE_SECONDS = 60.0


class WorkerPool:
    """Threads that each run one task at a time, kept between tasks."""

    def __init__(self):
        self._idle = []  # the task queues of the workers waiting for one
        self._lock = threading.Lock()
        self._names = itertools.count()

    def submit(self, function, *args):
        """Start ``function(*args)`` on a waiting worker, or on a new one if
        none waits; return its ``concurrent.futures.Future``."""
        future = Future()
        with self._lock:
            tasks = self._idle.pop() if self._idle else None
        if tasks is None:
            tasks = queue.SimpleQueue()
            name = f"fastmlp_{next(self._names)}"
            worker = threading.Thread(
                target=self._work, args=(tasks,), name=name, daemon=True
            )
            worker.start()
        tasks.put((future, function, args))
        return future

    def _work(self, tasks):
        while True:
            try:
                future, function, args = tasks.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if tasks in self._idle:  # nobody is handing it a task
                        self._idle.remove(tasks)
                        return
                continue  # taken from the idle list just now: its task comes
            error = result = None
            if future.set_running_or_notify_cancel():  # not cancelled
                try:
                    result = function(*args)
                except BaseException as raised:
                    error = raised
            del function, args
            # idle again before the caller learns the task is done, so that
            # its next call finds this worker waiting
            with self._lock:
                self._idle.append(tasks)
            if future.running():
                if error is None:
                    future.set_result(result)
                else:
                    future.set_exception(error)
            del future, error, result


_pool = None
_pool_lock = threading.Lock()


def pool():
    """This process's worker pool, started on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = WorkerPool()
        return _pool


def _after_fork_in_child():
    # the parent's workers do not exist in the child; a fork while another
    # thread held the lock would leave it held
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

"""From an estimator's configuration to the compiled kernels: the engine.

The estimators hand over plain arrays and names; this module owns the mapping
from names to kernel codes, the flat parameter layout, the work buffers, and
the thread policy. It and ``_jacobian`` (input Jacobians) are the only places
outside ``fastmlp.kernels`` that call compiled code.

Thread policy
-------------
Every matrix product of training and of predict runs on one BLAS thread
(``training_threads``). fastmlp's own threads do the parallel work, in pieces
fixed by the network and the input, never by the thread count, combined in a
fixed order, so a fit and a predict give the same bits on any number of
threads:

- training: a mini-batch of at least ``SPLIT_MIN_MACS`` multiply-adds is
  trained as ``batch_parts`` row parts (about one per ``PART_ROWS`` rows, at
  least two); each of up to ``T`` threads (the calling thread and workers
  of ``_workers``; a run under ``RUN_THREADS_MIN_MACS``: the calling thread
  alone) runs the whole epoch (or run of epochs) in one compiled call
  (``train_epochs_in_parts``; epochs of whole batches run in
  ``train_epochs``, on one thread), taking every ``T``-th part and then
  every ``T``-th parameter range of the optimizer step, the threads meeting
  at a barrier in compiled code after each (``kernels/_atomics.py``, about
  a microsecond; a hand-over through Python per batch cost tens of
  microseconds under the GIL: mid, 2 threads against 1, 1.11x then, 1.75x
  now); the parts' gradients and losses are summed in part order by every
  thread alike (one kernel for both kinds of epoch compiled 0.3-0.5 s more
  for every configuration's first fit, which many fits never split:
  measured and dropped);
- predict: row blocks of ``predict_chunk_rows`` rows, one call each (an
  input whose products are all below ``BLAS_THREADS_MIN_MACS`` makes one
  call without the one-thread limit);
- how many threads: BLAS's thread count outside fastmlp, so the usual
  controls set it (``threadpoolctl.threadpool_limits``, ``OMP_NUM_THREADS``
  / ``OPENBLAS_NUM_THREADS``, joblib's limits inside its workers), capped by
  ``NUMBA_NUM_THREADS`` when set;
- the threads are Python threads kept waiting between calls
  (``_workers``; a pool started per run cost about 160 us against 70 for
  a waiting worker), not numba's ``prange``: no compiled kernel is
  parallel, numba never starts its thread pool, and a forked child starts
  workers of its own. A thread that fails sets the barrier's abort flag,
  which releases the others (no hang).

Measured reasons:

- OpenBLAS splits a product's rows among threads differently for 1 and 2
  threads, and its edge kernels round differently from its main kernel: in a
  sweep of 480 batch-sized products, 110 differed in the last bits between 1
  and 2 threads. Splitting the work ourselves keeps every product on one
  thread, whatever the thread setting of the machine or the process; a
  predict of 1,000 x 784 rows on the wide network differed between 1 and 2
  BLAS threads before predict ran in blocks;
- mini-batch products are small: on a loaded 2-core machine (load 4.5) a fit
  with 2 OpenBLAS threads took 21.6 s where one thread took 1.1 s, the
  threads waiting on each other at every product; a split batch synchronizes
  twice per batch instead (gradient, then optimizer step), and below
  ``SPLIT_MIN_MACS`` not at all; use processes (``n_jobs``) to train small
  networks on several cores;
- smaller parts cost one thread's speed (see ``PART_ROWS``): a part touches
  every weight whatever its rows, and the step sums one gradient per part;
- ``prange`` with the ``tbb`` layer (PyPI's tbb wheel, its
  ``lib/libtbb.so.12`` loaded first with ``ctypes.CDLL(path,
  mode=ctypes.RTLD_GLOBAL)``) against this pool, on a prototype running the
  parts of a batch in one parallel loop (2 cores, load 4-5): the loop's cold
  compile took 7.8 and 8.1 s of CPU with ``parallel=True`` against 4.9 and
  5.3 s without (+2.8 s, +55%); a parallel region costs 2-4 us to enter, a
  hand-over to a pool's thread 11-58 us (the benchmark's thread section
  measures it), once per run of epochs now (``RUN_THREADS_MIN_MACS``, a
  millisecond of work or more): at most a few percent; on one thread the
  compiled loop saved about 30 us per part (the Python call of
  ``part_gradient``). On 2
  threads of a machine oversubscribed by other work (load 6.5 on 2 cores)
  tbb degraded better: mid 1.02x against one thread, the pool 0.81x (a
  2-part split of small and regression, which the engine did not split then:
  tbb 1.02-1.04x, the pool 0.49-0.63x); wide 0.92x and 0.93x. The pool wins
  once the compile is counted, needs no tbb, and is safe after ``fork`` and
  from several Python threads (tested) (``benchmarks/prange_tbb.py``);
- numba's OpenMP layer spinning beside OpenBLAS's threads once per mini-batch
  made a training loop 20x slower on a 2-core machine; after it (GNU OpenMP)
  has run, a process started with ``fork`` is terminated ("fork() called
  from a process already using GNU OpenMP, this is unsafe"), which breaks
  joblib and multiprocessing users; the ``workqueue`` layer aborts when two
  Python threads enter parallel code at once.

The elementwise work (bias, activation, loss and optimizer update) is fused
into single passes over each buffer.
"""

import os
import threading
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp

from fastmlp import _array_guard as guard
from fastmlp import _compilation, _registry, _workers

# rows per chunk in predict: bounds its work buffer (every layer's output
# for one chunk, at most PREDICT_CHUNK_ELEMENTS), keeps BLAS calls large
PREDICT_CHUNK_ROWS = 4096
PREDICT_CHUNK_ELEMENTS = 1 << 22
# Products of fewer multiply-adds than this run on one BLAS thread whatever
# the thread setting (OpenBLAS threads a product from m*n*k >= 4 * 65536), so
# a predict whose products are all smaller skips the one-thread limit.
BLAS_THREADS_MIN_MACS = 65536

# A sparse input is trained and predicted as a dense array when that array
# takes no more memory than its CSR arrays (``dense_is_smaller``), up to
# this size: a larger one keeps the CSR kernels, whose arrays the input
# already holds.
DENSE_INPUT_MAX_BYTES = 1 << 30

# Split mini-batches (see the thread policy). A mini-batch of at least
# SPLIT_MIN_MACS multiply-adds per layer pass (rows x coefficients) is split
# into row parts whose gradients are computed on separate threads and summed
# in part order. The number of parts follows from the network and the batch
# size only (``batch_parts``): one part per PART_ROWS rows and per
# PART_MIN_MACS multiply-adds (rounded down), at least BATCH_PARTS, at most
# MAX_PARTS. Measured on one thread (2 cores, load 1.5), time per row of a
# part against a part of 200 rows: wide (784-512-512-10) 1.06x at 100 rows,
# 1.30x at 50, 1.62x at 25; mid (100-256-128-10) 1.14x, 1.28x, 1.52x. A part
# also touches every weight (forward, backward, its own gradient) and the
# step sums one more gradient per part: wide's step took 3.5 ms over one
# gradient, 5.1 ms over 2, 7.0 ms over 4 (load 3.5). A 1000-row batch of wide
# in 10 parts of 100 rows trained 16% slower on one thread than in 2 parts
# (mid 20%, load 3.8); in 5 parts of 200 rows, 9% and 13% slower in two
# rounds (mid 10% and 1%, load 4.4-6.3): the price of up to 5 threads on such
# batches. Batches under 400 rows split into 2 parts, as they always have.
# Where splitting starts: 20k x 20 rows, binary, 5 epochs, batches of 200,
# whole batches on one thread against 2 parts on 1 and on 2 threads
# (float64 / float32; Intel, 2 cores, load about 1): (100,), 0.42M
# multiply-adds a batch, 0.91x / 0.92x on 1 thread, 1.35x / 1.21x on 2;
# (200,), 0.84M: 0.99x / 0.92x, 1.55x / 1.24x; (100, 50), 1.41M: 0.97x /
# 0.94x, 1.58x / 1.44x. Concurrent one-thread OpenBLAS products of this size
# overlap (two 100 x 20 by 20 x 100 pairs at once: 1.94x the throughput of
# one). With several epochs per compiled call and workers kept between runs
# (10 epochs, 20k rows, medians of 7, load 0.5-0.9): (100,) on 20 features
# 0.95x / 0.96x on 1 thread, 1.50x / 1.33x on 2; on 30 features (0.62M)
# 0.95x / 0.93x, 1.50x / 1.38x; on 10 (0.22M) 0.98x / 0.92x, 1.45x / 1.23x;
# (50,) on 20 (0.21M) 0.96x / 0.92x, 1.40x / 1.22x; (32,) on 8 (58k) 0.97x
# / 0.84x, 1.17x / 1.04x. The default MLPClassifier on 2,000 x 20: 0.91x to
# 0.99x on 1 thread, 1.39x to 1.54x on 2. From 400k (the default network
# on 19 features or more) the second thread gives 1.3x or more for a few
# percent on one; the default network's first fit compiles the split epoch
# (0.35 s more with an empty cache).
SPLIT_MIN_MACS = 400_000
BATCH_PARTS = 2
PART_ROWS = 200
PART_MIN_MACS = 2_000_000
MAX_PARTS = 64
# A run of epochs of fewer multiply-adds than this (rows x epochs x
# coefficients; under about a millisecond on one thread) runs all its parts
# on the calling thread: the parts, and so the bits, are the same on any
# number of threads, and handing a worker so little work costs more than it
# saves. partial_fit of the default network (20 features), time per call on
# 1 and 2 threads: 1,000 rows (2.1M) 2.08 and 2.11 ms, 2,000 rows (4.2M)
# 2.48 and 2.47 ms, 4,000 rows 3.20 and 2.94 ms.
RUN_THREADS_MIN_MACS = 4_000_000


def batch_parts(network, batch_size):
    """How many row parts a mini-batch of ``batch_size`` rows is trained as.

    Depends on the network and the batch size only, never on the threads,
    so that a fit gives the same bits on any number of threads.
    """
    macs = int(batch_size) * network.n_coefs
    if macs < SPLIT_MIN_MACS or batch_size < BATCH_PARTS:
        return 1
    by_rows = int(batch_size) // PART_ROWS
    by_macs = macs // PART_MIN_MACS
    return int(max(BATCH_PARTS, min(by_rows, by_macs, MAX_PARTS, batch_size)))


def on_threads(pool, function, arguments, n_threads):
    """``[function(*a) for a in arguments]`` on this thread and up to
    ``n_threads - 1`` threads of ``pool`` (none: here, in order).

    The threads take the calls in turn from a shared counter, this thread
    too, so that a worker the system does not schedule in time costs no
    waiting: this thread runs the calls it leaves, and a job that has not
    started is cancelled. Each call's result goes to its own place, so the
    results (in the order of ``arguments``) do not depend on which thread
    ran what. The first error stops the taking and is raised once every
    thread has stopped.
    """
    n_calls = len(arguments)
    if pool is None or n_threads <= 1 or n_calls <= 1:
        return [function(*a) for a in arguments]
    results = [None] * n_calls
    taking = threading.Lock()
    state = {"next": 0, "failed": False}

    def work():
        while True:
            with taking:
                index = state["next"]
                if index >= n_calls or state["failed"]:
                    return
                state["next"] = index + 1
            try:
                results[index] = function(*arguments[index])
            except BaseException:
                state["failed"] = True
                raise

    jobs = []
    try:
        for _ in range(min(n_threads, n_calls) - 1):
            jobs.append(pool.submit(work))
        work()
    except BaseException:
        state["failed"] = True  # a worker that failed to start: stop taking
        raise
    finally:
        errors = []
        for job in jobs:
            if not job.cancel() and job.exception() is not None:
                errors.append(job.exception())
    if errors:
        raise errors[0]
    return results


# Which kernels the compiled loops of a network hold (FASTMLP_KERNELS):
# "specialized", only the network's own activations and loss (the shortest
# compile per configuration), or "all", every registered one (one compile
# per dtype and input kind serves every configuration: for a search over
# many activations and losses, and for the test suite). Same results.
KERNEL_SETS = os.environ.get("FASTMLP_KERNELS", "specialized")


def _network():
    # imported on first use, so that ``import fastmlp`` imports no numba
    from fastmlp.kernels import network

    return network


_blas_lock = threading.Lock()
_blas_trainings = 0
_blas_libraries = None  # threadpoolctl's controllers of the loaded BLAS
_blas_restore = []  # (controller, thread count) to restore at the end
_blas_threads_outside = 1


def _blas_controllers():
    global _blas_libraries
    if _blas_libraries is None:
        from sklearn.utils.parallel import _get_threadpool_controller

        blas = _get_threadpool_controller().select(user_api="blas")
        _blas_libraries = list(blas.lib_controllers)
    return _blas_libraries


def _numba_threads_limit():
    """``NUMBA_NUM_THREADS`` when set (a positive integer), else None."""
    try:
        value = int(os.environ.get("NUMBA_NUM_THREADS", ""))
    except ValueError:
        return None
    return value if value > 0 else None


@contextmanager
def training_threads():
    """Run the block with BLAS on one thread (see the thread policy); yield
    how many threads fastmlp's own parallel work (split batches, predict's
    row blocks) may use.

    That is BLAS's thread count outside the block, so the controls users
    already use set it: ``threadpoolctl.threadpool_limits``,
    ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` (read by OpenBLAS when it
    loads), joblib's per-worker limits (its process workers start with
    ``cpu_count // n_jobs`` threads); ``NUMBA_NUM_THREADS``, when set, caps it.
    Nested and concurrent trainings share one limit, set by the first to
    start and lifted (the previous limits restored) by the last to end.
    """
    global _blas_trainings, _blas_restore, _blas_threads_outside
    with _blas_lock:
        if _blas_trainings == 0:
            # threadpoolctl's controllers, called directly: a few
            # microseconds where ``threadpool_limits`` takes about 40 (every
            # predict passes here)
            counts = [(lib, lib.num_threads) for lib in _blas_controllers()]
            _blas_threads_outside = max([n for _, n in counts], default=1)
            _blas_restore = [(lib, n) for lib, n in counts if n != 1]
            for lib, _ in _blas_restore:
                lib.set_num_threads(1)
        _blas_trainings += 1
        threads = _blas_threads_outside
    cap = _numba_threads_limit()
    if cap is not None:
        threads = min(threads, cap)
    try:
        yield max(1, threads)
    finally:
        with _blas_lock:
            _blas_trainings -= 1
            if _blas_trainings == 0:
                for lib, n in _blas_restore:
                    lib.set_num_threads(n)
                _blas_restore = []


def init_factor(activation):
    """The Glorot-uniform factor scikit-learn uses for ``activation``."""
    return _registry.init_factor(activation)


def read_only(array, dtype=None):
    """A C-ordered, read-only view of ``array`` (a copy only when the dtype or
    the order must change).

    Every input array enters compiled code read-only, whether the user's was
    writeable or not (a memory map, a pandas column): numba compiles one
    version of a kernel per array type, and writeability is part of the type,
    so this keeps one compiled version for both.
    """
    view = np.ascontiguousarray(array, dtype=dtype).view()
    view.flags.writeable = False
    return view


def as_engine_input(X, dtype=None):
    """X as the compiled kernels take it: C-ordered array or CSR tuple,
    read-only (see ``read_only``).

    A sparse X dense enough (``dense_is_smaller``) is made dense, after its
    index arrays are checked: the dense kernels are faster from about a
    quarter of the entries stored.
    """
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        if dense_is_smaller(X, dtype):
            n_stored = X.data.shape[0]
            guard.check_csr_indices(X.indices, X.indptr, n_stored, X.shape[1])
            return read_only(X.astype(dtype or X.dtype, copy=False).toarray())
        return (
            read_only(X.data, dtype),
            read_only(X.indices, np.int64),
            read_only(X.indptr, np.int64),
        )
    return read_only(X, dtype)


def dense_is_smaller(X, dtype=None):
    """Whether the sparse matrix ``X`` as a dense array of ``dtype`` (its
    own when None) takes no more memory than its CSR values and int64
    column indices (at least half its entries stored in float64, a third
    in float32), and at most ``DENSE_INPUT_MAX_BYTES``.

    Then the engine trains and predicts on the dense array: the same
    results as for the dense input, and faster. The CSR path copies int32
    column indices (scipy's usual) to int64 itself, so the dense array
    takes at most twice that copy's memory (a float64 X with half its
    entries stored) and as much for a fully stored one. CSR fits (10,000 rows, 3
    epochs, medians of 5) over dense fits of the same data, float64 /
    float32: 20 features, (100,): density 0.2 1.02 / 1.12, 0.3 1.13 /
    1.14, 0.5 1.32 / 1.32, 1.0 1.69 / 1.77; 200 features, (128,): 0.1 0.59
    / 0.66, 0.2 0.86 / 0.91, 0.3 1.13 / 1.16, 0.5 1.67 / 1.66, 1.0 2.73 /
    2.62; 1,000 features: 0.2 0.86 / 0.91, 0.3 1.14 / 1.26, 0.5 1.75 /
    1.84, 1.0 2.99 / 3.23.
    """
    itemsize = np.dtype(X.dtype if dtype is None else dtype).itemsize
    dense_bytes = itemsize * X.shape[0] * X.shape[1]
    return dense_bytes <= min(X.nnz * (itemsize + 8), DENSE_INPUT_MAX_BYTES)


def _row_block(X, start, stop):
    """Rows ``start:stop`` of an engine input (see ``as_engine_input``),
    typed as the whole input is."""
    if isinstance(X, np.ndarray):
        return X[start:stop]
    data, indices, indptr = X
    begin, end = indptr[start], indptr[stop]
    return (
        data[begin:end],
        indices[begin:end],
        read_only(indptr[start : stop + 1] - begin),
    )


def training_arrays(network, X, Y, sample_weight):
    """X, Y and sample weights as the compiled training loops take them,
    checked against ``network``."""
    X = as_engine_input(X)
    n_rows = guard.check_input(network, X)
    Y = read_only(Y, network.dtype)
    sample_weight = read_only(sample_weight, network.dtype)
    guard.check_targets(network, Y, sample_weight, n_rows)
    return X, Y, sample_weight


class Network:
    """The shape, activations and output loss of a network, and its flat layout.

    Parameters
    ----------
    layer_units : list of int
        ``[n_features, hidden..., n_outputs]``.
    activations : list of str
        One hidden activation (a key of ``HIDDEN_ACTIVATIONS``) per hidden layer.
    loss : str
        Name of the output loss (a key of ``OUTPUT_LOSSES``).
    dtype : numpy dtype
        float32 or float64: the dtype of parameters and computation.
    loss_param : float, default=0.0
        The loss's parameter (``huber``'s delta); ignored by the other losses.
    """

    def __init__(self, layer_units, activations, loss, dtype, loss_param=0.0):
        from fastmlp.kernels._compile import KernelSet
        from fastmlp.kernels.activations import ACTIVATION_CODES
        from fastmlp.kernels.bundles import network_bundle
        from fastmlp.kernels.losses import LOSS_CODES

        self.units = np.asarray(layer_units, dtype=np.int64)
        self.activations = list(activations)
        if len(self.activations) != len(self.units) - 2:
            raise ValueError("one activation per hidden layer is needed")
        self.loss = loss
        self.loss_param = float(loss_param)
        self.activation_codes = np.array(
            [ACTIVATION_CODES[name] for name in self.activations], dtype=np.int64
        )
        self.loss_code = LOSS_CODES[loss]
        self.dtype = np.dtype(dtype)
        fan_in, fan_out = self.units[:-1], self.units[1:]
        self.n_coefs = int(np.sum(fan_in * fan_out))
        self.n_params = self.n_coefs + int(np.sum(fan_out))
        if KERNEL_SETS not in ("specialized", "all"):
            raise ValueError(
                f"FASTMLP_KERNELS must be 'specialized' or 'all', got {KERNEL_SETS!r}"
            )
        self.all_kernels = KERNEL_SETS == "all"
        kernels = None
        if self.all_kernels:
            kernels = KernelSet(ACTIVATION_CODES.values(), LOSS_CODES.values())
        # what compiled code reads (see fastmlp.kernels.bundles)
        self.bundle = network_bundle(
            self.units, self.activation_codes, self.loss_code, self.loss_param, kernels
        )

    def with_dtype(self, dtype):
        """The same network computing in ``dtype``."""
        if np.dtype(dtype) == self.dtype:
            return self
        return Network(self.units, self.activations, self.loss, dtype, self.loss_param)

    def pack(self, coefs, intercepts):
        """The flat parameter vector of ``coefs`` and ``intercepts`` (a copy).

        Raises ValueError when their shapes are not this network's.
        """
        shapes = [np.shape(c) for c in coefs] + [np.shape(b) for b in intercepts]
        fans = list(zip(self.units[:-1].tolist(), self.units[1:].tolist()))
        expected = fans + [(fan_out,) for _, fan_out in fans]
        if shapes != expected:
            raise ValueError(
                f"coefs_ and intercepts_ have shapes {shapes}, but the network "
                f"{self.units.tolist()} needs {expected}."
            )
        return np.concatenate(
            [np.ravel(c) for c in coefs] + [np.ravel(b) for b in intercepts]
        ).astype(self.dtype, copy=False)

    def unpack(self, params):
        """Lists of coefficient matrices and intercept vectors that are views
        of ``params`` (so they change when ``params`` is trained in place)."""
        coefs, intercepts = [], []
        start = 0
        for fan_in, fan_out in zip(self.units[:-1], self.units[1:]):
            end = start + fan_in * fan_out
            coefs.append(params[start:end].reshape(fan_in, fan_out))
            start = end
        for fan_out in self.units[1:]:
            intercepts.append(params[start : start + fan_out])
            start += fan_out
        return coefs, intercepts

    def allocate_work(self, n_rows, dense_input, dropout=False):
        """Work buffers for batches of up to ``n_rows`` rows: ``(x, y, weights,
        outputs, saved derivatives, deltas, dropout masks, dropped outputs)``."""
        units = self.units
        layers = n_rows * int(units[1:].sum())
        dropout_size = layers if dropout else 0
        return (
            np.empty(n_rows * units[0] if dense_input else 0, dtype=self.dtype),
            np.empty(n_rows * units[-1], dtype=self.dtype),
            np.empty(n_rows, dtype=self.dtype),
            np.empty(layers, dtype=self.dtype),
            np.empty(layers, dtype=self.dtype),
            np.empty(layers, dtype=self.dtype),
            np.empty(dropout_size, dtype=self.dtype),
            np.empty(dropout_size, dtype=self.dtype),
        )

    def compile_key(self, kernel, X=None, solver=None):
        """What fixes the argument types of ``kernel``'s compiled version
        for this network (see ``fastmlp._compilation``); ``solver``: the
        stochastic solver of a kernel that runs its update rule."""
        input_kind = "dense" if X is None or isinstance(X, np.ndarray) else "csr"
        if self.all_kernels:
            key = (kernel, "all activations", "all losses", self.dtype.name, input_kind)
            return key if solver is None else key + ("all solvers",)
        activations = "+".join(sorted(set(self.activations))) or "no hidden layer"
        key = (kernel, activations, self.loss, self.dtype.name, input_kind)
        return key if solver is None else key + (solver,)

    def no_dropout(self):
        """The dropout rates of a network trained without dropout."""
        return np.zeros(len(self.activations), dtype=np.float64)

    def predict(self, X, params):
        """The network's output for ``X`` (after the output activation).

        Rows are predicted in blocks of ``predict_chunk_rows`` (the network
        fixes it), on the threads ``training_threads`` allows, every product
        on one BLAS thread: the same bits on any number of threads.
        Inputs whose products are all below ``BLAS_THREADS_MIN_MACS`` make
        one call without the limit (BLAS keeps such products on one thread).
        """
        out = np.empty((X.shape[0], int(self.units[-1])), dtype=self.dtype)
        X = as_engine_input(X, self.dtype)
        n_rows = guard.check_input(self, X)
        guard.check_output(self, out, n_rows)
        guard.check_params(self, params)
        chunk_rows = self.predict_chunk_rows()
        key = self.compile_key("predict", X)
        kernel, net = _network().predict, self.bundle

        def predict_block(X, out):
            _compilation.call(kernel, key, X, params, net, chunk_rows, out)

        fans = self.units[:-1] * self.units[1:]
        if n_rows * int(fans.max()) < BLAS_THREADS_MIN_MACS:
            # too small for BLAS to thread: skip the limit (its cost is
            # most of a one-row predict's time)
            predict_block(X, out)
            return out
        with training_threads() as threads:
            threads = min(threads, -(-n_rows // chunk_rows))
            if threads <= 1:
                predict_block(X, out)
                return out
            blocks = [
                (_row_block(X, a, min(a + chunk_rows, n_rows)),
                 out[a : a + chunk_rows])
                for a in range(0, n_rows, chunk_rows)
            ]  # fmt: skip
            on_threads(_workers.pool(), predict_block, blocks, threads)
        return out

    def predict_chunk_rows(self):
        """Rows per chunk of predict (and per row block of a threaded one)."""
        chunk_rows = PREDICT_CHUNK_ELEMENTS // int(self.units[1:].sum())
        return max(1, min(PREDICT_CHUNK_ROWS, chunk_rows))

    def mean_loss(self, X, Y, sample_weight, params):
        """The weighted mean data loss (no penalty) of the network on X, Y."""
        p = self.predict(X, params)
        Y = read_only(np.reshape(Y, p.shape), self.dtype)
        w = read_only(sample_weight, self.dtype)
        guard.check_targets(self, Y, w, p.shape[0])
        weight_sum = float(np.sum(w, dtype=np.float64))
        kernel = _network().loss_mean
        key = self.compile_key("loss_mean")
        return _compilation.call(kernel, key, self.bundle, p, Y, w, weight_sum)


class FullBatchObjective:
    """Loss and gradient over the whole data set, for L-BFGS.

    Calling it with a flat parameter vector returns ``(loss, gradient)`` as
    ``scipy.optimize.minimize(..., jac=True)`` expects.
    """

    def __init__(self, network, X, Y, sample_weight, alpha):
        self.network = network
        self.X, self.Y, self.sample_weight = training_arrays(
            network, X, Y, sample_weight
        )
        self.alpha = float(alpha)
        n_rows = self.Y.shape[0]
        self.rows = read_only(np.arange(n_rows, dtype=np.int64))
        self.params = np.empty(network.n_params, dtype=network.dtype)
        self.grads = np.empty(network.n_params, dtype=network.dtype)
        self.work = network.allocate_work(n_rows, dense_input=False)
        guard.check_work(network, self.work, n_rows, False, False)

    def __call__(self, packed):
        net = self.network
        if np.shape(packed) != self.params.shape:
            guard.check_params(net, np.asarray(packed), "the packed parameters")
        self.params[:] = packed
        kernels = _network()
        data_loss, weight_sum = _compilation.call(
            kernels.part_gradient,
            net.compile_key("part_gradient", self.X),
            (self.X, self.Y, self.sample_weight),
            self.rows,
            0,
            self.rows.shape[0],
            False,
            self.params,
            self.grads,
            net.bundle,
            net.no_dropout(),
            -1,
            self.work,
        )
        penalty = kernels.add_penalty(
            self.params, self.grads, net.bundle, self.alpha, weight_sum
        )
        return data_loss + penalty, self.grads.astype(np.float64)


class StochasticTrainer:
    """Mini-batch training of ``params`` (updated in place), epochs at a time.

    A batch of at least ``SPLIT_MIN_MACS`` multiply-adds is split into
    ``batch_parts`` row parts: each part's gradient goes to its own row of
    ``grads``, each thread computing its share of the parts on its own work
    buffers, and the parts' gradients are summed in part order before the
    optimizer step, itself cut into one parameter range per part. The split
    depends only on the network and the batch size, never on ``threads``, so
    a fit gives the same bits on any number of threads (see
    ``_split_batch_epochs`` and ``kernels.network.train_epochs_in_parts``).

    Parameters
    ----------
    network : Network
    X, Y, sample_weight : arrays
        Training data; ``Y`` is 2-D, ``sample_weight`` 1-D (ones when not given).
    params : ndarray
        Flat parameters, updated in place.
    optimizer : OptimizerState
    batch_size : int
    alpha : float
        L2 penalty (AdamW: decoupled weight decay).
    dropout : ndarray of shape (n_hidden_layers,)
        Dropout rate of each hidden layer's output.
    threads : int, default=1
        Threads a split batch may use (``training_threads`` yields it); at
        most one per part is started.
    """

    def __init__(
        self,
        network,
        X,
        Y,
        sample_weight,
        params,
        optimizer,
        batch_size,
        alpha,
        dropout,
        threads=1,
    ):
        self.network = network
        self.X, self.Y, self.sample_weight = training_arrays(
            network, X, Y, sample_weight
        )
        self.params = params
        self.optimizer = optimizer
        self.batch_size = int(batch_size)
        self.alpha = float(alpha)
        self.dropout = np.asarray(dropout, dtype=np.float64)
        self.parts = batch_parts(network, self.batch_size)
        self.threads = max(1, min(int(threads), self.parts))
        part_rows = -(-self.batch_size // self.parts)
        # one row of raw gradients per part, summed by the optimizer step
        self.grads = np.empty((self.parts, network.n_params), dtype=network.dtype)
        # the step updates these disjoint ranges of params, one per part
        edges = [network.n_params * k // self.parts for k in range(self.parts + 1)]
        self.range_edges = read_only(np.array(edges, dtype=np.int64), np.int64)
        dense_input = isinstance(self.X, np.ndarray)
        dropout = bool(np.any(self.dropout > 0))
        # one set of work buffers per thread, reused for each of its parts
        self.work = [
            network.allocate_work(part_rows, dense_input, dropout)
            for _ in range(self.threads)
        ]
        self._check_arrays(part_rows, dense_input, dropout)

    def _check_arrays(self, part_rows, dense_input, dropout):
        network, optimizer = self.network, self.optimizer
        guard.check_params(network, self.params)
        for part in range(self.parts):
            guard.check_params(network, self.grads[part], "grads")
        for work in self.work:
            guard.check_work(network, work, part_rows, dense_input, dropout)
        guard.check_params(network, optimizer.first_moment, "optimizer state")
        if optimizer.spec.moments == 2:
            guard.check_params(network, optimizer.second_moment, "optimizer state")
        guard.check_array(
            self.dropout, "dropout", np.float64, (len(network.activations),)
        )

    def run_epochs(self, orders=None, seeds=(-1,)):
        """Train ``len(seeds)`` epochs; return their losses, each the mean of
        its batch losses over rows.

        ``orders`` holds each epoch's permutation of the rows (one row per
        epoch), or is None to take the rows in order; ``seeds[e]`` (>= 0)
        seeds epoch ``e``'s dropout masks. The epochs run in one compiled
        call (per thread, for split batches); the optimizer's settings must
        stay the same between them (``OptimizerState.changes_each_epoch``).
        """
        n_samples = self.Y.shape[0]
        seeds = read_only(np.asarray(seeds), np.int64)
        shuffled = orders is not None
        if not shuffled:
            orders = np.arange(n_samples).reshape(1, n_samples)
        orders = read_only(orders, np.int64)
        guard.check_orders(orders, seeds, n_samples)
        if self.parts == 1:
            totals = self._whole_batch_epochs(orders, shuffled, seeds)
        else:
            totals = self._split_batch_epochs(orders, shuffled, seeds)
        return totals / n_samples

    def _optimizer_bundle(self):
        from fastmlp.kernels._compile import KernelSet
        from fastmlp.kernels.bundles import OptimizerBundle
        from fastmlp.kernels.optimizers import SOLVER_CODES

        opt = self.optimizer
        every_rule = self.network.all_kernels  # FASTMLP_KERNELS=all
        codes = SOLVER_CODES.values() if every_rule else (opt.solver_code,)
        return OptimizerBundle(
            KernelSet(solver_codes=codes),
            opt.solver_code,
            self.alpha,
            float(opt.learning_rate),
            opt.momentum,
            opt.nesterov,
            opt.beta_1,
            opt.beta_2,
            opt.epsilon,
            opt.first_moment,
            opt.second_moment,
        )

    @staticmethod
    def _part_seed(seed, batch, part):
        # a seed per batch and part: the same masks on any thread (a tuple of
        # ints hashes alike in every process)
        return -1 if seed < 0 else hash((seed, batch, part)) % 2**31

    def _whole_batch_epochs(self, orders, shuffled, seeds):
        # the epochs in one compiled call
        net = self.network
        totals = np.empty(seeds.shape[0])
        guard.check_array(totals, "totals", np.float64, shape=seeds.shape)
        self.optimizer.step = _compilation.call(
            _network().train_epochs,
            net.compile_key("train_epochs", self.X, self.optimizer.spec.name),
            (self.X, self.Y, self.sample_weight),
            orders,
            shuffled,
            self.batch_size,
            self.params,
            self.grads[0],
            net.bundle,
            self.dropout,
            seeds,
            self._optimizer_bundle(),
            self.optimizer.step,
            self.work[0],
            totals,
        )
        return totals

    def _split_batch_epochs(self, orders, shuffled, seeds):
        # the epochs in one compiled call per thread, the threads meeting at a
        # barrier in compiled code twice per batch (through Python, each batch
        # cost tens of microseconds under the GIL)
        from fastmlp.kernels._atomics import ABORT, SYNC_SIZE

        net, opt = self.network, self.optimizer
        n_batches = -(-orders.shape[1] // self.batch_size)
        part_seeds = np.full((seeds.shape[0], n_batches, self.parts), -1, np.int64)
        for epoch, seed in enumerate(seeds):
            if seed >= 0:  # with dropout
                part_seeds[epoch] = [
                    [self._part_seed(int(seed), b, part) for part in range(self.parts)]
                    for b in range(n_batches)
                ]
        totals = np.empty(seeds.shape[0])
        kernel = _network().train_epochs_in_parts
        key = net.compile_key("train_epochs_in_parts", self.X, opt.spec.name)
        arguments = (
            (self.X, self.Y, self.sample_weight), orders, shuffled, self.batch_size,
            self.params, self.grads, net.bundle, self.dropout, part_seeds,
            self._optimizer_bundle(), opt.step,
        )  # fmt: skip
        run_macs = orders.shape[1] * seeds.shape[0] * net.n_coefs
        n_threads = self.threads if run_macs >= RUN_THREADS_MIN_MACS else 1
        sync = np.zeros(SYNC_SIZE, dtype=np.int64)
        part_results = np.zeros((self.parts, 2))
        range_norms = np.zeros(self.parts)  # one parameter range per part
        guard.check_split_epochs(
            net, self.parts, n_batches, part_seeds, self.range_edges,
            (0, n_threads, sync, part_results, range_norms), totals,
        )  # fmt: skip

        def run(thread):
            team = (thread, n_threads, sync, part_results, range_norms)
            try:
                return _compilation.call(
                    kernel, key, *arguments, self.work[thread], self.range_edges,
                    team, totals,
                )  # fmt: skip
            except BaseException:
                sync[ABORT] = 1  # release the threads waiting for this one
                raise

        if n_threads == 1:
            step, completed = run(0)
        else:
            pool, jobs = _workers.pool(), []
            try:
                for thread in range(1, n_threads):
                    jobs.append(pool.submit(run, thread))
                step, completed = run(0)
            except BaseException:
                sync[ABORT] = 1
                raise
            finally:
                errors = [job.exception() for job in jobs]
            failed = [error for error in errors if error is not None]
            if failed:
                raise failed[0]
        if not completed:
            raise RuntimeError("a thread of the split epochs stopped early")
        opt.step = step
        return totals


class OptimizerState:
    """The state of an SGD, Adam or AdamW optimizer over a flat parameter vector.

    Mirrors scikit-learn's ``SGDOptimizer`` and ``AdamOptimizer``: the
    learning-rate schedule runs here, per epoch, and the update rule runs in
    the compiled epochs. ``lr_schedule='cosine'`` (any solver) anneals the
    learning rate from ``learning_rate_init`` to 0 over ``max_iter`` epochs:
    ``lr = learning_rate_init * (1 + cos(pi * epoch / max_iter)) / 2``.

    The compiled steps update two arrays in place: ``first_moment``, SGD's
    velocity or Adam's first-moment estimate (scikit-learn's ``velocities``
    or ``ms``), and ``second_moment``, Adam's second-moment estimate (``vs``;
    empty for SGD). They fill the optimizer bundle's two state slots.
    """

    def __init__(
        self,
        solver,
        n_params,
        dtype,
        *,
        learning_rate_init,
        lr_schedule="constant",
        momentum=0.9,
        nesterov=True,
        power_t=0.5,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_iter=200,
    ):
        from fastmlp.kernels.optimizers import SOLVER_CODES

        self.solver_code = SOLVER_CODES[solver]
        self.max_iter = max_iter
        self.epochs = 0
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.power_t = power_t
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.step = 0
        self.first_moment = np.zeros(n_params, dtype=dtype)
        moments = self.spec.moments
        self.second_moment = np.zeros(n_params if moments == 2 else 0, dtype=dtype)

    @property
    def spec(self):
        """The solver's spec (``fastmlp._registry.SolverSpec``): a stochastic
        solver's code is its index in the registry's order."""
        name = _registry.stochastic_solvers()[self.solver_code]
        return _registry.solvers()[name]

    def arrays(self):
        """The state arrays the compiled steps update in place."""
        return (self.first_moment, self.second_moment)

    def __setstate__(self, state):
        # models pickled before the moments had their names
        for old, new in (("state_1", "first_moment"), ("state_2", "second_moment")):
            if old in state:
                state[new] = state.pop(old)
        state.pop("sgd", None)  # now the solver's spec says
        self.__dict__.update(state)

    def make_writable(self):
        """Copy state arrays that are read-only (a memory-mapped load)."""
        if not self.first_moment.flags.writeable:
            self.first_moment = self.first_moment.copy()
        if not self.second_moment.flags.writeable:
            self.second_moment = self.second_moment.copy()

    def changes_each_epoch(self):
        """Whether the learning rate changes at the end of every epoch (the
        cosine schedule, SGD's invscaling); else it only changes when
        ``trigger_stopping`` lowers it."""
        return self.lr_schedule == "cosine" or (
            self.lr_schedule == "invscaling" and self.spec.learning_rate_schedules
        )

    def iteration_ends(self, time_step):
        """Update the learning rate at the end of an epoch (invscaling, cosine)."""
        self.epochs += 1
        if not self.changes_each_epoch():
            return
        if self.lr_schedule == "cosine":
            progress = min(self.epochs, self.max_iter) / self.max_iter
            self.learning_rate = (
                float(self.learning_rate_init) * 0.5 * (1.0 + np.cos(np.pi * progress))
            )
        else:
            self.learning_rate = (
                float(self.learning_rate_init) / (time_step + 1) ** self.power_t
            )

    def trigger_stopping(self, msg, verbose):
        """Decide whether to stop when no improvement was seen (adaptive: /5)."""
        if not self.spec.learning_rate_schedules or self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False

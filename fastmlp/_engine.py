"""From an estimator's configuration to the compiled kernels: the engine.

The estimators hand over plain arrays and names; this module owns the mapping
from names to kernel codes, the flat parameter layout, the work buffers, and
the thread policy. It and ``_jacobian`` (input Jacobians) are the only places
outside ``fastmlp.kernels`` that call compiled code.

Thread policy
-------------
Training runs every matrix product on one BLAS thread (``training_threads``);
predict uses BLAS's threads (set their count with
``threadpoolctl.threadpool_limits`` or ``OPENBLAS_NUM_THREADS``). A network
large enough (``SPLIT_MIN_MACS``) trains each mini-batch as two parts, the
second on a worker thread when BLAS may use two threads: the parts' gradients
are summed in a fixed order and the split never depends on the thread count,
so a fit is bit-identical on one thread and on two. No compiled kernel uses
``prange``, so numba never starts its thread pool. Measured reasons:

- OpenBLAS splits a product's rows among threads differently for 1 and 2
  threads, and its edge kernels round differently from its main kernel: in a
  sweep of 480 batch-sized products, 110 differed in the last bits between 1
  and 2 threads. Splitting the batch ourselves keeps every product on one
  thread, whatever the thread setting of the machine or the process;
- mini-batch products are small: on a loaded 2-core machine (load 4.5) a fit
  with 2 OpenBLAS threads took 21.6 s where one thread took 1.1 s, the
  threads waiting on each other at every product; a split batch synchronizes
  twice per batch instead (gradient, then optimizer step), and below
  ``SPLIT_MIN_MACS`` not at all; use processes (``n_jobs``) to train small
  networks on several cores;
- numba's OpenMP layer spinning beside OpenBLAS's threads once per mini-batch
  made a training loop 20x slower on a 2-core machine;
- after numba's OpenMP layer (GNU OpenMP) has run, a process started with
  ``fork`` is terminated ("fork() called from a process already using GNU
  OpenMP, this is unsafe"), which breaks joblib and multiprocessing users;
  the worker thread of a split batch lives for one epoch, so a fork never
  inherits it;
- the ``workqueue`` layer aborts when two Python threads enter parallel code
  at once, and the ``tbb`` layer cannot load from PyPI's tbb wheel.

The elementwise work (bias, activation, loss and optimizer update) is fused
into single passes over each buffer.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext

import numpy as np
import scipy.sparse as sp

from fastmlp import _array_guard as guard
from fastmlp import _compilation, _registry

# rows per chunk in predict: bounds its work buffer (every layer's output
# for one chunk, at most PREDICT_CHUNK_ELEMENTS), keeps BLAS calls large
PREDICT_CHUNK_ROWS = 4096
PREDICT_CHUNK_ELEMENTS = 1 << 22

# A mini-batch of at least this many multiply-adds per layer pass (rows x
# coefficients) is split into BATCH_PARTS parts whose gradients are computed
# on separate threads and summed in a fixed order. Measured on 2 cores, one
# epoch: (512, 512) on 784 features 1.83x faster on 2 threads, (256, 128) on
# 100 features 1.5x-1.7x (11.8M per batch), (64, 64) on 50 features no gain
# (1.5M: the hand-over between threads, ~50 us, eats the second core).
SPLIT_MIN_MACS = 4_000_000
BATCH_PARTS = 2

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
_blas_limiter = None
_blas_threads_outside = 1


@contextmanager
def training_threads():
    """Run the block with BLAS on one thread (see the thread policy); yield
    how many threads (at most ``BATCH_PARTS``) a split batch may use: BLAS's
    thread count outside training.

    Nested and concurrent trainings share one limit, set by the first to
    start and lifted (the previous limits restored) by the last to end.
    """
    global _blas_trainings, _blas_limiter, _blas_threads_outside
    from sklearn.utils.parallel import _get_threadpool_controller

    with _blas_lock:
        if _blas_trainings == 0:
            blas = _get_threadpool_controller().select(user_api="blas")
            _blas_threads_outside = max(
                [info["num_threads"] for info in blas.info()], default=1
            )
            _blas_limiter = blas.limit(limits=1)
        _blas_trainings += 1
        threads = min(_blas_threads_outside, BATCH_PARTS)
    try:
        yield threads
    finally:
        with _blas_lock:
            _blas_trainings -= 1
            if _blas_trainings == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


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
    read-only (see ``read_only``)."""
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        return (
            read_only(X.data, dtype),
            read_only(X.indices, np.int64),
            read_only(X.indptr, np.int64),
        )
    return read_only(X, dtype)


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
        outputs, pre-activations, deltas, dropout masks, dropped outputs)``."""
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

    def compile_key(self, kernel, X=None):
        """What fixes the argument types of ``kernel``'s compiled version
        for this network (see ``fastmlp._compilation``)."""
        input_kind = "dense" if X is None or isinstance(X, np.ndarray) else "csr"
        if self.all_kernels:
            return (
                kernel,
                "all activations",
                "all losses",
                self.dtype.name,
                input_kind,
            )
        activations = "+".join(sorted(set(self.activations))) or "no hidden layer"
        return (kernel, activations, self.loss, self.dtype.name, input_kind)

    def no_dropout(self):
        """The dropout rates of a network trained without dropout."""
        return np.zeros(len(self.activations), dtype=np.float64)

    def predict(self, X, params):
        """The network's output for ``X`` (after the output activation)."""
        out = np.empty((X.shape[0], int(self.units[-1])), dtype=self.dtype)
        X = as_engine_input(X, self.dtype)
        guard.check_output(self, out, guard.check_input(self, X))
        guard.check_params(self, params)
        chunk_rows = PREDICT_CHUNK_ELEMENTS // int(self.units[1:].sum())
        chunk_rows = max(1, min(PREDICT_CHUNK_ROWS, chunk_rows))
        _compilation.call(
            _network().predict,
            self.compile_key("predict", X),
            X,
            params,
            self.bundle,
            chunk_rows,
            out,
        )
        return out

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
        value = _compilation.call(
            _network().loss_and_gradient,
            net.compile_key("loss_and_gradient", self.X),
            (self.X, self.Y, self.sample_weight),
            self.rows,
            self.params,
            self.grads,
            net.bundle,
            net.no_dropout(),
            self.alpha,
            self.work,
        )
        return value, self.grads.astype(np.float64)


class StochasticTrainer:
    """Mini-batch training of ``params`` (updated in place), one epoch per call.

    A batch of at least ``SPLIT_MIN_MACS`` multiply-adds is split into
    ``BATCH_PARTS`` parts: each part's gradient is computed on its own work
    buffers (on a thread of its own when ``threads`` allows), and the parts'
    gradients are summed in part order before the optimizer step. The split
    depends only on the network and the batch size, never on ``threads``, so
    a fit gives the same bits on one thread as on two.

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
        Threads a split batch may use (``training_threads`` yields it).
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
        split = self.batch_size * network.n_coefs >= SPLIT_MIN_MACS
        self.parts = BATCH_PARTS if split and self.batch_size >= BATCH_PARTS else 1
        self.threads = min(int(threads), self.parts)
        part_rows = -(-self.batch_size // self.parts)
        # one row of raw gradients per part, summed by the optimizer step
        self.grads = np.empty((self.parts, network.n_params), dtype=network.dtype)
        # the step updates these disjoint ranges of params, one per part
        edges = [network.n_params * k // self.parts for k in range(self.parts + 1)]
        self.param_ranges = list(zip(edges[:-1], edges[1:]))
        dense_input = isinstance(self.X, np.ndarray)
        dropout = bool(np.any(self.dropout > 0))
        self.work = [
            network.allocate_work(part_rows, dense_input, dropout)
            for _ in range(self.parts)
        ]
        self._check_arrays(part_rows, dense_input, dropout)

    def _check_arrays(self, part_rows, dense_input, dropout):
        network, optimizer = self.network, self.optimizer
        guard.check_params(network, self.params)
        for part in range(self.parts):
            guard.check_params(network, self.grads[part], "grads")
            guard.check_work(network, self.work[part], part_rows, dense_input, dropout)
        guard.check_params(network, optimizer.first_moment, "optimizer state")
        if not optimizer.sgd:
            guard.check_params(network, optimizer.second_moment, "optimizer state")
        guard.check_array(
            self.dropout, "dropout", np.float64, (len(network.activations),)
        )

    def run_epoch(self, sample_order=None, seed=-1):
        """Train one epoch; return the mean of the batch losses over rows.

        ``sample_order`` is the epoch's permutation of the rows, or None to
        take the rows in order; ``seed`` (>= 0) seeds the dropout masks.
        """
        n_samples = self.Y.shape[0]
        shuffled = sample_order is not None
        rows = read_only(sample_order if shuffled else np.arange(n_samples), np.int64)
        guard.check_rows(rows, n_samples, length=n_samples)
        if self.parts == 1:
            total = self._whole_batch_epoch(rows, shuffled, seed)
        else:
            total = self._split_batch_epoch(rows, shuffled, seed)
        return total / n_samples

    def _optimizer_bundle(self):
        from fastmlp.kernels.bundles import OptimizerBundle

        opt = self.optimizer
        return OptimizerBundle(
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

    def _whole_batch_epoch(self, rows, shuffled, seed):
        # the whole epoch in one compiled call
        net = self.network
        total, self.optimizer.step = _compilation.call(
            _network().train_epoch,
            net.compile_key("train_epoch", self.X),
            (self.X, self.Y, self.sample_weight),
            rows,
            shuffled,
            self.batch_size,
            self.params,
            self.grads[0],
            net.bundle,
            self.dropout,
            seed,
            self._optimizer_bundle(),
            self.optimizer.step,
            self.work[0],
        )
        return total

    def _split_batch_epoch(self, rows, shuffled, seed):
        kernels, net, opt = _network(), self.network, self.optimizer
        pool = ThreadPoolExecutor(self.threads - 1) if self.threads > 1 else None

        def on_parts(function, arguments):
            # part 0 here, the others on the pool's threads (or here, after)
            pending = [pool.submit(function, *a) if pool else a for a in arguments[1:]]
            results = [function(*arguments[0])]
            for job in pending:
                results.append(job.result() if pool else function(*job))
            return results

        def part_gradient(part, start, stop, batch):
            # a seed per batch and part: the same masks on any thread (a
            # tuple of ints hashes alike in every process)
            part_seed = -1 if seed < 0 else hash((seed, batch, part)) % 2**31
            return _compilation.call(
                kernels.part_gradient, net.compile_key("part_gradient", self.X),
                data, rows, start, stop, shuffled, self.params, self.grads[part],
                net.bundle, self.dropout, part_seed, self.work[part],
            )  # fmt: skip

        data = (self.X, self.Y, self.sample_weight)
        optimizer = self._optimizer_bundle()
        update_key = net.compile_key("range_update")

        def update_range(*arguments):
            return _compilation.call(kernels.range_update, update_key, *arguments)

        # the kernel's logic, run in Python: nothing to compile
        penalty_alpha = kernels.l2_alpha.py_func(opt.solver_code, self.alpha)
        total = 0.0
        with pool or nullcontext():
            for batch, start in enumerate(range(0, rows.shape[0], self.batch_size)):
                stop = min(start + self.batch_size, rows.shape[0])
                size = -(-(stop - start) // self.parts)
                parts = [
                    (part, start + part * size, min(start + (part + 1) * size, stop))
                    for part in range(self.parts)
                    if start + part * size < stop
                ]
                if len(parts) < self.parts:  # a short last batch: no stale rows
                    self.grads[len(parts) :] = 0.0
                results = on_parts(part_gradient, [(*p, batch) for p in parts])
                loss_sum = sum(loss * w for loss, w in results if w > 0)
                weight_sum = sum(w for _, w in results)
                step = opt.step + (not opt.sgd)
                update = (self.params, self.grads, net.n_coefs, weight_sum)
                update += (optimizer, step)
                norms = on_parts(
                    update_range,
                    [(*update, *bounds) for bounds in self.param_ranges],
                )
                opt.step = step
                scale = weight_sum or np.nan  # no weight: a nan loss, as compiled
                penalty = 0.5 * penalty_alpha * sum(norms) / scale
                total += (loss_sum / scale + penalty) * (stop - start)
        return total


class OptimizerState:
    """The state of an SGD, Adam or AdamW optimizer over a flat parameter vector.

    Mirrors scikit-learn's ``SGDOptimizer`` and ``AdamOptimizer``: the
    learning-rate schedule runs here, per epoch, and the update rule runs in
    the compiled epoch. ``lr_schedule='cosine'`` (any solver) anneals the
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
        from fastmlp.kernels.optimizers import SGD, SOLVER_CODES

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
        self.sgd = self.solver_code == SGD
        self.second_moment = np.zeros(0 if self.sgd else n_params, dtype=dtype)

    def arrays(self):
        """The state arrays the compiled steps update in place."""
        return (self.first_moment, self.second_moment)

    def __setstate__(self, state):
        # models pickled before the moments had their names
        for old, new in (("state_1", "first_moment"), ("state_2", "second_moment")):
            if old in state:
                state[new] = state.pop(old)
        self.__dict__.update(state)

    def make_writable(self):
        """Copy state arrays that are read-only (a memory-mapped load)."""
        if not self.first_moment.flags.writeable:
            self.first_moment = self.first_moment.copy()
        if not self.second_moment.flags.writeable:
            self.second_moment = self.second_moment.copy()

    def iteration_ends(self, time_step):
        """Update the learning rate at the end of an epoch (invscaling, cosine)."""
        self.epochs += 1
        if self.lr_schedule == "cosine":
            progress = min(self.epochs, self.max_iter) / self.max_iter
            self.learning_rate = (
                float(self.learning_rate_init) * 0.5 * (1.0 + np.cos(np.pi * progress))
            )
        elif self.sgd and self.lr_schedule == "invscaling":
            self.learning_rate = (
                float(self.learning_rate_init) / (time_step + 1) ** self.power_t
            )

    def trigger_stopping(self, msg, verbose):
        """Decide whether to stop when no improvement was seen (adaptive: /5)."""
        if not self.sgd or self.lr_schedule != "adaptive":
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

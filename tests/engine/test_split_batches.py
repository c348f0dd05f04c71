"""Split mini-batches: a batch of at least ``SPLIT_MIN_MACS`` multiply-adds is
trained as ``BATCH_PARTS`` parts whose gradients are summed before one
optimizer step (``fastmlp._engine.StochasticTrainer``).

The split must give the step of the whole batch (up to rounding), the same
bits on one thread as on two, and use a second thread when it may.
"""

import threading

import numpy as np
import pytest
from conftest import record_calling_threads
from numpy.testing import assert_allclose
from threadpoolctl import threadpool_limits

from fastmlp import _engine, _workers
from fastmlp.kernels import network as network_kernels

N_FEATURES, HIDDEN, N_OUTPUTS = 6, (5, 4), 3


def _problem(n, dtype, loss):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, N_FEATURES)).astype(dtype)
    if loss == "squared_error":
        Y = rng.normal(size=(n, N_OUTPUTS)).astype(dtype)
    else:
        Y = np.eye(N_OUTPUTS, dtype=dtype)[rng.integers(0, N_OUTPUTS, n)]
    weights = rng.uniform(0.5, 2.0, size=n).astype(dtype)
    weights[:3] = 0.0  # a part may carry no weight
    net = _engine.Network(
        [N_FEATURES, *HIDDEN, N_OUTPUTS], ["tanh", "relu"], loss, dtype
    )
    params = (rng.normal(size=net.n_params) * 0.3).astype(dtype)
    return net, X, Y, weights, params


def _train(monkeypatch, split, threads, solver, dtype, loss, n, batch_size, dropout):
    monkeypatch.setattr(_engine, "SPLIT_MIN_MACS", 0 if split else 10**18)
    monkeypatch.setattr(_engine, "RUN_THREADS_MIN_MACS", 0)
    net, X, Y, weights, params = _problem(n, dtype, loss)
    optimizer = _engine.OptimizerState(
        solver, net.n_params, dtype, learning_rate_init=0.01
    )
    rates = np.full(len(HIDDEN), dropout)
    trainer = _engine.StochasticTrainer(
        net, X, Y, weights, params, optimizer, batch_size, 1e-3, rates, threads
    )
    assert trainer.parts == (_engine.BATCH_PARTS if split else 1)
    order = np.random.default_rng(1).permutation(n)
    seeds = (5, 6) if dropout else (-1, -1)
    losses = [
        trainer.run_epochs(order[None], (seeds[0],))[0],
        trainer.run_epochs(None, (seeds[1],))[0],
    ]
    return params, np.array(losses), optimizer


@pytest.mark.parametrize("solver", ["sgd", "adam", "adamw"])
@pytest.mark.parametrize("loss", ["log_loss", "squared_error"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_split_batches_train_as_the_whole_batch(monkeypatch, solver, loss, dtype):
    """Two epochs (shuffled, then in order), 41 rows in batches of 10: the
    last batch has one row, so its second part is empty."""
    args = (solver, dtype, loss, 41, 10, 0.0)
    whole, whole_losses, whole_opt = _train(monkeypatch, False, 1, *args)
    split, split_losses, split_opt = _train(monkeypatch, True, 2, *args)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    assert_allclose(split, whole, rtol=tol, atol=tol)
    assert_allclose(split_losses, whole_losses, rtol=tol)
    assert_allclose(split_opt.first_moment, whole_opt.first_moment, rtol=tol, atol=tol)
    assert split_opt.step == whole_opt.step == (0 if solver == "sgd" else 10)


@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_split_batches_give_the_same_bits_on_one_and_two_threads(
    monkeypatch, solver, dropout
):
    args = (solver, np.float64, "log_loss", 57, 16, dropout)
    one = _train(monkeypatch, True, 1, *args)
    two = _train(monkeypatch, True, 2, *args)
    assert np.array_equal(one[0], two[0])
    assert np.array_equal(one[1], two[1])


@pytest.mark.parametrize("threads", [1, 2])
def test_each_thread_runs_the_split_epoch_in_one_call(monkeypatch, threads):
    """One compiled call per thread and run of epochs (here one epoch per
    run): with one thread allowed, on the calling thread; with two, there and
    on a worker (a pool started per run)."""
    main = threading.get_ident()
    epochs_in_parts = record_calling_threads(monkeypatch, "train_epochs_in_parts")
    _train(monkeypatch, True, threads, "adam", np.float64, "log_loss", 40, 20, 0.0)
    assert len(epochs_in_parts) == 2 * threads  # 2 epochs
    assert epochs_in_parts.count(main) == 2
    workers = set(epochs_in_parts) - {main}
    assert (threads == 1) == (not workers) and len(workers) <= 2 * (threads - 1)


def test_dropout_seeds_differ_between_parts_and_batches(monkeypatch):
    """Each part seeds its own masks: the seeds of the parts of one batch,
    and of the same part in two batches and two epochs, never repeat (that
    different seeds draw different masks is a kernel test)."""
    seeds = []
    original = network_kernels.train_epochs_in_parts

    def epoch_in_parts(*args):
        seeds.append(args[8].copy())  # part_seeds[epoch, batch, part]
        return original(*args)

    monkeypatch.setattr(network_kernels, "train_epochs_in_parts", epoch_in_parts)
    _train(monkeypatch, True, 1, "adam", np.float64, "log_loss", 40, 20, 0.5)
    drawn = np.concatenate([s.ravel() for s in seeds])
    assert drawn.shape == (8,)  # 2 epochs x 2 batches x 2 parts
    assert len(set(drawn.tolist())) == 8 and (drawn >= 0).all()


def test_which_networks_split_their_batches():
    net = _engine.Network([20, 100, 1], ["relu"], "log_loss", np.float64)
    assert _engine.batch_parts(net, 200) == 2  # the small benchmark: 420k
    assert _engine.batch_parts(net, 190) == 1  # under 400k multiply-adds
    few_features = _engine.Network([10, 100, 1], ["relu"], "log_loss", np.float64)
    assert _engine.batch_parts(few_features, 200) == 1
    regression = _engine.Network(
        [50, 64, 64, 1], ["relu"] * 2, "squared_error", np.float64
    )
    assert _engine.batch_parts(regression, 200) == 2  # the regression benchmark
    assert _engine.batch_parts(regression, 40) == 1
    wide = _engine.Network([784, 512, 512, 10], ["relu"] * 2, "log_loss", np.float64)
    assert _engine.batch_parts(wide, 200) == 2


class _Failure(Exception):
    pass


@pytest.mark.parametrize("failing_thread", [0, 1])
def test_a_failing_thread_fails_the_fit_and_keeps_the_fitted_model(
    monkeypatch, failing_thread
):
    """An error on either thread of a split epoch (thread 1 is the worker)
    releases the other from its barrier, reaches the caller as itself after
    the worker has stopped, and a warm-started model keeps the weights of its
    last successful fit."""
    from fastmlp import MLPClassifier

    monkeypatch.setattr(_engine, "SPLIT_MIN_MACS", 0)
    monkeypatch.setattr(_engine, "RUN_THREADS_MIN_MACS", 0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 5))
    y = rng.integers(0, 3, 90)
    model = MLPClassifier((7,), max_iter=3, warm_start=True, random_state=0)
    with pytest.warns(Warning):  # not converged in 3 epochs
        model.fit(X, y)
    before = [c.copy() for c in model.coefs_ + model.intercepts_]

    calls, workers = [], set()
    original = network_kernels.train_epochs_in_parts

    def epoch_in_parts(*args):
        thread = args[-2][0]  # team = (thread, n_threads, ...), then totals
        calls.append(thread)
        if thread:
            workers.add(threading.get_ident())
        if len(calls) > 2 and thread == failing_thread:
            raise _Failure("part failed")  # the other thread waits at a barrier
        return original(*args)

    monkeypatch.setattr(network_kernels, "train_epochs_in_parts", epoch_in_parts)
    with threadpool_limits(limits=2, user_api="blas"):
        with pytest.raises(_Failure, match="part failed"):
            model.set_params(batch_size=30).fit(X, y)
    assert all(
        np.array_equal(a, b) for a, b in zip(before, model.coefs_ + model.intercepts_)
    )
    # the worker stopped and waits for work again: the pool's next task,
    # which goes to the worker that became idle last, runs on it
    assert len(workers) == 1
    assert _workers.pool().submit(threading.get_ident).result(10) in workers


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_concurrent_fits_with_split_batches_match_sequential_ones(monkeypatch):
    """Three fits on three Python threads at once, each splitting its batches
    onto a worker thread of its own: the same bits as one fit at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from fastmlp import MLPRegressor

    monkeypatch.setattr(_engine, "SPLIT_MIN_MACS", 0)
    monkeypatch.setattr(_engine, "RUN_THREADS_MIN_MACS", 0)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 8))
    y = X @ rng.normal(size=8) + 0.1 * rng.normal(size=300)

    def fit(seed):
        model = MLPRegressor(
            hidden_layer_sizes=(16, 8), max_iter=4, batch_size=50, random_state=seed
        )
        model.fit(X, y)
        return np.concatenate([c.ravel() for c in model.coefs_])

    with threadpool_limits(limits=2, user_api="blas"):
        sequential = [fit(seed) for seed in range(3)]
        with ThreadPoolExecutor(3) as pool:
            concurrent = list(pool.map(fit, range(3)))
    for one, other in zip(sequential, concurrent):
        assert np.array_equal(one, other)

"""Memory safety: no call from Python can make compiled code leave its buffers.

A refit or partial_fit whose configuration or data no longer matches the
fitted network gets scikit-learn's outcome (the fitted architecture trains on,
or a ValueError naming the mismatch), every array entering compiled code is
checked against its network (``fastmlp._array_guard``), models keep
scikit-learn's dtypes, and read-only inputs share the compiled code of
writeable ones.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import mostly_zero
from sklearn import neural_network
from sklearn.exceptions import ConvergenceWarning

import fastmlp
from fastmlp import _array_guard, _engine, _registry

RNG = np.random.RandomState(0)
X = RNG.randn(50, 3)
Y = RNG.randn(50)
Y_CLASSES = (Y > 0).astype(int)
SOLVERS = list(_registry.solvers())


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _fitted(estimator="MLPRegressor", library=fastmlp, **params):
    params = {"hidden_layer_sizes": (30,), "max_iter": 2, "random_state": 0, **params}
    model = getattr(library, estimator)(**params)
    target = Y if estimator == "MLPRegressor" else Y_CLASSES
    return model.fit(X, target)


def _inputs(sparse):
    return sp.csr_matrix(mostly_zero(X)) if sparse else X  # the CSR kernels


# -------------------------------------------------------------- refit shapes
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("estimator", ["MLPRegressor", "MLPClassifier"])
def test_warm_start_with_new_widths_trains_the_fitted_network_as_sklearn(
    estimator, solver, sparse
):
    # scikit-learn keeps training the fitted architecture (sgd and adam)
    target = Y if estimator == "MLPRegressor" else Y_CLASSES
    models = []
    for library in (fastmlp, neural_network):
        model = _fitted(estimator, library, solver=solver)
        model.set_params(warm_start=True, hidden_layer_sizes=(200,))
        models.append(model.fit(_inputs(sparse), target))
    ours, theirs = models
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [c.shape for c in ours.coefs_] == [(3, 30), (30, 1)]
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("solver", SOLVERS)
def test_issue_example_no_longer_corrupts_the_heap(solver):
    model = _fitted(solver=solver, hidden_layer_sizes=(300,))
    model.set_params(warm_start=True, hidden_layer_sizes=(200,)).fit(X, Y)
    assert [c.shape for c in model.coefs_] == [(3, 300), (300, 1)]
    assert np.isfinite(model.predict(X)).all()


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("solver", SOLVERS)
def test_warm_start_with_another_depth_raises(solver, sparse, early_stopping):
    if early_stopping and solver == "lbfgs":
        pytest.skip("early stopping needs a stochastic solver")
    model = _fitted(solver=solver, early_stopping=early_stopping)
    before = [c.copy() for c in model.coefs_]
    model.set_params(warm_start=True, hidden_layer_sizes=(20, 10))
    with pytest.raises(ValueError, match=r"has 2 hidden layer\(s\).*has 1 \(\(30,\)\)"):
        model.fit(_inputs(sparse), Y)
    for a, b in zip(model.coefs_, before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_with_another_depth_raises(solver):
    model = fastmlp.MLPRegressor(hidden_layer_sizes=(30,), solver=solver)
    model.partial_fit(X, Y).set_params(hidden_layer_sizes=(20, 5))
    with pytest.raises(ValueError, match="hidden layer"):
        model.partial_fit(X, Y)
    model.set_params(hidden_layer_sizes=(7,)).partial_fit(X, Y)  # widths: kept
    assert model.coefs_[0].shape == (3, 30)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("solver", SOLVERS)
def test_warm_start_with_another_target_width_raises(solver, sparse):
    model = _fitted(solver=solver).set_params(warm_start=True)
    with pytest.raises(ValueError, match=r"y has 2 output column\(s\).* 1 output"):
        model.fit(_inputs(sparse), np.c_[Y, Y])
    assert model.n_outputs_ == 1 and model.coefs_[-1].shape == (30, 1)
    if solver == "adamw":
        return
    # scikit-learn raises a ValueError too (from its matrix product)
    theirs = _fitted(library=neural_network, solver=solver).set_params(warm_start=True)
    with pytest.raises(ValueError):
        theirs.fit(_inputs(sparse), np.c_[Y, Y])


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_with_another_target_width_raises(solver):
    model = fastmlp.MLPRegressor(hidden_layer_sizes=(30,), solver=solver)
    model.partial_fit(X, Y)
    with pytest.raises(ValueError, match="output column"):
        model.partial_fit(X, np.c_[Y, Y])


def test_multilabel_partial_fit_with_another_width_raises():
    Y_multi = np.c_[Y_CLASSES, 1 - Y_CLASSES, Y_CLASSES]
    model = fastmlp.MLPClassifier(hidden_layer_sizes=(30,), random_state=0)
    model.partial_fit(X, Y_multi[:, :2], classes=[0, 1])
    with pytest.raises(ValueError):
        model.partial_fit(X, Y_multi)
    assert model.coefs_[-1].shape == (30, 2)


# ------------------------------------------------------------ the guard
def _network(dtype=np.float64):
    return _engine.Network([3, 4, 2], ["relu"], "squared_error", dtype)


def test_guard_rejects_params_of_another_network():
    net = _network()
    with pytest.raises(_array_guard.EngineArrayError, match="params of shape"):
        net.predict(X, np.zeros(net.n_params + 1))
    with pytest.raises(_array_guard.EngineArrayError, match="dtype float32"):
        net.predict(X, np.zeros(net.n_params, dtype=np.float32))


def test_guard_rejects_input_of_another_width():
    net = _network()
    with pytest.raises(_array_guard.EngineArrayError, match="X of shape"):
        net.predict(np.c_[X, X], np.zeros(net.n_params))


def test_guard_checks_the_split_epochs_shared_arrays():
    from fastmlp.kernels._atomics import SYNC_SIZE

    net, parts, batches, epochs = _network(), 3, 4, 2
    seeds = np.zeros((epochs, batches, parts), dtype=np.int64)
    edges = np.array([0, 10, 20, net.n_params], dtype=np.int64)
    totals = np.zeros(epochs)

    def team(threads=2, results_rows=parts):
        sync = np.zeros(SYNC_SIZE, dtype=np.int64)
        return (0, threads, sync, np.zeros((results_rows, 2)), np.zeros(parts))

    _array_guard.check_split_epochs(net, parts, batches, seeds, edges, team(), totals)
    bad = [
        (seeds[:, :, :2].copy(), edges, team(), totals, "part_seeds of shape"),
        (seeds, edges, team(), np.zeros(3), "part_seeds of shape"),
        (seeds, edges, team(), np.zeros(epochs, np.float32), "totals of dtype"),
        (seeds, edges[:-1], team(), totals, "range_edges of shape"),
        (seeds, edges[::-1].copy(), team(), totals, "range edges from"),
        (seeds, np.array([0, 20, 10, net.n_params]), team(), totals, "out of order"),
        (seeds, edges, team(results_rows=2), totals, "part_results of shape"),
        (seeds, edges, team(threads=4), totals, "4 threads for 3 parts"),
    ]
    for part_seeds, range_edges, shared, epoch_totals, message in bad:
        with pytest.raises(_array_guard.EngineArrayError, match=message):
            _array_guard.check_split_epochs(
                net, parts, batches, part_seeds, range_edges, shared, epoch_totals
            )


@pytest.mark.parametrize("density", [1.0, 0.2], ids=["made dense", "csr"])
def test_guard_checks_csr_indices_by_value(density):
    net = _network()
    dense = X if density == 1.0 else mostly_zero(X)
    assert _engine.dense_is_smaller(sp.csr_matrix(dense)) == (density == 1.0)
    X_csr = sp.csr_matrix(dense)
    X_csr.indices[3] = 7  # a column the network does not have
    with pytest.raises(_array_guard.EngineArrayError, match="column indices"):
        net.predict(X_csr, np.zeros(net.n_params))
    X_csr = sp.csr_matrix(dense)
    X_csr.indptr[2] = 10_000
    with pytest.raises(_array_guard.EngineArrayError, match="indptr"):
        net.predict(X_csr, np.zeros(net.n_params))


def _trainer(net, Y_train, params=None, **kwargs):
    optimizer = _engine.OptimizerState(
        "adam", net.n_params, net.dtype, learning_rate_init=1e-3
    )
    params = np.zeros(net.n_params) if params is None else params
    w = np.ones(Y_train.shape[0])
    return _engine.StochasticTrainer(
        net, X, Y_train, w, params, optimizer, 10, 1e-4, np.zeros(1), **kwargs
    )


def test_guard_rejects_training_arrays_of_another_network():
    net = _network()
    with pytest.raises(_array_guard.EngineArrayError, match="Y of shape"):
        _trainer(net, np.zeros((50, 3)))
    with pytest.raises(_array_guard.EngineArrayError, match="params of shape"):
        _trainer(net, np.zeros((50, 2)), params=np.zeros(net.n_params - 1))
    with pytest.raises(_array_guard.EngineArrayError, match="FullBatch|Y of shape"):
        _engine.FullBatchObjective(net, X, np.zeros((49, 2)), np.ones(49), 0.0)


def test_guard_rejects_a_sample_order_outside_the_data():
    trainer = _trainer(_network(), np.zeros((50, 2)))
    with pytest.raises(_array_guard.EngineArrayError, match="row indices"):
        trainer.run_epochs((np.arange(50) + 1)[None])
    with pytest.raises(_array_guard.EngineArrayError, match="orders of 40 rows"):
        trainer.run_epochs(np.arange(40)[None])


def test_guard_rejects_user_weights_of_the_wrong_shape():
    model = _fitted()
    model.coefs_ = [model.coefs_[0][:, :20], model.coefs_[1]]
    with pytest.raises(ValueError, match="coefs_ and intercepts_ have shapes"):
        model.predict(X)


# ------------------------------------------------------------------ dtypes
def test_partial_fit_keeps_the_models_dtype():
    for library in (fastmlp, neural_network):
        model = library.MLPRegressor(hidden_layer_sizes=(5,), random_state=0)
        model.partial_fit(X, Y).partial_fit(X.astype(np.float32), Y)
        assert model.coefs_[0].dtype == np.float64, library


def test_float32_model_predicts_float64_for_float64_input_as_sklearn():
    X32 = X.astype(np.float32)
    for library in (fastmlp, neural_network):
        model = library.MLPClassifier(
            hidden_layer_sizes=(5,), max_iter=3, random_state=0
        ).fit(X32, Y_CLASSES)
        assert model.coefs_[0].dtype == np.float32
        assert model.predict_proba(X).dtype == np.float64, library
        assert model.predict_proba(X32).dtype == np.float32, library
    ours = fastmlp.MLPRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
    ours.fit(X32, Y)
    expected = ours.to_sklearn().predict(X)  # float64 X through float32 weights
    np.testing.assert_allclose(ours.predict(X), expected, rtol=1e-12)


def test_lbfgs_float32_stays_float32_a_documented_difference():
    # scikit-learn's lbfgs returns float64 coefficients for float32 data;
    # fastmlp keeps float32 from input to coefficients (README's differences)
    model = fastmlp.MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=5)
    model.fit(X.astype(np.float32), Y)
    assert model.coefs_[0].dtype == np.float32


# -------------------------------------------------------- no surprise compiles
def _compiled_signatures():
    from fastmlp.kernels import network

    return sum(
        len(kernel.signatures)
        for kernel in (network.train_epochs, network.predict, network.part_gradient)
    )


def test_read_only_inputs_share_the_compiled_code():
    model = fastmlp.MLPRegressor(hidden_layer_sizes=(5,), max_iter=2, random_state=0)
    model.fit(X, Y).predict(X)
    fastmlp.MLPRegressor(solver="lbfgs", max_iter=2).fit(X, Y)
    before = _compiled_signatures()
    X_ro, Y_ro = X.copy(), Y.copy()
    X_ro.flags.writeable = Y_ro.flags.writeable = False
    model.fit(X_ro, Y_ro).predict(X_ro)
    fastmlp.MLPRegressor(solver="lbfgs", max_iter=2).fit(X_ro, Y_ro)
    assert _compiled_signatures() == before


def test_float32_partial_fit_of_a_float64_model_compiles_nothing_new():
    model = fastmlp.MLPRegressor(hidden_layer_sizes=(5,), random_state=0)
    model.partial_fit(X, Y).predict(X)
    before = _compiled_signatures()
    model.partial_fit(X.astype(np.float32), Y)
    assert _compiled_signatures() == before

"""Sparse input: a CSR matrix dense enough is trained and predicted as a dense
array (``_engine.dense_is_smaller``), a sparser one by the CSR kernels."""

import numpy as np
import pytest
import scipy.sparse as sp

from fastmlp import MLPClassifier, MLPRegressor, _engine


def _stored(n_stored, dtype, shape=(10, 10)):
    X = np.zeros(shape[0] * shape[1], dtype=dtype)
    X[:n_stored] = 1.5
    return sp.csr_matrix(X.reshape(shape))


def test_dense_when_the_dense_array_takes_no_more_memory():
    # a stored value costs its own bytes and 8 for its int64 column index
    assert _engine.dense_is_smaller(_stored(50, np.float64))
    assert not _engine.dense_is_smaller(_stored(49, np.float64))
    assert _engine.dense_is_smaller(_stored(34, np.float32))
    assert not _engine.dense_is_smaller(_stored(33, np.float32))
    # the network's dtype decides, not the matrix's
    assert _engine.dense_is_smaller(_stored(34, np.float64), np.float32)
    assert _engine.as_engine_input(_stored(34, np.float64), np.float32).dtype == (
        np.float32
    )
    assert isinstance(_engine.as_engine_input(_stored(50, np.float64)), np.ndarray)
    data, indices, indptr = _engine.as_engine_input(_stored(49, np.float64))
    assert data.size == 49 and indices.dtype == np.int64 and indptr.size == 11


def test_sparse_input_over_the_size_cap_keeps_the_csr_kernels(monkeypatch):
    monkeypatch.setattr(_engine, "DENSE_INPUT_MAX_BYTES", 799)  # 10 x 10 float64
    assert not _engine.dense_is_smaller(_stored(100, np.float64))
    assert _engine.dense_is_smaller(_stored(100, np.float32))  # 400 bytes


def _data(dtype, stored_fraction):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 6)).astype(dtype)
    X[rng.random(X.shape) >= stored_fraction] = 0.0
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    return X, y


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_matrix])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_enough_sparse_input_gives_the_dense_inputs_bits(
    dtype, solver, container
):
    X, y = _data(dtype, 0.7)
    fits = [
        MLPClassifier(
            hidden_layer_sizes=(7,), solver=solver, max_iter=5, random_state=0
        ).fit(data, y)
        for data in (X, container(X))
    ]
    dense, sparse = (model.coefs_ + model.intercepts_ for model in fits)
    assert all(np.array_equal(a, b) for a, b in zip(dense, sparse))
    if solver == "adam":
        assert fits[0].loss_curve_ == fits[1].loss_curve_
    assert np.array_equal(fits[0].predict_proba(X), fits[1].predict_proba(container(X)))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sparse_input_either_way_trains_the_same_model(monkeypatch):
    """The dense array and the CSR kernels agree to rounding, duplicate
    entries (summed by both) included."""
    X, _ = _data(np.float64, 0.7)
    y = X[:, 0] - 2 * X[:, 3]
    csr = sp.csr_matrix(X)
    # every stored value twice, as two halves, each row's columns repeated
    data, indices = [], []
    for start, end in zip(csr.indptr[:-1], csr.indptr[1:]):
        data += [csr.data[start:end] / 2] * 2
        indices += [csr.indices[start:end]] * 2
    duplicated = sp.csr_matrix(
        (np.concatenate(data), np.concatenate(indices), 2 * csr.indptr),
        shape=X.shape,
    )
    assert duplicated.nnz == 2 * csr.nnz and _engine.dense_is_smaller(duplicated)
    model = MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0)
    as_dense = model.fit(duplicated, y).predict(duplicated)
    monkeypatch.setattr(_engine, "dense_is_smaller", lambda X, dtype=None: False)
    by_csr_kernels = model.fit(duplicated, y).predict(duplicated)
    np.testing.assert_allclose(by_csr_kernels, as_dense, rtol=1e-9, atol=1e-12)

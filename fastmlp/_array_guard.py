"""The door to compiled code: every array checked against its network.

The kernels run without bounds checks, so an array whose shape, dtype or size
disagrees with the network it is used with would make them read or write
past a buffer. Every call from Python into compiled code (``_engine`` and
``_jacobian``) first passes its arrays through these checks, which raise
``EngineArrayError`` (a ``ValueError``) naming the array and the mismatch. A
user's bad input is caught earlier, by the estimators' validation, with
scikit-learn's messages; reaching one of these errors means a bug in fastmlp,
reported as an exception instead of a corrupted heap.

The checks look at shapes and dtypes (constant time), except the CSR index
arrays and the sample orders, whose values are checked once per fit or per
compiled call (one pass, negligible beside the training it guards).
"""

import numpy as np


class EngineArrayError(ValueError):
    """An array about to enter compiled code does not fit its network."""


def _fail(message):
    raise EngineArrayError(
        f"fastmlp's compiled code was about to receive {message}; this is a "
        "bug in fastmlp (please report it), stopped before it could corrupt "
        "memory."
    )


def check_array(array, name, dtype, shape=None, min_size=None):
    """Check an array's type, dtype, C order and shape (or minimum size)."""
    if not isinstance(array, np.ndarray):
        _fail(f"{name} of type {type(array).__name__}, not an ndarray")
    if array.dtype != dtype:
        _fail(f"{name} of dtype {array.dtype}, not {np.dtype(dtype)}")
    if not array.flags.c_contiguous:
        _fail(f"{name} that is not C-contiguous")
    if shape is not None and array.shape != tuple(shape):
        _fail(f"{name} of shape {array.shape}, not {tuple(shape)}")
    if min_size is not None and array.size < min_size:
        _fail(f"{name} of {array.size} elements, fewer than the {min_size} needed")


def check_params(network, params, name="params"):
    """A flat parameter (or gradient, or optimizer state) vector."""
    check_array(params, name, network.dtype, shape=(network.n_params,))


def check_input(network, X):
    """A dense C-ordered X or a CSR ``(data, indices, indptr)``; returns n_rows.

    For CSR input the index arrays are checked by value: ``indptr`` starts
    at 0, never decreases and ends at ``len(data)``, and every column index
    lies in ``[0, n_features)``.
    """
    n_features = int(network.units[0])
    if isinstance(X, np.ndarray):
        if X.ndim != 2 or X.shape[1] != n_features:
            _fail(f"X of shape {X.shape} for a network of {n_features} inputs")
        check_array(X, "X", network.dtype)
        return X.shape[0]
    data, indices, indptr = X
    check_array(data, "CSR data", network.dtype)
    check_array(indices, "CSR indices", np.int64, shape=data.shape)
    check_array(indptr, "CSR indptr", np.int64, min_size=1)
    if indptr.ndim != 1 or data.ndim != 1:
        _fail("CSR arrays that are not 1-D")
    check_csr_indices(indices, indptr, data.shape[0], n_features)
    return indptr.shape[0] - 1


def check_csr_indices(indices, indptr, n_stored, n_features):
    """CSR index arrays by value: ``indptr`` runs from 0 to ``n_stored`` in
    order, every column index lies in ``[0, n_features)``."""
    if indptr[0] != 0 or indptr[-1] != n_stored or np.any(np.diff(indptr) < 0):
        _fail("a CSR indptr that does not run from 0 to len(data) in order")
    if indices.size and (indices.min() < 0 or indices.max() >= n_features):
        _fail(f"CSR column indices outside [0, {n_features})")


def check_targets(network, Y, sample_weight, n_rows):
    """The 2-D target and the sample weights of ``n_rows`` rows."""
    check_array(Y, "Y", network.dtype, shape=(n_rows, int(network.units[-1])))
    check_array(sample_weight, "sample_weight", network.dtype, shape=(n_rows,))


def check_orders(orders, seeds, n_rows):
    """The sample orders and dropout seeds of a run of epochs: one seed per
    epoch, and one order of all ``n_rows`` rows per epoch (or one for all)."""
    check_array(seeds, "seeds", np.int64)
    if seeds.ndim != 1 or seeds.size == 0:
        _fail(f"seeds of shape {seeds.shape}")
    check_array(orders, "orders", np.int64)
    if orders.ndim != 2 or orders.shape[0] not in (1, seeds.size):
        _fail(f"orders of shape {orders.shape} for {seeds.size} epochs")
    if orders.shape[1] != n_rows:
        _fail(f"orders of {orders.shape[1]} rows, not {n_rows}")
    _check_row_values(orders, n_rows)


def _check_row_values(rows, n_rows):
    if rows.size and (rows.min() < 0 or rows.max() >= n_rows):
        _fail(f"row indices outside [0, {n_rows})")


def check_work(network, work, n_rows, dense_input, dropout):
    """Work buffers large enough for batches of ``n_rows`` rows."""
    units = network.units
    layers = n_rows * int(units[1:].sum())
    needed = (
        n_rows * int(units[0]) if dense_input else 0,
        n_rows * int(units[-1]),
        n_rows,
        layers,
        layers,
        layers,
        layers if dropout else 0,
        layers if dropout else 0,
    )
    if len(work) != len(needed):
        _fail(f"{len(work)} work buffers, not {len(needed)}")
    for k, (buffer, size) in enumerate(zip(work, needed)):
        check_array(buffer, f"work buffer {k}", network.dtype, min_size=size)


def check_output(network, out, n_rows):
    """The output array of a forward pass over ``n_rows`` rows."""
    check_array(out, "out", network.dtype, shape=(n_rows, int(network.units[-1])))


def check_split_epochs(
    network, parts, n_batches, part_seeds, range_edges, team, totals
):
    """The arrays the threads of split epochs share: one seed per epoch,
    batch and part, ``parts + 1`` range edges from 0 to ``n_params`` in order,
    the barrier's counters, one (loss, weight) row and one norm per part, and
    one total per epoch."""
    from fastmlp.kernels._atomics import SYNC_SIZE

    _, n_threads, sync, part_results, range_norms = team
    check_array(totals, "totals", np.float64)
    if totals.ndim != 1:
        _fail(f"totals of shape {totals.shape}")
    epochs = totals.shape[0]
    check_array(part_seeds, "part_seeds", np.int64, shape=(epochs, n_batches, parts))
    check_array(range_edges, "range_edges", np.int64, shape=(parts + 1,))
    if range_edges[0] != 0 or range_edges[-1] != network.n_params:
        _fail(f"range edges from {range_edges[0]} to {range_edges[-1]}")
    if np.any(np.diff(range_edges) < 0):
        _fail("range edges out of order")
    check_array(sync, "sync", np.int64, shape=(SYNC_SIZE,))
    check_array(part_results, "part_results", np.float64, shape=(parts, 2))
    check_array(range_norms, "range_norms", np.float64, shape=(parts,))
    if not 1 <= n_threads <= parts:
        _fail(f"{n_threads} threads for {parts} parts")

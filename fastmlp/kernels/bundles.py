"""The bundles that carry a network, its optimizer and its buffers into
compiled code: named tuples, so that each compiled call takes a handful of
arguments instead of twenty, and numba types each field once.

A tuple is typed by its fields' types, so every bundle of the same layout
(the same kernel set and dtypes) shares one compiled version of the loops.
"""

from typing import NamedTuple

import numpy as np

from fastmlp.kernels._compile import KernelSet


class NetworkBundle(NamedTuple):
    """A network's shape, kernels and flat layout, as compiled code reads it.

    Attributes
    ----------
    kernels : KernelSet
        The activation and loss kernels the network uses (its numba type
        specialises the compiled loops).
    units : ndarray of int64
        ``[n_features, hidden..., n_outputs]``.
    activations : ndarray of int64
        One activation code per hidden layer.
    loss : int
        The output loss's code.
    loss_param : float
        The loss's parameter (huber's delta; 0 for the others).
    param_offsets : ndarray of int64
        Where layer ``l``'s coefficients start in the flat parameter vector
        (entry ``l``) and where its intercepts start (entry ``n_layers + l``);
        entry ``n_layers`` is also the number of coefficients.
    unit_offsets : ndarray of int64
        ``[0, cumsum(units[1:])...]``: layer ``l``'s block of an ``n``-row
        batch buffer starts at ``n * unit_offsets[l]``; the last entry is the
        units of all layers together.
    """

    kernels: KernelSet
    units: np.ndarray
    activations: np.ndarray
    loss: int
    loss_param: float
    param_offsets: np.ndarray
    unit_offsets: np.ndarray


def network_bundle(units, activation_codes, loss_code, loss_param, kernels=None):
    """The ``NetworkBundle`` of a network (offsets computed here); ``kernels``
    (a ``KernelSet``) defaults to exactly the network's own kernels."""
    units = np.asarray(units, dtype=np.int64)
    fan_in, fan_out = units[:-1], units[1:]
    coef_sizes, intercept_sizes = fan_in * fan_out, fan_out
    sizes = np.concatenate([coef_sizes, intercept_sizes])
    param_offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    unit_offsets = np.concatenate([[0], np.cumsum(fan_out)]).astype(np.int64)
    activation_codes = np.asarray(activation_codes, dtype=np.int64)
    if kernels is None:
        kernels = KernelSet(activation_codes, (loss_code,))
    return NetworkBundle(
        kernels,
        units,
        activation_codes,
        int(loss_code),
        float(loss_param),
        param_offsets,
        unit_offsets,
    )


class OptimizerBundle(NamedTuple):
    """An optimizer's settings and state for one epoch of compiled training.

    ``first_moment`` and ``second_moment`` are SGD's velocity (and an empty
    array) or Adam's first and second moments (the names of the estimator's
    optimizer state); ``kernels`` holds the solver's code (its update rule is
    all an epoch compiles); the other fields are scikit-learn's
    parameters of the same names (``solver`` as a code of
    ``optimizers.SOLVER_CODES``, ``alpha`` the L2 penalty or AdamW's decay).
    """

    kernels: KernelSet
    solver: int
    alpha: float
    learning_rate: float
    momentum: float
    nesterov: bool
    beta_1: float
    beta_2: float
    epsilon: float
    first_moment: np.ndarray
    second_moment: np.ndarray

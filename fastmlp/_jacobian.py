"""Input Jacobians of a network: mode choice, row chunks and work buffers.

The estimators' ``jacobian`` method (``JacobianMixin``) and its engine
side: it picks forward or reverse mode, cuts the
rows into chunks that bound the work buffers, and calls the compiled kernels
of ``fastmlp.kernels.jacobian``. Sparse input is made dense one chunk at a
time (a Jacobian is dense whatever the input is).

Cost rule of ``mode='auto'``
----------------------------
The multiply-adds per row of each mode, from ``units = [n_features, hidden...,
n_outputs]`` (``u_0 ... u_L``):

- forward: ``n_features * (u_1 + sum_{l >= 1} u_l * u_{l+1})``: one tangent
  per feature; the first layer's tangents are rows of ``W0`` (``u_1`` copies,
  no product), every later layer is a matrix product;
- reverse: ``n_outputs * sum_{l >= 0} u_l * u_{l+1}``: one cotangent per
  output through every layer's transposed product, the first included.

'auto' takes the smaller (forward on a tie). Forward mode is always cheaper
when ``n_features < n_outputs``; because forward mode skips the first layer's
product, it stays cheaper for some ``n_features`` above ``n_outputs`` too
(with one hidden layer: up to about ``n_outputs**2`` features). The
elementwise passes and the forward pass both modes run are left out.
"""

import numpy as np
import scipy.sparse as sp

MODES = ("auto", "forward", "reverse")

#: elements of one tangent (or cotangent) buffer (2 MB in float64): sets the
#: rows per chunk; larger buffers measured no faster
BUFFER_ELEMENTS = 1 << 18
#: at most this many rows per chunk (as predict's chunks)
MAX_CHUNK_ROWS = 4096


def mode_costs(units):
    """Multiply-adds per row of forward and reverse mode.

    Parameters
    ----------
    units : sequence of int
        ``[n_features, hidden..., n_outputs]``.

    Returns
    -------
    forward, reverse : int
    """
    units = [int(u) for u in units]
    products = [fan_in * fan_out for fan_in, fan_out in zip(units[:-1], units[1:])]
    forward = units[0] * (units[1] + sum(products[1:]))
    reverse = units[-1] * sum(products)
    return forward, reverse


def choose_mode(units):
    """'forward' or 'reverse', whichever ``mode_costs`` finds cheaper."""
    forward, reverse = mode_costs(units)
    return "forward" if forward <= reverse else "reverse"


def check_mode(mode):
    """Raise ValueError unless ``mode`` is one of ``MODES``."""
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")


def jacobian(network, params, X, mode="auto"):
    """The Jacobian of the network's output with respect to its input.

    Parameters
    ----------
    network : fastmlp._engine.Network
    params : ndarray
        Flat parameters in the layout of ``network``.
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Input, of any float dtype (converted to the network's).
    mode : {'auto', 'forward', 'reverse'}, default='auto'

    Returns
    -------
    J : ndarray of shape (n_samples, n_outputs, n_features)
        ``J[i, o, k]`` is the derivative of output ``o`` (after the output
        activation) with respect to feature ``k``, at row ``i``.
    """
    from fastmlp import _array_guard as guard
    from fastmlp import _compilation
    from fastmlp._engine import read_only
    from fastmlp.kernels import jacobian as kernels

    check_mode(mode)
    if mode == "auto":
        mode = choose_mode(network.units)
    units = network.units
    n_samples, n_features = X.shape
    n_outputs = int(units[-1])
    dtype = network.dtype
    if mode == "forward":
        directions, width = n_features, int(units[1:].max())
        compute, name = kernels.jacobian_forward, "jacobian_forward"
    else:
        directions, width = n_outputs, int(units.max())
        compute, name = kernels.jacobian_reverse, "jacobian_reverse"
    chunk = max(
        1, min(MAX_CHUNK_ROWS, n_samples, BUFFER_ELEMENTS // (directions * width))
    )
    layers = chunk * int(units[1:].sum())
    work = (
        np.empty(layers, dtype=dtype),
        np.empty(layers, dtype=dtype),
        np.empty(chunk * directions * width, dtype=dtype),
        np.empty(chunk * directions * width, dtype=dtype),
    )
    out = np.empty((n_samples, n_outputs, n_features), dtype=dtype)
    guard.check_params(network, params)
    if sp.issparse(X):
        X = sp.csr_matrix(X)
    for start in range(0, n_samples, chunk):
        stop = min(start + chunk, n_samples)
        x = X[start:stop]
        x = x.toarray() if sp.issparse(x) else x
        x = read_only(x, dtype)
        guard.check_input(network, x)
        _compilation.call(
            compute,
            network.compile_key(name),
            x,
            params,
            network.bundle,
            work,
            out[start:stop],
        )
    return out


class JacobianMixin:
    """The estimators' public ``jacobian`` method."""

    def jacobian(self, X, mode="auto"):
        """Derivatives of the model's output with respect to each input feature.

        The output is the network's output units after the output activation:
        ``predict_proba`` of a multiclass classifier (softmax, one column per
        class), the logistic units of a binary or multilabel classifier (one
        column per label; a binary classifier has a single column, the
        probability of ``classes_[1]``, whereas ``predict_proba`` has two,
        the first being one minus the second, so its derivative is the
        negative of this one), and ``predict`` of a regressor (the identity
        output, or ``exp`` with ``loss='poisson'``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data. Sparse input is made dense one chunk of rows at a
            time.

        mode : {'auto', 'forward', 'reverse'}, default='auto'
            'forward' pushes one tangent per input feature through the layers
            (forward-mode differentiation), 'reverse' pulls one cotangent per
            output back through them (reverse mode, the backward pass of
            training). Both give the same Jacobian up to rounding. 'auto'
            picks the one with fewer multiply-adds for this network's layer
            sizes: forward costs grow with n_features, reverse costs with
            n_outputs (see ``fastmlp._jacobian`` for the rule).

        Returns
        -------
        J : ndarray of shape (n_samples, n_outputs, n_features)
            ``J[i, o, k]`` is the derivative of output ``o`` with respect to
            feature ``k`` at sample ``i``, in the model's dtype. Always 3-D,
            also for a single output.
        """
        self._check_is_fitted()
        check_mode(mode)
        X = self._validated_for_predict(X)
        network = self._fitted_network()
        return jacobian(network, self._weights(network), X, mode)

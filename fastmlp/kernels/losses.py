"""Output layers: an output activation paired with its loss, and the registry.

Each entry pairs the output activation's kernels (``forward(z, bias, pre)`` and
``backward(pre, a, delta)``, the contracts of the hidden activations) with

- ``loss_sum(p, y, sample_weight, param)``, returning ``sum_i w_i * l_i``, the
  weighted sum over the rows of the per-sample loss, in float64 (the mean loss
  scikit-learn reports is that sum divided by ``sum_i w_i``), and
- ``delta(p, y, sample_weight, param, out)``, the backward kernel of the output
  layer: ``out = dL/dz`` for ``L = sum_i w_i * l_i``, the pre-activation ``z``.

``param`` is the loss's parameter (``huber``'s delta), ignored by the others.
scikit-learn's four pairs are canonical (the activation is the inverse link of
the loss), so their delta is the same: ``w_i * (p - y)`` (``output_delta``).
The robust regression losses have the identity output and their own delta.

Losses follow scikit-learn's ``_base.LOSS_FUNCTIONS`` exactly, including the
clipping of probabilities to ``[eps, 1 - eps]`` of the dtype.
"""

from typing import NamedTuple

import numpy as np

from fastmlp._registry import OUTPUT_ACTIVATION_OF_LOSS, check_registry
from fastmlp.kernels import fastmath
from fastmlp.kernels._compile import kernel, make_switch
from fastmlp.kernels.activations import (
    identity_backward,
    identity_forward,
    logistic_backward,
    logistic_forward,
)


@kernel
def _row_sum(z, i):
    """The sum of row ``i`` in NumPy's order for up to 128 columns (which
    scikit-learn's softmax then reproduces): eight partial sums taken in
    steps of eight, combined pairwise, the rest added one by one; below eight
    columns, one by one. Eight independent sums also vectorize."""
    n = z.shape[1]
    if n < 8:
        total = z.dtype.type(0.0)
        for j in range(n):
            total += z[i, j]
        return total
    r0, r1, r2, r3 = z[i, 0], z[i, 1], z[i, 2], z[i, 3]
    r4, r5, r6, r7 = z[i, 4], z[i, 5], z[i, 6], z[i, 7]
    stop = n - n % 8
    for j in range(8, stop, 8):
        r0 += z[i, j]
        r1 += z[i, j + 1]
        r2 += z[i, j + 2]
        r3 += z[i, j + 3]
        r4 += z[i, j + 4]
        r5 += z[i, j + 5]
        r6 += z[i, j + 6]
        r7 += z[i, j + 7]
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for j in range(stop, n):
        total += z[i, j]
    return total


@kernel
def softmax_forward(z, bias, pre):
    for i in range(z.shape[0]):
        row_max = z[i, 0] + bias[0]
        for j in range(z.shape[1]):
            z[i, j] = z[i, j] + bias[j]
            if z[i, j] > row_max:
                row_max = z[i, j]
        for j in range(z.shape[1]):
            z[i, j] = fastmath.exp(z[i, j] - row_max)
        total = _row_sum(z, i)
        for j in range(z.shape[1]):
            z[i, j] = z[i, j] / total


@kernel
def softmax_backward(pre, a, delta):
    # the softmax Jacobian is symmetric: dz_j = a_j * (da_j - sum_k a_k da_k)
    for i in range(a.shape[0]):
        dot = a.dtype.type(0.0)
        for j in range(a.shape[1]):
            dot += a[i, j] * delta[i, j]
        for j in range(a.shape[1]):
            delta[i, j] = a[i, j] * (delta[i, j] - dot)


@kernel
def exp_forward(z, bias, pre):
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] = fastmath.exp(z[i, j] + bias[j])


@kernel
def exp_backward(pre, a, delta):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            delta[i, j] = delta[i, j] * a[i, j]


@kernel
def squared_error_sum(p, y, sample_weight, param):
    # scikit-learn: 0.5 * mean over outputs of the weighted mean of (y - p)**2
    total = 0.0
    for i in range(p.shape[0]):
        row = 0.0
        for j in range(p.shape[1]):
            diff = np.float64(y[i, j]) - np.float64(p[i, j])
            row += diff * diff
        total += sample_weight[i] * row
    return 0.5 * total / p.shape[1]


@kernel
def _clip_probability(value, eps):
    if value < eps:
        return eps
    if value > 1.0 - eps:
        return 1.0 - eps
    return value


@kernel
def log_loss_sum(p, y, sample_weight, param):
    eps = float(np.finfo(p.dtype).eps)
    total = 0.0
    for i in range(p.shape[0]):
        row = 0.0
        for j in range(p.shape[1]):
            if y[i, j] != 0:
                row -= y[i, j] * fastmath.log(
                    _clip_probability(np.float64(p[i, j]), eps)
                )
        total += sample_weight[i] * row
    return total


@kernel
def binary_log_loss_sum(p, y, sample_weight, param):
    eps = float(np.finfo(p.dtype).eps)
    total = 0.0
    for i in range(p.shape[0]):
        row = 0.0
        for j in range(p.shape[1]):
            prob = _clip_probability(np.float64(p[i, j]), eps)
            target = np.float64(y[i, j])
            if target != 0.0:
                row -= target * fastmath.log(prob)
            if target != 1.0:
                row -= (1.0 - target) * fastmath.log(1.0 - prob)
        total += sample_weight[i] * row
    return total


@kernel
def poisson_sum(p, y, sample_weight, param):
    # half Poisson deviance, with scikit-learn's constant term xlogy(y, y) - y
    total = 0.0
    for i in range(p.shape[0]):
        row = 0.0
        for j in range(p.shape[1]):
            target = np.float64(y[i, j])
            pred = np.float64(p[i, j])
            if target != 0.0:
                row += target * fastmath.log(target / pred)
            row += pred - target
        total += sample_weight[i] * row
    return total


@kernel
def huber_sum(p, y, sample_weight, param):
    # mean over outputs of 0.5 r**2 for |r| <= param, param * (|r| - param / 2)
    total = 0.0
    for i in range(p.shape[0]):
        row = 0.0
        for j in range(p.shape[1]):
            r = abs(np.float64(p[i, j]) - np.float64(y[i, j]))
            row += 0.5 * r * r if r <= param else param * (r - 0.5 * param)
        total += sample_weight[i] * row
    return total / p.shape[1]


@kernel
def absolute_error_sum(p, y, sample_weight, param):
    # mean over outputs of |p - y|
    total = 0.0
    for i in range(p.shape[0]):
        row = 0.0
        for j in range(p.shape[1]):
            row += abs(np.float64(p[i, j]) - np.float64(y[i, j]))
        total += sample_weight[i] * row
    return total / p.shape[1]


@kernel
def output_delta(p, y, sample_weight, param, delta):
    """Backward kernel shared by every canonical pair: delta = w * (p - y)."""
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            delta[i, j] = (p[i, j] - y[i, j]) * sample_weight[i]


@kernel
def huber_delta(p, y, sample_weight, param, delta):
    """w * clip(p - y, -param, param) / n_outputs, the exact gradient."""
    limit = p.dtype.type(param)
    for i in range(p.shape[0]):
        scale = sample_weight[i] / p.shape[1]
        for j in range(p.shape[1]):
            r = p[i, j] - y[i, j]
            delta[i, j] = min(max(r, -limit), limit) * scale


@kernel
def absolute_error_delta(p, y, sample_weight, param, delta):
    """w * sign(p - y) / n_outputs (0 where p == y)."""
    for i in range(p.shape[0]):
        scale = sample_weight[i] / p.shape[1]
        for j in range(p.shape[1]):
            delta[i, j] = np.sign(p[i, j] - y[i, j]) * scale


class OutputLoss(NamedTuple):
    """An output activation and the loss it is paired with."""

    activation: str  # its name, from fastmlp._registry
    forward: object
    backward: object
    loss_sum: object
    delta: object


def _output_loss(name, kernels, loss_sum, delta=output_delta):
    return OutputLoss(OUTPUT_ACTIVATION_OF_LOSS[name], *kernels, loss_sum, delta)


_IDENTITY = (identity_forward, identity_backward)
OUTPUT_LOSSES = {
    "squared_error": _output_loss("squared_error", _IDENTITY, squared_error_sum),
    "log_loss": _output_loss(
        "log_loss", (softmax_forward, softmax_backward), log_loss_sum
    ),
    "binary_log_loss": _output_loss(
        "binary_log_loss", (logistic_forward, logistic_backward), binary_log_loss_sum
    ),
    "poisson": _output_loss("poisson", (exp_forward, exp_backward), poisson_sum),
    "huber": _output_loss("huber", _IDENTITY, huber_sum, huber_delta),
    "absolute_error": _output_loss(
        "absolute_error", _IDENTITY, absolute_error_sum, absolute_error_delta
    ),
}
check_registry(OUTPUT_LOSSES, OUTPUT_ACTIVATION_OF_LOSS, "output loss")

LOSS_CODES = {name: code for code, name in enumerate(OUTPUT_LOSSES)}

output_forward = make_switch([loss.forward for loss in OUTPUT_LOSSES.values()])
output_backward = make_switch([loss.backward for loss in OUTPUT_LOSSES.values()])
output_loss_sum = make_switch([loss.loss_sum for loss in OUTPUT_LOSSES.values()])
output_loss_delta = make_switch([loss.delta for loss in OUTPUT_LOSSES.values()])

"""Output layers: an output activation paired with its loss, and the registry.

Each entry pairs the output activation's forward kernel ``forward(z, bias)``
(same contract as the hidden activations: add the bias, activate in place) with
a ``loss_sum(p, y, sample_weight)`` kernel returning ``sum_i w_i * l_i``, the
weighted sum over the rows of the per-sample loss, in float64. The mean loss
scikit-learn reports is that sum divided by ``sum_i w_i``.

All pairs are canonical (the activation is the inverse link of the loss), so
the backward kernel of every pair is the same: ``dL/dz = w_i * (p - y)``
(``output_delta``), scaled by ``1 / sum_i w_i`` in the dense layer's backward.

Losses follow scikit-learn's ``_base.LOSS_FUNCTIONS`` exactly, including the
clipping of probabilities to ``[eps, 1 - eps]`` of the dtype.
"""

from typing import NamedTuple

import numpy as np

from fastmlp.kernels._compile import kernel, make_switch
from fastmlp.kernels.activations import identity_forward, logistic_forward


@kernel
def softmax_forward(z, bias):
    for i in range(z.shape[0]):
        row_max = z[i, 0] + bias[0]
        for j in range(z.shape[1]):
            z[i, j] = z[i, j] + bias[j]
            if z[i, j] > row_max:
                row_max = z[i, j]
        total = z.dtype.type(0.0)
        for j in range(z.shape[1]):
            z[i, j] = np.exp(z[i, j] - row_max)
            total += z[i, j]
        for j in range(z.shape[1]):
            z[i, j] = z[i, j] / total


@kernel
def exp_forward(z, bias):
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] = np.exp(z[i, j] + bias[j])


@kernel
def squared_error_sum(p, y, sample_weight):
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
def log_loss_sum(p, y, sample_weight):
    eps = float(np.finfo(p.dtype).eps)
    total = 0.0
    for i in range(p.shape[0]):
        row = 0.0
        for j in range(p.shape[1]):
            if y[i, j] != 0:
                row -= y[i, j] * np.log(_clip_probability(np.float64(p[i, j]), eps))
        total += sample_weight[i] * row
    return total


@kernel
def binary_log_loss_sum(p, y, sample_weight):
    eps = float(np.finfo(p.dtype).eps)
    total = 0.0
    for i in range(p.shape[0]):
        row = 0.0
        for j in range(p.shape[1]):
            prob = _clip_probability(np.float64(p[i, j]), eps)
            target = np.float64(y[i, j])
            if target != 0.0:
                row -= target * np.log(prob)
            if target != 1.0:
                row -= (1.0 - target) * np.log(1.0 - prob)
        total += sample_weight[i] * row
    return total


@kernel
def poisson_sum(p, y, sample_weight):
    # half Poisson deviance, with scikit-learn's constant term xlogy(y, y) - y
    total = 0.0
    for i in range(p.shape[0]):
        row = 0.0
        for j in range(p.shape[1]):
            target = np.float64(y[i, j])
            pred = np.float64(p[i, j])
            if target != 0.0:
                row += target * np.log(target / pred)
            row += pred - target
        total += sample_weight[i] * row
    return total


@kernel
def output_delta(p, y, sample_weight, delta):
    """Backward kernel shared by every canonical pair: delta = w * (p - y)."""
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            delta[i, j] = (p[i, j] - y[i, j]) * sample_weight[i]


class OutputLoss(NamedTuple):
    """An output activation and the loss it is the canonical link of."""

    activation: str
    forward: object
    loss_sum: object


OUTPUT_LOSSES = {
    "squared_error": OutputLoss("identity", identity_forward, squared_error_sum),
    "log_loss": OutputLoss("softmax", softmax_forward, log_loss_sum),
    "binary_log_loss": OutputLoss("logistic", logistic_forward, binary_log_loss_sum),
    "poisson": OutputLoss("exp", exp_forward, poisson_sum),
}

LOSS_CODES = {name: code for code, name in enumerate(OUTPUT_LOSSES)}

output_forward = make_switch([loss.forward for loss in OUTPUT_LOSSES.values()])
output_loss_sum = make_switch([loss.loss_sum for loss in OUTPUT_LOSSES.values()])

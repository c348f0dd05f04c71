"""Output layers: an output activation paired with its loss, and the registry.

Each entry pairs the output activation's kernels (``forward(z, bias, saved)`` and
``backward(saved, a, delta)``, the contracts of the hidden activations) with

- ``loss_mean(p, y, sample_weight, weight_sum, param)``, returning the
  weighted mean ``sum_i w_i * l_i / weight_sum`` of the per-sample loss, in
  float64, with ``weight_sum = sum_i w_i``, and
- ``delta(p, y, sample_weight, param, out)``, the backward kernel of the output
  layer: ``out = dL/dz`` for ``L = sum_i w_i * l_i``, the pre-activation ``z``.

``param`` is the loss's parameter (``huber``'s delta), ignored by the others.
scikit-learn's four pairs are canonical (the activation is the inverse link of
the loss), so their delta is the same: ``w_i * (p - y)`` (``output_delta``).
The robust regression losses have the identity output and their own delta.

Losses follow scikit-learn's ``_base.LOSS_FUNCTIONS`` exactly, including the
clipping of probabilities to ``[eps, 1 - eps]`` of the dtype, and in its order
of operations: each output's weighted mean over the rows (NumPy's sums, see
``sums``), then the outputs combined; in float64 the result has scikit-learn's
bits wherever ``np.log`` and ``np.exp`` give the same bits as numba's.
"""

from typing import NamedTuple

import numpy as np

from fastmlp import _registry
from fastmlp.kernels import fastmath
from fastmlp.kernels._compile import kernel, make_switch
from fastmlp.kernels._views import new_array, read_only
from fastmlp.kernels.sums import column_sums, pairwise_sum


@kernel
def softmax_forward(z, bias, saved):
    # per row: add the bias, subtract the row's max, exp, divide by the sum;
    # each step its own loop over the row, so that each vectorizes
    n = z.shape[1]
    for i in range(z.shape[0]):
        row = z[i]
        for j in range(n):
            row[j] = row[j] + bias[j]
        row_max = _row_max(row)
        for j in range(n):
            row[j] = fastmath.exp_nonpositive(row[j] - row_max)
        total = pairwise_sum(read_only(row))  # NumPy's order, as scikit-learn
        for j in range(n):
            row[j] = row[j] / total


@kernel
def _row_max(row):
    """The largest of ``row``'s values (NaN is never larger, as before):
    four independent running maxima instead of one chain of compares."""
    n = row.shape[0]
    m0 = m1 = m2 = m3 = row[0]
    j = 0
    while j + 4 <= n:
        v0, v1, v2, v3 = row[j], row[j + 1], row[j + 2], row[j + 3]
        m0 = v0 if v0 > m0 else m0
        m1 = v1 if v1 > m1 else m1
        m2 = v2 if v2 > m2 else m2
        m3 = v3 if v3 > m3 else m3
        j += 4
    while j < n:
        v0 = row[j]
        m0 = v0 if v0 > m0 else m0
        j += 1
    m0 = m1 if m1 > m0 else m0
    m2 = m3 if m3 > m2 else m2
    return m2 if m2 > m0 else m0


@kernel
def softmax_backward(saved, a, delta):
    # the softmax Jacobian is symmetric: dz_j = a_j * (da_j - sum_k a_k da_k)
    for i in range(a.shape[0]):
        dot = a.dtype.type(0.0)
        for j in range(a.shape[1]):
            dot += a[i, j] * delta[i, j]
        for j in range(a.shape[1]):
            delta[i, j] = a[i, j] * (delta[i, j] - dot)


@kernel
def exp_forward(z, bias, saved):
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] = fastmath.exp(z[i, j] + bias[j])


@kernel
def exp_backward(saved, a, delta):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            delta[i, j] = delta[i, j] * a[i, j]


@kernel
def _column_means(terms, sample_weight, weight_sum):
    """``np.average(terms, weights=sample_weight, axis=0)`` in NumPy's order:
    scikit-learn's mean over the rows of each output's loss term."""
    for i in range(terms.shape[0]):
        for j in range(terms.shape[1]):
            terms[i, j] *= sample_weight[i]
    means = new_array(terms.shape[1], np.float64)
    column_sums(terms, means)
    for j in range(means.shape[0]):
        means[j] /= weight_sum
    return read_only(means)  # typed as every pairwise_sum input (one compile)


@kernel
def _xlogy(x, y):
    # scipy.special.xlogy: 0 where x is 0
    return 0.0 if x == 0.0 else x * np.log(y)


@kernel
def squared_error_mean(p, y, sample_weight, weight_sum, param):
    # 0.5 * mean over outputs of the weighted mean of (y - p)**2
    terms = new_array(p.shape, np.float64)
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            diff = np.float64(y[i, j]) - np.float64(p[i, j])
            terms[i, j] = diff * diff
    means = _column_means(terms, sample_weight, weight_sum)
    return 0.5 * (pairwise_sum(means) / p.shape[1])


@kernel
def _epsilon(p):
    # np.finfo(p.dtype).eps (2**-52 or 2**-23, exact), without compiling
    # numba's np.finfo (0.1 s of each dtype's first compile)
    return 2.0**-52 if p.itemsize == 8 else 2.0**-23


@kernel
def _clip_probability(value, eps):
    if value < eps:
        return eps
    if value > 1.0 - eps:
        return 1.0 - eps
    return value


@kernel
def log_loss_mean(p, y, sample_weight, weight_sum, param):
    eps = _epsilon(p)
    terms = new_array(p.shape, np.float64)
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            prob = _clip_probability(np.float64(p[i, j]), eps)
            terms[i, j] = _xlogy(np.float64(y[i, j]), prob)
    return -pairwise_sum(_column_means(terms, sample_weight, weight_sum))


@kernel
def binary_log_loss_mean(p, y, sample_weight, weight_sum, param):
    eps = _epsilon(p)
    terms = new_array(p.shape, np.float64)
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            prob = _clip_probability(np.float64(p[i, j]), eps)
            target = np.float64(y[i, j])
            terms[i, j] = _xlogy(target, prob) + _xlogy(1.0 - target, 1.0 - prob)
    return -pairwise_sum(_column_means(terms, sample_weight, weight_sum))


@kernel
def poisson_mean(p, y, sample_weight, weight_sum, param):
    # half Poisson deviance, with scikit-learn's constant term xlogy(y, y) - y
    terms = new_array(p.shape, np.float64)
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            target = np.float64(y[i, j])
            pred = np.float64(p[i, j])
            terms[i, j] = _xlogy(target, target / pred) - target + pred
    return pairwise_sum(_column_means(terms, sample_weight, weight_sum))


@kernel
def huber_mean(p, y, sample_weight, weight_sum, param):
    # mean over outputs of 0.5 r**2 for |r| <= param, param * (|r| - param / 2)
    terms = new_array(p.shape, np.float64)
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            r = abs(np.float64(p[i, j]) - np.float64(y[i, j]))
            terms[i, j] = 0.5 * r * r if r <= param else param * (r - 0.5 * param)
    means = _column_means(terms, sample_weight, weight_sum)
    return pairwise_sum(means) / p.shape[1]


@kernel
def absolute_error_mean(p, y, sample_weight, weight_sum, param):
    # mean over outputs of |p - y|
    terms = new_array(p.shape, np.float64)
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            terms[i, j] = abs(np.float64(p[i, j]) - np.float64(y[i, j]))
    means = _column_means(terms, sample_weight, weight_sum)
    return pairwise_sum(means) / p.shape[1]


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

    activation: str  # its name
    forward: object
    backward: object
    loss_mean: object
    delta: object


# built from fastmlp._registry's specs, in their order (the kernel codes)
OUTPUT_LOSSES = {
    spec.name: OutputLoss(spec.output_activation, *map(_registry.resolve, spec.kernels))
    for spec in _registry.losses().values()
}

LOSS_CODES = {name: code for code, name in enumerate(OUTPUT_LOSSES)}

output_forward = make_switch([loss.forward for loss in OUTPUT_LOSSES.values()])
output_backward = make_switch([loss.backward for loss in OUTPUT_LOSSES.values()])
output_loss_mean = make_switch([loss.loss_mean for loss in OUTPUT_LOSSES.values()])
output_loss_delta = make_switch([loss.delta for loss in OUTPUT_LOSSES.values()])

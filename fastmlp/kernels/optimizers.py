"""Optimizer steps on the flat parameter vector, as scikit-learn computes them.

All parameters (every layer's coefficients, then every layer's intercepts, in
scikit-learn's packing order) live in one flat vector, so one loop updates them
all. Each step takes the raw gradient of the summed, weighted data loss (what
the layers' backward kernels produce) and, in the same pass, turns it into
scikit-learn's gradient

    g = (raw + alpha * W) / scale     for the first n_penalized (coefficients),
    g = raw / scale                   for the intercepts,

with ``scale`` the batch's total sample weight. ``n_penalized`` counts the
entries of the vector (or of the slice a step updates) that are coefficients,
which the L2 term penalizes; the intercepts follow them. The update arithmetic
follows ``sklearn.neural_network._stochastic_optimizers`` operation for
operation, so that float64 training reproduces scikit-learn's.

AdamW (Loshchilov and Hutter, "Decoupled weight decay regularization") is the
Adam step with ``alpha = 0`` in the gradient and, before it, the coefficients
shrunk by ``decay = learning_rate * weight_decay`` (PyTorch's order).
"""

import numpy as np

from fastmlp import _registry
from fastmlp.kernels._compile import kernel

SGD = 0
ADAM = 1
ADAMW = 2
# the stochastic solvers of fastmlp._registry, each with its code
SOLVER_CODES = {
    spec.name: _registry.resolve(spec.kernels)
    for spec in _registry.solvers().values()
    if spec.stochastic
}


@kernel
def squared_norm(values):
    return float(np.dot(values, values))


@kernel
def finish_gradient(params, grads, n_penalized, alpha, scale):
    """Turn raw gradients into scikit-learn's, in place (for L-BFGS)."""
    for i in range(n_penalized):
        grads[i] = (grads[i] + alpha * params[i]) / scale
    for i in range(n_penalized, params.shape[0]):
        grads[i] = grads[i] / scale


@kernel
def _sgd_update(params, velocity, i, g, learning_rate, momentum, nesterov):
    v = momentum * velocity[i] - learning_rate * g
    velocity[i] = v
    if nesterov:
        params[i] += momentum * v - learning_rate * g
    else:
        params[i] += v


@kernel
def sgd_step(
    params,
    grads,
    velocity,
    n_penalized,
    alpha,
    scale,
    learning_rate,
    momentum,
    nesterov,
):
    """SGD with (Nesterov) momentum: ``v = m * v - lr * g``; ``p += update``."""
    for i in range(n_penalized):
        g = (grads[i] + alpha * params[i]) / scale
        _sgd_update(params, velocity, i, g, learning_rate, momentum, nesterov)
    for i in range(n_penalized, params.shape[0]):
        g = grads[i] / scale
        _sgd_update(params, velocity, i, g, learning_rate, momentum, nesterov)


@kernel
def adam_learning_rate(learning_rate_init, beta_1, beta_2, step):
    """Adam's bias-corrected step size at update number ``step`` (from 1)."""
    return (
        learning_rate_init
        * np.sqrt(1.0 - beta_2 ** float(step))
        / (1.0 - beta_1 ** float(step))
    )


@kernel
def _adam_update(params, first, second, i, g, learning_rate, beta_1, beta_2, eps):
    m = beta_1 * first[i] + (1.0 - beta_1) * g
    v = beta_2 * second[i] + (1.0 - beta_2) * (g * g)
    first[i] = m
    second[i] = v
    params[i] += -learning_rate * m / (np.sqrt(v) + eps)


@kernel
def adam_step(
    params,
    grads,
    first,
    second,
    n_penalized,
    alpha,
    scale,
    learning_rate,
    beta_1,
    beta_2,
    eps,
    decay,
):
    """One Adam step with the bias-corrected ``learning_rate``; ``decay`` is
    AdamW's decoupled shrinking of the coefficients (0 for Adam)."""
    keep = 1.0 - decay
    for i in range(n_penalized):
        g = (grads[i] + alpha * params[i]) / scale
        if decay != 0.0:
            params[i] *= keep
        _adam_update(params, first, second, i, g, learning_rate, beta_1, beta_2, eps)
    for i in range(n_penalized, params.shape[0]):
        g = grads[i] / scale
        _adam_update(params, first, second, i, g, learning_rate, beta_1, beta_2, eps)


@kernel
def coefs_in_range(n_coefs, begin, end):
    """How many of ``params[begin:end]`` are coefficients (the first n_coefs)."""
    return min(max(n_coefs - begin, 0), end - begin)

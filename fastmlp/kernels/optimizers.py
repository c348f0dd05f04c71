"""Optimizer updates on the flat parameter vector, as scikit-learn computes them.

All parameters (every layer's coefficients, then every layer's intercepts, in
scikit-learn's packing order) live in one flat vector, so one loop updates them
all. The arithmetic follows ``sklearn.neural_network._stochastic_optimizers``
operation for operation, so that float64 training reproduces scikit-learn's.
"""

import numpy as np

from fastmlp.kernels._compile import kernel

SGD = 0
ADAM = 1
SOLVER_CODES = {"sgd": SGD, "adam": ADAM}


@kernel
def sgd_update(params, grads, velocity, learning_rate, momentum, nesterov):
    """SGD with (Nesterov) momentum: ``v = m * v - lr * g``; ``p += update``."""
    for i in range(params.shape[0]):
        v = momentum * velocity[i] - learning_rate * grads[i]
        velocity[i] = v
        if nesterov:
            params[i] += momentum * v - learning_rate * grads[i]
        else:
            params[i] += v


@kernel
def adam_learning_rate(learning_rate_init, beta_1, beta_2, step):
    """Adam's bias-corrected step size at update number ``step`` (from 1)."""
    return (
        learning_rate_init
        * np.sqrt(1.0 - beta_2 ** float(step))
        / (1.0 - beta_1 ** float(step))
    )


@kernel
def adam_update(params, grads, first, second, learning_rate, beta_1, beta_2, eps):
    """One Adam step with the bias-corrected ``learning_rate``."""
    for i in range(params.shape[0]):
        g = grads[i]
        m = beta_1 * first[i] + (1.0 - beta_1) * g
        v = beta_2 * second[i] + (1.0 - beta_2) * (g * g)
        first[i] = m
        second[i] = v
        params[i] += -learning_rate * m / (np.sqrt(v) + eps)

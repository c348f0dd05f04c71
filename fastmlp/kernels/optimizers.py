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
which the L2 term penalizes; the intercepts follow them. A split batch's raw
gradient is the sum of its parts' gradients, in part order: the step gets all
but the last one summed (``grads``) and adds the last (``last``, None for a
whole batch) in its own loop, ``raw = grads[i] + last[i]``, the same order as
summing first, for one pass over the range fewer. The update arithmetic
follows ``sklearn.neural_network._stochastic_optimizers`` operation for
operation, so that float64 training reproduces scikit-learn's. That includes
the dtype of each operation: NumPy computes a float32 array with a Python
float in float32 (NEP 50), so a float32 model's gradient, moments and SGD
steps are float32 operations there, and here (twice the vector lanes of
float64); Adam's bias-corrected learning rate is a float64 scalar, which makes
its step ``-learning_rate * m / (sqrt(v) + eps)`` float64.

AdamW (Loshchilov and Hutter, "Decoupled weight decay regularization") is the
Adam step with ``alpha = 0`` in the gradient and, before it, the coefficients
shrunk by ``decay = learning_rate * weight_decay`` (PyTorch's order).
"""

import numpy as np

from fastmlp import _registry
from fastmlp.kernels._compile import kernel, make_selector
from fastmlp.kernels.blas import vector_dot


@kernel
def squared_norm(values):
    return float(vector_dot(values, values))


@kernel
def _sgd_update(params, velocity, i, g, learning_rate, momentum, nesterov):
    v = momentum * velocity[i] - learning_rate * g
    velocity[i] = v
    if nesterov:
        params[i] += momentum * v - learning_rate * g
    else:
        params[i] += v


@kernel
def raw_gradient(grads, last, i):
    """The raw gradient of element ``i`` in an update rule's loop:
    ``grads[i] + last[i]``, or ``grads[i]`` when ``last`` is None (a whole
    batch; a split batch's last part is added in the rule's own loop: see
    the module docstring)."""
    if last is None:  # a type: numba compiles one branch only
        return grads[i]
    return grads[i] + last[i]


@kernel
def sgd_step(
    params,
    grads,
    last,
    velocity,
    n_penalized,
    alpha,
    scale,
    learning_rate,
    momentum,
    nesterov,
):
    """SGD with (Nesterov) momentum: ``v = m * v - lr * g``; ``p += update``."""
    # in the parameters' dtype, as scikit-learn's (Python float settings)
    real = params.dtype.type
    alpha, scale = real(alpha), real(scale)
    learning_rate, momentum = real(learning_rate), real(momentum)
    for i in range(n_penalized):
        g = (raw_gradient(grads, last, i) + alpha * params[i]) / scale
        _sgd_update(params, velocity, i, g, learning_rate, momentum, nesterov)
    for i in range(n_penalized, params.shape[0]):
        g = raw_gradient(grads, last, i) / scale
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
def _adam_update(params, first, second, i, g, learning_rate, betas, eps):
    # betas = (beta_1, 1 - beta_1, beta_2, 1 - beta_2), g and eps in the
    # parameters' dtype; the step in float64 (see the module docstring)
    beta_1, rest_1, beta_2, rest_2 = betas
    m = beta_1 * first[i] + rest_1 * g
    v = beta_2 * second[i] + rest_2 * (g * g)
    first[i] = m
    second[i] = v
    params[i] += -learning_rate * np.float64(m) / np.float64(np.sqrt(v) + eps)


@kernel
def adam_step(
    params,
    grads,
    last,
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
    # in the parameters' dtype but for the step itself, as scikit-learn's
    # (Python float settings; a float64 learning rate)
    real = params.dtype.type
    alpha, scale, eps = real(alpha), real(scale), real(eps)
    betas = (real(beta_1), real(1.0 - beta_1), real(beta_2), real(1.0 - beta_2))
    for i in range(n_penalized):
        g = (raw_gradient(grads, last, i) + alpha * params[i]) / scale
        if decay != 0.0:
            params[i] *= keep
        _adam_update(params, first, second, i, g, learning_rate, betas, eps)
    for i in range(n_penalized, params.shape[0]):
        g = raw_gradient(grads, last, i) / scale
        _adam_update(params, first, second, i, g, learning_rate, betas, eps)


@kernel
def coefs_in_range(n_coefs, begin, end):
    """How many of ``params[begin:end]`` are coefficients (the first n_coefs)."""
    return min(max(n_coefs - begin, 0), end - begin)


# The update rules: one per stochastic solver of fastmlp._registry, named by
# its spec, all with this signature: the parameters, their raw gradients as
# ``grads`` and ``last`` (element i's is ``raw_gradient(grads, last, i)``) and
# the first and second moments (the state arrays) of a range of the flat
# vector, how many of its entries are coefficients, the optimizer bundle
# (settings), the batch's weight sum, and the number of this update (from 1).


@kernel
def sgd_update(params, grads, last, first, second, n_penalized, o, scale, step):
    """SGD with (Nesterov) momentum; ``first`` is the velocity."""
    sgd_step(
        params, grads, last, first, n_penalized, o.alpha, scale, o.learning_rate,
        o.momentum, o.nesterov,
    )  # fmt: skip


@kernel
def adam_update(params, grads, last, first, second, n_penalized, o, scale, step):
    """Adam with the L2 term in the gradient."""
    adam_step(
        params, grads, last, first, second, n_penalized, o.alpha, scale,
        adam_learning_rate(o.learning_rate, o.beta_1, o.beta_2, step), o.beta_1,
        o.beta_2, o.epsilon, 0.0,
    )  # fmt: skip


@kernel
def adamw_update(params, grads, last, first, second, n_penalized, o, scale, step):
    """AdamW: no L2 term; the coefficients decay by ``learning_rate * alpha``."""
    adam_step(
        params, grads, last, first, second, n_penalized, 0.0, scale,
        adam_learning_rate(o.learning_rate, o.beta_1, o.beta_2, step), o.beta_1,
        o.beta_2, o.epsilon, o.learning_rate * o.alpha,
    )  # fmt: skip


# the stochastic solvers in registry order: a solver's code is its index
_STOCHASTIC = [s for s in _registry.solvers().values() if s.stochastic]
SOLVER_CODES = {spec.name: code for code, spec in enumerate(_STOCHASTIC)}
#: per code: whether ``alpha`` is a decoupled weight decay (no L2 term)
DECOUPLED_DECAY = np.array([spec.decoupled_decay for spec in _STOCHASTIC])
#: per code: whether the rule reads the update's number (the count advances)
COUNTS_UPDATES = np.array([spec.counts_updates for spec in _STOCHASTIC])
#: per code: whether a split epoch's step prefetches (``network.train_epochs_in_parts``)
PREFETCHES = np.array([spec.prefetches for spec in _STOCHASTIC])
#: ``update_rule(kernel_set, code, *args)``: the rule of solver ``code``
#: (among the kernel set's ``solvers``)
update_rule = make_selector(
    [_registry.resolve(spec.kernels) for spec in _STOCHASTIC], "solvers"
)

"""More NumPy references, for the property tests: the output activations'
vector-Jacobian products in terms of z, and backprop through a network given
as functions. The tables of activations, losses and targets are reference.py's.

Same rules as reference.py: written from the definitions, in float64, nothing
compiled.
"""

import numpy as np
from scipy.special import expit


def _f64(z):
    return np.asarray(z, dtype=np.float64)


def output_vjp(name, z, delta):
    """The output activation's vector-Jacobian product ``J(z)^T delta``."""
    z, delta = _f64(z), _f64(delta)
    if name == "identity":
        return delta
    if name == "logistic":
        s = expit(z)
        return delta * s * (1.0 - s)
    if name == "exp":
        return delta * np.exp(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        a = e / e.sum(axis=1, keepdims=True)
        return a * (delta - np.sum(a * delta, axis=1, keepdims=True))
    raise KeyError(name)


def mlp_forward(x, coefs, intercepts, hidden, output):
    """Pre-activations and activations (input first) with one hidden
    activation per layer: ``hidden`` is a list of (f, f') pairs and ``output``
    the output activation function."""
    pre, acts = [], [_f64(x)]
    for layer, (coef, intercept) in enumerate(zip(coefs, intercepts)):
        z = acts[-1] @ _f64(coef) + _f64(intercept)
        pre.append(z)
        f = output if layer == len(coefs) - 1 else hidden[layer][0]
        acts.append(f(z))
    return pre, acts


def mlp_raw_gradient(x, coefs, intercepts, hidden, output, delta_of_output):
    """Gradient of ``sum_i w_i l_i`` (before penalty and scaling) by backprop:
    ``delta_of_output(p)`` is the output layer's ``dL/dz``."""
    pre, acts = mlp_forward(x, coefs, intercepts, hidden, output)
    delta = delta_of_output(acts[-1])
    coef_grads, intercept_grads = [None] * len(coefs), [None] * len(coefs)
    for layer in range(len(coefs) - 1, -1, -1):
        coef_grads[layer] = acts[layer].T @ delta
        intercept_grads[layer] = delta.sum(axis=0)
        if layer > 0:
            delta = (delta @ _f64(coefs[layer]).T) * hidden[layer - 1][1](
                pre[layer - 1]
            )
    return acts[-1], coef_grads, intercept_grads

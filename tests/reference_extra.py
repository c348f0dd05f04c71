"""NumPy references that tests/reference.py does not have (yet).

Same rules as reference.py: written from the definitions, in float64, nothing
compiled. The property tests look a name up in reference.py first and fall
back to these tables, so an entry the lead adds there takes precedence.
"""

import numpy as np
from scipy.special import expit, ndtr

LEAKY_RELU_SLOPE = 0.01  # PyTorch's default, the value fastmlp documents


def _f64(z):
    return np.asarray(z, dtype=np.float64)


def _gelu(z):
    z = _f64(z)
    return z * ndtr(z)


def _gelu_derivative(z):
    z = _f64(z)
    return ndtr(z) + z * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)


def _silu_derivative(z):
    s = expit(_f64(z))
    return s * (1.0 + _f64(z) * (1.0 - s))


# name -> (f(z), f'(z)), functions of the pre-activation z
HIDDEN = {
    "leaky_relu": (
        lambda z: np.where(_f64(z) > 0, _f64(z), LEAKY_RELU_SLOPE * _f64(z)),
        lambda z: np.where(_f64(z) > 0, 1.0, LEAKY_RELU_SLOPE),
    ),
    "elu": (
        lambda z: np.where(_f64(z) > 0, _f64(z), np.expm1(np.minimum(_f64(z), 0))),
        lambda z: np.where(_f64(z) > 0, 1.0, np.exp(np.minimum(_f64(z), 0))),
    ),
    "gelu": (_gelu, _gelu_derivative),
    "silu": (lambda z: _f64(z) * expit(_f64(z)), _silu_derivative),
    "softplus": (lambda z: np.logaddexp(0.0, _f64(z)), lambda z: expit(_f64(z))),
}


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


# --------------------------------------------------------------------------
# losses with a parameter: name -> per-sample loss l_i of (p, y, param)


def _huber(p, y, param):
    r = np.abs(_f64(p) - _f64(y))
    terms = np.where(r <= param, 0.5 * r * r, param * (r - 0.5 * param))
    return terms.mean(axis=1)


def _absolute_error(p, y, param):
    return np.abs(_f64(p) - _f64(y)).mean(axis=1)


PER_SAMPLE_LOSSES = {"huber": _huber, "absolute_error": _absolute_error}

TARGETS = {
    "huber": lambda rng, n, k: rng.normal(size=(n, k)) * 2.0,
    "absolute_error": lambda rng, n, k: rng.normal(size=(n, k)) * 2.0,
}


def output_delta(name, p, y, w, param):
    """The output layer's backward: ``dL/dz`` for ``L = sum_i w_i l_i``.

    The canonical pairs give ``w * (p - y)`` (for squared_error that is the
    gradient of the loss times n_outputs, scikit-learn's convention); the
    robust losses give their exact gradient, averaged over the outputs.
    """
    p, y = _f64(p), _f64(y)
    w = _f64(w)[:, None]
    k = p.shape[1]
    if name == "huber":
        return w * np.clip(p - y, -param, param) / k
    if name == "absolute_error":
        return w * np.sign(p - y) / k
    return w * (p - y)


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

"""Plain NumPy reference implementations for the kernel tests (and the
property tests' output VJPs and backprop through per-layer functions).

Written from the definitions (and from scikit-learn's formulas where fastmlp
promises to match them), not from fastmlp's kernels: derivatives are taken with
respect to the pre-activation ``z`` rather than through the output ``a``, losses
are per-sample sums weighted with NumPy broadcasting, and so on. Nothing here is
compiled.
"""

import numpy as np
from scipy.special import expit, ndtr

# --------------------------------------------------------------------------
# activations: name -> (f(z), f'(z)), both functions of the pre-activation z


def _logistic(z):
    # split by sign so that exp never overflows
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def _logistic_derivative(z):
    e = np.exp(-np.abs(np.asarray(z, dtype=np.float64)))
    return e / (1.0 + e) ** 2


def _tanh_derivative(z):
    with np.errstate(over="ignore"):
        return 1.0 / np.cosh(np.asarray(z, dtype=np.float64)) ** 2


def _softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _f64(z):
    return np.asarray(z, dtype=np.float64)


def _gelu_derivative(z):
    z = _f64(z)
    return ndtr(z) + z * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)


def _silu_derivative(z):
    s = expit(_f64(z))
    return s * (1.0 + _f64(z) * (1.0 - s))


HIDDEN = {
    "identity": (lambda z: np.array(z, dtype=np.float64), np.ones_like),
    "logistic": (_logistic, _logistic_derivative),
    "tanh": (np.tanh, _tanh_derivative),
    "relu": (
        lambda z: np.maximum(np.asarray(z, dtype=np.float64), 0.0),
        lambda z: (np.asarray(z) > 0).astype(np.float64),
    ),
    "leaky_relu": (
        lambda z: np.where(_f64(z) > 0, _f64(z), 0.01 * _f64(z)),
        lambda z: np.where(_f64(z) > 0, 1.0, 0.01),
    ),
    "elu": (
        lambda z: np.where(_f64(z) > 0, _f64(z), np.expm1(np.minimum(_f64(z), 0))),
        lambda z: np.where(_f64(z) > 0, 1.0, np.exp(np.minimum(_f64(z), 0))),
    ),
    "gelu": (lambda z: _f64(z) * ndtr(_f64(z)), _gelu_derivative),
    "silu": (lambda z: _f64(z) * expit(_f64(z)), _silu_derivative),
    "softplus": (lambda z: np.logaddexp(0.0, _f64(z)), lambda z: expit(_f64(z))),
}

# output activations by the name an OutputLoss gives them
OUTPUT_ACTIVATIONS = {
    "identity": HIDDEN["identity"][0],
    "logistic": _logistic,
    "softmax": _softmax,
    "exp": lambda z: np.exp(np.asarray(z, dtype=np.float64)),
}

# vector-Jacobian products of the output activations: (p, g) -> g * dp/dz
OUTPUT_VJPS = {
    "identity": lambda p, g: _f64(g),
    "logistic": lambda p, g: _f64(g) * _f64(p) * (1.0 - _f64(p)),
    "softmax": lambda p, g: (
        _f64(p) * (_f64(g) - np.sum(_f64(p) * _f64(g), axis=1, keepdims=True))
    ),
    "exp": lambda p, g: _f64(g) * _f64(p),
}

# --------------------------------------------------------------------------
# losses: name -> per-sample loss l_i (1-D array) of predictions p, targets y


def _clip(p, dtype):
    eps = np.finfo(dtype).eps
    return np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps)


def _squared_error(p, y, dtype):
    return 0.5 * np.mean((np.asarray(y, float) - np.asarray(p, float)) ** 2, axis=1)


def _log_loss(p, y, dtype):
    q = _clip(p, dtype)
    y = np.asarray(y, dtype=np.float64)
    terms = np.where(y != 0, y * np.log(q), 0.0)
    return -terms.sum(axis=1)


def _binary_log_loss(p, y, dtype):
    q = _clip(p, dtype)
    y = np.asarray(y, dtype=np.float64)
    pos = np.where(y != 0, y * np.log(q), 0.0)
    neg = np.where(y != 1, (1.0 - y) * np.log1p(-q), 0.0)
    return -(pos + neg).sum(axis=1)


def _poisson(p, y, dtype):
    # half Poisson deviance with scikit-learn's constant y*log(y) - y
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    safe_y = np.where(y > 0, y, 1.0)
    terms = np.where(y > 0, y * (np.log(safe_y) - np.log(p)), 0.0) - y + p
    return terms.sum(axis=1)


HUBER_DELTA = 0.7  # the huber parameter the kernel tests use


def _huber(p, y, dtype, delta=HUBER_DELTA):
    r = np.abs(_f64(p) - _f64(y))
    return np.mean(np.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta)), axis=1)


def _absolute_error(p, y, dtype):
    return np.mean(np.abs(_f64(p) - _f64(y)), axis=1)


PER_SAMPLE_LOSSES = {
    "squared_error": _squared_error,
    "log_loss": _log_loss,
    "binary_log_loss": _binary_log_loss,
    "poisson": _poisson,
    "huber": _huber,
    "absolute_error": _absolute_error,
}

# the loss parameter each loss is tested with (only huber has one)
LOSS_PARAMS = {"huber": HUBER_DELTA}


def loss_sum(name, p, y, sample_weight):
    """``sum_i w_i * l_i`` of the loss ``name`` (clipping by ``p.dtype``)."""
    per_sample = PER_SAMPLE_LOSSES[name](p, y, np.asarray(p).dtype)
    return float(np.sum(np.asarray(sample_weight, dtype=np.float64) * per_sample))


def output_delta(name, p, y, sample_weight, param=HUBER_DELTA):
    """dL/dz at the output for ``L = sum_i w_i l_i``, as scikit-learn's backprop
    starts it: ``w * (p - y)`` for its canonical pairs (the squared error's
    mean over outputs included, scikit-learn issue #8349), the exact gradient
    for the robust losses."""
    w = _f64(sample_weight)[:, None]
    r = _f64(p) - _f64(y)
    k = r.shape[1]
    if name == "huber":
        return w * np.clip(r, -param, param) / k
    if name == "absolute_error":
        return w * np.sign(r) / k
    return w * r


# --------------------------------------------------------------------------
# targets suited to each loss: name -> make(rng, n_samples, n_outputs)


def _one_hot(rng, n, k):
    y = np.zeros((n, k))
    y[np.arange(n), rng.integers(0, k, size=n)] = 1.0
    return y


TARGETS = {
    "squared_error": lambda rng, n, k: rng.normal(size=(n, k)) * 2.0,
    "log_loss": _one_hot,
    # 0/1 per column: multilabel when k > 1
    "binary_log_loss": lambda rng, n, k: rng.integers(0, 2, size=(n, k)).astype(float),
    "poisson": lambda rng, n, k: rng.uniform(0.1, 4.0, size=(n, k)),
    "huber": lambda rng, n, k: rng.normal(size=(n, k)) * 2.0,
    "absolute_error": lambda rng, n, k: rng.normal(size=(n, k)) * 2.0,
}

# --------------------------------------------------------------------------
# dense layer


def dense_forward(x, coef, intercept):
    return np.asarray(x, float) @ np.asarray(coef, float) + intercept


def dense_backward(x, delta, coef, alpha, scale):
    """(coef_grad, intercept_grad, input_grad) of the dense layer."""
    x, delta, coef = (np.asarray(a, dtype=np.float64) for a in (x, delta, coef))
    coef_grad = (x.T @ delta + alpha * coef) / scale
    intercept_grad = delta.sum(axis=0) / scale
    return coef_grad, intercept_grad, delta @ coef.T


# --------------------------------------------------------------------------
# whole network, scikit-learn's _backprop in float64


def _per_layer(activation, n_hidden):
    return [activation] * n_hidden if isinstance(activation, str) else activation


def mlp_forward(x, coefs, intercepts, activation, out_activation):
    """Lists of pre-activations and activations (input first) of each layer.
    ``activation`` is one name or one name per hidden layer."""
    names = _per_layer(activation, len(coefs) - 1)
    pre, acts = [], [np.asarray(x, dtype=np.float64)]
    for layer, (coef, intercept) in enumerate(zip(coefs, intercepts)):
        z = acts[-1] @ coef + intercept
        pre.append(z)
        last = layer == len(coefs) - 1
        f = OUTPUT_ACTIVATIONS[out_activation] if last else HIDDEN[names[layer]][0]
        acts.append(f(z))
    return pre, acts


def mlp_loss_and_gradient(
    x, y, w, coefs, intercepts, activation, loss, out_activation, alpha
):
    """scikit-learn's batch loss and its (coef_grads, intercept_grads)."""
    w = np.asarray(w, dtype=np.float64)
    sw = w.sum()
    pre, acts = mlp_forward(x, coefs, intercepts, activation, out_activation)
    value = loss_sum(loss, acts[-1], y, w) / sw
    value += 0.5 * alpha * sum(np.sum(c.astype(float) ** 2) for c in coefs) / sw
    names = _per_layer(activation, len(coefs) - 1)
    delta = output_delta(loss, acts[-1], y, w)
    coef_grads, intercept_grads = [None] * len(coefs), [None] * len(coefs)
    for layer in range(len(coefs) - 1, -1, -1):
        coef_grads[layer] = (acts[layer].T @ delta + alpha * coefs[layer]) / sw
        intercept_grads[layer] = delta.sum(axis=0) / sw
        if layer > 0:
            fprime = HIDDEN[names[layer - 1]][1]
            delta = (delta @ coefs[layer].T) * fprime(pre[layer - 1])
    return value, coef_grads, intercept_grads


# --------------------------------------------------------------------------
# optimizers: sklearn/neural_network/_stochastic_optimizers.py on one vector


class SGD:
    def __init__(self, n, learning_rate, momentum, nesterov):
        self.velocity = np.zeros(n)
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov

    def update(self, params, grads):
        update = self.momentum * self.velocity - self.learning_rate * grads
        self.velocity = update
        if self.nesterov:
            update = self.momentum * self.velocity - self.learning_rate * grads
        params += update


class Adam:
    def __init__(self, n, learning_rate_init, beta_1, beta_2, epsilon):
        self.learning_rate_init = learning_rate_init
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0
        self.m = np.zeros(n)
        self.v = np.zeros(n)
        self.learning_rate = learning_rate_init

    def update(self, params, grads):
        self.t += 1
        self.m = self.beta_1 * self.m + (1 - self.beta_1) * grads
        self.v = self.beta_2 * self.v + (1 - self.beta_2) * grads**2
        self.learning_rate = (
            self.learning_rate_init
            * np.sqrt(1 - self.beta_2**self.t)
            / (1 - self.beta_1**self.t)
        )
        params += -self.learning_rate * self.m / (np.sqrt(self.v) + self.epsilon)


class AdamW(Adam):
    """PyTorch's AdamW order on scikit-learn's Adam: shrink the coefficients
    (the first ``n_coefs`` entries) by ``learning_rate_init * decay``, then
    take the Adam step of the unpenalized gradient."""

    def __init__(self, n, n_coefs, decay, learning_rate_init, beta_1, beta_2, epsilon):
        super().__init__(n, learning_rate_init, beta_1, beta_2, epsilon)
        self.n_coefs, self.decay = n_coefs, decay

    def update(self, params, grads):
        params[: self.n_coefs] *= 1.0 - self.learning_rate_init * self.decay
        super().update(params, grads)


# --------------------------------------------------------------------------
# for the property tests: the output activations' vector-Jacobian products
# in terms of z, and backprop through a network given as functions (one
# hidden activation per layer)


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


def mlp_forward_per_layer(x, coefs, intercepts, hidden, output):
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
    pre, acts = mlp_forward_per_layer(x, coefs, intercepts, hidden, output)
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

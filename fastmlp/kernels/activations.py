"""Hidden-layer activations: a forward and a backward kernel each, and the registry.

``forward(z, bias)`` is the dense layer's epilogue: it adds ``bias`` to every row
of the pre-activation ``z`` and applies the activation, in place, so that ``z``
then holds the layer's output ``a``.

``backward(a, delta)`` is the vector-Jacobian product of the activation: given
``delta = dL/da`` it overwrites ``delta`` with ``dL/dz = dL/da * f'(z)``, with
``f'`` written in terms of the output ``a = f(z)`` (as scikit-learn does), so the
pre-activation never has to be kept.

To add an activation, write its two kernels and add one entry to
``HIDDEN_ACTIVATIONS``; the compiled loops, the parameter validation and the
tests all read that registry.
"""

from typing import NamedTuple

import numpy as np

from fastmlp.kernels._compile import kernel, make_switch


@kernel
def identity_forward(z, bias):
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] = z[i, j] + bias[j]


@kernel
def identity_backward(a, delta):
    pass


@kernel
def logistic_forward(z, bias):
    one = z.dtype.type(1.0)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] = one / (one + np.exp(-(z[i, j] + bias[j])))


@kernel
def logistic_backward(a, delta):
    one = a.dtype.type(1.0)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            delta[i, j] = delta[i, j] * a[i, j] * (one - a[i, j])


@kernel
def tanh_forward(z, bias):
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] = np.tanh(z[i, j] + bias[j])


@kernel
def tanh_backward(a, delta):
    one = a.dtype.type(1.0)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            delta[i, j] = delta[i, j] * (one - a[i, j] * a[i, j])


@kernel
def relu_forward(z, bias):
    zero = z.dtype.type(0.0)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            value = z[i, j] + bias[j]
            z[i, j] = value if value > zero else zero


@kernel
def relu_backward(a, delta):
    zero = a.dtype.type(0.0)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            delta[i, j] = delta[i, j] if a[i, j] != zero else zero


class Activation(NamedTuple):
    """The kernels and initialisation constant of one hidden activation."""

    forward: object
    backward: object
    # Glorot-uniform bound is sqrt(init_factor / (fan_in + fan_out)), as in
    # scikit-learn: 2 for logistic units, 6 otherwise.
    init_factor: float = 6.0


HIDDEN_ACTIVATIONS = {
    "identity": Activation(identity_forward, identity_backward),
    "logistic": Activation(logistic_forward, logistic_backward, init_factor=2.0),
    "tanh": Activation(tanh_forward, tanh_backward),
    "relu": Activation(relu_forward, relu_backward),
}

ACTIVATION_CODES = {name: code for code, name in enumerate(HIDDEN_ACTIVATIONS)}

activation_forward = make_switch([a.forward for a in HIDDEN_ACTIVATIONS.values()])
activation_backward = make_switch([a.backward for a in HIDDEN_ACTIVATIONS.values()])

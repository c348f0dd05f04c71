"""Hidden-layer activations: a forward and a backward kernel each, and the registry.

``forward(z, bias, saved)`` is the dense layer's epilogue: it adds ``bias`` to
every row of the pre-activation ``z`` and applies the activation, in place, so
that ``z`` then holds the layer's output ``a``. Activations whose derivative
is not a cheap function of ``a`` (``gelu``, ``silu``, ``softplus``) also store
the derivative ``f'(z + bias)`` in ``saved`` when ``saved`` has rows (training
and Jacobians), where it costs least: it shares the forward pass's exp and
needs no division by ``z``. The others, and all of them at predict time (an
empty ``saved``), never touch it.

``backward(saved, a, delta)`` is the vector-Jacobian product of the activation:
given ``delta = dL/da`` it overwrites ``delta`` with ``dL/dz = dL/da * f'(z)``.
``f'`` is written in terms of the output ``a = f(z)`` where it can be (as
scikit-learn does), else read from ``saved``. Every activation here acts
elementwise, so the same kernel is also the Jacobian-vector product.

To add an activation, write its two kernels and add its spec to
``fastmlp._registry`` (which the estimators read without importing numba):
``HIDDEN_ACTIVATIONS`` below, the compiled loops, the parameter validation and
the tests all read that entry.
"""

from typing import NamedTuple

from fastmlp import _registry
from fastmlp.kernels import fastmath, libm_exp
from fastmlp.kernels._compile import kernel, make_switch

LEAKY_RELU_SLOPE = 0.01  # PyTorch's default negative slope


@kernel
def identity_forward(z, bias, saved):
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] = z[i, j] + bias[j]


@kernel
def identity_backward(saved, a, delta):
    pass


@kernel
def logistic_forward(z, bias, saved):
    # the C library's exp (libm_exp), not fastmath's: with it the logistic
    # has SciPy's expit's bits, which keeps L-BFGS on scikit-learn's iterates
    # (tests/parity/test_lbfgs_fidelity.py)
    one = z.dtype.type(1.0)
    if z.shape[1] == 1:
        # a binary output: one loop down the column, which vectorizes (the
        # inner loop below, of one element per row, would run scalar)
        for i in range(z.shape[0]):
            z[i, 0] = one / (one + libm_exp.exp(-(z[i, 0] + bias[0])))
        return
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] = one / (one + libm_exp.exp(-(z[i, j] + bias[j])))


@kernel
def logistic_backward(saved, a, delta):
    one = a.dtype.type(1.0)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            delta[i, j] = delta[i, j] * a[i, j] * (one - a[i, j])


@kernel
def tanh_forward(z, bias, saved):
    # fastmath.tanh (2 ulp); the cheaper -t / (2 + t), t = expm1(-2|x|),
    # measured 4-10% faster per epoch but up to 3.45 ulp off
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] = fastmath.tanh(z[i, j] + bias[j])


@kernel
def tanh_backward(saved, a, delta):
    one = a.dtype.type(1.0)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            delta[i, j] = delta[i, j] * (one - a[i, j] * a[i, j])


@kernel
def relu_forward(z, bias, saved):
    zero = z.dtype.type(0.0)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            value = z[i, j] + bias[j]
            z[i, j] = value if value > zero else zero


@kernel
def relu_backward(saved, a, delta):
    zero = a.dtype.type(0.0)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            delta[i, j] = delta[i, j] if a[i, j] != zero else zero


@kernel
def leaky_relu_forward(z, bias, saved):
    zero = z.dtype.type(0.0)
    slope = z.dtype.type(LEAKY_RELU_SLOPE)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            value = z[i, j] + bias[j]
            z[i, j] = value if value > zero else slope * value


@kernel
def leaky_relu_backward(saved, a, delta):
    zero = a.dtype.type(0.0)
    slope = a.dtype.type(LEAKY_RELU_SLOPE)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[i, j] <= zero:
                delta[i, j] = delta[i, j] * slope


@kernel
def elu_forward(z, bias, saved):
    # alpha = 1: f(z) = z for z > 0, exp(z) - 1 otherwise
    zero = z.dtype.type(0.0)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            value = z[i, j] + bias[j]
            # expm1 for every element and a select: a branch would keep the
            # loop from vectorizing
            negative = fastmath.expm1(value)
            z[i, j] = value if value > zero else negative


@kernel
def elu_backward(saved, a, delta):
    # f'(z) = 1 for z > 0, exp(z) = a + 1 otherwise
    zero = a.dtype.type(0.0)
    one = a.dtype.type(1.0)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[i, j] <= zero:
                delta[i, j] = delta[i, j] * (a[i, j] + one)


@kernel
def softplus_forward(z, bias, saved):
    # log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)), which never overflows;
    # f'(z) = logistic(z), from the same exp(-|z|)
    keep = saved.shape[0] > 0
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            softplus, logistic = fastmath.softplus_logistic(z[i, j] + bias[j])
            z[i, j] = softplus
            if keep:
                saved[i, j] = logistic


@kernel
def gelu_forward(z, bias, saved):
    # exact GELU: z * Phi(z), Phi the standard normal CDF;
    # f'(z) = Phi(z) + z * phi(z), phi the standard normal density
    keep = saved.shape[0] > 0
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            value = z[i, j] + bias[j]
            cdf, pdf = fastmath.normal_cdf_pdf(value)
            z[i, j] = value * cdf
            if keep:
                saved[i, j] = cdf + value * pdf


@kernel
def silu_forward(z, bias, saved):
    # z * s, s = logistic(z) = 1 / (1 + e) above 0 and e / (1 + e) below,
    # e = exp(-|z|): one rounded quotient in the dtype (fastmath's logistic
    # spends a correction step on its last ulp, and float64 lanes);
    # f'(z) = s + z * s * (1 - s)
    keep = saved.shape[0] > 0
    zero = z.dtype.type(0.0)
    one = z.dtype.type(1.0)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            value = z[i, j] + bias[j]
            e = fastmath.exp_nonpositive(-abs(value))
            s = (one if value >= zero else e) / (one + e)
            z[i, j] = value * s
            if keep:
                saved[i, j] = s + value * s * (one - s)


@kernel
def saved_derivative_backward(saved, a, delta):
    # f'(z), saved by the forward kernel (gelu, silu, softplus)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            delta[i, j] = delta[i, j] * saved[i, j]


# the registry names each activation's backward kernel after it
gelu_backward = silu_backward = softplus_backward = saved_derivative_backward


class Activation(NamedTuple):
    """The kernels of one hidden activation."""

    forward: object
    backward: object
    # whether forward saves f'(z) for backward (else backward reads the output)
    saves_derivative: bool = False


# built from fastmlp._registry's specs, in their order (the kernel codes)
HIDDEN_ACTIVATIONS = {
    spec.name: Activation(*map(_registry.resolve, spec.kernels), spec.saves_derivative)
    for spec in _registry.hidden_activations().values()
}
ACTIVATION_CODES = {name: code for code, name in enumerate(HIDDEN_ACTIVATIONS)}

activation_forward = make_switch([a.forward for a in HIDDEN_ACTIVATIONS.values()])
activation_backward = make_switch([a.backward for a in HIDDEN_ACTIVATIONS.values()])

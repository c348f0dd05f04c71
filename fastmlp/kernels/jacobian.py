"""Input Jacobians of the network: forward mode and reverse mode.

Both kernels take a dense chunk ``x`` of ``n`` rows and write
``out[i, o, k] = d output_o / d x_k`` at row ``i``, for the output after the
output activation. Both first run the forward pass, keeping every layer's
output ``a`` (in ``acts``) and the pre-activations the derivatives of
``gelu``/``silu`` read (in ``pres``), in the layout of the training buffers.

Forward mode pushes one tangent per input feature through the layers. The
tangents of a layer are ``n_features`` blocks of ``n x units``, one after the
other, so that the ``n_features * n`` rows go through each dense layer as one
matrix product. The first layer's tangent for feature ``k`` is row ``k`` of
``W0`` on every row (the derivative of ``x @ W0`` along ``e_k``). Each
activation's backward kernel multiplies by ``f'(z)`` elementwise, which is its
Jacobian-vector product as well as its vector-Jacobian product; softmax's
Jacobian is symmetric, so its backward kernel is its JVP too.

Reverse mode pulls one cotangent per output back: ``n_outputs`` blocks of
``n x units``, starting from the one-hot ``e_o`` and going through each layer's
vector-Jacobian products (the backward kernels of training) down to
``delta @ W0.T``, the gradient of output ``o`` with respect to the input.

``work`` is ``(acts, pres, current, spare)``: flat buffers of at least
``n * sum(units[1:])`` elements for the first two and, for the tangents or
cotangents, ``n_directions * n * max(width)`` each (widths ``units[1:]`` in
forward mode, all of ``units`` in reverse mode).
"""

from fastmlp.kernels._compile import kernel
from fastmlp.kernels.activations import activation_backward, activation_forward
from fastmlp.kernels.dense import dense_backward_input, dense_forward
from fastmlp.kernels.losses import output_backward, output_forward
from fastmlp.kernels.network import (
    _layer_offsets,
    coef_view,
    intercept_view,
    matrix_view,
)


@kernel
def _forward_keep(x, params, units, activations, loss, offsets, acts, pres):
    """The forward pass, keeping each layer's output and pre-activation."""
    n = x.shape[0]
    last = units.shape[0] - 2
    for layer in range(last + 1):
        out = matrix_view(acts, offsets[layer], n, units[layer + 1])
        pre = matrix_view(pres, offsets[layer], n, units[layer + 1])
        if layer == 0:
            dense_forward(x, coef_view(params, units, 0), out)
        else:
            a_in = matrix_view(acts, offsets[layer - 1], n, units[layer])
            dense_forward(a_in, coef_view(params, units, layer), out)
        bias = intercept_view(params, units, layer)
        if layer == last:
            output_forward(loss, out, bias, pre)
        else:
            activation_forward(activations[layer], out, bias, pre)


@kernel
def _through_activation(
    layer, units, activations, loss, offsets, acts, pres, blocks, n_blocks, n
):
    """Multiply each ``n x units[layer + 1]`` block of ``blocks`` by the
    derivative of the activation of ``layer`` (the output's for the last)."""
    width = units[layer + 1]
    a = matrix_view(acts, offsets[layer], n, width)
    pre = matrix_view(pres, offsets[layer], n, width)
    for b in range(n_blocks):
        block = matrix_view(blocks, b * n * width, n, width)
        if layer == units.shape[0] - 2:
            output_backward(loss, pre, a, block)
        else:
            activation_backward(activations[layer], pre, a, block)


@kernel
def jacobian_forward(x, params, units, activations, loss, work, out):
    """Forward-mode Jacobian of a chunk: one tangent per input feature."""
    acts, pres, current, spare = work
    n, n_features = x.shape
    last = units.shape[0] - 2
    offsets = _layer_offsets(units, n)
    _forward_keep(x, params, units, activations, loss, offsets, acts, pres)

    coef = coef_view(params, units, 0)
    width = units[1]
    for k in range(n_features):
        block = matrix_view(current, k * n * width, n, width)
        for i in range(n):
            block[i, :] = coef[k, :]
    _through_activation(
        0, units, activations, loss, offsets, acts, pres, current, n_features, n
    )
    for layer in range(1, last + 1):
        t_in = matrix_view(current, 0, n_features * n, units[layer])
        t_out = matrix_view(spare, 0, n_features * n, units[layer + 1])
        dense_forward(t_in, coef_view(params, units, layer), t_out)
        current, spare = spare, current
        _through_activation(
            layer, units, activations, loss, offsets, acts, pres, current, n_features, n
        )

    n_outputs = units[last + 1]
    for k in range(n_features):
        block = matrix_view(current, k * n * n_outputs, n, n_outputs)
        for i in range(n):
            for o in range(n_outputs):
                out[i, o, k] = block[i, o]


@kernel
def jacobian_reverse(x, params, units, activations, loss, work, out):
    """Reverse-mode Jacobian of a chunk: one cotangent per output."""
    acts, pres, current, spare = work
    n, n_features = x.shape
    last = units.shape[0] - 2
    offsets = _layer_offsets(units, n)
    _forward_keep(x, params, units, activations, loss, offsets, acts, pres)

    n_outputs = units[last + 1]
    seeds = matrix_view(current, 0, n_outputs * n, n_outputs)
    one = seeds.dtype.type(1.0)
    zero = seeds.dtype.type(0.0)
    for r in range(n_outputs * n):
        for o in range(n_outputs):
            seeds[r, o] = zero
        seeds[r, r // n] = one  # block o of the rows is the one-hot e_o
    _through_activation(
        last, units, activations, loss, offsets, acts, pres, current, n_outputs, n
    )
    for layer in range(last, -1, -1):
        c_in = matrix_view(current, 0, n_outputs * n, units[layer + 1])
        c_out = matrix_view(spare, 0, n_outputs * n, units[layer])
        dense_backward_input(c_in, coef_view(params, units, layer), c_out)
        current, spare = spare, current
        if layer > 0:
            _through_activation(
                layer - 1,
                units,
                activations,
                loss,
                offsets,
                acts,
                pres,
                current,
                n_outputs,
                n,
            )

    for o in range(n_outputs):
        block = matrix_view(current, o * n * n_features, n, n_features)
        for i in range(n):
            out[i, o, :] = block[i, :]

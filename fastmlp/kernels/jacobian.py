"""Input Jacobians of the network: forward mode and reverse mode.

Both kernels take a dense chunk ``x`` of ``n`` rows and write
``out[i, o, k] = d output_o / d x_k`` at row ``i``, for the output after the
output activation. Both first run the forward pass, keeping every layer's
output ``a`` (in ``acts``) and the derivatives that ``gelu``, ``silu`` and
``softplus`` save (in ``saved``), in the layout of the training buffers.

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

``work`` is ``(acts, saved, current, spare)``: flat buffers of at least
``n * sum(units[1:])`` elements for the first two and, for the tangents or
cotangents, ``n_directions * n * max(width)`` each (widths ``units[1:]`` in
forward mode, all of ``units`` in reverse mode). ``net`` is the
``NetworkBundle`` (see ``network.py``); the forward pass is ``forward_chain``.
"""

from fastmlp.kernels._compile import entry_point, kernel
from fastmlp.kernels._views import new_array, read_only
from fastmlp.kernels.dense import dense_backward_input, dense_forward
from fastmlp.kernels.network import (
    activation_backward,
    coef_view,
    forward_chain,
    layer_block,
    matrix_view,
    no_dropout_rates,
    output_backward,
)


@kernel
def _forward_keep(x, params, net, acts, saved):
    """The forward chain, keeping each layer's output and saved derivative."""
    nothing = new_array(0, acts.dtype)
    no_dropout = no_dropout_rates(net)
    forward_chain(net, params, x, x.shape[0], no_dropout, acts, saved, nothing, nothing)


@kernel
def _through_activation(layer, net, acts, saved, blocks, n_blocks, n):
    """Multiply each ``n x units[layer + 1]`` block of ``blocks`` by the
    derivative of the activation of ``layer`` (the output's for the last)."""
    width = net.units[layer + 1]
    a = layer_block(acts, net, n, layer)
    layer_saved = layer_block(saved, net, n, layer)
    for b in range(n_blocks):
        block = matrix_view(blocks, b * n * width, n, width)
        if layer == net.units.shape[0] - 2:
            output_backward(net.kernels, net.loss, layer_saved, a, block)
        else:
            activation_backward(
                net.kernels, net.activations[layer], layer_saved, a, block
            )


@entry_point
def jacobian_forward(x, params, net, work, out):
    """Forward-mode Jacobian of a chunk: one tangent per input feature."""
    acts, saved, current, spare = work
    n, n_features = x.shape
    units = net.units
    last = units.shape[0] - 2
    _forward_keep(x, params, net, acts, saved)

    coef = coef_view(params, net, 0)
    width = units[1]
    for k in range(n_features):
        block = matrix_view(current, k * n * width, n, width)
        for i in range(n):
            for j in range(width):  # a loop: slice assignment compiles numba's
                block[i, j] = coef[k, j]  # shape-error formatting (1.8 s)
    _through_activation(0, net, acts, saved, current, n_features, n)
    for layer in range(1, last + 1):
        t_in = matrix_view(current, 0, n_features * n, units[layer])
        t_out = matrix_view(spare, 0, n_features * n, units[layer + 1])
        dense_forward(read_only(t_in), coef_view(params, net, layer), t_out)
        current, spare = spare, current
        _through_activation(layer, net, acts, saved, current, n_features, n)

    n_outputs = units[last + 1]
    for k in range(n_features):
        block = matrix_view(current, k * n * n_outputs, n, n_outputs)
        for i in range(n):
            for o in range(n_outputs):
                out[i, o, k] = block[i, o]


@entry_point
def jacobian_reverse(x, params, net, work, out):
    """Reverse-mode Jacobian of a chunk: one cotangent per output."""
    acts, saved, current, spare = work
    n, n_features = x.shape
    units = net.units
    last = units.shape[0] - 2
    _forward_keep(x, params, net, acts, saved)

    n_outputs = units[last + 1]
    seeds = matrix_view(current, 0, n_outputs * n, n_outputs)
    one = seeds.dtype.type(1.0)
    zero = seeds.dtype.type(0.0)
    for r in range(n_outputs * n):
        for o in range(n_outputs):
            seeds[r, o] = zero
        seeds[r, r // n] = one  # block o of the rows is the one-hot e_o
    _through_activation(last, net, acts, saved, current, n_outputs, n)
    for layer in range(last, -1, -1):
        c_in = matrix_view(current, 0, n_outputs * n, units[layer + 1])
        c_out = matrix_view(spare, 0, n_outputs * n, units[layer])
        dense_backward_input(c_in, coef_view(params, net, layer), c_out)
        current, spare = spare, current
        if layer > 0:
            _through_activation(layer - 1, net, acts, saved, current, n_outputs, n)

    for o in range(n_outputs):
        block = matrix_view(current, o * n * n_features, n, n_features)
        for i in range(n):
            for k in range(n_features):
                out[i, o, k] = block[i, k]

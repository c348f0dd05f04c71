"""``matrix_view``: a C-ordered 2-D view of a stretch of a flat buffer; and
``new_array``: ``np.empty`` without its compiled overload.

The layers' work buffers and the parameters are flat vectors, and every layer
reads its pieces as matrices. ``reshape`` would do, but numba compiles its
error path (formatting a message with both shapes) into every caller, which
took about 8 s of each process's first compile; the view here is built
directly, after one bounds check with a fixed message.

``np.empty`` and ``np.zeros`` inside compiled code are overloads too: numba
compiles, optimizes and turns into machine code one function per shape type
and dtype argument, 0.03-0.2 s each (0.3 s of predict's first compile).
``new_array`` emits the same allocation inline.
"""

from numba import types
from numba.core import cgutils
from numba.core.imputils import impl_ret_borrowed
from numba.core.typing import signature
from numba.extending import intrinsic
from numba.np.arrayobj import _empty_nd_impl, _parse_shape, make_array, populate_array

from fastmlp.kernels._compile import kernel


@intrinsic
def _as_matrix(typingctx, flat, n_rows, n_cols):
    """The contiguous 1-D ``flat`` seen as an ``n_rows x n_cols`` C array
    (``flat`` must hold exactly ``n_rows * n_cols`` elements)."""
    matrix = types.Array(flat.dtype, 2, "C", readonly=not flat.mutable)

    def codegen(context, builder, signature, args):
        flat_value, rows, cols = args
        source = make_array(signature.args[0])(context, builder, flat_value)
        view = make_array(matrix)(context, builder)
        rows = context.cast(builder, rows, signature.args[1], types.intp)
        cols = context.cast(builder, cols, signature.args[2], types.intp)
        itemsize = source.itemsize
        populate_array(
            view,
            data=source.data,
            shape=cgutils.pack_array(builder, [rows, cols]),
            strides=cgutils.pack_array(
                builder, [builder.mul(cols, itemsize), itemsize]
            ),
            itemsize=itemsize,
            meminfo=source.meminfo,
            parent=source.parent,
        )
        return impl_ret_borrowed(context, builder, matrix, view._getvalue())

    return matrix(flat, n_rows, n_cols), codegen


@kernel
def matrix_view(buffer, offset, n_rows, n_cols):
    """``buffer[offset : offset + n_rows * n_cols]`` as an ``n_rows x n_cols``
    C-ordered matrix sharing ``buffer``'s memory."""
    if (
        n_rows < 0
        or n_cols < 0
        or offset < 0
        or offset + n_rows * n_cols > buffer.shape[0]
    ):
        raise ValueError("matrix_view: the view does not fit in the buffer")
    return _as_matrix(buffer[offset : offset + n_rows * n_cols], n_rows, n_cols)


@intrinsic
def flat_view(typingctx, matrix):
    """A C-ordered 2-D ``matrix`` as the 1-D C array of its elements, read-only
    (no copy)."""
    if not (isinstance(matrix, types.Array) and matrix.ndim == 2):
        return None
    if matrix.layout != "C":
        return None
    vector = types.Array(matrix.dtype, 1, "C", readonly=True)

    def codegen(context, builder, signature, args):
        source = make_array(signature.args[0])(context, builder, args[0])
        view = make_array(vector)(context, builder)
        shape = cgutils.unpack_tuple(builder, source.shape)
        populate_array(
            view,
            data=source.data,
            shape=cgutils.pack_array(builder, [builder.mul(shape[0], shape[1])]),
            strides=cgutils.pack_array(builder, [source.itemsize]),
            itemsize=source.itemsize,
            meminfo=source.meminfo,
            parent=source.parent,
        )
        return impl_ret_borrowed(context, builder, vector, view._getvalue())

    return vector(matrix), codegen


@intrinsic
def read_only(typingctx, array):
    """``array`` itself, typed read-only: a kernel called with inputs typed
    alike compiles once, whether the caller's input was the user's read-only
    data or one of the writeable work buffers."""
    if not isinstance(array, types.Array):
        return None
    result = array.copy(readonly=True)

    def codegen(context, builder, signature, args):
        return impl_ret_borrowed(context, builder, result, args[0])

    return result(array), codegen


@intrinsic
def new_array(typingctx, shape, dtype):
    """``np.empty(shape, dtype)``: a new C-ordered array, uninitialised;
    ``shape`` an integer or a tuple of them, ``dtype`` a NumPy scalar type
    (``np.float64``) or an array's ``dtype``."""
    if isinstance(shape, types.Integer):
        ndim = 1
    elif isinstance(shape, types.UniTuple) and isinstance(shape.dtype, types.Integer):
        ndim = shape.count
    else:
        return None
    if isinstance(dtype, types.DType):
        element = dtype.dtype
    elif isinstance(dtype, types.NumberClass):
        element = dtype.instance_type
    else:
        return None
    array = types.Array(element, ndim, "C")

    def codegen(context, builder, sig, args):
        sizes = _parse_shape(context, builder, sig.args[0], args[0])
        return _empty_nd_impl(context, builder, array, sizes)._getvalue()

    return signature(array, shape, dtype), codegen

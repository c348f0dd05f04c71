"""Matrix products by direct BLAS calls, without ``np.dot``'s compile cost.

Inside compiled code ``np.dot(a, b, out)`` is an overload: numba compiles a
small function for every combination of argument layouts and read-only flags
it meets (five in a default fit, about 0.1 s of the first compile each). The
intrinsics here emit the same BLAS calls inline, through the same wrappers
(numba's ``numba_xxgemm``, ``numba_xxgemv`` and ``numba_xxdot``, which call
scipy's BLAS) and with the same choice between them, so every product gives
the bits ``np.dot`` gives, for nothing to compile.
"""

from numba.core import cgutils, types
from numba.core.typing import signature
from numba.extending import intrinsic
from numba.np.arrayobj import make_array
from numba.np.linalg import (
    call_xxdot,
    call_xxgemm,
    call_xxgemv,
    check_c_int,
    ensure_blas,
    make_contiguous,
)


@intrinsic
def matmul_into(typingctx, a, b, out):
    """``out[...] = a @ b`` for matrices ``a``, ``b`` (and ``out``), or a
    matrix ``a`` and a vector ``b`` (and ``out``): ``np.dot(a, b, out)``."""
    if a.dtype != out.dtype or b.dtype != out.dtype:
        raise TypeError("matmul_into: the operands must share one dtype")
    if a.ndim != 2 or b.ndim != out.ndim or b.ndim not in (1, 2):
        raise TypeError(
            "matmul_into takes (matrix, matrix, matrix) or (matrix, vector, vector)"
        )
    if out.layout not in "CF" or (out.ndim == 2 and out.layout != "C"):
        raise TypeError("matmul_into writes a C-contiguous matrix or a vector")

    def codegen(context, builder, sig, args):
        ensure_blas()
        # strided operands (the kernels' tests pass them, the engine never
        # does) are copied to contiguous ones first, as np.dot does
        with make_contiguous(context, builder, sig, args) as (sig, args):
            arrays = [
                make_array(t)(context, builder, v) for t, v in zip(sig.args, args)
            ]
            shapes = [cgutils.unpack_tuple(builder, array.shape) for array in arrays]
            product = _matrix_vector if sig.args[1].ndim == 1 else _matrix_matrix
            product(context, builder, sig.args, arrays, shapes)
        return context.get_dummy_value()

    return signature(types.none, a, b, out), codegen


def _matrix_vector(context, builder, types_, arrays, shapes):
    # numba's np.dot(matrix, vector, out)
    a_type = types_[0]
    x, y, out = arrays
    (m, k), (k_b,), (m_out,) = shapes
    _raise_if(
        context,
        builder,
        _any(builder, ("!=", k, k_b), ("!=", m, m_out)),
        "incompatible shapes in a matrix-vector product",
    )
    for size in shapes[0]:
        check_c_int(context, builder, size)
    zero = context.get_constant(types.intp, 0)
    is_empty = _any(builder, ("==", k, zero), ("==", m, zero))
    with builder.if_else(is_empty, likely=False) as (empty, nonempty):
        with empty:
            _fill_zeros(builder, out)
        with nonempty:
            call_xxgemv(
                context,
                builder,
                a_type.layout == "C",
                a_type,
                shapes[0],
                x.data,
                y.data,
                out.data,
            )


def _matrix_matrix(context, builder, types_, arrays, shapes):
    # numba's np.dot(matrix, matrix, out): a (1, k) or (k, 1) operand goes
    # to a vector routine, in np.dot's order of tests
    a_type, b_type, out_type = types_
    x, y, out = arrays
    (m, k), (k_b, n), (m_out, n_out) = shapes
    _raise_if(
        context,
        builder,
        _any(builder, ("!=", k, k_b), ("!=", m, m_out), ("!=", n, n_out)),
        "incompatible shapes in a matrix product",
    )
    for size in (m, k, n):
        check_c_int(context, builder, size)
    zero = context.get_constant(types.intp, 0)
    one = context.get_constant(types.intp, 1)
    is_empty = _any(builder, ("==", k, zero), ("==", m, zero), ("==", n, zero))
    is_left_vector = builder.icmp_signed("==", m, one)
    with builder.if_else(is_empty, likely=False) as (empty, nonempty):
        with empty:
            _fill_zeros(builder, out)
        with nonempty:
            is_right_vector = builder.icmp_signed("==", n, one)
            with builder.if_else(is_right_vector) as (right_vector, right_matrix):
                with right_vector:
                    with builder.if_else(is_left_vector) as (vv, mv):
                        with vv:
                            call_xxdot(
                                context,
                                builder,
                                False,
                                out_type.dtype,
                                k,
                                x.data,
                                y.data,
                                out.data,
                            )
                        with mv:
                            call_xxgemv(
                                context,
                                builder,
                                a_type.layout == out_type.layout,
                                a_type,
                                shapes[0],
                                x.data,
                                y.data,
                                out.data,
                            )
                with right_matrix:
                    with builder.if_else(is_left_vector) as (vm, mm):
                        with vm:
                            call_xxgemv(
                                context,
                                builder,
                                b_type.layout != out_type.layout,
                                b_type,
                                shapes[1],
                                y.data,
                                x.data,
                                out.data,
                            )
                        with mm:
                            call_xxgemm(
                                context,
                                builder,
                                a_type,
                                shapes[0],
                                x.data,
                                b_type,
                                shapes[1],
                                y.data,
                                out_type,
                                shapes[2],
                                out.data,
                            )


@intrinsic
def vector_dot(typingctx, a, b):
    """``a @ b`` for two contiguous vectors of one length: ``np.dot(a, b)``."""
    if a.dtype != b.dtype or a.ndim != 1 or b.ndim != 1:
        raise TypeError("vector_dot takes two vectors of one dtype")
    if a.layout not in "CF" or b.layout not in "CF":
        raise TypeError("vector_dot takes contiguous vectors")

    def codegen(context, builder, sig, args):
        ensure_blas()
        x, y = (make_array(t)(context, builder, v) for t, v in zip(sig.args, args))
        (n,) = cgutils.unpack_tuple(builder, x.shape)
        (n_b,) = cgutils.unpack_tuple(builder, y.shape)
        _raise_if(
            context,
            builder,
            builder.icmp_signed("!=", n, n_b),
            "incompatible lengths in a dot product",
        )
        check_c_int(context, builder, n)
        result = cgutils.alloca_once(builder, context.get_value_type(sig.return_type))
        call_xxdot(context, builder, False, sig.return_type, n, x.data, y.data, result)
        return builder.load(result)

    return signature(a.dtype, a, b), codegen


def _any(builder, *comparisons):
    """The ``or`` of integer comparisons ``(op, left, right)``."""
    tests = [builder.icmp_signed(op, left, right) for op, left, right in comparisons]
    result = tests[0]
    for test in tests[1:]:
        result = builder.or_(result, test)
    return result


def _raise_if(context, builder, condition, message):
    with builder.if_then(condition, likely=False):
        context.call_conv.return_user_exc(builder, ValueError, (message,))


def _fill_zeros(builder, array):
    cgutils.memset(builder, array.data, builder.mul(array.itemsize, array.nitems), 0)

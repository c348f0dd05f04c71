"""Software prefetch: ask for an array's cache lines ahead of their use.

The optimizer step of a split epoch (``network.train_epochs_in_parts``)
writes each thread's range of the parameters right after every thread has
read all of them (its part's forward and backward passes). Where the
parameters fit in each core's cache, every line written is then held by the
other cores too, and each store must first take the line from them; SGD's
step, with little arithmetic per element, keeps too few of those requests in
flight, so on 2 threads the step of a (64, 256, 5) network took about twice
as long inside the epoch as on its own. Asking for the whole range, to be
written, before the step sends the requests together. A prefetch is a hint
only: it changes no value and never faults.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.typing import signature
from numba.extending import intrinsic
from numba.np.arrayobj import make_array

from fastmlp.kernels._compile import kernel

_LINE_BYTES = 64


@intrinsic
def _prefetch_for_write(typingctx, array, index):
    """Bring the cache line of ``array[index]`` into this core's cache,
    owned, to be written (LLVM's ``llvm.prefetch``: write, keep in every
    level, data)."""
    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        values = make_array(sig.args[0])(context, builder, args[0])
        index = context.cast(builder, args[1], sig.args[1], types.intp)
        element = cgutils.get_item_pointer(
            context, builder, sig.args[0], values, [index], wraparound=False
        )
        byte = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte, i32, i32, i32]),
            "llvm.prefetch.p0",
        )
        address = builder.bitcast(element, byte)
        flags = [ir.Constant(i32, value) for value in (1, 3, 1)]
        builder.call(function, [address, *flags])
        return context.get_dummy_value()

    return signature(types.none, array, index), codegen


@kernel
def prefetch_for_write(array, begin, end):
    """Prefetch the lines of ``array[begin:end]`` (1-D) to be written."""
    step = max(1, _LINE_BYTES // array.itemsize)
    for i in range(begin, end, step):
        _prefetch_for_write(array, i)

"""A barrier for the threads of compiled split epochs.

The threads of a split epoch (``network.train_epochs_in_parts``) each run the
same compiled loop over the batches, on their own share of the parts and of
the parameter ranges, and meet twice per batch: after the parts' gradients
and after the optimizer step. Meeting through Python cost each batch tens of
microseconds of work under the GIL (a call's unboxing, a hand-over to the
pool); the barrier here is an atomic counter in a shared int64 array, a few
microseconds.

``sync`` is an int64 array of ``SYNC_SIZE`` zeros shared by the threads:
``[arrived, generation, abort]``. A thread that arrives increments
``arrived``; the last one resets it and increments ``generation``, which
releases the others, who wait by re-reading it and yielding their core
(``sched_yield``, so that more threads than cores still progress), and after
``SPINS_BEFORE_SLEEP`` tries (about 0.3 ms when nothing else wants the core)
by sleeping between tries (``usleep``). A yielding thread keeps its core
busy; a sleeping one leaves it idle, and the OS then moves a thread of ours
that shares a core with another busy thread onto it. numpy's OpenBLAS, for
one, keeps its idle threads spinning for about 0.1 s after each
multithreaded call: a split fit right after a scikit-learn fit (20,000 x
64, (256,), float32, 2 threads) took 135 ms with yielding only, 63 ms with
the sleep, 41 ms with the cores free (medians of 7). Any
thread, or Python on the threads' behalf (``sync[ABORT] = 1``), may set
``abort``: the waiting threads then return ``False`` instead of hanging on a
thread that will never arrive. The atomics are sequentially consistent, so
every write made before a thread arrives is seen by every thread after it
leaves.
"""

import sys

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.typing import signature
from numba.extending import intrinsic
from numba.np.arrayobj import make_array

from fastmlp.kernels._compile import kernel

SYNC_SIZE = 3
_ARRIVED, _GENERATION, ABORT = 0, 1, 2


def _element_pointer(context, builder, array_type, array, index):
    values = make_array(array_type)(context, builder, array)
    return cgutils.get_item_pointer(
        context, builder, array_type, values, [index], wraparound=False
    )


def _element_and_value(context, builder, sig, args):
    # (array, index, value): the element's pointer and the value as int64
    pointer = _element_pointer(context, builder, sig.args[0], args[0], args[1])
    return pointer, context.cast(builder, args[2], sig.args[2], types.int64)


def _is_int64_vector(array):
    return (
        isinstance(array, types.Array)
        and array.ndim == 1
        and array.dtype == types.int64
        and array.mutable
    )


@intrinsic
def atomic_add(typingctx, array, index, value):
    """``array[index] += value`` atomically; returns the value before."""
    if not _is_int64_vector(array):
        return None

    def codegen(context, builder, sig, args):
        pointer, value = _element_and_value(context, builder, sig, args)
        return builder.atomic_rmw("add", pointer, value, "seq_cst")

    return signature(types.int64, array, index, value), codegen


@intrinsic
def atomic_load(typingctx, array, index):
    """``array[index]``, read atomically."""
    if not _is_int64_vector(array):
        return None

    def codegen(context, builder, sig, args):
        pointer = _element_pointer(context, builder, sig.args[0], args[0], args[1])
        return builder.load_atomic(pointer, "seq_cst", 8)

    return signature(types.int64, array, index), codegen


@intrinsic
def atomic_store(typingctx, array, index, value):
    """``array[index] = value``, written atomically."""
    if not _is_int64_vector(array):
        return None

    def codegen(context, builder, sig, args):
        pointer, value = _element_and_value(context, builder, sig, args)
        builder.store_atomic(value, pointer, "seq_cst", 8)
        return context.get_dummy_value()

    return signature(types.none, array, index, value), codegen


@intrinsic
def yield_core(typingctx):
    """Let another thread run on this core (``sched_yield``; a no-op where
    the C library has none)."""

    def codegen(context, builder, sig, args):
        if sys.platform != "win32":
            function = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield"
            )
            builder.call(function, [])
        return context.get_dummy_value()

    return signature(types.none), codegen


@intrinsic
def sleep_core(typingctx, microseconds):
    """Sleep about ``microseconds`` (``usleep``), leaving the core idle (a
    no-op where the C library has no ``usleep``)."""

    def codegen(context, builder, sig, args):
        if sys.platform != "win32":
            int32 = ir.IntType(32)
            function = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(int32, [int32]), "usleep"
            )
            builder.call(function, [builder.trunc(args[0], int32)])
        return context.get_dummy_value()

    return signature(types.none, types.int64), codegen


#: Tries of a waiting thread before it sleeps between tries (each try yields
#: the core: about 0.15 us when no other thread wants it).
SPINS_BEFORE_SLEEP = 2000
SLEEP_MICROSECONDS = 20


@kernel
def barrier(sync, n_threads):
    """Wait until all ``n_threads`` threads sharing ``sync`` have arrived;
    ``False`` when the call was aborted instead."""
    if n_threads == 1:
        return atomic_load(sync, ABORT) == 0
    generation = atomic_load(sync, _GENERATION)
    if atomic_add(sync, _ARRIVED, 1) == n_threads - 1:
        atomic_store(sync, _ARRIVED, 0)
        atomic_add(sync, _GENERATION, 1)
        return atomic_load(sync, ABORT) == 0
    tries = 0
    while atomic_load(sync, _GENERATION) == generation:
        if atomic_load(sync, ABORT) != 0:
            return False
        if tries < SPINS_BEFORE_SLEEP:
            tries += 1
            yield_core()
        else:
            sleep_core(SLEEP_MICROSECONDS)
    return atomic_load(sync, ABORT) == 0

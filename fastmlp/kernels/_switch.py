"""Dispatch by integer code to one kernel of a registry, inside compiled code.

A compiled loop cannot call Python callables, so each registry (activations,
losses) is turned into a jitted ``switch(code, *args)`` that calls
``kernels[code](*args)``. The switch is a chain of ``if`` tests built once at
import from the registry, so adding a kernel to a registry is all it takes for
the compiled loops to reach it. The chain is compiled into its caller, whose
on-disk cache then holds it (no function is passed as an argument, which would
defeat numba's cache).
"""

from numba import njit


def make_switch(kernels, first_code=0):
    """Return a jitted ``switch(code, *args)`` calling ``kernels[code](*args)``.

    Parameters
    ----------
    kernels : sequence of numba dispatchers
        The kernels, in code order. All take the same arguments.
    first_code : int, default=0
        The code of ``kernels[0]`` (used by the recursion).

    Returns
    -------
    switch : numba dispatcher
    """
    kernel = kernels[0]
    if len(kernels) == 1:

        @njit
        def switch(code, *args):
            return kernel(*args)

        return switch

    rest = make_switch(kernels[1:], first_code + 1)

    @njit
    def switch(code, *args):
        if code == first_code:
            return kernel(*args)
        return rest(code, *args)

    return switch

"""How kernels are compiled, and dispatch by integer code inside compiled code.

``kernel`` is the decorator of every kernel: ``cache=True`` where a writable
cache location exists (machine code is cached on disk) and numpy's error model
(a division by zero gives inf or nan instead of a Python exception check per
division, which keeps loops vectorizable; non-finite results are caught once
per fit, as scikit-learn does).

A compiled loop cannot call Python callables, so each registry (activations,
losses) is turned into a jitted ``switch(code, *args)`` that calls
``kernels[code](*args)``. The switch is a chain of ``if`` tests built once at
import from the registry, so adding a kernel to a registry is all it takes for
the compiled loops to reach it. The chain is compiled into its caller, whose
on-disk cache then holds it (no function is passed as an argument, which would
defeat numba's cache).

Every link of every chain gets its own name (``_switch_name``). numba names a
compiled function by module, ``__qualname__``, a per-process counter and the
argument types; links sharing the qualname ``make_switch.<locals>.switch``
could get the same name in two processes for different links, and a process
that loaded two cached callers compiled by different processes (dense and CSR
predict, say) then linked one caller to the other's link: the wrong
activation, silently.
"""

import hashlib

from numba import njit


def kernel(function):
    """Compile ``function`` as a kernel, cached on disk where numba can write.

    numba caches next to the sources or, failing that, in a user-wide cache
    directory; when neither is writable it refuses ``cache=True`` at
    decoration time, and the kernel is then compiled once per process instead.
    """
    try:
        return njit(cache=True, error_model="numpy")(function)
    except RuntimeError as error:
        if "cannot cache" not in str(error):
            raise
        return njit(cache=False, error_model="numpy")(function)


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
    first = kernels[0]
    name = _switch_name(kernels, first_code)
    if len(kernels) == 1:

        def switch(code, *args):
            return first(*args)

    else:
        rest = make_switch(kernels[1:], first_code + 1)

        def switch(code, *args):
            if code == first_code:
                return first(*args)
            return rest(code, *args)

    switch.__name__ = switch.__qualname__ = name
    return njit(error_model="numpy")(switch)


def _switch_name(kernels, first_code):
    """A name that only the same link of the same chain can have."""
    names = ",".join(
        f"{k.py_func.__module__}.{k.py_func.__qualname__}" for k in kernels
    )
    digest = hashlib.sha256(f"{first_code}:{names}".encode()).hexdigest()[:16]
    return f"switch_{first_code}_{digest}"

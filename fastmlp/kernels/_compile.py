"""How kernels are compiled, and dispatch by integer code inside compiled code.

``kernel`` is the decorator of every kernel: ``cache=True`` where a writable
cache location exists (machine code is cached on disk), ``nogil=True`` (the
parts of a split batch train on threads of their own) and numpy's error model
(a division by zero gives inf or nan instead of a Python exception check per
division, which keeps loops vectorizable; non-finite results are caught once
per fit, as scikit-learn does).

A compiled loop cannot call Python callables, so each registry (activations,
losses) is turned into a jitted ``switch(code, *args)`` that calls
``kernels[code](*args)``. The switch is a flat chain of ``if`` tests generated
at import from the registry, so adding a kernel to a registry is all it takes
for the compiled loops to reach it. The switch is compiled into its caller,
whose on-disk cache then holds it (no function is passed as an argument,
which would defeat numba's cache).

Every switch gets its own name (``_switch_name``). numba names a compiled
function by module, ``__qualname__``, a per-process counter and the argument
types; switches sharing one qualname could get the same name in two processes
for different registries, and a process that loaded two cached callers
compiled by different processes (dense and CSR predict, say) then linked one
caller to the other's switch: the wrong activation, silently.
"""

import hashlib
import inspect

from numba import njit, types
from numba.extending import (
    NativeValue,
    models,
    overload,
    register_model,
    typeof_impl,
    unbox,
)


def kernel(function):
    """Compile ``function`` as a kernel, cached on disk where numba can write.

    numba caches next to the sources or, failing that, in a user-wide cache
    directory; when neither is writable it refuses ``cache=True`` at
    decoration time, and the kernel is then compiled once per process instead.
    """
    try:
        return njit(cache=True, nogil=True, error_model="numpy")(function)
    except RuntimeError as error:
        if "cannot cache" not in str(error):
            raise
        return njit(cache=False, nogil=True, error_model="numpy")(function)


def make_switch(kernels):
    """Return a jitted ``switch(code, *args)`` calling ``kernels[code](*args)``.

    The switch is one flat chain of ``if code == i`` tests, generated from the
    registry: one function to compile, where a recursive chain of switches
    compiled one function per kernel (measured: predict's first compile
    22.5 s with the recursive chain, 15.0 s with the flat one).

    Parameters
    ----------
    kernels : sequence of numba dispatchers
        The kernels, in code order. All take the same arguments.

    Returns
    -------
    switch : numba dispatcher
    """
    name = _switch_name(kernels)
    namespace = {f"kernel_{code}": k for code, k in enumerate(kernels)}
    last = len(kernels) - 1
    lines = [f"def {name}(code, *args):"]
    for code in range(last):
        lines += [f"    if code == {code}:", f"        return kernel_{code}(*args)"]
    lines.append(f"    return kernel_{last}(*args)")
    exec("\n".join(lines), namespace)  # source built above from the registry
    return njit(error_model="numpy")(namespace[name])


def _switch_name(kernels):
    """A name that only a switch over the same kernels can have."""
    names = ",".join(
        f"{k.py_func.__module__}.{k.py_func.__qualname__}" for k in kernels
    )
    return "switch_" + hashlib.sha256(names.encode()).hexdigest()[:16]


class KernelSet:
    """The kernels a network may call: hidden activations' codes and loss
    codes, as a value whose numba type carries them.

    Passed to the compiled loops, it makes numba compile one specialisation
    per kernel set, into which ``make_selector``'s dispatch compiles only
    these kernels: a relu network with a log loss never compiles gelu. Two
    networks with the same set (of any depth or size) share compiled code.
    """

    def __init__(self, activation_codes, loss_codes):
        self.activations = tuple(sorted({int(code) for code in activation_codes}))
        self.losses = tuple(sorted({int(code) for code in loss_codes}))

    def __repr__(self):
        return f"KernelSet(activations={self.activations}, losses={self.losses})"


class KernelSetType(types.Type):
    def __init__(self, activations, losses):
        self.activations = activations
        self.losses = losses
        super().__init__(name=f"KernelSet{activations}losses{losses}")


@typeof_impl.register(KernelSet)
def _typeof_kernel_set(value, context):
    return KernelSetType(value.activations, value.losses)


register_model(KernelSetType)(models.OpaqueModel)


@unbox(KernelSetType)
def _unbox_kernel_set(typ, obj, c):
    # the value carries nothing at run time: its type is the information
    return NativeValue(c.context.get_dummy_value())


def make_selector(kernels, field):
    """Return ``select(kernel_set, code, *args)``, usable in compiled code,
    calling ``kernels[code](*args)`` for the codes ``kernel_set`` holds.

    ``field`` names the attribute of the kernel set listing the codes
    (``"activations"`` or ``"losses"``). The dispatch is
    generated when the caller compiles, over that kernel set's codes only:
    a direct call for one code, a flat ``if`` chain otherwise.
    """
    arguments = ", ".join(inspect.signature(kernels[0].py_func).parameters)
    stub_name = _switch_name(kernels) + "_" + field

    namespace = {}
    exec(f"def {stub_name}(kernel_set, code, {arguments}): pass", namespace)
    select = namespace[stub_name]  # a stub: compiled code calls the overload

    def implementation(kernel_set):
        if not isinstance(kernel_set, KernelSetType):
            return None
        codes = getattr(kernel_set, field)
        # a name per registry and kernel set (see ``_switch_name``)
        name = f"{stub_name}_{'_'.join(map(str, codes))}"
        namespace = {f"kernel_{code}": kernels[code] for code in codes}
        lines = [f"def {name}(kernel_set, code, {arguments}):"]
        if not codes:  # a network without hidden layers calls no activation
            lines.append("    return None")
        for code in codes[:-1]:
            lines += [
                f"    if code == {code}:",
                f"        return kernel_{code}({arguments})",
            ]
        if codes:
            lines.append(f"    return kernel_{codes[-1]}({arguments})")
        exec("\n".join(lines), namespace)  # source built above from the registry
        return namespace[name]

    # overload's typing function must spell the stub's arguments
    typing = {"implementation": implementation}
    exec(
        f"def typing(kernel_set, code, {arguments}):\n"
        "    return implementation(kernel_set)",
        typing,
    )
    overload(select, jit_options={"error_model": "numpy"})(typing["typing"])
    return select

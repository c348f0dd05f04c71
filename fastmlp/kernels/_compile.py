"""How kernels are compiled, and dispatch by integer code inside compiled code.

Two decorators compile every kernel, both with ``nogil=True`` (the parts of a
split batch train on threads of their own) and numpy's error model (a division
by zero gives inf or nan instead of a Python exception check per division,
which keeps loops vectorizable; non-finite results are caught once per fit, as
scikit-learn does):

- ``entry_point``: the loops the engine calls from Python (an epoch, predict,
  the loss, L-BFGS's objective, the Jacobians). Cached on disk where a
  writable cache location exists;
- ``kernel``: everything those loops call. Such a function is never run from
  Python by the engine, only linked into the entry points that call it, so
  numba is spared the work a standalone function needs (measured, default
  ``MLPClassifier().fit`` on 2,000 x 20, empty cache: 11.4 s of CPU before,
  7.3 s after, the same bits): no CPython or C wrapper, no machine code of
  its own, no whole-module optimization of its own (LLVM optimizes it once,
  inlined into the entry point), no cache file of its own (the entry points'
  cache files hold its code). Calling one from Python still works, for tests
  and the REPL: it runs through a small compiled trampoline, built on first
  use.

Both lower every function into a library that asks LLVM for 512-bit
vectors where the CPU has them (``_PREFER_WIDE_VECTORS``).

A compiled loop cannot call Python callables, so each registry is turned
into compiled dispatch by integer code, generated at import from the
registry, so that adding a kernel to a registry is all it takes for the
compiled loops to reach it: ``make_selector`` for the activations, losses and
optimizers' update rules (over the codes of a kernel set only) and
``make_switch``, a flat chain of ``if`` tests over every kernel of a
registry.
The dispatch is compiled into its caller, whose on-disk cache then holds it
(no function is passed as an argument, which would defeat numba's cache).

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
from numba.core import compiler, typed_passes
from numba.core.caching import FunctionCache
from numba.core.codegen import JITCodeLibrary
from numba.core.compiler_machinery import FunctionPass, register_pass
from numba.core.registry import CPUDispatcher
from numba.core.runtime import rtsys
from numba.extending import (
    NativeValue,
    models,
    overload,
    register_model,
    typeof_impl,
    unbox,
)

_OPTIONS = {"nogil": True, "error_model": "numpy"}


def entry_point(function):
    """Compile ``function`` as a loop called from Python, cached on disk where
    numba can write.

    numba caches next to the sources or, failing that, in a user-wide cache
    directory; when neither is writable it refuses ``cache=True`` at
    decoration time, and the loop is then compiled once per process instead.
    """
    options = {**_OPTIONS, "pipeline_class": _EntryPointCompiler}
    try:
        dispatcher = njit(cache=True, **options)(function)
    except RuntimeError as error:
        if "cannot cache" not in str(error):
            raise
        return njit(cache=False, **options)(function)
    dispatcher._cache.__class__ = _CacheLoadingWithoutRefresh
    return dispatcher


class _CacheLoadingWithoutRefresh(FunctionCache):
    """numba's on-disk cache of a function, loading without refreshing the
    compiler first.

    numba's ``load_overload`` refreshes the target context: it imports and
    installs every typing and lowering registry (0.2 s in a fresh process,
    most of a warm first fit's extra cost), although code loaded from the
    cache is only linked, never compiled. It needs numba's runtime (NRT),
    initialized here; a cache miss compiles, and compiling refreshes.
    """

    def load_overload(self, sig, target_context):
        rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)


def kernel(function=None, **options):
    """Compile ``function`` as a kernel called from compiled code (see the
    module docstring): ``@kernel`` or ``@kernel(option=value, ...)`` with
    numba's ``jit`` options added to the defaults."""

    def decorate(function):
        compiled = njit(
            **{**_OPTIONS, **options, **LINKED_OPTIONS},
            pipeline_class=_LinkedCompiler,
        )(function)
        compiled.__class__ = _LinkedKernel  # the same object, callable from Python
        return compiled

    return decorate if function is None else decorate(function)


#: LLVM's name for its choice of vector width. On CPUs with AVX-512 LLVM
#: prefers 256-bit vectors (for the CPUs that slowed their clock on wider
#: ones); fastmlp's elementwise loops run on 512 (measured on Emerald Rapids,
#: ns per element: fastmath.exp 1.61 -> 0.88, tanh 2.54 -> 1.63, erf 6.3 ->
#: 4.6) between OpenBLAS's own 512-bit matrix products. The same bits: the
#: loops do the same operations per element, and no reduction is reordered.
#: CPUs without AVX-512 ignore it.
_PREFER_WIDE_VECTORS = '"prefer-vector-width"="512"'


class _WideVectorLibrary(JITCodeLibrary):
    """The code of one compiled function, every function in it preferring
    512-bit vectors (``_PREFER_WIDE_VECTORS``)."""

    def add_ir_module(self, ir_module):
        for function in ir_module.functions:
            if not function.is_declaration:
                # a string attribute: llvmlite's checked ``add`` knows only
                # LLVM's enum attributes, and writes the set's items as text
                set.add(function.attributes, _PREFER_WIDE_VECTORS)
        super().add_ir_module(ir_module)


class _LinkOnlyLibrary(_WideVectorLibrary):
    """The code of a kernel that is only ever linked into its callers: its
    module is neither optimized as a whole nor turned into machine code."""

    def _optimize_final_module(self):
        pass  # optimized once, inlined into the entry point that links it

    def _finalize_final_module(self):
        self._finalize_dynamic_globals()
        self._verify_declare_only_symbols()
        self._finalized = True

    @property
    def codegen(self):
        # numba stores a compiled function's environment pointer in its
        # machine code's global, which a link-only library never has
        return _WithoutEnvironment(self._codegen)


class _WithoutEnvironment:
    """A codegen whose ``set_env`` does nothing (see ``_LinkOnlyLibrary``)."""

    def __init__(self, codegen):
        self._codegen = codegen

    def set_env(self, env_name, env):
        pass

    def __getattr__(self, name):
        return getattr(self._codegen, name)


@register_pass(mutates_CFG=False, analysis_only=False)
class _UseWideVectorLibrary(FunctionPass):
    """Lower into a ``_WideVectorLibrary``, cached as numba's own are."""

    _name = "fastmlp_use_wide_vector_library"

    def __init__(self):
        FunctionPass.__init__(self)

    def run_pass(self, state):
        codegen = state.targetctx.codegen()
        state.library = _WideVectorLibrary(codegen, state.func_id.func_qualname)
        state.library.enable_object_caching()  # as numba's lowering does
        return True


@register_pass(mutates_CFG=False, analysis_only=False)
class _UseLinkOnlyLibrary(FunctionPass):
    """Lower into a ``_LinkOnlyLibrary`` (no cache file of its own)."""

    _name = "fastmlp_use_link_only_library"

    def __init__(self):
        FunctionPass.__init__(self)

    def run_pass(self, state):
        codegen = state.targetctx.codegen()
        state.library = _LinkOnlyLibrary(codegen, state.func_id.func_qualname)
        return True


class _EntryPointCompiler(compiler.CompilerBase):
    """numba's nopython pipeline, lowering into the library of
    ``library_pass``."""

    library_pass = _UseWideVectorLibrary

    def define_pipelines(self):
        pipeline = compiler.DefaultPassBuilder.define_nopython_pipeline(self.state)
        pipeline.add_pass_after(self.library_pass, typed_passes.NopythonTypeInference)
        pipeline.finalize()
        return [pipeline]


class _LinkedCompiler(_EntryPointCompiler):
    """numba's nopython pipeline, lowering into a ``_LinkOnlyLibrary``."""

    library_pass = _UseLinkOnlyLibrary


#: numba ``jit`` options of a linked kernel, for ``overload(jit_options=...)``
#: and ``njit`` (with ``pipeline_class=_LinkedCompiler``)
LINKED_OPTIONS = {"no_cpython_wrapper": True, "no_cfunc_wrapper": True}


def linked_jit_options(**options):
    """``overload``'s ``jit_options`` compiling its implementation as a
    linked kernel."""
    return {**options, **LINKED_OPTIONS, "pipeline_class": _LinkedCompiler}


class _LinkedKernel(CPUDispatcher):
    """A kernel's dispatcher: called from Python, it runs through a compiled
    trampoline (the kernel itself has no CPython wrapper). Called from
    compiled code with a constant argument, it compiles for the constant's
    type, not for the constant: ``matrix_view(buffer, 0, rows, cols)`` and
    ``matrix_view(buffer, offset, rows, cols)`` share one compilation (numba
    would compile one per literal value; five extra compilations, 0.2 s, in
    a default fit)."""

    def get_call_template(self, args, kws):
        args = tuple(types.unliteral(arg) for arg in args)
        kws = {name: types.unliteral(arg) for name, arg in kws.items()}
        return super().get_call_template(args, kws)

    def __call__(self, *args, **kwargs):
        trampoline = self.__dict__.get("_trampoline")
        if trampoline is None:
            trampoline = self._trampoline = _trampoline_for(self)
        return trampoline(*args, **kwargs)


def _trampoline_for(linked):
    parameters = ", ".join(
        ("*" if parameter.kind == parameter.VAR_POSITIONAL else "") + name
        for name, parameter in inspect.signature(linked.py_func).parameters.items()
    )
    name = f"call_{linked.py_func.__name__}"
    namespace = {"linked": linked}
    exec(f"def {name}({parameters}):\n    return linked({parameters})", namespace)
    return njit(**_OPTIONS)(namespace[name])


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
    return kernel(namespace[name])


def _switch_name(kernels):
    """A name that only a switch over the same kernels can have."""
    names = ",".join(
        f"{k.py_func.__module__}.{k.py_func.__qualname__}" for k in kernels
    )
    return "switch_" + hashlib.sha256(names.encode()).hexdigest()[:16]


class KernelSet:
    """The kernels a network or an optimizer may call: hidden activations'
    codes, loss codes and solver codes (update rules), as a value whose numba
    type carries them.

    Passed to the compiled loops, it makes numba compile one specialisation
    per kernel set, into which ``make_selector``'s dispatch compiles only
    these kernels: a relu network with a log loss never compiles gelu, an
    Adam fit never compiles SGD's update. Two networks with the same set (of
    any depth or size) share compiled code.
    """

    def __init__(self, activation_codes=(), loss_codes=(), solver_codes=()):
        self.activations = tuple(sorted({int(code) for code in activation_codes}))
        self.losses = tuple(sorted({int(code) for code in loss_codes}))
        self.solvers = tuple(sorted({int(code) for code in solver_codes}))

    def __repr__(self):
        return (
            f"KernelSet(activations={self.activations}, losses={self.losses}, "
            f"solvers={self.solvers})"
        )

    def numba_type_key(self):
        """What this value's numba type holds (see ``fastmlp._compilation``)."""
        return (self.activations, self.losses, self.solvers)


class KernelSetType(types.Type):
    def __init__(self, activations, losses, solvers):
        self.activations = activations
        self.losses = losses
        self.solvers = solvers
        super().__init__(
            name=f"KernelSet{activations}losses{losses}solvers{solvers}"
        )


@typeof_impl.register(KernelSet)
def _typeof_kernel_set(value, context):
    return KernelSetType(value.activations, value.losses, value.solvers)


register_model(KernelSetType)(models.OpaqueModel)


@unbox(KernelSetType)
def _unbox_kernel_set(typ, obj, c):
    # the value carries nothing at run time: its type is the information
    return NativeValue(c.context.get_dummy_value())


def make_selector(kernels, field):
    """Return ``select(kernel_set, code, *args)``, usable in compiled code,
    calling ``kernels[code](*args)`` for the codes ``kernel_set`` holds.

    ``field`` names the attribute of the kernel set listing the codes
    (``"activations"``, ``"losses"`` or ``"solvers"``). The dispatch is
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
    options = linked_jit_options(error_model="numpy")
    overload(select, jit_options=options)(typing["typing"])
    return select


"""First calls into compiled code: one compile per configuration, even across
processes, and a notice when it takes a while.

numba compiles a kernel the first time it is called with new argument types
and caches the machine code on disk (``NUMBA_CACHE_DIR``, else next to the
sources, else a user-wide folder). ``call`` makes that first call explicit:

- the compile (or the load from the cache) runs under a lock file in the
  cache folder, so that workers started together (``GridSearchCV(n_jobs=...)``,
  a Dask cluster) do not all compile the same kernels at once: the first one
  compiles, the others wait and then load its result from the cache;
- when the compile has run for ``NOTICE_AFTER_SECONDS``, a
  ``CompilationNotice`` (a ``UserWarning``) says, once per process, what is
  happening, that it happens once, and how to compile ahead
  (``python -m fastmlp warmup``).

Later calls with the same configuration go straight to the kernel: a set
lookup keyed on the configuration (kernel, kernel set, dtype, input kind),
which fixes the argument types, since the engine hands every kernel C-ordered
read-only inputs of the network's dtype. They even skip numba's dispatch,
which types every argument anew (40-60 us for each tuple of arrays, about
90 us a call for a split batch's part, with the GIL held, so two threads
wait on each other): the compiled version's entry point is called directly
when the arguments' fingerprint (``_fingerprint``: what their numba types
depend on, in 8 us) equals the one it was compiled for.
"""

import contextlib
import os
import tempfile
import threading
import warnings

import numpy as np

NOTICE_AFTER_SECONDS = 2.0
LOCK_FILE_NAME = "fastmlp-compile.lock"


class CompilationNotice(UserWarning):
    """fastmlp is compiling kernels for a new configuration (once per cache).

    Issued once per process, when a compile has taken more than about two
    seconds. Silence it with
    ``warnings.filterwarnings("ignore", category=fastmlp.CompilationNotice)``.
    """


_ready = set()
_entries = {}  # key -> (arguments' fingerprint, the compiled entry point)
_process_lock = threading.Lock()
_noticed = False


def _after_fork_in_child():
    # a fork while another thread compiled would leave the lock held forever
    global _process_lock
    _process_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def call(kernel, key, *args):
    """``kernel(*args)``, compiled first (once per ``key``) under the lock.

    ``key`` must determine the numba types of ``args``. A ``kernel`` that is
    not a numba dispatcher (a wrapper around one) is simply called.
    """
    if not hasattr(kernel, "overloads"):
        return kernel(*args)
    fingerprint = _fingerprint(args)
    known = _entries.get(key)
    if known is not None and known[0] == fingerprint:
        return known[1](*args)
    if key not in _ready:
        _prepare(kernel, key, args)
    result = kernel(*args)
    if fingerprint is not None:
        _remember_entry(kernel, key, args, fingerprint)
    return result


def _remember_entry(kernel, key, args, fingerprint):
    from numba import typeof
    from numba.core.typing.typeof import Purpose

    signature = tuple(typeof(value, Purpose.argument) for value in args)
    compiled = kernel.overloads.get(signature)
    if compiled is not None:
        _entries[key] = (fingerprint, compiled.entry_point)


_SCALARS = (bool, int, float, type(None))


class _NoFingerprint(Exception):
    pass


def _fingerprint(value):
    """What the numba type of ``value`` depends on, for the values the
    engine passes (arrays, scalars, tuples and named tuples of them, kernel
    sets); None for anything else (numba's dispatch then types it)."""
    try:
        return _fingerprint_of(value)
    except _NoFingerprint:
        return None


def _fingerprint_of(value):
    if isinstance(value, np.ndarray):
        flags = value.flags
        # numba's layout: "C" for an array that is both C- and F-contiguous
        # (one row, one column), so that such an array matches its C kin
        layout = "C" if flags.c_contiguous else "F" if flags.f_contiguous else "A"
        return (
            type(value), value.dtype, value.ndim, layout, flags.writeable,
            flags.aligned,
        )  # fmt: skip
    if isinstance(value, tuple):
        return (type(value), *map(_fingerprint_of, value))
    if type(value) in _SCALARS:
        # an int beyond int64 would be typed uint64: such a value fails the
        # entry point's int64 conversion with OverflowError, never silently
        return type(value)
    if isinstance(value, np.generic):
        return type(value)
    type_key = getattr(value, "numba_type_key", None)
    if type_key is not None:
        return (type(value), type_key())
    raise _NoFingerprint


def _prepare(kernel, key, args):
    from numba import typeof
    from numba.core.typing.typeof import Purpose

    with _process_lock:
        if key in _ready:
            return
        signature = tuple(typeof(value, Purpose.argument) for value in args)
        if signature not in kernel.overloads:
            with _cache_lock(), _notice_if_slow(key):
                kernel.compile(signature)  # loads from the cache when there
        _ready.add(key)


def cache_folder():
    """Where numba keeps fastmlp's compiled kernels."""
    configured = os.environ.get("NUMBA_CACHE_DIR")
    if configured:
        return configured
    from fastmlp import kernels

    return os.path.join(os.path.dirname(kernels.__file__), "__pycache__")


@contextlib.contextmanager
def _cache_lock():
    """An exclusive lock on a file in the cache folder (or the temporary
    folder where that is not writable), released when the block ends or the
    process dies; no lock where ``fcntl`` is missing (Windows)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    handle = None
    for folder in (cache_folder(), tempfile.gettempdir()):
        try:
            os.makedirs(folder, exist_ok=True)
            handle = open(os.path.join(folder, LOCK_FILE_NAME), "a+")
            break
        except OSError:
            continue
    if handle is None:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _notice_if_slow(key):
    timer = threading.Timer(NOTICE_AFTER_SECONDS, _notice, args=(key,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _notice(key):
    global _noticed
    if _noticed:
        return
    _noticed = True
    warnings.warn(
        f"fastmlp is compiling its kernels for this configuration ({describe(key)}). "
        "This happens once: later calls, and later processes, load the "
        f"compiled code from numba's cache ({cache_folder()}). To compile "
        "ahead (Docker images, CI), run `python -m fastmlp warmup`; see "
        "docs/user_guide/compiled_code.md in fastmlp's repository.",
        CompilationNotice,
        stacklevel=1,
    )


def describe(key):
    """A key as words: ``name, activations, loss, dtype, input``."""
    return ", ".join(str(part) for part in key)

"""Numba kernels: pure array math, one module per layer family."""

import hashlib
from pathlib import Path


def _drop_stale_caches():
    """Delete this package's cached machine code when any kernel source (or
    the registry of kernel codes) changed.

    numba invalidates a cached function only when the file defining it
    changes, but the epoch loop in ``network.py`` compiles in kernels from the
    sibling modules; without this, editing ``activations.py`` would leave the
    loop running the old code. Costs one hash of a few small files per import.
    """
    here = Path(__file__).parent
    # with fastmlp/_registry.py, whose order of specs sets the kernel codes
    paths = sorted(here.glob("*.py")) + [here.parent / "_registry.py"]
    sources = b"".join(path.read_bytes() for path in paths)
    digest = hashlib.sha256(sources).hexdigest()
    cache = _numba_cache_folder(here)
    if cache is None:
        return
    stamp = cache / "kernel_sources.sha256"
    try:
        if stamp.read_text() == digest:
            return
    except OSError:
        pass
    try:
        for cached in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
            cached.unlink(missing_ok=True)
        cache.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        pass  # a read-only install: numba then caches elsewhere or not at all


def _numba_cache_folder(here):
    """The folder where numba caches the kernels of the folder ``here``: a
    subfolder of ``NUMBA_CACHE_DIR`` named after ``here`` when that is set,
    else ``here/__pycache__``; None when numba's naming cannot be found."""
    from numba.core import config

    if not config.CACHE_DIR:
        return here / "__pycache__"
    try:  # numba's own naming (a private helper: if it moves, no check)
        from numba.core.caching import _CacheLocator

        subpath = _CacheLocator.get_suitable_cache_subpath(str(here / "network.py"))
    except (ImportError, AttributeError):
        return None
    return Path(config.CACHE_DIR) / subpath


_drop_stale_caches()

"""Pickling of fitted estimators: what a saved model holds, and the check of
the fastmlp version that saved it."""

import warnings

from fastmlp._weights import DERIVED_ATTRIBUTES


class InconsistentVersionWarning(UserWarning):
    """A model is loaded by a fastmlp version other than the one that saved it."""


def fastmlp_version():
    """The installed fastmlp's version."""
    import fastmlp

    return fastmlp.__version__


class PersistenceMixin:
    """``__getstate__`` and ``__setstate__`` of fastmlp's estimators.

    A saved model holds its attributes and the fastmlp version, not the
    attributes derived from them (the flat weight vector linking ``coefs_``
    and ``intercepts_``, the cached network), which loading rebuilds.
    """

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never edit the live model
        for name in DERIVED_ATTRIBUTES:
            state.pop(name, None)
        state["_fastmlp_version"] = fastmlp_version()
        return state

    def __setstate__(self, state):
        saved = state.pop("_fastmlp_version", "unknown (before 0.1.0)")
        current = fastmlp_version()
        if saved != current:
            warnings.warn(
                f"Loading {type(self).__name__} saved by fastmlp {saved} with "
                f"fastmlp {current}. This might lead to breaking code or invalid "
                "results; refit the model with this version to be safe.",
                InconsistentVersionWarning,
                stacklevel=1,  # attributed to fastmlp, not to pickle
            )
        super().__setstate__(state)
        optimizer = getattr(self, "_optimizer", None)
        if optimizer is not None:  # e.g. joblib.load(..., mmap_mode="r")
            optimizer.make_writable()
        self._relink_weights()

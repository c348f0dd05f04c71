"""Rollback: a snapshot of an estimator's fitted state, restored on failure.

One mechanism serves two scopes. Around every fit and partial_fit
(``unchanged_on_failure``), a deep snapshot: a call that raises (a bad input
found late, a raising callback, a KeyboardInterrupt outside an epoch) leaves
the model as it was before the call. Around every compiled call of the
stochastic solvers (one epoch, or several small ones), a cheap snapshot of
what the epochs change (the attributes, the curves, and the arrays they
update in place): a Ctrl-C during the call surfaces only when it returns,
after it updated the weights but before its epochs were recorded, and
rolling back keeps the last recorded one.
"""

import copy
from contextlib import contextmanager

import numpy as np

from fastmlp._callbacks import CALLBACK_ATTRIBUTES
from fastmlp._weights import DERIVED_ATTRIBUTES

# kept by reference, never copied or restored: the callbacks themselves, and
# what is rebuilt from the restored weights
_NOT_SNAPSHOT = CALLBACK_ATTRIBUTES + DERIVED_ATTRIBUTES


class Snapshot:
    """The attributes of an estimator at one moment, to restore later.

    Parameters
    ----------
    estimator : BaseMultilayerPerceptron
        The model whose attributes are kept.
    deep : bool, default=True
        Deep-copy every attribute (a fit may change anything). Else copy the
        attribute dict and its lists one level deep, and keep ``arrays`` and
        ``objects``, which the caller names as the only things changed in
        place: cheap enough to take once per compiled call of epochs.
    arrays : sequence of ndarray, default=()
        Arrays whose contents are written back in place by ``restore``.
    objects : sequence of objects, default=()
        Objects whose attributes (one level) are put back by ``restore``.
    """

    def __init__(self, estimator, *, deep=True, arrays=(), objects=()):
        state = {k: v for k, v in vars(estimator).items() if k not in _NOT_SNAPSHOT}
        self._generators = []
        if deep:
            # the estimator's own random generators stay the same objects, their
            # state saved (a deep copy of a RandomState costs 0.23 ms, most of
            # a small partial_fit's overhead; its state 0.03 ms); a generator
            # the user passed as random_state is deep-copied, as everything else
            own = [
                value
                for value in state.values()
                if isinstance(value, np.random.RandomState)
                and value is not getattr(estimator, "random_state", None)
            ]
            self._generators = [(value, value.get_state()) for value in own]
            memo = {id(value): value for value in own}
            self._attributes = copy.deepcopy(state, memo)
        else:
            self._attributes = {
                k: list(v) if isinstance(v, list) else v for k, v in state.items()
            }
        self._arrays = [(array, array.copy()) for array in arrays]
        self._objects = [(obj, dict(vars(obj))) for obj in objects]

    def restore(self, estimator):
        """Put the attributes back (the callbacks stay as they are now) and
        link coefs_ and intercepts_ to one flat vector again."""
        kept = {k: v for k, v in vars(estimator).items() if k in CALLBACK_ATTRIBUTES}
        estimator.__dict__.clear()
        estimator.__dict__.update(self._attributes)
        estimator.__dict__.update(kept)  # the callbacks themselves, not copies
        for array, saved in self._arrays:
            array[...] = saved
        for obj, saved in self._objects:
            vars(obj).update(saved)
        for generator, saved in self._generators:
            generator.set_state(saved)
        estimator._relink_weights()


@contextmanager
def unchanged_on_failure(estimator):
    """Restore every attribute of ``estimator`` if the block raises: a failed
    fit, warm start or partial_fit (a raising callback too) leaves the model
    as it was before the call. The callbacks are kept, not restored copies."""
    snapshot = Snapshot(estimator)
    try:
        yield
    except BaseException:
        snapshot.restore(estimator)
        raise

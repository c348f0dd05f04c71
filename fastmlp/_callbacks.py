"""Support for scikit-learn's callbacks (``sklearn.callback``, scikit-learn 1.9).

Each fit or partial_fit call is a root task with one subtask per epoch
(stochastic solvers) or per iteration (L-BFGS); the hooks get the training
data as the user gave it and, on demand, a copy of the estimator as if fit had
stopped there. With an older scikit-learn nothing here runs, and
``set_callbacks`` raises an AttributeError naming the scikit-learn it needs
(an AttributeError, so that ``hasattr(model, "set_callbacks")`` stays False).
"""

import copy
from contextlib import nullcontext

import sklearn

from fastmlp._weights import unpacked_copy

# the first scikit-learn with ``sklearn.callback``
SKLEARN_VERSION_FOR_CALLBACKS = "1.9"

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9

    class CallbackSupportMixin:
        """Stand-in without callback support."""

        @property
        def set_callbacks(self):
            raise AttributeError(
                f"{type(self).__name__}.set_callbacks needs scikit-learn >= "
                f"{SKLEARN_VERSION_FOR_CALLBACKS} (sklearn.callback); scikit-learn "
                f"{sklearn.__version__} is installed. Upgrade scikit-learn to use "
                "callbacks; everything else works without them."
            )

    def callback_management_context(estimator):
        return nullcontext()

else:
    # what the public ``with_callbacks`` decorator runs, as a context manager:
    # a decorator would add a frame and move the warnings' stacklevel
    from sklearn.callback._callback_support import callback_management_context

__all__ = [
    "CALLBACK_ATTRIBUTES",
    "SKLEARN_VERSION_FOR_CALLBACKS",
    "CallbackSupportMixin",
    "FitTasks",
    "callback_management_context",
    "reconstruction_attributes",
]

# Attributes the callback machinery puts on an estimator: they are not model
# state, so a failed fit keeps them (by reference) instead of restoring them.
CALLBACK_ATTRIBUTES = ("_skl_callbacks", "_parent_callback_ctx")


class FitTasks:
    """The callback task tree of one fit or partial_fit call.

    Inactive (no callback context, no hook calls, nothing added to the
    estimator) when the estimator has no callbacks and is not being fitted by
    a meta-estimator that passes its callback context down.

    Parameters
    ----------
    estimator : estimator instance
        The estimator being fitted; a subclass of ``CallbackSupportMixin``.

    task_name : str
        Name of the root task, "fit" or "partial_fit".

    max_subtasks : int
        Upper bound on the number of epochs or iterations.

    X, y, sample_weight : objects
        The training data as given to fit, passed on to the hooks.
    """

    def __init__(self, estimator, task_name, max_subtasks, X, y, sample_weight):
        self.active = hasattr(estimator, "_skl_callbacks") or hasattr(
            estimator, "_parent_callback_ctx"
        )
        self._task = None
        if not self.active:
            return
        self._estimator = estimator
        self._data = {
            "X": X,
            "y": y,
            "metadata": None
            if sample_weight is None
            else {"sample_weight": sample_weight},
        }
        self._root = estimator._init_callback_context(
            task_name=task_name, max_subtasks=max_subtasks
        )
        self._root.call_on_fit_task_begin(estimator=estimator, **self._data)

    @property
    def in_subtask(self):
        """Whether a subtask has begun and not ended yet."""
        return self._task is not None

    def begin(self, task_name, state):
        """Begin the next subtask.

        ``state`` is a callable returning the reconstruction attributes of the
        model as it is at the start of the subtask; it runs only if a callback
        asks for a fitted estimator.
        """
        if not self.active:
            return
        self._task = self._root.subcontext(task_name=task_name)
        self._task.call_on_fit_task_begin(
            estimator=self._estimator, reconstruction_attributes=state, **self._data
        )

    def end(self, state):
        """End the current subtask; True when a callback asks to stop fitting."""
        if not self.active:
            return False
        task, self._task = self._task, None
        return task.call_on_fit_task_end(
            estimator=self._estimator, reconstruction_attributes=state, **self._data
        )

    def end_fit(self, state):
        """End the root task (and, as an empty task, a subtask left open)."""
        if not self.active:
            return
        if self._task is not None:  # e.g. an L-BFGS line search that failed
            self._task.call_on_fit_task_end(estimator=self._estimator)
            self._task = None
        self._root.call_on_fit_task_end(
            estimator=self._estimator, reconstruction_attributes=state, **self._data
        )


def reconstruction_attributes(estimator, network, params, **attributes):
    """What a callback rebuilds a fitted model from: ``estimator`` with
    ``params`` as its weights (and ``attributes`` set), as copies that
    training leaves alone."""
    state = unpacked_copy(network, params)
    for name in ("loss_curve_", "validation_scores_", "validation_loss_curve_"):
        if getattr(estimator, name, None) is not None:
            state[name] = list(getattr(estimator, name))
    for name in ("_optimizer", "_random_state"):
        if hasattr(estimator, name):
            state[name] = copy.deepcopy(getattr(estimator, name))
    state.update(attributes)
    return state

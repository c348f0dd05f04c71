"""Validation sets: a user's ``eval_set`` checked and turned into training
targets, the validation loss after every epoch (L-BFGS: every iteration) and
the ``validation_loss_curve_`` it is recorded in."""

import numpy as np
from sklearn.utils.validation import _check_sample_weight, validate_data


class EvalSetMixin:
    """``eval_set`` support of the estimators (``fit(..., eval_set=...)``).

    Needs the estimator's ``_validate_eval_target(y_val)``.
    """

    def _validate_eval_set(self, eval_set, dtype):
        """``(X_val, Y_val, sample_weight_val)`` from a user's ``eval_set``.

        ``Y_val`` is the 2-D training target (binarized labels for a
        classifier); the labels themselves are scored through ``_score``.
        """
        if not isinstance(eval_set, (tuple, list)) or len(eval_set) not in (2, 3):
            raise ValueError(
                "eval_set must be a tuple (X_val, y_val) or "
                "(X_val, y_val, sample_weight_val)."
            )
        X_val, y_val = eval_set[0], eval_set[1]
        X_val = validate_data(
            self, X_val, accept_sparse=["csr", "csc"], dtype=dtype, reset=False
        )
        y_val = self._validate_eval_target(y_val)
        if y_val.shape[0] != X_val.shape[0]:
            raise ValueError(
                f"eval_set has {X_val.shape[0]} samples in X_val but "
                f"{y_val.shape[0]} in y_val."
            )
        weight_val = eval_set[2] if len(eval_set) == 3 else None
        if weight_val is not None:
            weight_val = _check_sample_weight(
                weight_val, X_val, ensure_non_negative=True
            )
        return X_val, y_val, weight_val

    def _validation_targets(self, network, X_val, y_val, sample_weight_val):
        """``(X_val, Y_val, weights)`` for ``_validation_loss``, made once per
        fit: the 2-D training target (binarized labels for a classifier) and
        the sample weights (ones when not given), in the network's dtype, as
        the loss takes them (binarizing every epoch cost more than the epoch
        on small data)."""
        Y_val = self._training_target(y_val).reshape(X_val.shape[0], -1)
        if sample_weight_val is None:
            sample_weight_val = np.ones(X_val.shape[0])
        weights = np.asarray(sample_weight_val, dtype=network.dtype)
        return X_val, Y_val.astype(network.dtype), weights

    def _validation_loss(self, network, X_val, Y_val, weights):
        """Mean data loss (no penalty) on a validation set, in float64;
        ``Y_val`` and ``weights`` from ``_validation_targets``."""
        params = self._weights(network)
        return float(network.mean_loss(X_val, Y_val, weights, params))

    def _training_target(self, y):
        """The network's target for ``y`` as the user gives it."""
        return np.asarray(y, dtype=np.float64)

    def _start_validation_curve(self, has_validation_set):
        """validation_loss_curve_: continued by a warm start, else restarted;
        None without a validation set."""
        if not has_validation_set:
            self.validation_loss_curve_ = None
        elif getattr(self, "validation_loss_curve_", None) is None or self.n_iter_ == 0:
            self.validation_loss_curve_ = []

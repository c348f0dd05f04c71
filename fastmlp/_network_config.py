"""The network a model's parameters describe: one activation and one dropout
rate per hidden layer from ``activation`` and ``dropout``, the loss the
network trains (and its scalar parameter, from the loss's spec), the hidden
layer sizes a warm start keeps, and the engine's ``Network`` built from
them."""

import numpy as np

from fastmlp import _engine, _registry


class NetworkConfigMixin:
    """From the estimators' parameters to the engine's network."""

    def _network_settings(self, n_hidden):
        """The hidden activations, loss name and loss parameter of the network."""
        return (
            self._hidden_activations(n_hidden),
            self._training_loss_name(),
            self._loss_param(),
        )

    def _make_network(self, layer_units, activations, dtype):
        return _engine.Network(
            layer_units,
            activations,
            self._training_loss_name(),
            dtype,
            loss_param=self._loss_param(),
        )

    def _training_loss_name(self):
        if self.loss == "log_loss" and self.out_activation_ == "logistic":
            return "binary_log_loss"
        return self.loss

    def _loss_param(self):
        """The loss's scalar parameter (such as huber's delta), or 0."""
        parameter = _registry.losses()[self._training_loss_name()].parameter
        return 0.0 if parameter is None else float(getattr(self, parameter.name))

    def _hidden_activations(self, n_hidden):
        """One activation name per hidden layer, from ``activation``."""
        if isinstance(self.activation, str):
            return [self.activation] * n_hidden
        activations = list(self.activation)
        if len(activations) != n_hidden:
            raise ValueError(
                f"activation has {len(activations)} entries but the network has "
                f"{n_hidden} hidden layers; give one activation per hidden layer "
                "or a single name."
            )
        for name in activations:
            if name not in _registry.hidden_activations():
                raise ValueError(
                    f"activation entries must be in "
                    f"{sorted(_registry.hidden_activations())}, got {name!r}."
                )
        return activations

    def _dropout_rates(self, n_hidden):
        """One dropout rate per hidden layer, from ``dropout``."""
        if np.ndim(self.dropout) == 0:
            rates = np.full(n_hidden, float(self.dropout))
        else:
            rates = np.asarray(self.dropout, dtype=np.float64).ravel()
            if rates.shape[0] != n_hidden:
                raise ValueError(
                    f"dropout has {rates.shape[0]} entries but the network has "
                    f"{n_hidden} hidden layers; give one rate per hidden layer or "
                    "a single float."
                )
        if not np.all((rates >= 0.0) & (rates < 1.0)):
            raise ValueError(f"dropout rates must be in [0, 1), got {self.dropout}.")
        if np.any(rates > 0.0) and not _registry.is_stochastic(self.solver):
            *most, last = (repr(name) for name in _registry.stochastic_solvers())
            raise ValueError(
                f"dropout needs a stochastic solver ({', '.join(most)} or {last}); "
                f"solver={self.solver!r} minimizes a deterministic objective."
            )
        return rates

    def _fitted_hidden_layer_sizes(self, hidden_layer_sizes):
        """The fitted network's hidden layer sizes, which a warm start or
        partial_fit keeps training, as scikit-learn's MLP does when
        ``hidden_layer_sizes`` changed widths since; a changed number of
        hidden layers raises ValueError."""
        fitted = [c.shape[1] for c in self.coefs_[:-1]]
        if len(fitted) != len(hidden_layer_sizes):
            raise ValueError(
                f"hidden_layer_sizes={tuple(hidden_layer_sizes)} has "
                f"{len(hidden_layer_sizes)} hidden layer(s), but the fitted "
                f"network has {len(fitted)} ({tuple(fitted)}); a warm start or "
                "partial_fit continues the fitted network. Fit with "
                "warm_start=False to train a new network of this shape."
            )
        return fitted

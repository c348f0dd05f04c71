"""The fitted weights: ``coefs_`` and ``intercepts_`` as views of one flat
parameter vector, and the engine's network that lays the vector out.

Training updates the flat vector in place, so ``coefs_`` and ``intercepts_``
follow it without copies; a user who assigns new arrays to them breaks the
link, and the next use packs them into a new vector.
"""

import numpy as np

# Attributes derived from the others, rebuilt on demand: never saved in a
# pickle or a rollback snapshot.
DERIVED_ATTRIBUTES = ("_linked_weights", "_network_cache")


class FlatWeightsMixin:
    """The links between an estimator's weights and its flat parameter vector.

    Needs the estimator's ``_network_settings(n_hidden)`` (hidden
    activations, loss name, loss parameter) and ``_make_network(layer_units,
    activations, dtype)``.
    """

    def _fitted_network(self):
        """The engine's network of the current coefs_ (shape, activations,
        loss, dtype), cached until one of them changes."""
        units = (self.coefs_[0].shape[0],) + tuple(c.shape[1] for c in self.coefs_)
        settings = self._network_settings(len(units) - 2)
        key = _network_key(units, *settings, self.coefs_[0].dtype)
        cached = getattr(self, "_network_cache", None)
        if cached is None or cached[0] != key:
            network = self._make_network(units, settings[0], key[-1])
            cached = self._network_cache = (key, network)
        return cached[1]

    def _remember_network(self, network):
        """Cache ``network`` (the one a fit trained) as the network of coefs_,
        so that predict leaves ``__dict__`` alone."""
        key = _network_key(
            network.units,
            network.activations,
            network.loss,
            network.loss_param,
            network.dtype,
        )
        self._network_cache = (key, network)

    def _set_weights(self, network, params):
        """Store the flat parameter vector, with coefs_ and intercepts_ as views."""
        self.coefs_, self.intercepts_ = network.unpack(params)
        self._linked_weights = (params, tuple(self.coefs_), tuple(self.intercepts_))

    def _weights(self, network):
        """The flat parameter vector of the current coefs_ and intercepts_.

        Free while coefs_ and intercepts_ hold the views ``_set_weights`` made
        (edits to them in place are edits of the vector); otherwise (arrays
        assigned by the user) a packed copy, and the model is left unchanged.
        """
        linked = getattr(self, "_linked_weights", None)
        if (
            linked is not None
            and linked[0].dtype == network.dtype
            and _same_objects(linked[1], self.coefs_)
            and _same_objects(linked[2], self.intercepts_)
        ):
            return linked[0]
        return network.pack(self.coefs_, self.intercepts_)

    def _relink_weights(self):
        """Make coefs_ and intercepts_ views of one flat vector again (after a
        copy of the model's state broke the link)."""
        if hasattr(self, "coefs_"):
            network = self._fitted_network()
            self._set_weights(network, network.pack(self.coefs_, self.intercepts_))


def unpacked_copy(network, params):
    """Copies of ``params`` and of its coefs_ and intercepts_ views, as the
    attributes ``_set_weights`` would store (for a model's copy)."""
    params = params.copy()
    coefs, intercepts = network.unpack(params)
    return {
        "coefs_": coefs,
        "intercepts_": intercepts,
        "_linked_weights": (params, tuple(coefs), tuple(intercepts)),
    }


def _network_key(units, activations, loss, loss_param, dtype):
    return (
        tuple(int(u) for u in units),
        tuple(activations),
        loss,
        float(loss_param),
        np.dtype(dtype),
    )


def _same_objects(expected, actual):
    return len(expected) == len(actual) and all(
        a is b for a, b in zip(expected, actual)
    )

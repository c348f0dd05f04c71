"""The libraries under comparison and one estimator factory for all of them."""

import importlib

import workloads

#: Every library, fastmlp first (the reference of every ratio).
ALL = ("fastmlp", "scikit-learn", "torch", "jax")


def estimator(library, workload, **changes):
    """An unfitted estimator of ``library`` for ``workload``.

    fastmlp and scikit-learn get ``MLPClassifier`` / ``MLPRegressor`` with
    ``workloads.sklearn_params``; torch and jax get the peers of ``peers``
    with the same parameters.
    """
    params = workloads.sklearn_params(workload, **changes)
    regression = workload.task == "regression"
    if library in ("fastmlp", "scikit-learn"):
        module = importlib.import_module(
            "fastmlp" if library == "fastmlp" else "sklearn.neural_network"
        )
        cls = module.MLPRegressor if regression else module.MLPClassifier
        return cls(**params)
    import peers

    return peers.PEERS[library](task=workload.task, **params)


def for_workload(workload, peer_versions):
    """The libraries that run ``workload``: importable peers only, adam only."""
    chosen = ["fastmlp", "scikit-learn"]
    if workload.peers_allowed:
        chosen += [name for name in ("torch", "jax") if peer_versions.get(name)]
    return chosen

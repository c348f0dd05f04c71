"""The registry of building blocks: every table derives from its specs, and
adding an activation is one spec plus its two kernels, an optimizer one spec
plus its update rule (docs/user_guide/how_it_works.md), checked by
registering throwaway ones in a temporary registry."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

import fastmlp
from fastmlp import _registry

# the throwaway activation's kernels, in a module of their own: softsign,
# f(z) = z / (1 + |z|), f'(z) = (1 - |f(z)|)^2 from the output
THROWAWAY_KERNELS = """
from fastmlp.kernels._compile import kernel


@kernel
def softsign_forward(z, bias, saved):
    one = z.dtype.type(1.0)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            value = z[i, j] + bias[j]
            z[i, j] = value / (one + abs(value))


@kernel
def softsign_backward(saved, a, delta):
    one = a.dtype.type(1.0)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            slope = one - abs(a[i, j])
            delta[i, j] = delta[i, j] * slope * slope
"""

# register, then train and predict, in a fresh process: the compiled loops
# hold the kernels registered when fastmlp.kernels is first imported
THROWAWAY_SCRIPT = """
import numpy as np
from fastmlp import MLPRegressor, _registry

def softsign(z):
    return z / (1 + np.abs(z))

with _registry.temporary_registry() as registry:
    registry.add(_registry.ActivationSpec(
        "softsign",
        ("throwaway_kernels:softsign_forward", "throwaway_kernels:softsign_backward"),
        init_factor=6.0, sklearn=None, doc="z / (1 + |z|)",
    ))
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    y = softsign(X @ np.array([1.0, -2.0, 0.5]))
    model = MLPRegressor(
        hidden_layer_sizes=(4,), activation="softsign", solver="lbfgs",
        max_iter=30, random_state=0,
    ).fit(X, y)
    hidden = softsign(X @ model.coefs_[0] + model.intercepts_[0])
    expected = hidden @ model.coefs_[1] + model.intercepts_[1]
    np.testing.assert_allclose(model.predict(X), expected.ravel(), rtol=1e-12)
    assert model.loss_ < np.mean(y**2) / 2  # it trained
    assert "softsign" in _registry.hidden_activations()
    print("trained")
assert "softsign" not in _registry.hidden_activations()
"""


def _run_in_fresh_process(tmp_path, module_name, kernels, script):
    """Write ``kernels`` as ``module_name``, then run ``script`` in a fresh
    process with its own numba cache, so that no compiled loop holding a
    throwaway kernel lands in fastmlp's cache; return its stdout."""
    (tmp_path / f"{module_name}.py").write_text(kernels)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba_cache"))
    env["FASTMLP_KERNELS"] = "specialized"  # compile only what it uses
    env["PYTHONPATH"] = os.pathsep.join(
        [str(tmp_path), os.path.dirname(os.path.dirname(fastmlp.__file__))]
        + [p for p in [os.environ.get("PYTHONPATH")] if p]
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", textwrap.dedent(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_throwaway_activation_trains_from_a_temporary_registry(tmp_path):
    """The documented steps to add an activation: two kernels and one spec;
    the estimators' validation and the compiled loops find it."""
    stdout = _run_in_fresh_process(
        tmp_path, "throwaway_kernels", THROWAWAY_KERNELS, THROWAWAY_SCRIPT
    )
    assert "trained" in stdout


# a throwaway optimizer: gradient descent without momentum, in the update
# rules' signature (fastmlp/kernels/optimizers.py)
THROWAWAY_OPTIMIZER = """
from fastmlp.kernels._compile import kernel
from fastmlp.kernels.optimizers import raw_gradient


@kernel
def plain_update(params, grads, last, first, second, n_penalized, o, scale, step):
    for i in range(n_penalized):
        raw = raw_gradient(grads, last, i)
        params[i] -= o.learning_rate * ((raw + o.alpha * params[i]) / scale)
    for i in range(n_penalized, params.shape[0]):
        params[i] -= o.learning_rate * (raw_gradient(grads, last, i) / scale)
"""

# SGD without momentum takes the same steps: the same bits
THROWAWAY_OPTIMIZER_SCRIPT = """
import numpy as np
from fastmlp import MLPClassifier, _registry

with _registry.temporary_registry() as registry:
    registry.add(_registry.SolverSpec(
        "plain_gd", "throwaway_optimizer:plain_update", "sgd",
        "gradient descent without momentum", learning_rate_schedules=True,
    ))
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(80, 4)), rng.randint(0, 3, 80)
    settings = dict(
        hidden_layer_sizes=(5,), learning_rate="invscaling", max_iter=8,
        batch_size=30, random_state=0,
    )
    plain = MLPClassifier(solver="plain_gd", **settings).fit(X, y)
    sgd = MLPClassifier(
        solver="sgd", momentum=0.0, nesterovs_momentum=False, **settings
    ).fit(X, y)
    for ours, reference in zip(plain.coefs_ + plain.intercepts_,
                               sgd.coefs_ + sgd.intercepts_):
        np.testing.assert_array_equal(ours, reference)
    assert plain.loss_curve_ == sgd.loss_curve_
    print("trained")
"""


def test_throwaway_optimizer_trains_from_a_temporary_registry(tmp_path):
    """The documented steps to add an optimizer: an update rule and one spec."""
    stdout = _run_in_fresh_process(
        tmp_path,
        "throwaway_optimizer",
        THROWAWAY_OPTIMIZER,
        THROWAWAY_OPTIMIZER_SCRIPT,
    )
    assert "trained" in stdout


def test_temporary_registry_leaves_the_registry_in_use():
    import fastmlp.kernels.network  # noqa: F401  (the compiled loops exist now)

    before = dict(_registry.hidden_activations())
    spec = before["relu"]._replace(name="relu_copy")
    options = fastmlp.MLPRegressor._parameter_constraints["activation"][0].options
    with _registry.temporary_registry() as registry:
        with pytest.raises(RuntimeError, match="before the first fit"):
            registry.add(spec)
        registry.activations[spec.name] = spec  # what add does before a fit
        assert "relu_copy" in _registry.hidden_activations()
        assert "relu_copy" in options  # validation reads the registry in use
    assert _registry.hidden_activations() == before
    assert "relu_copy" not in options
    with pytest.raises(InvalidParameterError, match="relu_copy"):
        fastmlp.MLPRegressor(activation="relu_copy").fit([[0.0]], [0.0])


def test_tables_derive_from_the_specs():
    """Validation, the kernels' tables and the docs list every spec."""
    from fastmlp.kernels.activations import ACTIVATION_CODES
    from fastmlp.kernels.losses import LOSS_CODES
    from fastmlp.kernels.optimizers import SOLVER_CODES

    activations, losses, solvers = (
        _registry.hidden_activations(),
        _registry.losses(),
        _registry.solvers(),
    )
    assert list(ACTIVATION_CODES) == list(activations)
    assert list(LOSS_CODES) == list(losses)
    assert list(SOLVER_CODES) == list(_registry.stochastic_solvers())
    constraints = fastmlp.MLPRegressor._parameter_constraints
    assert set(constraints["activation"][0].options) == set(activations)
    assert set(constraints["solver"][0].options) == set(solvers)
    assert set(constraints["loss"][0].options) == set(_registry.regressor_losses())
    for name in [*activations, *solvers, *_registry.regressor_losses()]:
        assert f"- '{name}':" in fastmlp.MLPRegressor.__doc__
    for name, spec in activations.items():
        model = fastmlp.MLPRegressor(hidden_layer_sizes=(3,), activation=name)
        model.set_params(max_iter=1, solver="lbfgs").fit(np.eye(3), [0.0, 1.0, 2.0])
        bound = np.sqrt(spec.init_factor / 6)  # fan_in + fan_out = 3 + 3
        assert np.abs(model._best_coefs[0]).max() <= bound

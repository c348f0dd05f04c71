"""Names and constants of the engine's building blocks, without numba.

The estimators validate parameters and initialise weights from these tables;
the compiled kernels registered under the same names live in
``fastmlp.kernels``, whose registries check at import that they match these
tables. So ``import fastmlp`` never imports numba: the first fit or predict
does.
"""

# Each hidden activation with its Glorot-uniform factor: the initial weights
# are drawn from U(-b, b), b = sqrt(factor / (fan_in + fan_out)), as in
# scikit-learn (2 for logistic units, 6 otherwise).
HIDDEN_ACTIVATION_INIT_FACTORS = {
    "identity": 6.0,
    "logistic": 2.0,
    "tanh": 6.0,
    "relu": 6.0,
    "leaky_relu": 6.0,
    "elu": 6.0,
    "gelu": 6.0,
    "silu": 6.0,
    "softplus": 6.0,
}
HIDDEN_ACTIVATION_NAMES = tuple(HIDDEN_ACTIVATION_INIT_FACTORS)

# Each output loss with the output activation it is paired with.
OUTPUT_ACTIVATION_OF_LOSS = {
    "squared_error": "identity",
    "log_loss": "softmax",
    "binary_log_loss": "logistic",
    "poisson": "exp",
    "huber": "identity",
    "absolute_error": "identity",
}

STOCHASTIC_SOLVERS = ("sgd", "adam", "adamw")


def check_registry(kernels, names, what):
    """Raise if a kernel registry and its table of names disagree."""
    if list(kernels) != list(names):
        raise RuntimeError(
            f"the {what} kernels {list(kernels)} do not match fastmlp._registry's "
            f"names {list(names)}; register each one in both places"
        )

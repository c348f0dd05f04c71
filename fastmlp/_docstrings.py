"""The estimators' docstring templates: the parameters and attributes that
MLPClassifier and MLPRegressor share, assembled into each class's docstring
in ``fastmlp._estimators``. The lists of activations, solvers and losses come
from the specs of ``fastmlp._registry``."""

import textwrap

from fastmlp import _registry


def _choices(specs):
    """One item per spec, ``- 'name': its doc``, at a parameter's indent."""
    return "\n".join(
        textwrap.fill(
            f"- '{spec.name}': {spec.doc}",
            width=79,
            initial_indent=" " * 8,
            subsequent_indent=" " * 10,
        )
        for spec in specs
    )


def _set_of(names):
    return "{" + ", ".join(f"'{name}'" for name in names) + "}"


COMMON_PARAMETERS_DOC = f"""
    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.

    activation : str or list of str, default='relu'
        Activation function for the hidden layers, one name for all or a list
        with one name per hidden layer:

{_choices(_registry.hidden_activations().values())}

    solver : {_set_of(_registry.solvers())}, default='adam'
        The solver for weight optimization:

{_choices(_registry.solvers().values())}

    alpha : float, default=0.0001
        Strength of the L2 regularization term, divided by the sample size
        (the sum of sample weights) when added to the loss; AdamW's weight
        decay with solver='adamw'.

    batch_size : int, default='auto'
        Size of minibatches for the stochastic solvers; 'auto' means
        ``min(200, n_samples)``. Unused by 'lbfgs'.

    learning_rate : {{'constant', 'invscaling', 'adaptive', 'cosine'}}, \
            default='constant'
        Learning rate schedule. 'invscaling' and 'adaptive' apply to
        solver='sgd' as in scikit-learn; 'cosine' applies to every stochastic
        solver and anneals the rate from ``learning_rate_init`` to 0 over
        ``max_iter`` epochs: ``learning_rate_init * (1 + cos(pi * t /
        max_iter)) / 2`` after epoch ``t``.

    learning_rate_init : float, default=0.001
        The initial learning rate of the stochastic solvers.

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.

    max_iter : int, default=200
        Maximum number of iterations; epochs for the stochastic solvers.

    shuffle : bool, default=True
        Whether to shuffle samples in each epoch (stochastic solvers).

    random_state : int, RandomState instance, default=None
        Seeds weight initialization, the early-stopping split and the
        shuffling, exactly as in scikit-learn.

    tol : float, default=1e-4
        Tolerance for the optimization.

    verbose : bool, default=False
        Whether to print progress messages to stdout.

    warm_start : bool, default=False
        Reuse the solution of the previous call to fit as initialization.

    momentum : float, default=0.9
        Momentum of solver='sgd'.

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum (solver='sgd', momentum > 0).

    early_stopping : bool, default=False
        Whether to set aside ``validation_fraction`` of the data and stop when
        the validation score stops improving (stochastic solvers).

    validation_fraction : float, default=0.1
        Share of the training data set aside for early stopping.

    beta_1 : float, default=0.9
        Decay rate of Adam's first-moment estimates.

    beta_2 : float, default=0.999
        Decay rate of Adam's second-moment estimates.

    epsilon : float, default=1e-8
        Adam's numerical-stability constant.

    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping.

    max_fun : int, default=15000
        Maximum number of loss function calls of solver='lbfgs'.

    dropout : float or array-like of shape (n_layers - 2,), default=0.0
        Dropout rate of the hidden layers' outputs (one float for all, or one
        per hidden layer): inverted dropout during training with the
        stochastic solvers, reproducible with ``random_state``; never applied
        at predict time.
"""

CALLBACKS_DOC = """
    Supports scikit-learn's callbacks (scikit-learn >= 1.9): ``set_callbacks``
    with e.g. :class:`sklearn.callback.ProgressBar` or
    :class:`sklearn.callback.ScoringMonitor`. Each ``fit`` or ``partial_fit``
    call is a task with one subtask per epoch (L-BFGS: per iteration), and
    each subtask can give the callbacks the model as if fit had stopped there.
"""

COMMON_ATTRIBUTES_DOC = """
    loss_ : float
        The current loss computed with the loss function.

    best_loss_ : float or None
        The minimum loss reached during fitting (None with early stopping).

    loss_curve_ : list of shape (`n_iter_`,)
        The loss at each iteration (stochastic solvers).

    validation_scores_ : list of shape (`n_iter_`,) or None
        The validation score at each iteration when ``early_stopping=True``.

    best_validation_score_ : float or None
        The best validation score when ``early_stopping=True``.

    validation_loss_curve_ : list of shape (`n_iter_`,) or None
        The loss (data loss, without the L2 term) on the validation set after
        each iteration, whenever there is one (``eval_set`` given to fit, or
        split off by ``early_stopping``); None otherwise.

    t_ : int
        The number of training samples seen by the solver.

    coefs_ : list of shape (n_layers - 1,)
        The weight matrix of each layer.

    intercepts_ : list of shape (n_layers - 1,)
        The bias vector of each layer.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when they are all strings.

    n_iter_ : int
        The number of iterations the solver has run.

    n_layers_ : int
        Number of layers.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation function.
"""

REGRESSOR_LOSS_DOC = f"""
    Parameters
    ----------
    loss : {_set_of(_registry.regressor_losses())}, \
            default='squared_error'
        The loss; each trains with its exact gradient:

{_choices(_registry.losses()[name] for name in _registry.regressor_losses())}
""" + "".join(
    f"""
    {spec.parameter.name} : float, default={spec.parameter.default!r}
        {spec.parameter.doc}
"""
    for spec in _registry.losses().values()
    if spec.parameter is not None
)

"""PyTorch and JAX versions of scikit-learn's MLP, for the comparison only.

Each peer trains what ``MLPClassifier`` / ``MLPRegressor`` trains with
``solver='adam'``: the same layers (relu hidden layers; a logistic output for
two classes, softmax for more, identity for regression), the same Glorot
initialization drawn from ``np.random.RandomState(random_state)`` in
scikit-learn's order, the same loss (mean log loss or half mean squared error
plus ``0.5 * alpha * sum ||W||^2 / n_batch``), Adam with the same settings, the
same batch size and epochs, a new shuffle every epoch, and the dtype of ``X``.
Both run on the CPU.

- :class:`TorchMLP`: an eager loop over mini-batches with ``torch.optim.Adam``
  (torch's threads set to ``os.cpu_count()``).
- :class:`JaxMLP`: one epoch is one jitted call, a ``lax.scan`` over the
  mini-batches with the Adam step inside (scikit-learn's update rule).

``available()`` says which peers import; nothing here is required.
"""

import functools
import importlib
import os

import numpy as np
from sklearn.metrics import accuracy_score, r2_score

os.environ.setdefault("JAX_PLATFORMS", "cpu")


def setup(name):
    """Import peer ``name`` ('torch' or 'jax') and configure it; its version.

    torch gets ``os.cpu_count()`` threads; JAX gets 64-bit types enabled
    (float64 when the data is float64).
    """
    module = importlib.import_module(name)
    if name == "torch":
        module.set_num_threads(os.cpu_count() or 1)
    else:
        module.config.update("jax_enable_x64", True)
    return module.__version__


def available():
    """``({name: version or None}, {name: why not})`` for 'torch' and 'jax'."""
    found, reasons = {}, {}
    for name in ("torch", "jax"):
        try:
            found[name] = setup(name)
        except Exception as error:  # ImportError, or a broken install
            found[name] = None
            reasons[name] = f"{type(error).__name__}: {error}"
    return found, reasons


def glorot_init(units, dtype, random_state=0):
    """scikit-learn's initial ``(coefs, intercepts)`` for a relu network."""
    rng = np.random.RandomState(random_state)
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        intercepts.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
    return coefs, intercepts


class _PeerMLP:
    """What the peers share: targets, parameters, score.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
    task : {'binary', 'multiclass', 'regression'}
    max_iter : int
        Epochs.
    alpha, batch_size, learning_rate_init, beta_1, beta_2, epsilon, random_state
        As in scikit-learn.
    """

    def __init__(
        self,
        hidden_layer_sizes,
        task,
        max_iter,
        alpha=1e-4,
        batch_size=200,
        learning_rate_init=1e-3,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        random_state=0,
        **ignored,
    ):
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.task = task
        self.max_iter = max_iter
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.random_state = random_state

    def _targets(self, y, dtype):
        """Training targets: a float column, or class indices for multiclass."""
        if self.task == "regression":
            return np.asarray(y, dtype=dtype).reshape(-1, 1), 1
        self.classes_, codes = np.unique(y, return_inverse=True)
        if self.task == "binary":
            return codes.astype(dtype).reshape(-1, 1), 1
        return codes.astype(np.int64), len(self.classes_)

    def _units(self, n_features, n_outputs):
        return [n_features, *self.hidden_layer_sizes, n_outputs]

    def set_params_from(self, coefs, intercepts, classes=None):
        """Take fitted parameters (scikit-learn layout), e.g. to time predict."""
        self._load(coefs, intercepts)
        self.classes_ = classes
        return self

    def predict(self, X):
        """Labels (classification) or values (regression)."""
        out = self._forward(X)
        if self.task == "regression":
            return out.ravel()
        if self.task == "binary":
            return self.classes_[(out.ravel() > 0.5).astype(int)]
        return self.classes_[np.argmax(out, axis=1)]

    def predict_proba(self, X):
        """Class probabilities, shaped as scikit-learn's."""
        out = self._forward(X)
        if self.task == "binary":
            return np.hstack([1 - out, out])
        return out

    def score(self, X, y):
        """Accuracy or R^2, as scikit-learn's ``score``."""
        if self.task == "regression":
            return r2_score(y, self.predict(X))
        return accuracy_score(y, self.predict(X))


class TorchMLP(_PeerMLP):
    """scikit-learn's MLP trained with PyTorch on the CPU (eager, torch Adam)."""

    def fit(self, X, y):
        """Train ``max_iter`` epochs from scikit-learn's initialization."""
        import torch
        import torch.nn.functional as F

        torch.manual_seed(self.random_state)
        X = np.ascontiguousarray(X)
        targets, n_outputs = self._targets(y, X.dtype)
        coefs, intercepts = glorot_init(
            self._units(X.shape[1], n_outputs), X.dtype, self.random_state
        )
        self._load(coefs, intercepts)
        weights = [w.requires_grad_() for w in self._weights]
        biases = [b.requires_grad_() for b in self._biases]
        optimizer = torch.optim.Adam(
            weights + biases,
            lr=self.learning_rate_init,
            betas=(self.beta_1, self.beta_2),
            eps=self.epsilon,
            foreach=True,
        )
        X_all = torch.from_numpy(X)
        y_all = torch.from_numpy(targets)
        n, batch = X.shape[0], min(self.batch_size, X.shape[0])
        for _ in range(self.max_iter):
            order = torch.randperm(n)
            X_epoch, y_epoch = X_all[order], y_all[order]
            for start in range(0, n, batch):
                xb = X_epoch[start : start + batch]
                yb = y_epoch[start : start + batch]
                z = self._logits(xb)
                if self.task == "binary":
                    loss = F.binary_cross_entropy_with_logits(z, yb)
                elif self.task == "multiclass":
                    loss = F.cross_entropy(z, yb)
                else:
                    loss = 0.5 * F.mse_loss(z, yb)
                penalty = sum((w * w).sum() for w in weights)
                loss = loss + (0.5 * self.alpha / xb.shape[0]) * penalty
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        self._weights = [w.detach() for w in weights]
        self._biases = [b.detach() for b in biases]
        return self

    def _load(self, coefs, intercepts):
        import torch

        self._weights = [torch.tensor(np.asarray(c)) for c in coefs]
        self._biases = [torch.tensor(np.asarray(b)) for b in intercepts]

    def _logits(self, x):
        import torch

        for w, b in zip(self._weights[:-1], self._biases[:-1]):
            x = torch.relu(torch.addmm(b, x, w))
        return torch.addmm(self._biases[-1], x, self._weights[-1])

    def _forward(self, X):
        import torch

        with torch.inference_mode():
            z = self._logits(torch.from_numpy(np.ascontiguousarray(X)))
            if self.task == "binary":
                z = torch.sigmoid(z)
            elif self.task == "multiclass":
                z = torch.softmax(z, dim=1)
            return z.numpy()


@functools.cache
def _jax_functions(task, alpha, batch_size, lr, beta_1, beta_2, epsilon):
    """Jitted ``(epoch, forward)`` for one configuration (shapes: jit's cache)."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    def logits(params, x):
        for w, b in params[:-1]:
            x = jax.nn.relu(x @ w + b)
        w, b = params[-1]
        return x @ w + b

    def loss_fn(params, x, y):
        z = logits(params, x)
        if task == "binary":
            loss = jnp.mean(jnp.logaddexp(0.0, z) - y * z)
        elif task == "multiclass":
            picked = jnp.take_along_axis(jax.nn.log_softmax(z), y[:, None], axis=1)
            loss = -jnp.mean(picked)
        else:
            loss = 0.5 * jnp.mean((z - y) ** 2)
        penalty = sum(jnp.sum(w * w) for w, _ in params)
        return loss + 0.5 * alpha * penalty / x.shape[0]

    def adam_step(state, batch):
        params, m, v, t = state
        loss, grads = jax.value_and_grad(loss_fn)(params, *batch)
        t = t + 1
        rate = lr * jnp.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        m = jax.tree_util.tree_map(lambda m, g: beta_1 * m + (1 - beta_1) * g, m, grads)
        v = jax.tree_util.tree_map(
            lambda v, g: beta_2 * v + (1 - beta_2) * g * g, v, grads
        )
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - rate * m / (jnp.sqrt(v) + epsilon), params, m, v
        )
        return (params, m, v, t), loss

    @jax.jit
    def epoch(state, key, X, y):
        n = X.shape[0]
        batch = min(batch_size, n)
        n_full = n // batch
        order = jax.random.permutation(key, n)
        X, y = X[order], y[order]
        head = n_full * batch
        batches = (
            X[:head].reshape((n_full, batch) + X.shape[1:]),
            y[:head].reshape((n_full, batch) + y.shape[1:]),
        )
        state, losses = lax.scan(adam_step, state, batches)
        total = jnp.sum(losses) * batch
        if head < n:  # a last, smaller batch (shapes are static under jit)
            state, loss = adam_step(state, (X[head:], y[head:]))
            total = total + loss * (n - head)
        return state, total / n

    @functools.partial(jax.jit, static_argnums=2)
    def forward(params, x, kind):
        z = logits(params, x)
        if kind == "binary":
            return jax.nn.sigmoid(z)
        if kind == "multiclass":
            return jax.nn.softmax(z, axis=1)
        return z

    return epoch, forward


class JaxMLP(_PeerMLP):
    """scikit-learn's MLP trained with JAX on the CPU (one jitted scan per epoch)."""

    def _functions(self):
        return _jax_functions(
            self.task,
            float(self.alpha),
            int(self.batch_size),
            float(self.learning_rate_init),
            float(self.beta_1),
            float(self.beta_2),
            float(self.epsilon),
        )

    def fit(self, X, y):
        """Train ``max_iter`` epochs from scikit-learn's initialization."""
        import jax
        import jax.numpy as jnp

        epoch, _ = self._functions()
        X = np.ascontiguousarray(X)
        targets, n_outputs = self._targets(y, X.dtype)
        coefs, intercepts = glorot_init(
            self._units(X.shape[1], n_outputs), X.dtype, self.random_state
        )
        self._load(coefs, intercepts)
        zeros = jax.tree_util.tree_map(jnp.zeros_like, self._params)
        state = (self._params, zeros, zeros, jnp.zeros((), dtype=X.dtype))
        X_all, y_all = jnp.asarray(X), jnp.asarray(targets)
        key = jax.random.PRNGKey(self.random_state)
        for _ in range(self.max_iter):
            key, subkey = jax.random.split(key)
            state, self.loss_ = epoch(state, subkey, X_all, y_all)
        self._params = jax.block_until_ready(state[0])
        return self

    def _load(self, coefs, intercepts):
        import jax.numpy as jnp

        self._params = [
            (jnp.asarray(np.asarray(c)), jnp.asarray(np.asarray(b)))
            for c, b in zip(coefs, intercepts)
        ]

    def _forward(self, X):
        import jax.numpy as jnp

        _, forward = self._functions()
        return np.asarray(forward(self._params, jnp.asarray(X), self.task))


PEERS = {"torch": TorchMLP, "jax": JaxMLP}

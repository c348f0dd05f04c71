"""Loss and validation curves
==========================

Plot the training loss and validation accuracy of a few runs.

With ``early_stopping=True`` an MLP holds out part of the training data and
records its accuracy after every epoch in ``validation_scores_``, next to the
training loss in ``loss_curve_``. Saves ``loss_curves.png`` in the current
directory. Needs matplotlib; without it, prints a note and exits.
"""

import sys
import warnings

try:
    import matplotlib
except ImportError:
    print("This example needs matplotlib (pip install matplotlib); skipping.")
    sys.exit(0)

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from fastmlp import MLPClassifier  # noqa: E402

warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)

runs = {
    "adam, lr 1e-3": {"solver": "adam", "learning_rate_init": 1e-3},
    "adam, lr 1e-2": {"solver": "adam", "learning_rate_init": 1e-2},
    "sgd + Nesterov, lr 0.1": {"solver": "sgd", "learning_rate_init": 0.1},
}

fig, (loss_axis, score_axis) = plt.subplots(1, 2, figsize=(11, 4))
for label, params in runs.items():
    model = MLPClassifier(
        hidden_layer_sizes=(32,),
        early_stopping=True,
        n_iter_no_change=10,
        max_iter=80,
        random_state=0,
        **params,
    ).fit(X, y)
    epochs = range(1, model.n_iter_ + 1)
    loss_axis.plot(epochs, model.loss_curve_, label=label)
    score_axis.plot(epochs, model.validation_scores_, label=label)
    print(
        f"{label:>24}: {model.n_iter_:3d} epochs, final loss {model.loss_:.4f}, "
        f"best validation accuracy {model.best_validation_score_:.4f}"
    )

loss_axis.set(xlabel="epoch", ylabel="training loss", yscale="log")
score_axis.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0.8, 1.0))
loss_axis.legend()
fig.suptitle("fastmlp MLPClassifier on digits, early stopping")
fig.tight_layout()
fig.savefig("loss_curves.png", dpi=100)
print("saved loss_curves.png")

"""A drop-in replacement for scikit-learn's MLPClassifier
======================================================

Swap scikit-learn's MLPClassifier for fastmlp's: same code, same model.

Trains both on the breast-cancer data set that ships with scikit-learn, in a
pipeline with a scaler, and shows that the two agree.
"""

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

models = {}
for name, cls in [("scikit-learn", SklearnMLPClassifier), ("fastmlp", MLPClassifier)]:
    model = make_pipeline(
        StandardScaler(), cls(hidden_layer_sizes=(32,), max_iter=1000, random_state=0)
    )
    models[name] = model.fit(X_train, y_train)
    print(f"{name:>12}: test accuracy {model.score(X_test, y_test):.4f}")

proba_sklearn = models["scikit-learn"].predict_proba(X_test)
proba_fastmlp = models["fastmlp"].predict_proba(X_test)
difference = np.abs(proba_sklearn - proba_fastmlp).max()
print(f"largest difference in predict_proba: {difference:.2e}")

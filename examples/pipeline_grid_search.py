"""A pipeline tuned by GridSearchCV
================================

A scaler and fastmlp's MLPClassifier in a pipeline, tuned by GridSearchCV.

The grid search fits its candidates in two worker processes (n_jobs=2); joblib
limits each worker's BLAS threads so that the workers do not oversubscribe the
CPUs. Runs on the breast-cancer data set that ships with scikit-learn.
"""

import warnings

from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import classification_report
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier

warnings.simplefilter("ignore", ConvergenceWarning)

data = load_breast_cancer()
X_train, X_test, y_train, y_test = train_test_split(
    data.data, data.target, test_size=0.25, stratify=data.target, random_state=0
)

pipeline = make_pipeline(StandardScaler(), MLPClassifier(max_iter=200, random_state=0))
grid = {
    "mlpclassifier__hidden_layer_sizes": [(8,), (32, 16)],
    "mlpclassifier__alpha": [1e-4, 1.0],
}
search = GridSearchCV(pipeline, grid, cv=3, n_jobs=2)
search.fit(X_train, y_train)

print("mean cross-validated accuracy of each candidate:")
results = search.cv_results_
for params, score in zip(results["params"], results["mean_test_score"]):
    print(f"  {score:.4f}  {params}")
print(f"best: {search.best_params_} (cv accuracy {search.best_score_:.4f})")
print(
    f"test accuracy of the refitted best pipeline: {search.score(X_test, y_test):.4f}"
)
print(
    classification_report(
        y_test, search.predict(X_test), target_names=data.target_names, digits=3
    )
)

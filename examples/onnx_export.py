"""Export to ONNX
==============

Export a fastmlp model to ONNX through scikit-learn and skl2onnx.

``to_sklearn()`` turns the fitted fastmlp model into the equivalent fitted
scikit-learn estimator, which skl2onnx converts to an ONNX graph; onnxruntime
then runs the graph, and its probabilities are compared with fastmlp's. The
graph computes in float64 here (``DoubleTensorType``); skl2onnx's default
``FloatTensorType`` gives a float32 graph. skl2onnx (1.20) converts
classifiers and single-output squared-error regressors; it has no converter
for the Poisson loss's exponential output. Needs skl2onnx and onnxruntime
(``pip install "fastmlp[onnx]"``); without them, prints a note and exits.
"""

import sys

try:
    import onnxruntime
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import DoubleTensorType
except ImportError:
    print(
        "This example needs skl2onnx and onnxruntime "
        '(pip install "fastmlp[onnx]"); skipping.'
    )
    sys.exit(0)

import numpy as np
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier

X, y = load_wine(return_X_y=True)
X = StandardScaler().fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

model = MLPClassifier(hidden_layer_sizes=(32, 16), max_iter=500, random_state=0)
model.fit(X_train, y_train)
print(f"fastmlp test accuracy: {model.score(X_test, y_test):.4f}")

sklearn_model = model.to_sklearn()
onnx_model = to_onnx(
    sklearn_model,
    initial_types=[("X", DoubleTensorType([None, X.shape[1]]))],
    options={"zipmap": False},  # probabilities as one array, not dicts
    target_opset=17,
)
with open("mlp.onnx", "wb") as file:
    file.write(onnx_model.SerializeToString())
print(f"wrote mlp.onnx ({len(onnx_model.SerializeToString())} bytes)")

session = onnxruntime.InferenceSession("mlp.onnx", providers=["CPUExecutionProvider"])
labels, probabilities = session.run(None, {"X": X_test})
difference = np.abs(probabilities - model.predict_proba(X_test)).max()
print(f"ONNX labels equal fastmlp's: {np.array_equal(labels, model.predict(X_test))}")
print(f"largest difference in predict_proba (ONNX vs fastmlp): {difference:.2e}")

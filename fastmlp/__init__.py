"""fastmlp: Numba-compiled multilayer perceptrons with scikit-learn's API.

``from fastmlp import MLPClassifier, MLPRegressor`` is a drop-in replacement
for ``sklearn.neural_network``'s estimators of the same names.
"""

from fastmlp._compilation import CompilationNotice
from fastmlp._estimators import (
    InconsistentVersionWarning,
    MLPClassifier,
    MLPRegressor,
)
from fastmlp._interop import from_sklearn

__version__ = "0.1.0"

__all__ = [
    "CompilationNotice",
    "InconsistentVersionWarning",
    "MLPClassifier",
    "MLPRegressor",
    "__version__",
    "from_sklearn",
]

"""Test-session settings."""

import os

# scikit-learn's estimator checks run their array-API input check only when
# scipy's array-API support is switched on (it must be set before scipy loads).
os.environ.setdefault("SCIPY_ARRAY_API", "1")

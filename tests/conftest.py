"""Test-session settings."""

import os

# scikit-learn's estimator checks run their array-API input check only when
# scipy's array-API support is switched on (it must be set before scipy loads).
os.environ.setdefault("SCIPY_ARRAY_API", "1")

# The suite trains hundreds of activation and loss combinations: compiled
# loops holding every kernel serve them all with one compile per dtype and
# input kind (fastmlp._engine.KERNEL_SETS). tests/test_compilation.py checks
# the default, specialized loops and that both give the same bits.
os.environ.setdefault("FASTMLP_KERNELS", "all")

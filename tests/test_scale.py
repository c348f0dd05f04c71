"""Scale: one epoch on 2,000,000 x 50 float32 rows with a (128, 128) network
needs less extra memory than twice the input: no copy of X beyond what
validation needs, and nothing per epoch that grows with n_samples beyond the
row order and the targets."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import json, re, warnings
    import numpy as np
    from fastmlp import MLPClassifier

    def status(field):
        with open("/proc/self/status") as f:
            return int(re.search(field + r":\\s+(\\d+) kB", f.read()).group(1)) * 1024

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    MLPClassifier((128, 128), max_iter=1, random_state=0).fit(  # compile first
        rng.standard_normal((400, 50), dtype=np.float32), rng.integers(0, 2, 400)
    )
    X = rng.standard_normal((2_000_000, 50), dtype=np.float32)
    y = (X[:, :5].sum(axis=1) > 0).astype(np.int64)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current RSS
    before = status("VmRSS")
    model = MLPClassifier((128, 128), max_iter=1, random_state=0).fit(X, y)
    print(json.dumps({
        "input": X.nbytes,
        "extra_peak": status("VmHWM") - before,
        "score": model.score(X[:20000], y[:20000]),
    }))
    """
)


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="Linux only")
def test_two_million_rows_fit_in_less_than_twice_the_input():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-2000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    # the promise is < 2x the input; measured 0.29x (the row order, targets,
    # weights and validation); 0.5x fails on any full copy of X
    assert measured["extra_peak"] < 0.5 * measured["input"], measured
    assert measured["score"] > 0.9  # it did train

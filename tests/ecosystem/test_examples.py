"""Every script in examples/ runs to completion (a smoke test, so none rots)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.py"))

# the extra and its modules an example needs (without them the example exits
# with a note; the test reports a skip instead of a pass)
REQUIREMENTS = {"onnx_export.py": ("onnx", ["skl2onnx", "onnxruntime"])}


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(script, tmp_path):
    extra, modules = REQUIREMENTS.get(script.name, (None, []))
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(
            f'{script.name} needs {", ".join(missing)} (pip install "fastmlp[{extra}]")'
        )
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr

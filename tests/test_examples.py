"""Every script in examples/ runs to completion (a smoke test, so none rots)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(script, tmp_path):
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_benchmark_quickstart_runs(tmp_path):
    script = Path(__file__).parents[1] / "benchmarks" / "run.py"
    out = tmp_path / "result.json"
    result = subprocess.run(
        [sys.executable, str(script), "--quick", "--repeats", "1", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(
        r"fastmlp is \d+\.\dx (faster|slower) than scikit-learn", result.stdout
    )
    assert out.exists()

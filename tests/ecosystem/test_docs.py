"""README's headline numbers are copies of measured ones in docs/benchmarks.md.

Every number on the front page must come from a run that docs/benchmarks.md
describes (machine, versions, command, load), so that none is invented or
left behind when the measurements are redone.
"""

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)+(?:e-\d+)?x?")


def test_readme_headline_numbers_are_measured():
    readme = (ROOT / "README.md").read_text()
    headline = readme.split("\n## Headline numbers\n", 1)[1].split("\n## ", 1)[0]
    measured = set(NUMBER.findall((ROOT / "docs" / "benchmarks.md").read_text()))
    numbers = NUMBER.findall(headline)
    assert len(numbers) > 20
    assert [n for n in numbers if n not in measured] == []

"""The declared floors of pyproject.toml, for CI's minimum-versions job.

    python .ci/minimum_versions.py           pip constraints: name==floor, one a line
    python .ci/minimum_versions.py --python  the oldest Python allowed, e.g. 3.10

Every runtime dependency must declare a ``>=`` floor, so that the floors are
written once (in pyproject.toml) and the job pins all of them. Needs Python
3.11+ (tomllib); CI runs it with the main job's interpreter.
"""

import re
import sys
from pathlib import Path

import tomllib

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*([0-9][0-9.]*)\s*$")


def main(argv):
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    if argv == ["--python"]:
        match = re.fullmatch(r">=\s*([0-9]+\.[0-9]+)", project["requires-python"])
        if match is None:
            sys.exit(f"requires-python is not '>=X.Y': {project['requires-python']}")
        print(match.group(1))
        return
    if argv:
        sys.exit(__doc__)
    for requirement in project["dependencies"]:
        match = FLOOR.match(requirement)
        if match is None:
            sys.exit(f"dependency without a single '>=' floor: {requirement!r}")
        print(f"{match.group(1)}=={match.group(2)}")


if __name__ == "__main__":
    main(sys.argv[1:])

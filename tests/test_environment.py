"""conda users get the same environment: environment.yml names the dependencies pyproject.toml declares."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement):
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in project["dependencies"] + sum(project["optional-dependencies"].values(), [])}
    conda, in_dependencies = set(), False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if not line.startswith(" "):
            in_dependencies = line.startswith("dependencies:")
        item = line.strip()
        if in_dependencies and item.startswith("- ") and not item.endswith(":") and not item.startswith("- -e"):
            conda.add(_name(item[2:]))
    conda -= {"python", "pip"}
    assert conda == declared


def test_environment_yml_installs_the_project_itself_with_pip():
    assert "- -e ." in (ROOT / "environment.yml").read_text()

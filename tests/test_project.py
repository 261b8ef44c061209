"""The project's set-up files agree with each other and with the README."""

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _declared() -> dict[str, str]:
    proj = _pyproject()["project"]
    reqs = list(proj["dependencies"])
    for name, extra in proj["optional-dependencies"].items():
        reqs += [r for r in extra if not r.startswith("spectral-explorer")]
    out = {}
    for r in map(Requirement, reqs):
        out[canonicalize_name(r.name)] = str(r.specifier)
    return out


def test_environment_yml_agrees_with_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    reqs = [Requirement(r) for r in pip_section if not r.startswith("-")]
    listed = {canonicalize_name(r.name): str(r.specifier) for r in reqs}
    assert listed == _declared()
    assert "-c .ci/constraints.txt" in pip_section and "-e ." in pip_section


def test_constraints_pin_every_dependency_and_torch():
    pins = {}
    for line in (ROOT / ".ci" / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            r = Requirement(line)
            pins[canonicalize_name(r.name)] = str(r.specifier)
    assert pins["torch"] == "==2.13.0"
    missing = set(_declared()) - set(pins)
    assert not missing, f"dependencies without a pin in .ci/constraints.txt: {missing}"
    for name, spec in _declared().items():
        version = pins[name].removeprefix("==")
        assert Requirement(f"{name}{spec}").specifier.contains(version), (name, spec, version)


def test_readme_commands_and_ci_agree():
    readme = (ROOT / "README.md").read_text()
    assert "bash .ci/dev serve" in readme
    assert "bash .ci/dev test" in readme
    run = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"bash \.ci/dev test", run)
    assert _pyproject()["project"]["scripts"]["spectral-explorer"] == "spectral_explorer.cli:main"


def test_compute_layer_never_imports_ui():
    ui = re.compile(r"^\s*(import|from)\s+(panel|holoviews|bokeh|ipywidgets|param)\b", re.M)
    pkg = ROOT / "spectral_explorer"
    # the UI layers: viz/, explorers/ and the command line (``serve`` runs Panel's server)
    offenders = [str(p.relative_to(ROOT)) for p in pkg.rglob("*.py")
                 if p.parent.name not in ("viz", "explorers") and p != pkg / "cli.py" and ui.search(p.read_text())]
    assert not offenders, offenders

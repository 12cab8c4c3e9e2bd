"""Packaging: lazy imports, resources found, pyproject and environment.yml in step."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_import_is_lazy():
    code = ("import sys, behavnb; "
            "print(sorted(m for m in ('pandas', 'xarray', 'torch', 'movement', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_resources_found():
    from behavnb import resources

    assert (resources.manifest_dir() / "embedded-demo" / "dataset.yaml").exists()
    assert (resources.notebooks_dir() / "01_import.ipynb").exists()


def _conda_specs(path: Path) -> dict[str, str]:
    deps = yaml.safe_load(path.read_text())["dependencies"]
    specs = [d for d in deps if isinstance(d, str)]
    specs += [d for block in deps if isinstance(block, dict) for d in block.get("pip", []) if not d.startswith("-e")]
    return dict(_split(d) for d in specs)


def _split(spec: str) -> tuple[str, str]:
    name = re.split(r"[<>=!]", spec, maxsplit=1)[0].strip().lower()  # extras stay: dask[distributed]
    return name, spec[len(name):].strip()


CONDA_NAME = {"tables": "pytables", "torch": "pytorch", "matplotlib": "matplotlib-base",
              "opencv-python-headless": "py-opencv", "dask[distributed]": "dask"}


@pytest.mark.parametrize("env_file, extras", [("environment.yml", ["test"]), ("binder/environment.yml", [])])
def test_environment_files_match_pyproject(env_file, extras):
    """Every dependency of pyproject (and its test extra, for the root file) is in the conda file, same bound."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + [d for e in extras for d in project["optional-dependencies"][e]]
    env = _conda_specs(ROOT / env_file)
    for dep in deps:
        name, bound = _split(dep)
        name = CONDA_NAME.get(name, name)
        if env_file.startswith("binder") and name == "pytorch":
            name = "pytorch-cpu"  # Binder has no GPU
        assert name in env, f"{name} in pyproject but not {env_file}"
        assert env[name] == bound, f"{name}: pyproject {bound!r} vs {env_file} {env[name]!r}"


def test_notebooks_are_stripped_and_parameterised():
    import json

    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(nb_path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert not any(c.get("outputs") or c.get("execution_count") for c in code), f"{nb_path.name} has outputs"
        assert "parameters" in code[0]["metadata"].get("tags", []), f"{nb_path.name}: first code cell not tagged"
        assert nb["cells"][0]["cell_type"] == "markdown"


def test_notebooks_install_themselves_on_colab():
    """Right after the parameters, every notebook has a cell that installs behavnb when (and only when) it runs on
    Google Colab."""
    import json

    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        code = [c for c in json.loads(nb_path.read_text())["cells"] if c["cell_type"] == "code"]
        src = "".join(code[1]["source"])
        assert '"google.colab" in sys.modules' in src and "pip" in src, f"{nb_path.name}: no Colab install cell"

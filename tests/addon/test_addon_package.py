"""The extension package: manifest rules, the zip's layout, Blender's own validator, no heavy imports."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from addon_support import ADDON, BPY_VENVS, REPO

import diffv2m

MANIFEST = tomllib.loads((REPO / "blender_manifest.toml").read_text(encoding="utf-8"))
# The add-on runs inside Blender's Python: stdlib and bpy only (no torch, numpy or server code).
ALLOWED_IMPORTS = {
    "__future__", "bpy", "ipaddress", "json", "mimetypes", "os", "queue", "random", "re", "shlex", "socket",
    "subprocess", "threading", "time", "urllib", "uuid", "collections", "dataclasses", "fractions", "typing",
    "itertools", "math", "blf",
}  # fmt: skip
PLAIN_MODULES = {"timeline", "naming", "client", "jobs", "connection", "text"}


def blender_ext_paths() -> list[Path]:
    """Blender's extension tool from each installed bpy wheel (what ``blender --command extension`` runs)."""
    found = []
    for venv in BPY_VENVS.values():
        found += sorted(
            (REPO / venv).glob("lib/python3*/site-packages/bpy/*/scripts/addons_core/bl_pkg/cli/blender_ext.py")
        )
    return found


def test_manifest_follows_the_schema():
    required = {"schema_version", "id", "version", "name", "tagline", "maintainer", "type", "license",
                "blender_version_min"}  # fmt: skip
    assert required <= MANIFEST.keys()
    assert MANIFEST["schema_version"] == "1.0.0" and MANIFEST["type"] == "add-on"
    assert MANIFEST["id"].isidentifier() and "__" not in MANIFEST["id"] and not MANIFEST["id"].startswith("_")
    # Validator rule: at most 64 characters, ending in a letter, digit or closing bracket.
    assert len(MANIFEST["tagline"]) <= 64 and (MANIFEST["tagline"][-1].isalnum() or MANIFEST["tagline"][-1] in ")]}")
    assert MANIFEST["blender_version_min"] == "4.2.0"
    assert MANIFEST["license"] == ["SPDX:GPL-3.0-or-later"]
    assert set(MANIFEST["permissions"]) == {"network", "files"}
    assert all(len(why) <= 64 and (why[-1].isalnum() or why[-1] in ")]}") for why in MANIFEST["permissions"].values())
    assert MANIFEST["version"] == diffv2m.__version__


def test_zip_has_the_addon_at_its_root(extension_zip):
    with zipfile.ZipFile(extension_zip) as archive:
        names = set(archive.namelist())
    assert {"blender_manifest.toml", "__init__.py", "operators.py", "panel.py", "client.py"} <= names
    assert names == {"blender_manifest.toml"} | {p.name for p in ADDON.glob("*.py") if p.name != "build.py"}


@pytest.mark.parametrize("tool", blender_ext_paths() or [None], ids=lambda p: p.parts[-6] if p else "none")
def test_blender_validates_both_builds(tool, tmp_path):
    if tool is None:
        pytest.skip("no bpy venv: run scripts/setup.sh --test")
    built = {}
    for mode in ("--plain", f"--blender-ext={tool}"):
        out = tmp_path / mode.strip("-").split("=")[0]
        done = subprocess.run([sys.executable, str(ADDON / "build.py"), "--output-dir", str(out), mode, "--validate"],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        archive = Path(done.stdout.strip().splitlines()[-1])
        with zipfile.ZipFile(archive) as handle:
            built[mode] = sorted(handle.namelist())
    assert built["--plain"] == built[f"--blender-ext={tool}"], "the plain zip must match Blender's build"


@pytest.mark.parametrize("tool", blender_ext_paths() or [None], ids=lambda p: p.parts[-6] if p else "none")
def test_blenders_own_build_of_the_repository_root_is_the_extension(tool, tmp_path):
    """``blender --command extension build`` run at the repository root (it runs this blender_ext.py
    there): the manifest's [build] section keeps only the extension, and Blender validates it.
    Fails without the [build] section (the whole repository, no __init__.py at the root)."""
    if tool is None:
        pytest.skip("no bpy venv: run scripts/setup.sh --test")
    archive = tmp_path / "root-build.zip"
    tags = f"--valid-tags={_tags(tool)}"
    done = subprocess.run([sys.executable, str(tool), "build", "--source-dir", str(REPO),
                           "--output-filepath", str(archive), tags],
                          capture_output=True, text=True, timeout=120, cwd=REPO)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    with zipfile.ZipFile(archive) as handle:
        names = set(handle.namelist())
    addon_modules = {f"addon/{p.name}" for p in ADDON.glob("*.py") if p.name != "build.py"}
    assert names == {"blender_manifest.toml", "__init__.py"} | addon_modules
    done = subprocess.run([sys.executable, str(tool), "validate", str(archive), tags],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def _tags(tool: Path) -> str:
    tags = tool.parents[3] / "modules" / "_bpy_internal" / "extensions" / "tags.py"
    return str(tags) if tags.is_file() else ""


def test_validator_rejects_a_broken_manifest(tmp_path):
    tools = blender_ext_paths()
    if not tools:
        pytest.skip("no bpy venv: run scripts/setup.sh --test")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "__init__.py").write_text("")
    text = (
        (REPO / "blender_manifest.toml")
        .read_text(encoding="utf-8")
        .replace('id = "diffv2m_score"', 'id = "diffv2m-score"')
    )
    (bad / "blender_manifest.toml").write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, str(tools[0]), "validate", str(bad)], capture_output=True, text=True)
    assert done.returncode != 0 and "id" in done.stdout + done.stderr


def test_addon_imports_only_stdlib_and_bpy():
    for path in ADDON.glob("*.py"):
        if path.name == "build.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= ALLOWED_IMPORTS, f"{path.name} imports {roots - ALLOWED_IMPORTS}"
            if path.stem in PLAIN_MODULES:
                assert "bpy" not in roots, f"{path.name} must stay free of bpy (it runs in the worker thread)"

"""Build the extension zip: ``python addon/build.py [--output-dir dist] [--blender-ext PATH]``.

The manifest lives at the repository's top level and the add-on in ``addon/``,
but an extension zip needs both at its root. This script stages the manifest
plus the add-on's modules (not this file) in a temporary folder, then:

- runs Blender's own builder, ``blender_ext.py build`` (what ``blender --command
  extension build`` runs; it needs only Python >= 3.11), found via
  ``--blender-ext``, ``$BLENDER_EXT``, a ``.venv-bpy*`` venv at the repository
  root, or ``blender`` on PATH;
- or, with none of those, writes the same layout with zipfile (``--plain``
  forces this).

Prints the zip's path. ``--validate`` also runs Blender's validator on it (the same
``blender_ext.py``, else ``blender --command extension validate``).
``blender --command extension build`` at the repository root makes the other
valid layout (the manifest's ``[build]`` section; the root ``__init__.py`` imports addon/).
Not part of the extension (excluded from the zip).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ADDON_DIR = Path(__file__).resolve().parent
REPO = ADDON_DIR.parent
MANIFEST = REPO / "blender_manifest.toml"
_EXCLUDED = {"build.py"}


def addon_files() -> list[Path]:
    """The files that make up the extension (besides the manifest)."""
    return sorted(p for p in ADDON_DIR.glob("*.py") if p.name not in _EXCLUDED)


def find_blender_ext() -> Path | None:
    env = os.environ.get("BLENDER_EXT")
    if env and Path(env).is_file():
        return Path(env)
    pattern = str(
        REPO
        / ".venv-bpy*"
        / "lib"
        / "python3*"
        / "site-packages"
        / "bpy"
        / "*"
        / "scripts"
        / "addons_core"
        / "bl_pkg"
        / "cli"
        / "blender_ext.py"
    )
    found = sorted(glob.glob(pattern))
    return Path(found[-1]) if found else None


def valid_tags_for(blender_ext: Path) -> str:
    """The tags list shipped beside blender_ext.py (``""`` skips the tag check when absent)."""
    scripts = blender_ext.parents[3]
    tags = scripts / "modules" / "_bpy_internal" / "extensions" / "tags.py"
    return str(tags) if tags.is_file() else ""


def staged_manifest() -> str:
    """The manifest without its ``[build]`` section: that section picks the extension's files out
    of the repository root (for ``blender --command extension build`` there); the staged folder
    holds only those files already."""
    text = MANIFEST.read_text(encoding="utf-8")
    head, _, _ = text.partition("\n[build]\n")
    return head.rstrip() + "\n"


def stage(folder: Path) -> Path:
    """Copy the manifest and the add-on's modules into ``folder``; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST.name).write_text(staged_manifest(), encoding="utf-8")
    for path in addon_files():
        shutil.copy2(path, folder / path.name)
    return folder


def zip_name() -> str:
    manifest = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))
    return f"{manifest['id']}-{manifest['version']}.zip"


def build_plain(staged: Path, output: Path) -> Path:
    """The layout ``blender_ext.py build`` writes: manifest and modules at the zip's root."""
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(staged.iterdir()):
            archive.write(path, path.name)
    return output


def build_with_blender_ext(blender_ext: Path, staged: Path, output: Path) -> Path:
    command = [
        sys.executable,
        str(blender_ext),
        "build",
        "--source-dir",
        str(staged),
        "--output-filepath",
        str(output),
        f"--valid-tags={valid_tags_for(blender_ext)}",
    ]
    subprocess.run(command, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return output


def build_with_blender(blender: str, staged: Path, output: Path) -> Path:
    command = [
        blender,
        "--factory-startup",
        "--command",
        "extension",
        "build",
        "--source-dir",
        str(staged),
        "--output-filepath",
        str(output),
    ]
    subprocess.run(command, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return output


def validate(blender_ext: Path | None, archive: Path, blender: str | None = None) -> str:
    """Run Blender's validator on the zip, from ``blender_ext.py`` or else a ``blender`` binary;
    raises CalledProcessError (with its output) when it fails."""
    if blender_ext is not None:
        command = [sys.executable, str(blender_ext), "validate", str(archive)]
        command.append(f"--valid-tags={valid_tags_for(blender_ext)}")
    else:
        command = [str(blender), "--factory-startup", "--command", "extension", "validate", str(archive)]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return done.stdout


def build(output_dir: Path, blender_ext: Path | None = None, plain: bool = False) -> Path:
    output_dir.mkdir(parents=True, exist_ok=True)
    output = output_dir / zip_name()
    if output.exists():
        output.unlink()  # a rebuild of the same version replaces the old zip (build output, not user data)
    with tempfile.TemporaryDirectory(prefix="diffv2m-ext-") as tmp:
        staged = stage(Path(tmp) / "diffv2m_score")
        if plain:
            return build_plain(staged, output)
        blender_ext = blender_ext or find_blender_ext()
        if blender_ext:
            return build_with_blender_ext(blender_ext, staged, output)
        blender = shutil.which("blender")
        if blender:
            return build_with_blender(blender, staged, output)
        return build_plain(staged, output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Diff-V2M Score extension zip.")
    parser.add_argument("--output-dir", type=Path, default=REPO / "dist")
    parser.add_argument("--blender-ext", type=Path, default=None, help="path to Blender's blender_ext.py")
    parser.add_argument("--plain", action="store_true", help="write the zip with zipfile, without Blender's builder")
    parser.add_argument("--validate", action="store_true", help="also run blender_ext.py validate on the zip")
    args = parser.parse_args(argv)
    try:
        archive = build(args.output_dir, args.blender_ext, args.plain)
        if args.validate:
            checker = args.blender_ext or find_blender_ext()
            blender = None if checker else shutil.which("blender")
            if checker is None and blender is None:
                print(
                    "no blender_ext.py or blender found: pass --blender-ext or set BLENDER_EXT to validate",
                    file=sys.stderr,
                )
                return 1
            print(validate(checker, archive, blender).strip())
    except subprocess.CalledProcessError as exc:
        print(exc.stdout, file=sys.stderr)
        return 1
    print(archive)
    return 0


if __name__ == "__main__":
    sys.exit(main())

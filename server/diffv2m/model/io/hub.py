"""Download weights from the Hugging Face hub, for users who are online (tests never call this).

``download_weights("TaylorJi/Diff-V2M", cache_dir)`` fetches the released
``model_odf.ckpt`` + ``model_config_odf.json`` (about 6 GB, the SAO VAE
included); a repository in this project's format (``diffv2m.json`` at its
root) is fetched whole. Returns the local folder.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import WeightsError
from .sources import pick_config, prefer_odf

RELEASED_REPO = "TaylorJi/Diff-V2M"


def _pick_files(files: list[str]) -> list[str] | None:
    """Which repository files make one model: all of a project-format repo, else one ckpt and its config."""
    if "diffv2m.json" in files:
        return None  # everything
    checkpoints = prefer_odf(f for f in files if f.endswith(".ckpt"))
    config = pick_config(files)
    if not checkpoints or config is None:
        raise WeightsError("The hub repository has neither diffv2m.json nor a .ckpt with a config JSON.")
    return [checkpoints[0], config]


def download_weights(repo_id: str, cache_dir: str | Path, revision: str | None = None) -> Path:
    """Fetch the weights of ``repo_id`` into ``cache_dir``/hub and return the snapshot folder."""
    try:
        from huggingface_hub import list_repo_files, snapshot_download
        from huggingface_hub.errors import HfHubHTTPError
    except ImportError as exc:  # pragma: no cover - huggingface_hub is a dependency
        raise WeightsError("Downloading weights needs the huggingface_hub package.") from exc
    try:
        files = list_repo_files(repo_id, revision=revision)
        wanted = _pick_files(files)
        folder = snapshot_download(repo_id, revision=revision, cache_dir=Path(cache_dir) / "hub", allow_patterns=wanted)
    except (HfHubHTTPError, OSError, ValueError) as exc:
        raise WeightsError(f"The weights {repo_id} could not be downloaded: {str(exc).splitlines()[0]}.") from exc
    return Path(folder)

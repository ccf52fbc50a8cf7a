"""The paper's embedding metrics, run only when their packages and weights are already here.

- ``fad_vggish``: Fréchet Audio Distance on VGGish embeddings, ``frechet_audio_distance``
  (16 kHz, no PCA, no activation), generated folder vs a reference music folder;
- ``kl_panns``: KL divergence of PANNs CNN14 class posteriors between each
  generated track and the reference track of the same name, ``audioldm_eval``;
- ``imagebind``: mean cosine similarity of ImageBind's vision embedding of each
  video and the audio embedding of its track, ``imagebind`` (imagebind_huge).

These libraries fetch their weights from the internet on first use; this module
never lets them: each metric runs only when its checkpoint is already on disk
(paths below or the ``DIFFV2M_*`` variables), otherwise it is reported as
skipped with the reason. The evaluation's own metrics never depend on them.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from .results import EvalItem

Outcome = dict[str, object]  # {"value": float} or {"skipped": "why"}


def _skip(reason: str) -> Outcome:
    return {"skipped": reason}


def _first_existing(candidates: list[Path]) -> Path | None:
    return next((p for p in candidates if p.is_file()), None)


def _vggish_checkpoint() -> Path | None:
    import torch

    hub = Path(torch.hub.get_dir())
    found = sorted(hub.glob("checkpoints/vggish*.pth")) if hub.is_dir() else []
    repo = any(hub.glob("harritaylor_torchvggish*")) if hub.is_dir() else False
    return found[0] if found and repo else None


def fad_vggish(results_dir: Path, reference_dir: Path | None) -> Outcome:
    if importlib.util.find_spec("frechet_audio_distance") is None:
        return _skip("package frechet_audio_distance is not installed (pip install frechet_audio_distance)")
    if reference_dir is None:
        return _skip("needs a folder of reference music (--reference DIR)")
    if _vggish_checkpoint() is None:
        return _skip("VGGish weights are not in the torch hub cache (harritaylor/torchvggish); nothing is downloaded")
    from frechet_audio_distance import FrechetAudioDistance

    metric = FrechetAudioDistance(model_name="vggish", sample_rate=16000, use_pca=False, use_activation=False)
    return {"value": float(metric.score(str(reference_dir), str(results_dir), dtype="float32"))}


def _panns_checkpoint() -> Path | None:
    name = "Cnn14_16k_mAP=0.438.pth"
    env = os.environ.get("DIFFV2M_PANNS_CHECKPOINT")
    defaults = [Path("ckpt") / name, Path.home() / ".cache" / "audioldm_eval" / "ckpt" / name]
    return _first_existing([Path(env)] if env else defaults)


def kl_panns(results_dir: Path, reference_dir: Path | None, device: str) -> Outcome:
    if importlib.util.find_spec("audioldm_eval") is None:
        return _skip("package audioldm_eval is not installed")
    if reference_dir is None:
        return _skip("needs reference music named like the tracks (--reference DIR)")
    if _panns_checkpoint() is None:
        return _skip("PANNs CNN14 16 kHz weights not found (set DIFFV2M_PANNS_CHECKPOINT); nothing is downloaded")
    import torch
    from audioldm_eval import EvaluationHelper

    helper = EvaluationHelper(16000, torch.device(device), backbone="cnn14")
    scores = helper.main(str(results_dir), str(reference_dir))
    return {"value": float(scores["kullback_leibler_divergence_softmax"])}


def imagebind_score(items: list[EvalItem], device: str) -> Outcome:
    if importlib.util.find_spec("imagebind") is None:
        return _skip("package imagebind is not installed")
    env = os.environ.get("DIFFV2M_IMAGEBIND_CHECKPOINT")
    checkpoint = _first_existing([Path(env)] if env else [Path(".checkpoints") / "imagebind_huge.pth"])
    if checkpoint is None:
        return _skip("imagebind_huge.pth not found (set DIFFV2M_IMAGEBIND_CHECKPOINT); nothing is downloaded")
    import torch
    from imagebind import data
    from imagebind.models import imagebind_model
    from imagebind.models.imagebind_model import ModalityType

    model = imagebind_model.imagebind_huge(pretrained=False)
    model.load_state_dict(torch.load(checkpoint, map_location="cpu"))
    model.eval().to(device)
    with torch.no_grad():
        inputs = {
            ModalityType.VISION: data.load_and_transform_video_data([str(i.video) for i in items], device),
            ModalityType.AUDIO: data.load_and_transform_audio_data([str(i.audio) for i in items], device),
        }
        embeddings = model(inputs)
    similarity = torch.nn.functional.cosine_similarity(embeddings[ModalityType.VISION], embeddings[ModalityType.AUDIO])
    return {"value": float(similarity.mean())}


def embedding_metrics(
    items: list[EvalItem], results_dir: Path, reference_dir: Path | None, device: str = "cpu"
) -> dict[str, Outcome]:
    """Every optional metric: a value, or why it was skipped. A metric that fails is reported, not raised."""
    outcomes: dict[str, Outcome] = {}
    runs = {
        "fad_vggish": lambda: fad_vggish(results_dir, reference_dir),
        "kl_panns": lambda: kl_panns(results_dir, reference_dir, device),
        "imagebind": lambda: imagebind_score(items, device),
    }
    for name, run in runs.items():
        try:
            outcomes[name] = run()
        except Exception as exc:  # third-party code: report it, keep the weight-free results
            outcomes[name] = _skip(f"failed: {type(exc).__name__}: {exc}")
    return outcomes

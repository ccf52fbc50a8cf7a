"""Level-2 fusion: how the parallel semantic and rhythm cross-attentions are merged.

The paper's "timestep-aware fusion" ablation (research notes §3.4) maps to the
released code's ``attention_weight_type`` values. Each is one class here,
chosen by name in the DiT config:

=================  =======================  =======================================================
ours               released name            what it does
=================  =======================  =======================================================
``film_choose``    ``FiLM_choose``          post-attention FiLM on both, then a hard switch: the
                                            semantic branch where t > 0.2, the rhythm branch below
                                            (the released checkpoint; raw t, not sigma)
``film_sum``       ``FiLM``                 post-attention FiLM on both, then their sum
``gate``           ``…gate``                weighted fusion α(t)·h_sem + (1 − α(t))·h_rhy
``prefilm``        ``preFiLM``              FiLM on the context tokens before attention, mean after
``prefilm_gate``   ``preFiLM_gate``         pre-attention FiLM, then the weighted gate
``choose``         ``choose``               hard switch without FiLM
``semantic_only``  ``none`` / ``only_clip``  semantic branch only
``mean``           anything else            0.5·h_sem + 0.5·h_rhy
=================  =======================  =======================================================

A *branch hint* ("semantic" / "rhythm") lets a sampler that knows t on the host
skip the branch a hard switch discards; it never changes the result.
Everything a fusion computes from t alone (FiLM γ/β, the gate's α, the
switch's side) is one ``FusionStep``, made for a whole sampling schedule at
once (``DiffV2MTransformer.prepare_times``) instead of as tiny GEMMs per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

BranchHint = Literal["semantic", "rhythm"] | None

FUSION_VARIANTS = ("film_choose", "film_sum", "gate", "prefilm", "prefilm_gate", "choose", "semantic_only", "mean")
SWITCH_T = 0.2  # the released hard switch (raw diffusion time t)


def fusion_from_official(attention_weight_type: str) -> str:
    """Our variant name for a released ``attention_weight_type`` (same branch order as the released code)."""
    name = attention_weight_type
    if "preFiLM" in name:
        return "prefilm_gate" if "gate" in name else "prefilm"
    exact = {"FiLM_choose": "film_choose", "FiLM": "film_sum", "choose": "choose", "none": "semantic_only"}
    if name in exact:
        return exact[name]
    if name == "only_clip":
        return "semantic_only"
    if "FiLM" in name:
        raise ValueError(f"attention_weight_type '{name}' has no FiLM layers in the released code and cannot run")
    return "gate" if "gate" in name else "mean"


def branch_for(t: float, switch_t: float = SWITCH_T) -> Literal["semantic", "rhythm"]:
    """The branch a hard switch takes at host time ``t``, compared in float32 exactly as on the device."""
    return "semantic" if np.float32(t) > np.float32(switch_t) else "rhythm"  # host floats only: no device read


@dataclass
class FusionStep:
    """What a fusion needs of t, computed for a whole schedule at once (one row per time).

    A row broadcasts over the batch, so a schedule's table serves every step
    with one row and a per-sample ``t`` gives one row per sample.
    """

    semantic_side: torch.Tensor | None = None  # (S,) bool: t > SWITCH_T (hard switches)
    film: tuple[torch.Tensor, ...] | None = None  # σ(γ_sem), β_sem, σ(γ_rhy), β_rhy, each (S, dim)
    alpha: torch.Tensor | None = None  # (S, 1): the gate's weight on the semantic branch

    def rows(self, index: slice) -> FusionStep:
        """The rows ``index`` (a single row is shared by every sample and kept whole)."""

        def take(value: torch.Tensor | None) -> torch.Tensor | None:
            return value if value is None or value.shape[0] == 1 else value[index]

        film = None if self.film is None else tuple(take(v) for v in self.film)
        return FusionStep(take(self.semantic_side), film, take(self.alpha))


class TimeFiLM(nn.Module):
    """γ(t) = sigmoid(MLP(Linear(1→64)(t))), β(t) = MLP(…) for each branch (released layer shapes)."""

    def __init__(self, out_dim: int) -> None:
        super().__init__()
        self.t_linear = nn.Linear(1, 64)

        def mlp() -> nn.Sequential:
            return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, out_dim))

        self.gamma_sem, self.beta_sem, self.gamma_rhy, self.beta_rhy = mlp(), mlp(), mlp(), mlp()

    def step(self, t: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """σ(γ_sem), β_sem, σ(γ_rhy), β_rhy, each (S, out_dim), for times ``t`` (S,)."""
        t_embed = self.t_linear(t[:, None].to(self.t_linear.weight.dtype))
        return (
            torch.sigmoid(self.gamma_sem(t_embed)),
            self.beta_sem(t_embed),
            torch.sigmoid(self.gamma_rhy(t_embed)),
            self.beta_rhy(t_embed),
        )

    @staticmethod
    def modulate(film: tuple[torch.Tensor, ...], branch: str, h: torch.Tensor) -> torch.Tensor:
        gamma, beta = film[:2] if branch == "semantic" else film[2:]
        return h * gamma[:, None] + beta[:, None]


class Fusion(nn.Module):
    """Mean of both branches; subclasses override what differs."""

    hard_switch = False  # True: the output jumps at ``SWITCH_T`` (samplers restart multistep history there)
    modulates_contexts = False  # True: the contexts change with t (pre-attention FiLM), so their K/V do too

    def step(self, t: torch.Tensor) -> FusionStep:
        """Everything this fusion computes from the times ``t`` (S,) alone."""
        return FusionStep()

    def needs(self, hint: BranchHint) -> tuple[bool, bool]:
        """Which branches (semantic, rhythm) must be computed."""
        return True, True

    def modulate_contexts(
        self, step: FusionStep, semantic: torch.Tensor, rhythm: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return semantic, rhythm

    def combine(
        self, step: FusionStep, h_sem: torch.Tensor | None, h_rhy: torch.Tensor | None, hint: BranchHint
    ) -> torch.Tensor:
        assert h_sem is not None and h_rhy is not None
        return 0.5 * h_sem + 0.5 * h_rhy


class SemanticOnlyFusion(Fusion):
    def needs(self, hint: BranchHint) -> tuple[bool, bool]:
        return True, False

    def combine(
        self, step: FusionStep, h_sem: torch.Tensor | None, h_rhy: torch.Tensor | None, hint: BranchHint
    ) -> torch.Tensor:
        return h_sem


class ChooseFusion(Fusion):
    """Hard switch at t = 0.2, optionally after a post-attention FiLM (``film_choose``, the released one)."""

    hard_switch = True

    def __init__(self, dim: int, film: bool) -> None:
        super().__init__()
        self.film = TimeFiLM(dim) if film else None

    def step(self, t: torch.Tensor) -> FusionStep:
        return FusionStep(semantic_side=t > SWITCH_T, film=None if self.film is None else self.film.step(t))

    def needs(self, hint: BranchHint) -> tuple[bool, bool]:
        return hint != "rhythm", hint != "semantic"

    def combine(
        self, step: FusionStep, h_sem: torch.Tensor | None, h_rhy: torch.Tensor | None, hint: BranchHint
    ) -> torch.Tensor:
        if step.film is not None:
            h_sem = TimeFiLM.modulate(step.film, "semantic", h_sem) if h_sem is not None else None
            h_rhy = TimeFiLM.modulate(step.film, "rhythm", h_rhy) if h_rhy is not None else None
        if hint == "semantic":
            return h_sem
        if hint == "rhythm":
            return h_rhy
        return torch.where(step.semantic_side.view(-1, 1, 1), h_sem, h_rhy)


class FiLMSumFusion(Fusion):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.film = TimeFiLM(dim)

    def step(self, t: torch.Tensor) -> FusionStep:
        return FusionStep(film=self.film.step(t))

    def combine(
        self, step: FusionStep, h_sem: torch.Tensor | None, h_rhy: torch.Tensor | None, hint: BranchHint
    ) -> torch.Tensor:
        return TimeFiLM.modulate(step.film, "semantic", h_sem) + TimeFiLM.modulate(step.film, "rhythm", h_rhy)


class GatedFusion(Fusion):
    """α = sigmoid(Linear(SiLU(Linear(t)))); α·h_sem + (1−α)·h_rhy, optionally after pre-attention FiLM.

    Pre-attention FiLM modulates the context tokens (after ``to_cond_embed``).
    As released, each layer modulates the contexts the previous layer already
    modulated (the released blocks write the result back into the shared
    context list), so the DiT threads them from block to block.
    """

    def __init__(self, context_dim: int, gate: bool, prefilm: bool) -> None:
        super().__init__()
        self.film = TimeFiLM(context_dim) if prefilm else None
        self.modulates_contexts = prefilm
        self.gate = (
            nn.Sequential(nn.Linear(1, context_dim), nn.SiLU(), nn.Linear(context_dim, 1), nn.Sigmoid())
            if gate
            else None
        )

    def step(self, t: torch.Tensor) -> FusionStep:
        alpha = None if self.gate is None else self.gate(t[:, None].to(self.gate[0].weight.dtype))
        return FusionStep(film=None if self.film is None else self.film.step(t), alpha=alpha)

    def modulate_contexts(
        self, step: FusionStep, semantic: torch.Tensor, rhythm: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if step.film is None:
            return semantic, rhythm
        return TimeFiLM.modulate(step.film, "semantic", semantic), TimeFiLM.modulate(step.film, "rhythm", rhythm)

    def combine(
        self, step: FusionStep, h_sem: torch.Tensor | None, h_rhy: torch.Tensor | None, hint: BranchHint
    ) -> torch.Tensor:
        if step.alpha is None:
            return 0.5 * h_sem + 0.5 * h_rhy
        alpha = step.alpha[:, :, None]
        return alpha * h_sem + (1 - alpha) * h_rhy


def build_fusion(variant: str, dim: int, context_dim: int) -> Fusion:
    """The fusion module for ``variant`` (one of ``FUSION_VARIANTS``)."""
    builders = {
        "film_choose": lambda: ChooseFusion(dim, film=True),
        "choose": lambda: ChooseFusion(dim, film=False),
        "film_sum": lambda: FiLMSumFusion(dim),
        "gate": lambda: GatedFusion(context_dim, gate=True, prefilm=False),
        "prefilm": lambda: GatedFusion(context_dim, gate=False, prefilm=True),
        "prefilm_gate": lambda: GatedFusion(context_dim, gate=True, prefilm=True),
        "semantic_only": SemanticOnlyFusion,
        "mean": Fusion,
    }
    if variant not in builders:
        raise ValueError(f"unknown fusion '{variant}'; choose one of {', '.join(FUSION_VARIANTS)}")
    return builders[variant]()

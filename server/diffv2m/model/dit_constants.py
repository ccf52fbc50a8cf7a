"""What the DiT computes once instead of at every sampling step.

Within one sampling run the conditioning does not change, and within one
schedule the times are known before the first step. So:

* ``RunConstants`` (``DiffV2MTransformer.prepare``, once per run): the
  context embeddings (``to_cond_embed``), every block's cross-attention K/V
  and the global embedding. With CFG it also holds the exact cross-attention
  outputs of the unconditional half, whose contexts are all null (see
  ``CrossAttention.constant_context``), so that half attends to nothing.
* ``StepConstants`` (``DiffV2MTransformer.prepare_times``, once per schedule):
  the timestep embedding and every block's ``FusionStep`` (FiLM γ/β, gate α,
  switch side), one row per time, as a few GEMMs over all times instead of
  about 120 tiny ones per step.

The model still reads like the paper's Figure 1: the blocks take these in
place of raw contexts and t.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .fusion import FusionStep
from .layers import AttentionInputs


@dataclass
class Context:
    """One embedded token context of a run."""

    tokens: torch.Tensor  # (Bc, M, C) after to_cond_embed: the conditional rows
    mask: torch.Tensor | None  # (Bc, 1, 1, M) bool
    null: torch.Tensor | None  # (Bn, 1, C): the one token every null row's context consists of; None: no null rows


@dataclass
class BlockInputs:
    """One block's cross-attention inputs. Level 2 is ``None`` where the fusion modulates the contexts with t
    (pre-attention FiLM): their K/V are then made at every step from the chained contexts."""

    emotion: AttentionInputs | None
    semantic: AttentionInputs | None
    rhythm: AttentionInputs | None


@dataclass
class RunConstants:
    """Everything the DiT needs of the conditioning for a whole sampling run."""

    global_embed: torch.Tensor  # (Bc + Bn, D): the null rows keep the global vector (released CFG)
    semantic: Context
    rhythm: Context
    emotion: Context | None
    blocks: list[BlockInputs]

    @property
    def null_rows(self) -> int:
        return 0 if self.semantic.null is None else self.semantic.null.shape[0]

    @property
    def batch_size(self) -> int:
        return self.global_embed.shape[0]


@dataclass
class StepConstants:
    """Everything the DiT computes from t alone, one row per time (a single row serves the whole batch)."""

    timestep_embed: torch.Tensor  # (S, D)
    fusion: list[FusionStep]  # one per block

    def rows(self, index: slice) -> StepConstants:
        take = self.timestep_embed if self.timestep_embed.shape[0] == 1 else self.timestep_embed[index]
        return StepConstants(take, [step.rows(index) for step in self.fusion])

    def __len__(self) -> int:
        return self.timestep_embed.shape[0]

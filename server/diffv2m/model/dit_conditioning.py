"""What the DiT is conditioned on: token contexts with their masks, and the global vector.

``DiTConditioning`` is the one object that flows from the conditioners (or a
conformance case) into the DiT and the samplers. Masks are boolean, True for
tokens that may be attended to.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch


@dataclass
class DiTConditioning:
    semantic: torch.Tensor  # (B, Ms, C) CLIP tokens + seconds_start + seconds_total
    semantic_mask: torch.Tensor  # (B, Ms) bool
    rhythm: torch.Tensor  # (B, Mr, C) predicted-rhythm tokens + seconds tokens
    rhythm_mask: torch.Tensor  # (B, Mr) bool
    global_cond: torch.Tensor  # (B, G) seconds_start, seconds_total, class embeddings
    # Level-1 ("emotion") context: colour tokens in the paper's design, the rhythm
    # context again in the released checkpoint, None where the model has no level 1.
    emotion: torch.Tensor | None = None
    emotion_mask: torch.Tensor | None = None

    @property
    def batch_size(self) -> int:
        return self.semantic.shape[0]

    def unconditional(self) -> DiTConditioning:
        """The released CFG null condition: every context zeroed, the same masks, the same global vector."""
        return replace(
            self,
            semantic=torch.zeros_like(self.semantic),
            rhythm=torch.zeros_like(self.rhythm),
            emotion=None if self.emotion is None else torch.zeros_like(self.emotion),
        )

    def with_guidance_batch(self) -> DiTConditioning:
        """[conditional; unconditional] stacked on the batch axis, as the released batched CFG runs them."""
        return concat([self, self.unconditional()])

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> DiTConditioning:
        def move(value: torch.Tensor | None) -> torch.Tensor | None:
            if value is None:
                return None
            if value.dtype == torch.bool:
                return value.to(device)
            return value.to(device=device, dtype=dtype)

        return DiTConditioning(**{f.name: move(getattr(self, f.name)) for f in fields(self)})


def concat(items: list[DiTConditioning]) -> DiTConditioning:
    """Stack conditionings on the batch axis (all must agree on having a level-1 context)."""
    values = {}
    for f in fields(DiTConditioning):
        parts = [getattr(item, f.name) for item in items]
        if any(p is None for p in parts):
            if not all(p is None for p in parts):
                raise ValueError(f"cannot batch conditionings where only some have '{f.name}'")
            values[f.name] = None
        else:
            values[f.name] = torch.cat(parts, dim=0)
    return DiTConditioning(**values)

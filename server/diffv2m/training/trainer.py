"""The training loop of ``diffv2m train``: the paper's recipe (research notes §5).

AdamW (lr 1e-4, betas 0.9/0.999, weight decay 1e-3) with InverseLR warm-up;
joint DiT + rhythm-predictor training (``step.TrainingModule``); scheduled
conditioning p_real(epoch); EMA of the DiT (0.9999, warm-up power 3/4, diffusers'
``EMAModel``); bf16 autocast on GPU; gradient accumulation; a checkpoint every
``checkpoint_every`` optimiser steps; exact resume; DDP under torchrun.

Outputs in ``output``: ``log.jsonl`` (one line per optimiser step),
``checkpoints/step-*/``, and at the end ``weights/`` (online DiT, what the
released inference used) and ``weights-ema/`` in the project weights format,
which ``diffv2m serve --weights`` and ``DiffV2MEngine`` load directly.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers.training_utils import EMAModel

from ..errors import InputError
from ..model.io.pretrained import save_pretrained
from .checkpoint import Position, latest_checkpoint, load_checkpoint, save_checkpoint
from .config import RunConfig
from .dataset import WindowDataset, batches_per_epoch, epoch_loader, load_prepared
from .distributed import Dist, setup, teardown, wrap
from .model_setup import build_stack
from .schedule import InverseLR, p_real
from .step import StepDraws, TrainingModule

Log = Callable[[str], None]


@dataclass
class TrainResult:
    steps: int
    last_loss: float
    output: Path
    weights: Path | None
    ema_weights: Path | None


def _autocast(config: RunConfig, device: torch.device) -> Any:
    mode = config.train.mixed_precision
    if mode == "auto":
        mode = "bf16" if device.type == "cuda" else "no"
    if mode == "no":
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


class Trainer:
    def __init__(self, config: RunConfig, dist: Dist | None = None, log: Log = print) -> None:
        self.config = config
        self.dist = dist or setup(config.train.device)
        self.log = log if self.dist.main else (lambda _: None)
        train = config.train
        if train.threads > 0:
            torch.set_num_threads(train.threads)
        self.prepared = load_prepared(config.data)
        torch.manual_seed(train.seed)  # a fresh model's initial weights
        self.stack = build_stack(config.model, self.prepared.settings.get("vae"))
        device = self.dist.device
        self.module = TrainingModule(self.stack, config.model.emotion_source, train.rhythm_loss_weight).to(device)
        self.module.train()
        if not self.prepared.has_latents:
            self.stack.vae.to(device)  # no stored latents: encode each window's audio on the fly
        params = [p for p in self.module.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=train.lr, betas=train.betas, weight_decay=train.weight_decay)
        self.scheduler = InverseLR(self.optimizer, train.inv_gamma, train.lr_power, train.warmup)
        self.ema = (
            EMAModel(
                self.stack.transformer.parameters(), decay=train.ema_decay, use_ema_warmup=True, power=train.ema_power
            )
            if self.dist.main
            else None
        )
        self.position = Position()
        self.dataset = WindowDataset(self.prepared, self.stack.max_seconds, train.rhythm)
        self.wrapped = wrap(self.module, self.dist)

    # --- state ------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "module": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "config": asdict(self.config.train),
        }

    def restore(self, path: Path) -> None:
        position, state = load_checkpoint(path)
        try:
            self.module.load_state_dict(state["module"])
        except RuntimeError as exc:
            raise InputError(f"The checkpoint {path} does not fit this model configuration.") from exc
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])
        self.position = position
        self.log(f"resumed from {path} (step {position.step}, epoch {position.epoch}, batch {position.batch})")

    def save(self) -> Path | None:
        path = None
        if self.dist.main:
            path = save_checkpoint(self.config.output, self.position, self.state(), self.config.train.keep_checkpoints)
            self.log(f"checkpoint: {path}")
        self.dist.barrier()
        return path

    # --- one micro-batch -----------------------------------------------------------------
    def _moments(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The VAE posterior (mean, std) of the batch's windows: stored by prepare, or encoded now."""
        if "latent_mean" in batch:
            return batch["latent_mean"], batch["latent_std"]
        return self.stack.encode(batch["audio"])  # frozen VAE, no_grad

    def _generator(self, micro: int) -> torch.Generator:
        """The random stream of one micro-batch: a function of (seed, rank, step, micro-batch) only,
        so a resumed run, on any number of processes, draws exactly what an unbroken one would."""
        words = np.random.SeedSequence([self.config.train.seed, self.dist.rank, self.position.step, micro])
        return torch.Generator().manual_seed(int(words.generate_state(1, np.uint64)[0] >> 1))

    def _micro_step(self, batch: dict[str, torch.Tensor], probability: float, micro: int) -> dict[str, float]:
        device = self.dist.device
        batch = {key: value.to(device) for key, value in batch.items()}
        size = batch["clip"].shape[0]
        sync = micro + 1 == self.config.train.grad_accum
        mean, std = self._moments(batch)
        draws = StepDraws.draw(
            self._generator(micro), size, tuple(mean.shape[1:]), probability, self.config.train.cfg_dropout
        ).to(device)
        latents = mean + std * draws.latent_noise
        no_sync = self.wrapped.no_sync if (self.dist.world > 1 and not sync) else nullcontext
        with no_sync(), _autocast(self.config, device):
            losses = self.wrapped(batch, latents, draws)
            (losses["loss"] / self.config.train.grad_accum).backward()
        return {key: float(value.detach()) for key, value in losses.items()}

    def _optimizer_step(self) -> None:
        clip = self.config.train.grad_clip
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(self.module.parameters(), clip)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.step(self.stack.transformer.parameters())
        self.position.step += 1

    def _mean_losses(self, pending: list[dict[str, float]]) -> dict[str, float]:
        """Losses of one optimiser step, averaged over its micro-batches and (under DDP) over all processes."""
        keys = list(pending[0])
        values = torch.tensor([sum(p[key] for p in pending) / len(pending) for key in keys], dtype=torch.float64)
        if self.dist.world > 1:
            values = values.to(self.dist.device)
            torch.distributed.all_reduce(values)
            values = values.cpu() / self.dist.world
        return dict(zip(keys, values.tolist(), strict=True))

    # --- the loop ---------------------------------------------------------------------
    def _done(self) -> bool:
        train = self.config.train
        return self.position.epoch >= train.epochs or bool(train.max_steps and self.position.step >= train.max_steps)

    def run(self) -> TrainResult:
        train = self.config.train
        output = self.config.output
        if self.dist.main:
            output.mkdir(parents=True, exist_ok=True)
        per_epoch = batches_per_epoch(len(self.dataset), train.batch_size, self.dist.world)
        self.log(
            f"training on {len(self.dataset)} windows, {per_epoch} batches of {train.batch_size} per epoch"
            f"{f' on {self.dist.world} processes' if self.dist.world > 1 else ''}, device {self.dist.device}"
        )
        log_file = (output / "log.jsonl").open("a") if self.dist.main else None
        pending: list[dict[str, float]] = []
        last_loss, started, saved_at = math.nan, time.perf_counter(), self.position.step
        try:
            while not self._done():
                probability = p_real(self.position.epoch, train.p_real_start, train.p_real_end)
                loader = epoch_loader(
                    self.dataset,
                    train.batch_size,
                    train.seed,
                    self.position.epoch,
                    self.position.batch,
                    self.dist.rank,
                    self.dist.world,
                    train.num_workers,
                )
                for batch in loader:
                    pending.append(self._micro_step(batch, probability, len(pending)))
                    self.position.batch += 1
                    if len(pending) < train.grad_accum:
                        continue
                    self._optimizer_step()
                    record = self._mean_losses(pending)
                    record |= {
                        "step": self.position.step,
                        "epoch": self.position.epoch,
                        "p_real": probability,
                        "lr": self.optimizer.param_groups[0]["lr"],
                    }
                    pending, last_loss = [], record["loss"]
                    if log_file is not None:
                        log_file.write(json.dumps(record) + "\n")
                        log_file.flush()
                    if self.position.step % train.log_every == 0 or self.position.step == 1:
                        rate = (self.position.step - saved_at) / max(time.perf_counter() - started, 1e-9)
                        self.log(
                            f"step {self.position.step} epoch {self.position.epoch} loss {record['loss']:.4f} "
                            f"(diffusion {record['diffusion_loss']:.4f}, rhythm {record['rhythm_loss']:.4f}) "
                            f"p_real {probability:.2f} lr {record['lr']:.2e} ({rate:.2f} steps/s)"
                        )
                    if self.position.step % train.checkpoint_every == 0:
                        self.save()
                    if self._done():
                        break
                else:
                    self.position.epoch += 1
                    self.position.batch = 0
        finally:
            if log_file is not None:
                log_file.close()
        if self.position.step % train.checkpoint_every != 0:
            self.save()
        weights, ema_weights = self.export()
        return TrainResult(self.position.step, last_loss, output, weights, ema_weights)

    def export(self) -> tuple[Path | None, Path | None]:
        """The trained model in the project weights format: online DiT and EMA DiT."""
        if not self.dist.main:
            return None, None
        output = self.config.output
        self.stack.info.source = f"trained by diffv2m train ({self.position.step} steps)"
        weights = save_pretrained(self.stack, output / "weights")
        assert self.ema is not None
        params = list(self.stack.transformer.parameters())
        self.ema.store(params)
        self.ema.copy_to(params)
        try:
            self.stack.info.source += ", EMA"
            ema_weights = save_pretrained(self.stack, output / "weights-ema")
        finally:
            self.ema.restore(params)
        self.log(f"weights: {weights} (online), {ema_weights} (EMA)")
        return weights, ema_weights


def train(config: RunConfig, resume: str | bool = False, log: Log = print) -> TrainResult:
    """Run (or continue) the training ``config`` describes. ``resume``: True = the latest checkpoint."""
    dist = setup(config.train.device)
    try:
        trainer = Trainer(config, dist, log)
        if resume:
            path = latest_checkpoint(config.output) if resume is True else Path(str(resume))
            if path is None:
                raise InputError(f"There is no checkpoint to resume in {config.output / 'checkpoints'}.")
            trainer.restore(path)
        elif latest_checkpoint(config.output) is not None:
            raise InputError(f"{config.output} already holds checkpoints; pass --resume or choose a new output.")
        return trainer.run()
    finally:
        teardown()

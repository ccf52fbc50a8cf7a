"""The frozen Oobleck VAE (Stable Audio Open's), via ``diffusers.AutoencoderOobleck``.

Two things the released configs allow and diffusers' class does not, added
here without rewriting the model:

* an encoder output width other than ``2 × latent_dim == encoder_hidden_size``
  (``encoder_latent_channels``: the encoder's last conv is rebuilt with that width);
* ``final_tanh`` on the decoder output, and the pretransform ``scale`` (latents are
  ``encoder mean / scale``; decoding multiplies back).

The released ``pretransform.model.*`` key names map onto diffusers' layout in
``io/official_names.vae_table``.
"""

from __future__ import annotations

import math
import warnings

import torch
from diffusers import AutoencoderOobleck
from diffusers.configuration_utils import register_to_config
from torch import nn
from torch.nn.utils import weight_norm


class DiffV2MAutoencoder(AutoencoderOobleck):
    @register_to_config
    def __init__(
        self,
        encoder_hidden_size: int = 128,
        downsampling_ratios: tuple[int, ...] = (2, 4, 4, 8, 8),
        channel_multiples: tuple[int, ...] = (1, 2, 4, 8, 16),
        decoder_channels: int = 128,
        decoder_input_channels: int = 64,
        audio_channels: int = 2,
        sampling_rate: int = 44100,
        encoder_latent_channels: int | None = None,
        final_tanh: bool = False,
        latent_scale: float = 1.0,
    ) -> None:
        with warnings.catch_warnings():  # diffusers' Oobleck uses torch's old (deprecated, equivalent) weight_norm
            warnings.simplefilter("ignore", FutureWarning)
            super().__init__(
                encoder_hidden_size=encoder_hidden_size,
                downsampling_ratios=list(downsampling_ratios),
                channel_multiples=list(channel_multiples),
                decoder_channels=decoder_channels,
                decoder_input_channels=decoder_input_channels,
                audio_channels=audio_channels,
                sampling_rate=sampling_rate,
            )
            latent_out = encoder_latent_channels or 2 * decoder_input_channels
            if latent_out != encoder_hidden_size:
                width = encoder_hidden_size * ([1, *channel_multiples])[-1]
                self.encoder.conv2 = weight_norm(nn.Conv1d(width, latent_out, kernel_size=3, padding=1))
        # a 30-s window (645 frames) decodes in one piece, exactly; longer latents in overlapping tiles
        self.tile_latent_min_length = 768
        self.tile_latent_overlap = 64

    @property
    def downsampling_ratio(self) -> int:
        return math.prod(self.config.downsampling_ratios)

    def encode_moments(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, channels, samples) → latent mean and stdev (softplus(scale) + 1e-4), each (B, latent, frames)."""
        posterior = self.encode(audio.to(self.dtype)).latent_dist
        scale = self.config.latent_scale
        return posterior.mean / scale, posterior.std / scale

    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, latent, frames) → audio (B, channels, frames × ratio). Long latents are decoded in tiles."""
        latents = latents.to(self.dtype) * self.config.latent_scale
        self.use_tiling = latents.shape[-1] > self.tile_latent_min_length
        audio = self.decode(latents).sample
        return torch.tanh(audio) if self.config.final_tanh else audio

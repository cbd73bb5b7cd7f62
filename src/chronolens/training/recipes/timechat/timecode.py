"""Making each video token's time readable: fixed read-outs of the digits of its time (recipe option).

TimeChat binds a frame to its time by giving the frame Q-Former the text "This frame is sampled
at 12.2s." as its instruction. In the tiny CPU configuration that binding does not happen by
itself: a ridge probe on run K's video tokens (docs/timechat.md, item 10) reads their time with
R^2 below zero. The LLM then falls back on counting positions (a token's index is readable from
its second layer on, R^2 0.86), and an answer's seconds are a nonlinear function of an index and
the video's length, so even a head that finds the event (68 % of its attention inside the span)
writes the wrong numbers.

``train.time_digits_weight > 0`` (``VideoTokenTimeDigits``) adds a loss that asks for the
binding directly: fixed, seeded, orthonormal read-out directions of the video token (ten per
decimal place: tens, ones and tenths of a second) must classify the digits of the time of the
frames the token summarises. The read-outs are not trained (nothing is added to the model or
its checkpoints); the frame Q-Former, the video Q-Former and the projection learn to write the
timestamp text's digits where they are read, and the LLM has a place-wise digit code to copy
into an answer. Measured (docs/timechat.md, item 10): the probe's R^2 rises to 0.94 and
held-out R1@0.5 from 13.3 to 28.9 in the same 2,500 steps. With an LLM wider than the tower,
the read-out directions are taken outside the subspace where the image-text options put the
words and frames (``space_map``), so the two losses do not compete; at equal widths they share
the token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from chronolens.training.recipes.timechat.align import ChunkMeans, space_map

if TYPE_CHECKING:
    from chronolens.models.timechat import TimeChatConfig

__all__ = ["VideoTokenTimeDigits", "time_digits"]

_PLACES = (100, 10, 1)  # the decimal places read, in tenths of a second: tens, ones, tenths


def time_digits(seconds: torch.Tensor) -> torch.Tensor:
    """``(..., 3)`` long: the tens, ones and tenths digits of ``seconds`` rounded to 0.1 s.

    Times of 100 s or more keep their last two digits before the point (``123.4`` -> 2, 3, 4).
    """
    tenths = torch.round(seconds.double().clamp_min(0.0) * 10).long()
    return torch.stack([(tenths // place) % 10 for place in _PLACES], dim=-1)


class VideoTokenTimeDigits:
    """Auxiliary loss: cross-entropy of fixed read-outs of each video token against its time's digits.

    A token's time is the mean time of the real frames of its chunk (``ChunkMeans``: with
    Lw = Nv, TimeChat's setting, one frame). Its logits for place ``k`` are ``scale`` times the
    cosine between the token and ten fixed orthonormal directions; tokens of chunks without
    real frames are left out.

    Args:
        config: the model's configuration (which frames each token summarises).
        llm_dim: width of the LLM's embeddings (the video tokens).
        tower_dim: width of the tower's image-text space; when ``llm_dim - tower_dim`` leaves
            room for the 30 directions they avoid that space as ``space_map(tower_dim, llm_dim,
            seed)`` places it (None: anywhere).
        seed: seeds the directions (and must match ``space_map``'s for the avoidance to hold).
        scale: logit scale of the cosines.
    """

    def __init__(
        self,
        config: TimeChatConfig,
        llm_dim: int,
        *,
        tower_dim: int | None = None,
        seed: int = 0,
        scale: float = 10.0,
    ) -> None:
        n = 10 * len(_PLACES)
        if llm_dim < n:
            raise ValueError(f"the time read-outs need {n} directions; the LLM is {llm_dim} wide")
        generator = torch.Generator().manual_seed(seed + 1)
        basis = torch.randn(llm_dim, n, generator=generator, dtype=torch.float64)
        if tower_dim is not None and llm_dim - tower_dim >= n:
            words = space_map(tower_dim, llm_dim, seed=seed).double().T  # (D_llm, D) orthonormal columns
            basis = basis - words @ (words.T @ basis)
        self.directions = torch.linalg.qr(basis).Q.float()  # (D_llm, 10 * places) orthonormal columns
        self.config = config
        self.scale = scale
        self.chunk_means = ChunkMeans(config)

    def token_times(
        self, timestamps: torch.Tensor, frame_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(times (U, V) seconds, valid (U, V) bool)``: the mean time of each token's real frames."""
        weights, valid = self.chunk_means(frame_mask.to(timestamps.device))  # (U, V, T)
        return (weights @ timestamps.float()[..., None])[..., 0], valid

    def __call__(
        self,
        tokens: torch.Tensor,
        token_mask: torch.Tensor,
        timestamps: torch.Tensor,
        frame_mask: torch.Tensor,
    ) -> torch.Tensor:
        """The loss of ``(U, V, D_llm)`` video tokens (``TimeChat.encode_video``) of ``(U, T)`` frames."""
        times, valid = self.token_times(timestamps, frame_mask)
        valid = valid & token_mask.bool()
        if not bool(valid.any()):
            return tokens.sum() * 0.0
        unit = torch.nn.functional.normalize(tokens[valid].float(), dim=-1)  # (N, D_llm)
        logits = self.scale * (unit @ self.directions.to(unit.device))  # (N, 10 * places)
        digits = time_digits(times[valid]).to(unit.device)  # (N, 3)
        return torch.nn.functional.cross_entropy(logits.reshape(-1, 10), digits.reshape(-1))

"""Moment-DETR / QD-DETR prediction over a video of any length (Lighthouse-style predictor).

A head is trained on windows of at most ``max_clips`` clips (75 x 2 s = 150 s). A longer video is
cut into windows of exactly that many clips, overlapping by ``window_overlap`` (the last window
ends at the video's last clip), all run through the head in batches; each window's normalised
spans are offset to the video's seconds, every candidate of every window is pooled, and one
temporal NMS keeps the best. Per-clip saliency is the mean over the windows that cover a clip.
Scores are the head's foreground probabilities (a softmax per query, so comparable across
windows).

Candidates are merged by the one temporal NMS (``chronolens.tasks.ground.nms.temporal_nms``)
unless another ``suppress`` is given. The heads, losses, features and checkpoints live in
``chronolens.models.moment_detr``; this module is what a user calls.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch

from chronolens.errors import ChronolensError
from chronolens.models.moment_detr.checkpoint import load_head
from chronolens.models.moment_detr.config import InferenceConfig
from chronolens.models.moment_detr.features import (
    ClipFeatures,
    Extractor,
    library_clip_features,
    query_token_features,
)
from chronolens.models.moment_detr.matcher import FOREGROUND
from chronolens.models.moment_detr.model import DETRHead
from chronolens.models.moment_detr.spans import cxw_to_xx
from chronolens.tasks.ground.nms import temporal_nms

if TYPE_CHECKING:
    from chronolens.encoders.base import Encoder
    from chronolens.library.library import Library

__all__ = ["MomentDETRPredictor", "MomentPrediction", "Suppress", "window_starts"]

logger = logging.getLogger(__name__)

_DIGITS = 4  # decimals of seconds and scores in the QVHighlights dicts


class Suppress(Protocol):
    """The temporal NMS signature (``chronolens.tasks.ground.nms.temporal_nms``)."""

    def __call__(
        self, windows: np.ndarray, scores: np.ndarray, *, iou_threshold: float, max_keep: int | None = None
    ) -> np.ndarray: ...


@dataclass(frozen=True)
class MomentPrediction:
    """What a head found for one query in one video."""

    windows: np.ndarray  # (K, 3) float64 [start, end, score], seconds, best first
    saliency: np.ndarray  # (C,) float64 per-clip saliency (the head's logits, averaged over windows)
    duration: float  # seconds
    clip_length: float  # seconds per saliency entry

    def to_qvhighlights(self) -> dict[str, list[Any]]:
        """``{"pred_relevant_windows": [[s, e, score], ...], "pred_saliency_scores": [...]}``."""
        return {
            "pred_relevant_windows": [[round(float(v), _DIGITS) for v in row] for row in self.windows],
            "pred_saliency_scores": [round(float(v), _DIGITS) for v in self.saliency],
        }


def window_starts(n_clips: int, length: int, overlap: float) -> np.ndarray:
    """First clip of each window of ``length`` clips covering ``n_clips`` clips.

    Windows step by ``round(length * (1 - overlap))`` clips (at least 1); the last one ends at the
    last clip. A video of at most ``length`` clips is one window.

    Returns:
        (W,) int64, increasing.
    """
    if n_clips <= length:
        return np.zeros(1, dtype=np.int64)
    stride = max(1, round(length * (1.0 - overlap)))
    starts = np.arange(0, n_clips - length + 1, stride, dtype=np.int64)
    if starts[-1] != n_clips - length:
        starts = np.append(starts, n_clips - length)
    return starts


class MomentDETRPredictor:
    """A trained Moment-DETR / QD-DETR head ready to ground queries in videos of any length."""

    def __init__(
        self,
        head: DETRHead,
        extractor: Extractor,
        *,
        suppress: Suppress | None = None,
        inference: InferenceConfig | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        """Wrap a head.

        Args:
            head: the trained head (put in eval mode here).
            extractor: the features it was trained on.
            suppress: the temporal NMS merging candidates across windows (default ``temporal_nms``).
            inference: windowing and NMS settings (default ``InferenceConfig()``).
            encoder: the text encoder for string queries (default: loaded from the extractor's
                name on first use and checked against its weights).
        """
        self.head = head.eval()
        self.extractor = extractor
        self.suppress = suppress if suppress is not None else temporal_nms
        self.inference = inference or InferenceConfig()
        self._encoder = encoder

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike[str],
        *,
        suppress: Suppress | None = None,
        inference: InferenceConfig | None = None,
        encoder: Encoder | None = None,
    ) -> MomentDETRPredictor:
        """Load a checkpoint written by ``checkpoint.save_head`` (see :meth:`__init__` for the rest)."""
        loaded = load_head(path)
        return cls(loaded.head, loaded.extractor, suppress=suppress, inference=inference, encoder=encoder)

    @property
    def encoder(self) -> Encoder:
        """The text encoder of the extractor (loaded on first use)."""
        if self._encoder is None:
            from chronolens.encoders.registry import load_encoder

            self._encoder = load_encoder(self.extractor.encoder)
        if self._encoder.weights_sha256 != self.extractor.weights_sha256:
            raise ChronolensError(
                f"encoder {self._encoder.name} has weights {self._encoder.weights_sha256[:12]}..., the head "
                f"was trained on {self.extractor.weights_sha256[:12]}..."
            )
        return self._encoder

    def _clips(
        self, source: ClipFeatures | np.ndarray | str | os.PathLike[str], library: Library | None
    ) -> ClipFeatures:
        if isinstance(source, ClipFeatures):
            if source.extractor is not None:
                self.extractor.check(source.extractor)
            return source
        if isinstance(source, np.ndarray):
            feats = np.asarray(source, dtype=np.float32)
            return ClipFeatures(feats, duration=feats.shape[0] * self.extractor.clip_length)
        if library is None:
            raise ChronolensError(f"predicting on a video ({source}) needs the library that indexed it")
        clips = library_clip_features(library, source, self.extractor.clip_length)
        assert clips.extractor is not None
        self.extractor.check(clips.extractor, what=f"the features of library {library.root}")
        return clips

    def predict(
        self,
        features_or_video: ClipFeatures | np.ndarray | str | os.PathLike[str],
        query: str | np.ndarray,
        *,
        library: Library | None = None,
    ) -> dict[str, list[Any]]:
        """Ground ``query`` in a video and return the QVHighlights prediction fields.

        Args:
            features_or_video: ``ClipFeatures``; a ``(C, D)`` array of clip features (one per
                ``clip_length`` seconds, the video ``C * clip_length`` long); or a video path
                indexed in ``library``.
            query: text (encoded by the extractor's encoder) or ``(L, D)`` token features.
            library: the library holding the video, when a path is given.

        Returns:
            ``{"pred_relevant_windows": [[start, end, score], ...], "pred_saliency_scores": [...]}``.
        """
        return self.predict_features(self._clips(features_or_video, library), query).to_qvhighlights()

    def predict_features(self, clips: ClipFeatures, query: str | np.ndarray) -> MomentPrediction:
        """Ground ``query`` in clip features (see :meth:`predict`)."""
        tokens = query_token_features(self.encoder, query) if isinstance(query, str) else query
        tokens = np.asarray(tokens, dtype=np.float32).reshape(-1, self.head.config.text_dim)  # (L, D)
        feats = clips.features
        if feats.shape[1] != self.head.config.video_dim:
            raise ChronolensError(
                f"clip features are {feats.shape[1]}-d, the head reads {self.head.config.video_dim}-d"
            )
        c, length = feats.shape[0], self.head.config.max_clips
        starts = window_starts(c, length, self.inference.window_overlap)
        w = min(c, length)
        candidates, saliency = self._run_windows(feats, tokens, starts, w)  # (N, 4), (W, w)
        seconds = w * clips.clip_length  # spans are normalised to the window's whole clips
        offset = starts[candidates[:, 0].astype(np.int64)] * clips.clip_length  # (N,)
        spans = np.clip(offset[:, None] + candidates[:, 1:3] * seconds, 0.0, clips.duration)  # (N, 2)
        scores = candidates[:, 3]
        keep = self.suppress(
            spans, scores, iou_threshold=self.inference.nms_iou, max_keep=self.inference.top_k
        )
        windows = np.column_stack([spans[keep], scores[keep]]) if keep.size else np.zeros((0, 3))
        return MomentPrediction(
            windows=windows,
            saliency=_mean_over_windows(saliency, starts, c),
            duration=clips.duration,
            clip_length=clips.clip_length,
        )

    @torch.no_grad()
    def _run_windows(
        self, feats: np.ndarray, tokens: np.ndarray, starts: np.ndarray, w: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every window through the head, in batches.

        Returns:
            ``(candidates (W * Q, 4) [window, start, end, score] with start/end normalised to the
            window, saliency (W, w))``.
        """
        device = next(self.head.parameters()).device
        text = torch.as_tensor(tokens, device=device)[None]  # (1, L, D)
        out_cands, out_sal = [], []
        index = np.asarray(starts)[:, None] + np.arange(w)[None]  # (W, w) clip indices
        for lo in range(0, len(starts), self.inference.batch_windows):
            rows = index[lo : lo + self.inference.batch_windows]  # (b, w)
            video = torch.as_tensor(feats[rows], device=device)  # (b, w, D)
            b = video.shape[0]
            out = self.head(
                video,
                torch.ones(b, w, dtype=torch.bool, device=device),
                text.expand(b, -1, -1),
                torch.ones(b, text.shape[1], dtype=torch.bool, device=device),
            )
            prob = out.logits.softmax(-1)[..., FOREGROUND]  # (b, Q)
            xx = cxw_to_xx(out.spans).clamp(0, 1)  # (b, Q, 2)
            win = torch.arange(lo, lo + b, device=device, dtype=xx.dtype)[:, None, None].expand(
                -1, xx.shape[1], 1
            )
            out_cands.append(
                torch.cat([win, xx, prob[..., None]], dim=-1).reshape(-1, 4).double().cpu().numpy()
            )
            out_sal.append(out.saliency.double().cpu().numpy())
        return np.concatenate(out_cands), np.concatenate(out_sal)


def _mean_over_windows(saliency: np.ndarray, starts: np.ndarray, n_clips: int) -> np.ndarray:
    """(C,) mean of each clip's saliency over the windows (W, w) that cover it."""
    w = saliency.shape[1]
    index = (np.asarray(starts)[:, None] + np.arange(w)[None]).ravel()  # (W * w,)
    sums = np.bincount(index, weights=saliency.ravel(), minlength=n_clips)
    counts = np.bincount(index, minlength=n_clips)
    return sums / np.maximum(counts, 1)

"""Starting the tiny TimeChat from the image tower's image-text space (two recipe options).

The paper's TimeChat starts from pretrained parts that already ground language in images
(InstructBLIP's Q-Former, LLaMA-2). The tiny CPU configuration has none: its LLM, Q-Formers and
projection start at random, and grounding needs the query's words tied to what the frames
show, learnt from a couple of thousand questions. The frozen image tower, though, is a CLIP
model whose text tower already ties those words to images. These options hand that over:

* ``train.word_init = "image-text"`` (``init_word_embeddings``): each word of the tiny LLM's
  vocabulary starts as the image tower's *text* embedding of that word, so "crimson" and "red"
  start close, and close to the frames that show them;
* ``train.align_weight > 0`` (``VideoTokenAlignment``): an auxiliary loss pulls every video token
  the LLM reads towards the tower's *image* embedding of the frames it summarises (cosine), so
  the video tokens live in the same space as those words. The video Q-Former's ``Nv`` queries of
  a window are tied to consecutive chunks of the window's frames (one frame each when
  ``Nv = Lw``, TimeChat's setting), which also keeps each token's content local in time.

Both centre the tower's embeddings before using them: every single-word text embedding of the
tower shares one large common direction (cosine 0.85-0.99 between any two words of the
synthetic vocabulary), and so do its image embeddings. Words are centred on the mean of the
vocabulary's embeddings and frames on the mean image embedding of the training frames; after
that "red" and "crimson" stay at cosine 0.99 while "red" and "blue" fall to -0.16. Measured on
the 256 test questions of ``docs/timechat.md`` (``experiments/timechat_probe.py``, which centres
frames on those videos' mean): the mean of the query's centred word embeddings against centred
frames puts the best frame inside the answer for 53.5 % of questions (uncentred 39.8 %, chance
20.7 %; the tower's sentence embedding 87.5 %), so the words alone already carry much of the
answer. Measured with the 64-px tower; docs/timechat.md has the runs that used these options.

Both map the tower's embedding width ``D`` into the LLM's width with ``space_map`` (the identity
when they are equal; an orthonormal embedding of the tower's space as a subspace when the LLM
is wider, which leaves the other directions of a video token free for its time); the recipe
passes both the model's seed, so words and video tokens land in the same subspace.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from chronolens.models.timechat import TimeChat
    from chronolens.models.timechat.config import TimeChatConfig
    from chronolens.models.timechat.features import FrameFeatures

__all__ = [
    "ChunkMeans",
    "VideoTokenAlignment",
    "centre_words",
    "chunk_weights",
    "init_word_embeddings",
    "mean_image_embedding",
    "space_map",
]

logger = logging.getLogger(__name__)

_WORD = re.compile(r"^[a-z][a-z'-]*$")  # words only: digits, punctuation and special tokens keep their init


def space_map(source_dim: int, target_dim: int, *, seed: int = 0) -> torch.Tensor:
    """``(source_dim, target_dim)`` map from the tower's embedding space to the LLM's.

    The identity when the widths agree; otherwise a seeded random matrix with orthonormal rows
    or columns, which keeps dot products (exactly when widening, approximately when narrowing).
    """
    if source_dim == target_dim:
        return torch.eye(source_dim)
    generator = torch.Generator().manual_seed(seed)
    gaussian = torch.randn(max(source_dim, target_dim), min(source_dim, target_dim), generator=generator)
    q, _ = torch.linalg.qr(gaussian)  # orthonormal columns
    return q if source_dim >= target_dim else q.T


def centre_words(text: torch.Tensor) -> torch.Tensor:
    """``(N, D)`` word embeddings minus their mean, as unit rows.

    The mean is the direction every single-word embedding of the tower shares (module
    docstring); removing it leaves what tells the words apart.
    """
    return torch.nn.functional.normalize(text - text.mean(dim=0), dim=-1)


def init_word_embeddings(model: TimeChat, tower: FrameFeatures, *, seed: int = 0) -> int:
    """Set each word's input embedding of the tiny LLM to the tower's text embedding of that word.

    Rows are scaled to the mean norm of the LLM's random rows, so the LLM sees inputs of the
    scale it was initialised for. Tokens that are not words (digits, punctuation, special
    tokens) and words the tower's tokenizer does not know keep their random rows.

    Returns:
        How many rows were set.
    """
    embedding = model.llm.get_input_embeddings().weight  # (vocab, D_llm)
    words = [
        (token, index)
        for token, index in sorted(model.tokenizer.get_vocab().items(), key=lambda item: item[1])
        if _WORD.match(token) and tower.knows_word(token)
    ]
    if not words:
        logger.warning("word_init: no vocabulary word is known to %s; embeddings stay random", tower.name)
        return 0
    text = centre_words(tower.text_embeddings([token for token, _ in words]))  # (N, D)
    mapped = text @ space_map(text.shape[1], embedding.shape[1], seed=seed)  # (N, D_llm)
    mapped = torch.nn.functional.normalize(mapped, dim=-1)
    with torch.no_grad():
        scale = embedding.norm(dim=-1).mean()
        rows = torch.tensor([index for _, index in words], dtype=torch.long)
        embedding[rows] = (mapped * scale).to(embedding.dtype).to(embedding.device)
    logger.info(
        "word_init: %d of %d vocabulary rows from %s's text tower", len(words), len(embedding), tower.name
    )
    return len(words)


def mean_image_embedding(tower: FrameFeatures, features: Iterable[np.ndarray]) -> torch.Tensor:
    """``(D,)`` mean of the tower's image embeddings over every frame of ``(T, P, Dv)`` feature arrays."""
    total: torch.Tensor | None = None
    count = 0
    for array in features:
        image = tower.image_embeddings(torch.from_numpy(array))  # (T, D)
        total = image.sum(dim=0) if total is None else total + image.sum(dim=0)
        count += len(image)
    if total is None or count == 0:
        raise ValueError("mean_image_embedding needs at least one frame")
    return total / count


def chunk_weights(config: TimeChatConfig, n_frames: int) -> torch.Tensor:
    """Which frames each video token summarises: ``(W * Nv, T)`` weights, rows summing to 1.

    Window ``w`` (frames ``window_index(T)[w]``, TimeChat's sliding windows, or all frames in
    global mode) is cut into ``Nv`` consecutive chunks, one per query; a chunk holds at least
    one frame (with ``Nv > Lw`` neighbouring queries share a frame). Frames past the end of the
    video (the last window's padding) get no weight; a row with none left is all zeros.
    """
    if config.sliding:
        n_windows, length, stride = config.n_windows(n_frames), config.window, config.stride
    else:
        n_windows, length, stride = 1, n_frames, n_frames
    n_query = config.video_queries
    weights = torch.zeros(n_windows * n_query, n_frames)
    for w in range(n_windows):
        for j in range(n_query):
            lo = (j * length) // n_query
            hi = max(((j + 1) * length) // n_query, lo + 1)
            frames = [w * stride + k for k in range(lo, hi) if w * stride + k < n_frames]
            if frames:
                weights[w * n_query + j, frames] = 1.0 / len(frames)
    return weights


class ChunkMeans:
    """Weights that average each video token's real frames: ``chunk_weights`` under a frame mask.

    Calling it on a ``(U, T)`` frame mask gives ``(weights (U, V, T), valid (U, V) bool)``: row
    ``(u, v)`` spreads 1 evenly over the real frames of token ``v``'s chunk (all zeros, and not
    valid, when the chunk has none). ``chunk_weights`` is built once per frame count.
    """

    def __init__(self, config: TimeChatConfig) -> None:
        self.config = config
        self._chunks: dict[int, torch.Tensor] = {}

    def __call__(self, frame_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The weights and which tokens have real frames, on ``frame_mask``'s device."""
        n_frames = frame_mask.shape[1]
        if n_frames not in self._chunks:
            self._chunks[n_frames] = chunk_weights(self.config, n_frames)
        chunks = self._chunks[n_frames].to(frame_mask.device)  # (V, T)
        weights = chunks[None] * frame_mask.to(chunks.dtype)[:, None, :]  # (U, V, T): real frames only
        total = weights.sum(-1, keepdim=True)  # (U, V, 1)
        return weights / total.clamp_min(1e-12), total[..., 0] > 0


class VideoTokenAlignment:
    """Auxiliary loss: ``1 - cos(video token, tower image embedding of its frames)``, averaged.

    The target of a token is the mean image embedding of the real frames of its chunk
    (``chunk_weights``) minus ``image_mean`` (``mean_image_embedding`` of the training frames).
    The comparison happens in the tower's space: the token is read through ``space_map``'s
    transpose, i.e. only its component in the subspace where ``init_word_embeddings`` puts the
    words counts. With an LLM wider than the tower the rest of the token stays free for what
    the LLM needs besides content (the frame's time); with equal widths the whole token is
    pulled. Tokens of chunks without real frames are left out.
    """

    def __init__(
        self,
        config: TimeChatConfig,
        tower: FrameFeatures,
        llm_dim: int,
        *,
        image_mean: torch.Tensor,
        seed: int = 0,
    ) -> None:
        self.config = config
        self.tower = tower
        self.image_mean = image_mean
        self.map = space_map(int(image_mean.shape[-1]), llm_dim, seed=seed)  # (D, D_llm)
        self.chunk_means = ChunkMeans(config)

    def targets(self, features: torch.Tensor, frame_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(targets (U, V, D) unit rows in the tower's space, valid (U, V) bool)`` for ``(U, T, P, Dv)``."""
        image = self.tower.image_embeddings(features)  # (U, T, D)
        weights, valid = self.chunk_means(frame_mask.to(image.device))  # (U, V, T): means over real frames
        pooled = weights @ image - self.image_mean.to(image.device)  # (U, V, D)
        return torch.nn.functional.normalize(pooled, dim=-1), valid

    def __call__(
        self, tokens: torch.Tensor, token_mask: torch.Tensor, features: torch.Tensor, frame_mask: torch.Tensor
    ) -> torch.Tensor:
        """The loss of ``(U, V, D_llm)`` video tokens (``TimeChat.encode_video``) of ``features``."""
        target, valid = self.targets(features, frame_mask)
        valid = valid & token_mask.bool()
        if not bool(valid.any()):
            return tokens.sum() * 0.0
        content = tokens.float() @ self.map.to(tokens.device).T  # (U, V, D): the tower-space component
        cosine = torch.nn.functional.cosine_similarity(content, target, dim=-1)  # (U, V)
        return (1.0 - cosine)[valid].mean()

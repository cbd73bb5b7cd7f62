"""CLIP4Clip (Luo et al. 2021): video-text retrieval from CLIP frame embeddings and a similarity head.

- ``heads``: meanP, seqLSTM, seqTransf (pooling heads) and tightTransf (a cross-transformer
  scorer), hand-written (no library ships them), with padded frames masked;
- ``encoder``: ``Clip4ClipEncoder``, any chronolens frame encoder plus a pooling head, behind the
  ``ClipEncoder`` contract.
"""

from chronolens.models.clip4clip.encoder import DEFAULT_CLIP_FRAMES, Clip4ClipEncoder, head_sha256
from chronolens.models.clip4clip.heads import (
    HEADS,
    POOLING_HEADS,
    Clip4ClipHeadConfig,
    MeanPooling,
    PoolingHead,
    SeqLSTM,
    SeqTransformer,
    TightTransformer,
    build_pooling_head,
    masked_mean,
)

__all__ = [
    "DEFAULT_CLIP_FRAMES",
    "HEADS",
    "POOLING_HEADS",
    "Clip4ClipEncoder",
    "Clip4ClipHeadConfig",
    "MeanPooling",
    "PoolingHead",
    "SeqLSTM",
    "SeqTransformer",
    "TightTransformer",
    "build_pooling_head",
    "head_sha256",
    "masked_mean",
]

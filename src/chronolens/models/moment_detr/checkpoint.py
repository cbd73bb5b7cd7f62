"""A trained head on disk: its weights, architecture, config and the extractor of its features.

Layout (a directory, written atomically)::

    CKPT/
        model.safetensors   the head's state_dict (float32)
        moment_detr.json    {"format": 1, "arch": "moment-detr", "config": {...}, "extractor": {...}, ...}
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from chronolens.atomic import atomic_directory
from chronolens.errors import ChronolensError
from chronolens.models.moment_detr.config import MomentDETRConfig
from chronolens.models.moment_detr.features import Extractor
from chronolens.models.moment_detr.model import ARCHS, DETRHead, build_head

__all__ = ["CHECKPOINT_FORMAT", "HeadCheckpoint", "load_head", "save_head"]

CHECKPOINT_FORMAT = 1  # layout version of moment_detr.json
WEIGHTS_FILE = "model.safetensors"
META_FILE = "moment_detr.json"


class HeadCheckpoint:
    """A loaded head with what it was trained on."""

    def __init__(self, head: DETRHead, extractor: Extractor, meta: dict[str, Any]) -> None:
        self.head = head  # in eval mode
        self.extractor = extractor  # the features it reads
        self.meta = meta  # the whole moment_detr.json (training provenance under "train", if any)


def save_head(
    head: DETRHead,
    extractor: Extractor,
    out_dir: str | os.PathLike[str],
    *,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``head`` and its extractor to ``out_dir`` (replaced atomically if it exists).

    Args:
        head: a ``MomentDETR`` or ``QDDETR``.
        extractor: the features it was trained on.
        out_dir: the checkpoint directory.
        extra: more JSON-serialisable provenance (training config, step, seed) stored under ``"train"``.
    """
    from safetensors.torch import save_file

    if extractor.dim != head.config.video_dim or extractor.dim != head.config.text_dim:
        raise ValueError(
            f"extractor dim {extractor.dim} differs from the head's inputs "
            f"(video_dim {head.config.video_dim}, text_dim {head.config.text_dim})"
        )
    meta = {
        "format": CHECKPOINT_FORMAT,
        "arch": head.arch,
        "config": asdict(head.config),
        "extractor": extractor.to_json(),
        "train": extra or {},
    }
    out = Path(out_dir)
    with atomic_directory(out) as tmp:
        state = {k: v.detach().to("cpu").contiguous() for k, v in head.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS_FILE))
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out


def load_head(path: str | os.PathLike[str]) -> HeadCheckpoint:
    """Read a checkpoint written by :func:`save_head`.

    Raises:
        ChronolensError: missing files, an unknown format or arch, or weights that do not fit.
    """
    from safetensors.torch import load_file

    root = Path(path)
    try:
        meta = json.loads((root / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ChronolensError(f"{root} is not a Moment-DETR checkpoint ({META_FILE}: {exc})") from exc
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ChronolensError(
            f"{root}: checkpoint format {meta.get('format')!r}, expected {CHECKPOINT_FORMAT}"
        )
    arch = meta.get("arch")
    if arch not in ARCHS:
        raise ChronolensError(f"{root}: unknown arch {arch!r}; known: {', '.join(ARCHS)}")
    known = {f.name for f in fields(MomentDETRConfig)}
    config = MomentDETRConfig(**{k: v for k, v in meta["config"].items() if k in known})
    head = build_head(arch, config)
    try:
        head.load_state_dict(load_file(str(root / WEIGHTS_FILE)))
    except (OSError, RuntimeError) as exc:
        raise ChronolensError(f"{root}: cannot load the weights: {exc}") from exc
    head.eval()
    return HeadCheckpoint(head, Extractor.from_json(meta["extractor"]), meta)

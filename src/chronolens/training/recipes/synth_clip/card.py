"""The model card (README.md) written next to the ``builtin:synth-clip`` weights."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chronolens.data.synth.scene import SynthDataset

__all__ = ["model_card"]


def model_card(
    *,
    config: dict[str, Any],
    dataset: SynthDataset,
    n_train_frames: int,
    n_train_videos: int,
    vocab_size: int,
    n_params: int,
    train_wall_s: float,
    total_wall_s: float,
    metrics: dict[str, float],
    command: str,
    machine: str,
    resumed: bool,
) -> str:
    """Render the Markdown model card of a finished run."""
    rows = "\n".join(f"| {name} | {value:.4f} |" for name, value in sorted(metrics.items()))
    resumed_note = " (resumed from a checkpoint; wall time covers the last segment only)" if resumed else ""
    return f"""# builtin:synth-clip

A tiny image-text dual encoder (a transformers `CLIPModel`) trained by chronolens on its own
procedural synthetic benchmark, so that search, grounding and the demo run fully offline.
It knows only the synthetic world (shapes, colours, sizes, textures, backgrounds, and the
event vocabulary); it is not a general-purpose image model.

## Data
- `chronolens synth` dataset, seed {dataset.seed}, {len(dataset)} videos in total
- training: {n_train_videos} train-split videos, {n_train_frames} frames decoded at
  {config["sample_fps"]} fps from the rendered mp4 files, resized on decode to
  {config["model"]["image_size"]} px (the inference path)
- texts per frame: captions and paraphrases of every event on screen, the scene caption,
  the video caption (all are positives; multi-positive InfoNCE)

## Recipe
- `chronolens.training.recipes.synth_clip.recipe`, symmetric InfoNCE with CLIP's learnable,
  clamped temperature; AdamW, linear warmup + cosine decay
- vocabulary: {vocab_size} word-level tokens (`<pad>`=0, `<unk>`=1, `<bos>`=2, `<eos>`=3)
- parameters: {n_params:,}
- command: `{command}`
- seed: {config["seed"]}
- training wall time: {train_wall_s / 60:.1f} min{resumed_note}; whole recipe {total_wall_s / 60:.1f} min
- machine: {machine}

## Validation (decoded val-split frames)
| metric | value |
|---|---|
{rows}

Definitions: `chronolens/training/recipes/clip_eval.py`. Benchmark figures come from
`chronolens bench synth` and are recorded in `docs/builtin-model.md`.

## Configuration
```json
{json.dumps(config, indent=2, default=str)}
```
"""

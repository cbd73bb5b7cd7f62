"""Quick quality checks of a synth-clip model on decoded validation frames.

These are the recipe's own fast signals, not the benchmark (``chronolens bench synth`` is):

- ``frame_caption_top1``: for each frame with an active event, is the best-matching canonical
  caption (among all distinct canonical event captions of the split) one of its active events?
- ``frame_query_top1``: the same with each event's query paraphrase as the gallery.
- ``peak_in_window``: for each object event, does the similarity curve of its query over its
  video's frames peak inside the event window?
- ``video_r1``: text->video retrieval R@1 of the video captions against mean-pooled frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from chronolens.training.recipes.synth_clip.data import FrameBank

if TYPE_CHECKING:
    from transformers import CLIPModel, PreTrainedTokenizerBase

__all__ = ["encode_frames", "encode_texts", "evaluate_frames"]

EVAL_BATCH = 256  # frames or texts per forward pass


def _features(output: object) -> torch.Tensor:
    return output if isinstance(output, torch.Tensor) else output.pooler_output  # type: ignore[attr-defined]


@torch.inference_mode()
def encode_frames(model: CLIPModel, images: np.ndarray) -> torch.Tensor:
    """Embed ``(N, S, S, 3)`` uint8 frames with the inference preprocessing; returns ``(N, D)`` unit rows."""
    from chronolens.encoders.preprocess import ImagePreprocessConfig, preprocess_images

    size = int(getattr(model.config.vision_config, "image_size"))  # noqa: B009 - typed as a union
    config = ImagePreprocessConfig(shortest_edge=size, crop_size=(size, size))
    model.eval()
    out = []
    for i in range(0, len(images), EVAL_BATCH):
        pixels = preprocess_images(images[i : i + EVAL_BATCH], config)
        out.append(_features(model.get_image_features(pixel_values=pixels)))
    return F.normalize(torch.cat(out), dim=-1)


@torch.inference_mode()
def encode_texts(model: CLIPModel, tokenizer: PreTrainedTokenizerBase, texts: list[str]) -> torch.Tensor:
    """Embed texts; returns ``(M, D)`` unit rows."""
    model.eval()
    out = []
    for i in range(0, len(texts), EVAL_BATCH):
        enc = tokenizer(texts[i : i + EVAL_BATCH], padding=True, truncation=True, return_tensors="pt")
        out.append(
            _features(
                model.get_text_features(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
            )
        )
    return F.normalize(torch.cat(out), dim=-1)


def evaluate_frames(
    model: CLIPModel, tokenizer: PreTrainedTokenizerBase, bank: FrameBank
) -> dict[str, float]:
    """Compute the quick checks listed in the module docstring on ``bank``.

    Returns:
        ``{"frame_caption_top1", "frame_query_top1", "peak_in_window", "video_r1"}``, each in [0, 1]
        (NaN when the split has nothing to measure).
    """
    images = encode_frames(model, bank.images)  # (N, D)
    metrics: dict[str, float] = {}
    events = [(vi, e) for vi, v in enumerate(bank.videos) for e in v.events if e.objects and e.caption]
    for name, attr in (("frame_caption_top1", "caption"), ("frame_query_top1", "query")):
        gallery = sorted({getattr(e, attr) or e.caption for _, e in events})
        if not gallery:
            metrics[name] = float("nan")
            continue
        index = {text: k for k, text in enumerate(gallery)}
        text_emb = encode_texts(model, tokenizer, gallery)  # (G, D)
        best = (images @ text_emb.T).argmax(dim=1).tolist()  # (N,)
        hits, total = 0, 0
        for f, (vi, t) in enumerate(zip(bank.video_index.tolist(), bank.times.tolist(), strict=True)):
            active = {
                index[getattr(e, attr) or e.caption]
                for e in bank.videos[vi].events
                if e.objects and e.caption and e.start <= t < e.end
            }
            if active:
                total += 1
                hits += best[f] in active
        metrics[name] = hits / total if total else float("nan")

    queries = [e.query or e.caption for _, e in events]
    peaks = 0
    if events:
        q_emb = encode_texts(model, tokenizer, queries)
        for (vi, event), q in zip(events, q_emb, strict=True):
            frames = np.flatnonzero(bank.video_index == vi)
            t_best = float(bank.times[frames[int((images[frames] @ q).argmax())]])
            peaks += event.start <= t_best < event.end
    metrics["peak_in_window"] = peaks / len(events) if events else float("nan")

    pooled = torch.stack(
        [
            F.normalize(images[np.flatnonzero(bank.video_index == vi)].mean(0), dim=0)
            for vi in range(len(bank.videos))
        ]
    )  # (V, D)
    captions = encode_texts(model, tokenizer, [v.caption for v in bank.videos])  # (V, D)
    ranks = (captions @ pooled.T).argmax(dim=1)
    metrics["video_r1"] = float((ranks == torch.arange(len(bank.videos))).float().mean())
    return metrics

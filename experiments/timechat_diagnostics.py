"""Where a trained TimeChat run looks and whether its video tokens carry their time.

Reads a run directory of ``chronolens train timechat`` (its ``model/`` export and
``recipe.json``) and, teacher-forced on the grounding questions of a TimeIT file (the run's
eval split by default), measures the two steps an answer needs:

* **where**: the share of one attention head's weight (``--layer``, head 0: the head that
  ``train.ground_attn_weight`` supervises) that falls on the video tokens inside the answer's
  span, averaged over the positions that predict answer tokens, next to the span's share of
  the tokens (what evenly spread attention gets); and the correlation of the head's
  attention-weighted token time, at the positions that write the start (end) number, with the
  true start (end);
* **when**: ridge probes, fit on the tokens of half of the videos and scored (R^2) on the other
  half, from the video tokens as spliced into the LLM and from the LLM's hidden state at those
  positions after each layer (the head of ``--layer`` k, counted from 0, reads the state after k
  layers), to the token's time in seconds and to its index. R^2 near 1:
  linearly readable; at or below 0: not.

Usage::

    python experiments/timechat_diagnostics.py --run RUN [--json annotations/timeit_test.json] [--layer 1]
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import torch

from chronolens.models.timechat.features import FrameFeatures, VideoFeatures
from chronolens.models.timechat.prompting import IGNORE_INDEX, encode_text
from chronolens.models.timechat.weights import load_timechat
from chronolens.timebase.text import parse_span
from chronolens.training.recipes.timechat.align import ChunkMeans
from chronolens.training.recipes.timechat.attention import GroundingAttention, number_pieces
from chronolens.training.recipes.timechat.data import (
    build_samples,
    encode_videos,
    load_turns,
    stack_features,
)

logger = logging.getLogger("timechat_diagnostics")


def ridge_r2(x: np.ndarray, y: np.ndarray, train: np.ndarray, alpha: float = 0.1) -> float:
    """R^2 on ``~train`` of a ridge regression (with intercept) fit on ``train``."""
    xa = np.c_[x, np.ones(len(x))]
    w = np.linalg.solve(xa[train].T @ xa[train] + alpha * np.eye(xa.shape[1]), xa[train].T @ y[train])
    pred = xa[~train] @ w
    return float(1.0 - ((pred - y[~train]) ** 2).mean() / y[~train].var())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", type=Path, required=True, help="a 'chronolens train timechat' run directory")
    parser.add_argument("--json", default=None, help="TimeIT file (default: the run's data.eval)")
    parser.add_argument("--layer", type=int, default=1, help="the attention head's layer (head 0)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)

    recipe = json.loads((args.run / "recipe.json").read_text())
    data = recipe["data"]
    json_path = Path(args.json) if args.json else Path(data["root"]) / data["eval"]
    model = load_timechat(args.run / "model")
    model.eval()
    model.llm.set_attn_implementation("eager")  # sdpa returns no attention probabilities
    config = model.config
    turns = load_turns(json_path, tasks=["tvg"])
    features, _ = encode_videos(
        [t.video for t in turns],
        encoder=FrameFeatures(config.image_encoder),
        n_frames=config.n_frames,
        cache_dir=data["cache_dir"] or None,
        progress=False,
    )
    samples = build_samples(turns, features)
    numbers = number_pieces(model.tokenizer)
    head = GroundingAttention(config, layer=args.layer, target="boundaries", numbers=numbers)
    chunk_means = ChunkMeans(config)

    in_span, share = [], []
    ends: dict[str, list[tuple[float, float]]] = {"start": [], "end": []}
    times, index, video_of = [], [], []
    hidden: dict[int, list[np.ndarray]] = {}
    with torch.no_grad():
        for v, (turn, sample) in enumerate(zip(turns, samples, strict=True)):
            span = parse_span(turn.answer or "")
            if span is None:
                continue
            frames, stamps, mask = stack_features(
                [VideoFeatures(sample.features, sample.timestamps, sample.duration)]
            )
            tokens, token_mask = model.encode_video(frames, stamps, mask)
            ids, labels = encode_text(
                model.tokenizer,
                sample.prompt,
                sample.answer,
                max_tokens=config.max_text_tokens,
                frame_times=sample.timestamps if config.frame_times_prompt else None,
            )
            input_ids, labels_t = torch.tensor([ids]), torch.tensor([labels])
            embeds, attention, spliced = model.splice_video(
                tokens, token_mask, input_ids, torch.ones_like(input_ids), labels_t, padding_side="right"
            )
            out = model.llm(
                inputs_embeds=embeds,
                attention_mask=attention,
                output_attentions=True,
                output_hidden_states=True,
            )
            assert spliced is not None
            start = int((input_ids[0] == model.video_id).int().argmax())
            spans = torch.tensor([[span.start, span.end]], dtype=torch.float32)
            target = head.targets(stamps, mask, token_mask, torch.tensor([0]), spans)[0]
            if target is None:
                continue
            n_tokens = target.span.shape[0]
            queries = (spliced[0, 1:] != IGNORE_INDEX).nonzero().flatten()
            rows = out.attentions[args.layer][0, 0, queries, start : start + n_tokens]  # (Q, V)
            inside = (target.span > 0).float()
            in_span.append(float((rows * inside).sum(-1).mean()))
            share.append(float(inside.mean()))
            token_times = (chunk_means(mask)[0][0] @ stamps[0].float())[token_mask[0]]  # (V,) seconds
            wanted = head.position_targets(target, spliced[0, queries + 1].tolist())
            for kind, value in (("start", span.start), ("end", span.end)):
                chosen = getattr(target, kind)
                picked = [q for q in range(len(queries)) if torch.equal(wanted[q], chosen)]
                if picked and not torch.equal(chosen, target.span):
                    weights = rows[picked] / rows[picked].sum(-1, keepdim=True)
                    ends[kind].append((float((weights @ token_times).mean()), value))
            times.append(token_times.numpy())
            index.append(np.arange(n_tokens, dtype=np.float64))
            video_of.append(np.full(n_tokens, v))
            for layer, state in enumerate(out.hidden_states):
                hidden.setdefault(layer, []).append(state[0, start : start + n_tokens].float().numpy())

    print(f"run {args.run}: {len(in_span)} questions of {json_path}")
    print(
        f"head (layer {args.layer}, head 0): {100 * np.mean(in_span):.1f} % of its attention inside the span "
        f"(evenly spread: {100 * np.mean(share):.1f} %)"
    )
    for kind, pairs in ends.items():
        if pairs:
            a = np.array(pairs)
            print(
                f"  attention-weighted token time where the {kind} number is written: "
                f"corr. with the true {kind} {np.corrcoef(a[:, 0], a[:, 1])[0, 1]:.3f}, "
                f"mean abs. error {np.abs(a[:, 0] - a[:, 1]).mean():.2f} s"
            )
    y_time, y_index, videos = np.concatenate(times), np.concatenate(index), np.concatenate(video_of)
    train = np.isin(videos, np.unique(videos)[: len(np.unique(videos)) // 2])
    print("ridge probes (R^2 on held-out videos): time in seconds / token index")
    for layer, states in hidden.items():
        x = np.concatenate(states)
        where = f"hidden state after {layer} layer(s)" if layer else "video tokens as spliced (LLM input)"
        print(f"  {where:38s} {ridge_r2(x, y_time, train):7.3f} / {ridge_r2(x, y_index, train):7.3f}")


if __name__ == "__main__":
    main()

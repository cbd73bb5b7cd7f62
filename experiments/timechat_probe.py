"""How much grounding signal TimeChat's frozen frame features carry, read out with no training.

TimeChat's frame Q-Former sees the image tower's patch features (``FrameFeatures``, cached by
the recipe). This script reads the same cached features for the grounding questions of a TimeIT
file and scores each sampled frame against the question's quoted query with the tower's own
CLIP head (class token -> post-layernorm -> visual projection, against the text tower's
embedding). It prints how often the best frame lies inside the answer's span (HIT@1), next to
chance (the mean share of sampled frames inside the span), so a TimeChat run at chance can be
told apart from features that hold no answer. Two more read-outs score the frames against the
mean of the query's single-word text embeddings, raw and centred (words on the vocabulary's
mean, frames on the mean frame), which is what ``train.word_init = "image-text"`` hands the
tiny LLM. Needs an encoder with a CLIP head
(``builtin:synth-clip``, ``hf:`` CLIP checkpoints).

Usage::

    python experiments/timechat_probe.py --data DIR [--json annotations/timeit_test.json]
        [--encoder builtin:synth-clip] [--frames 32] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

import numpy as np
import torch

from chronolens.models.timechat.features import FrameFeatures
from chronolens.timebase.text import parse_span
from chronolens.training.recipes.timechat.align import centre_words, mean_image_embedding
from chronolens.training.recipes.timechat.data import encode_videos, load_turns

logger = logging.getLogger("timechat_probe")

QUOTED = re.compile(r"'(.+)'")  # the synthetic TimeIT templates quote the query


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="directory written by 'chronolens synth'")
    parser.add_argument("--json", default="annotations/timeit_test.json", help="TimeIT file inside --data")
    parser.add_argument("--encoder", default="builtin:synth-clip", help="image encoder (registry name)")
    parser.add_argument("--frames", type=int, default=32, help="frames per video (TimeChat's n_frames)")
    parser.add_argument("--cache-dir", default=None, help="TimeChat feature cache (default: the recipe's)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)

    turns = load_turns(args.data / args.json, tasks=["tvg"])
    tower = FrameFeatures(args.encoder)
    features, _ = encode_videos(
        [t.video for t in turns],
        encoder=tower,
        n_frames=args.frames,
        cache_dir=args.cache_dir,
        progress=False,
    )
    # What TimeChat's tiny LLM can start from (train.word_init / align_weight, timechat_align):
    # the query's words embedded one by one, centred as init_word_embeddings does.
    vocab = sorted({w for t in turns if (m := QUOTED.search(t.question)) for w in m.group(1).split()})
    words = tower.text_embeddings(vocab)  # (N, D)
    centred_words = dict(zip(vocab, centre_words(words), strict=True))
    plain_words = dict(zip(vocab, words, strict=True))
    image_mean = mean_image_embedding(tower, (v.features for v in features.values()))
    hits: dict[str, list[bool]] = {"sentence": [], "words": [], "centred words": []}
    chance: list[float] = []
    for turn in turns:
        gt = parse_span(turn.answer, parser="default")
        match = QUOTED.search(turn.question)
        if gt is None or match is None:
            continue
        value = features[turn.video]
        image = tower.image_embeddings(torch.from_numpy(value.features))  # (T, D), the CLIP head
        centred = torch.nn.functional.normalize(image - image_mean, dim=-1)
        query = match.group(1).split()
        scores = {
            "sentence": image @ tower.text_embeddings([match.group(1)])[0],
            "words": image @ torch.stack([plain_words[w] for w in query]).mean(0),
            "centred words": centred @ torch.stack([centred_words[w] for w in query]).mean(0),
        }
        start, end = gt.start, gt.end
        for name, score in scores.items():
            best = float(value.timestamps[int(torch.argmax(score))])
            hits[name].append(start <= best <= end)
        chance.append(float(np.mean((value.timestamps >= start) & (value.timestamps <= end))))
    logger.info(
        "%s, %d grounding questions, %d frames each: zero-shot HIT@1 %s; chance %.1f",
        args.data / args.json,
        len(chance),
        args.frames,
        ", ".join(f"{name} {100 * float(np.mean(h)):.1f}" for name, h in hits.items()),
        100 * float(np.mean(chance)),
    )


if __name__ == "__main__":
    main()

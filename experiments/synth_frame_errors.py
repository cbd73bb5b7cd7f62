"""Where an encoder's best frame for an event query lands, on a synthetic split.

For every event of every video of a split, the event's query is scored against the video's
frames (1 fps, the library's default) and the best frame is classified: inside the queried
event ("hit"), inside another event whose object shares the colour, the shape or both, inside an
unrelated event, or on a frame with no event. Per event kind it prints the hit rate. This is the
analysis behind docs/builtin-model.md's "what limits grounding": a grounder cannot rank the
right window first when the curve's peak sits on another event.

Usage::

    python experiments/synth_frame_errors.py --data DIR [--split val] [--model builtin:synth-clip]
"""

from __future__ import annotations

import argparse
import collections
import logging
from pathlib import Path

import numpy as np

from chronolens.data.synth import load_synth
from chronolens.data.synth.scene import SynthEvent, SynthVideo
from chronolens.encoders.registry import load_encoder
from chronolens.video import FixedFps, read_frames

logger = logging.getLogger("synth_frame_errors")


def classify(event: SynthEvent, video: SynthVideo, t: float) -> str:
    """What the frame at ``t`` shows, relative to the queried ``event``."""
    if event.start <= t < event.end:
        return "hit"
    others = [o for o in video.events if o is not event and o.start <= t < o.end]
    if not others:
        return "no event"
    colors = {o.color for o in event.objects}
    shapes = {o.shape for o in event.objects}
    other_colors = {o.color for e in others for o in e.objects}
    other_shapes = {o.shape for e in others for o in e.objects}
    same_color, same_shape = bool(colors & other_colors), bool(shapes & other_shapes)
    if same_color and same_shape:
        return "other event, same colour and shape"
    if same_color:
        return "other event, same colour"
    if same_shape:
        return "other event, same shape"
    return "other event, unrelated"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="directory written by 'chronolens synth'")
    parser.add_argument("--split", default="val", help="split to analyse")
    parser.add_argument("--model", default="builtin:synth-clip", help="encoder (registry name)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    dataset = load_synth(args.data)
    encoder = load_encoder(args.model)
    outcome: collections.Counter[str] = collections.Counter()
    by_kind: dict[str, list[bool]] = collections.defaultdict(list)
    for video in dataset.split(args.split):
        if not video.events:
            continue
        frames = read_frames(dataset.video_path(video), sampling=FixedFps(fps=1.0))
        images = encoder.encode_images(frames.images)
        texts = encoder.encode_texts([e.query for e in video.events])
        for event, sims in zip(video.events, texts @ images.T, strict=True):
            label = classify(event, video, float(frames.timestamps[int(np.argmax(sims))]))
            outcome[label] += 1
            by_kind[event.kind].append(label == "hit")
    total = sum(outcome.values())
    logger.info("%s, %s split, %d event queries: best frame lands", args.model, args.split, total)
    for label, count in outcome.most_common():
        logger.info("  %-36s %5.1f %%", label, 100 * count / total)
    logger.info("hit rate per event kind:")
    for kind, hits in sorted(by_kind.items()):
        logger.info("  %-13s %4d queries  %5.1f %%", kind, len(hits), 100 * float(np.mean(hits)))


if __name__ == "__main__":
    main()

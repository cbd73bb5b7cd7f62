"""The synthetic video benchmark: procedurally rendered videos whose events are known exactly.

Use it to train and evaluate anything in chronolens without downloading data::

    from chronolens.data.synth import SynthConfig, generate, load_synth, render_frame

    generate("synth_out", SynthConfig(videos=100, seed=0))  # or: chronolens synth synth_out --videos 100
    ds = load_synth("synth_out")                            # FormatError if synth.json is malformed
    for video in ds.split("train"):                         # "train", "val", "test", "compositional"
        path = ds.video_path(video)                         # absolute path of the H.264 mp4
        for event in video.events:                          # SynthEvent, sorted by start
            event.kind, event.start, event.end              # e.g. "move_left", 3.2, 7.9 (seconds)
            event.caption                                   # "a large striped red circle moves left"
            event.paraphrases                               # ("the big stripy crimson disc drifts left", ...)
            event.query                                     # the paraphrase used as the benchmark query
            frame = render_frame(video, (event.start + event.end) / 2)  # (H, W, 3) uint8 RGB

Stable API (other parts import it): ``load_synth``, ``SynthDataset`` (``.videos``, ``.split(name)``,
``.video_path(video)``, ``.root``), ``SynthVideo`` (``.id``, ``.path``, ``.split``, ``.duration``,
``.fps``, ``.n_frames``, ``.width``, ``.height``, ``.events``, ``.scene_caption``, ``.caption``,
``.clip_saliency``), ``SynthEvent`` (``.kind``, ``.start``, ``.end``, ``.caption``,
``.paraphrases``, ``.query``, ``.objects``) and ``render_frame(video, t)``, which returns exactly
the frame encoded for time ``t`` (before compression), so trainers can skip decoding.

What is drawn: shapes (circle, square, triangle, star, ring, cross, diamond) in colour families
named by synonyms (red/crimson/scarlet draw the same RGB), small or large, solid/striped/dotted,
on plain, gradient, checkerboard or noisy backgrounds. Static distractors persist all video; an
event's object exists only inside the event window ``[start, end)`` and carries a cue readable in
a single frame (see ``render``). Splits: train/val/test share colour-shape-action combinations;
``compositional`` uses only combinations never seen in train (``splits.is_heldout``).
"""

from chronolens.data.synth.config import SynthConfig
from chronolens.data.synth.events import plan_video
from chronolens.data.synth.generate import generate, plan_dataset, render_video
from chronolens.data.synth.manifest import MANIFEST_NAME, MANIFEST_VERSION, load_synth, save_manifest
from chronolens.data.synth.render import render_frame, render_frames
from chronolens.data.synth.scene import SynthBackground, SynthDataset, SynthEvent, SynthObject, SynthVideo
from chronolens.data.synth.splits import heldout_combos, is_heldout

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "SynthBackground",
    "SynthConfig",
    "SynthDataset",
    "SynthEvent",
    "SynthObject",
    "SynthVideo",
    "generate",
    "heldout_combos",
    "is_heldout",
    "load_synth",
    "plan_dataset",
    "plan_video",
    "render_frame",
    "render_frames",
    "render_video",
    "save_manifest",
]

"""The ``synth.json`` manifest: the versioned ground truth of a synthetic dataset.

Layout (version 1)::

    {"format": "chronolens-synth", "version": 1, "seed": 0, "clip_length": 2.0,
     "config": {...generator settings...},
     "videos": [{"id", "path", "split", "seed", "index", "duration", "fps", "n_frames",
                 "width", "height", "background": {...}, "distractors": [{...}],
                 "events": [{"kind", "start", "end", "objects", "targets", "scale_to",
                             "color_to", "turns", "background", "caption", "paraphrases",
                             "query"}],
                 "scene_caption", "caption", "clip_saliency": [...]}]}
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from chronolens.atomic import write_json_atomic
from chronolens.data.synth.scene import SynthBackground, SynthDataset, SynthEvent, SynthObject, SynthVideo
from chronolens.errors import FormatError

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "load_synth",
    "save_manifest",
    "video_from_dict",
]

MANIFEST_NAME = "synth.json"
MANIFEST_FORMAT = "chronolens-synth"
MANIFEST_VERSION = 1


def _video_to_dict(video: SynthVideo) -> dict[str, Any]:
    data = asdict(video)
    for event in data["events"]:
        event["targets"] = [list(t) for t in event["targets"]]
    return data


def save_manifest(
    root: str | os.PathLike[str],
    videos: list[SynthVideo] | tuple[SynthVideo, ...],
    *,
    seed: int,
    clip_length: float,
    config: dict[str, Any] | None = None,
) -> Path:
    """Write ``synth.json`` under ``root`` atomically and return its path."""
    data = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "seed": seed,
        "clip_length": clip_length,
        "config": config or {},
        "videos": [_video_to_dict(v) for v in videos],
    }
    return write_json_atomic(Path(root) / MANIFEST_NAME, data, indent=1)


def _obj(d: dict[str, Any]) -> SynthObject:
    return SynthObject(**d)


def _bg(d: dict[str, Any] | None) -> SynthBackground | None:
    return None if d is None else SynthBackground(**d)


def _event(d: dict[str, Any]) -> SynthEvent:
    return SynthEvent(
        kind=d["kind"],
        start=float(d["start"]),
        end=float(d["end"]),
        objects=tuple(_obj(o) for o in d.get("objects", [])),
        targets=tuple((float(t[0]), float(t[1])) for t in d.get("targets", [])),
        scale_to=float(d.get("scale_to", 1.0)),
        color_to=str(d.get("color_to", "")),
        turns=float(d.get("turns", 0.0)),
        background=_bg(d.get("background")),
        caption=str(d["caption"]),
        paraphrases=tuple(str(p) for p in d.get("paraphrases", [])),
        query=str(d.get("query", "")),
    )


def video_from_dict(d: dict[str, Any]) -> SynthVideo:
    """Rebuild a ``SynthVideo`` from its manifest entry (raises KeyError/TypeError/ValueError)."""
    background = _bg(d["background"])
    if background is None:
        raise ValueError("background must not be null")
    return SynthVideo(
        id=str(d["id"]),
        path=str(d["path"]),
        split=str(d["split"]),
        seed=int(d["seed"]),
        index=int(d["index"]),
        duration=float(d["duration"]),
        fps=float(d["fps"]),
        n_frames=int(d["n_frames"]),
        width=int(d["width"]),
        height=int(d["height"]),
        background=background,
        distractors=tuple(_obj(o) for o in d["distractors"]),
        events=tuple(_event(e) for e in d["events"]),
        scene_caption=str(d["scene_caption"]),
        caption=str(d["caption"]),
        clip_saliency=tuple(float(s) for s in d.get("clip_saliency", [])),
    )


def load_synth(root: str | os.PathLike[str]) -> SynthDataset:
    """Load a synthetic dataset from its directory (or from the ``synth.json`` path itself).

    Raises:
        FormatError: if the manifest is missing, not JSON, of another format or version, or a
            record is malformed (the message names the file and the video).
    """
    path = Path(root)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise FormatError(f"{path}: no synthetic dataset manifest here (run 'chronolens synth' first)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{path}: not a readable JSON manifest: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise FormatError(f"{path}: not a chronolens synthetic manifest (format != {MANIFEST_FORMAT!r})")
    if data.get("version") != MANIFEST_VERSION:
        raise FormatError(
            f"{path}: manifest version {data.get('version')!r}, this chronolens reads {MANIFEST_VERSION}"
        )
    videos_raw = data.get("videos")
    if not isinstance(videos_raw, list):
        raise FormatError(f"{path}: 'videos' must be a list")
    videos = []
    for i, entry in enumerate(videos_raw):
        try:
            videos.append(video_from_dict(entry))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            name = entry.get("id", f"#{i}") if isinstance(entry, dict) else f"#{i}"
            raise FormatError(f"{path}: video {name}: malformed record: {exc!r}") from exc
    try:
        seed, clip_length = int(data["seed"]), float(data["clip_length"])
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{path}: missing or bad 'seed'/'clip_length': {exc!r}") from exc
    return SynthDataset(
        root=str(path.parent.resolve()),
        version=MANIFEST_VERSION,
        seed=seed,
        clip_length=clip_length,
        videos=tuple(videos),
    )

"""TimeIT instruction data for TimeChat: json items -> ``TimeChatSample`` with cached frame features.

A TimeIT file is ``[{"video": path, "QA": [{"q": ..., "a": ...}, ...], "source": ...}]`` (TimeChat
``utils/construct_it_data``; ``chronolens synth`` writes ``annotations/timeit_<split>.json``).
Each question/answer turn becomes one sample: the question text is used as given (TimeIT's
own instruction templates, or chronolens' phrasings in synthetic data) inside the prompt built
by ``chronolens.models.timechat.build_prompt``, and the answer is the only supervised text.

Frames are sampled uniformly (``n_frames`` per video, real PTS timestamps) and passed once
through the frozen image tower; the patch features are cached on disk, one ``.npz`` per
(video file size + mtime, encoder, n_frames), written atomically, because on a CPU the image
tower is the expensive part of every epoch.

Video paths are resolved against, in order: the ``video_root`` given by the caller, the json
file's directory and that directory's parent (``chronolens synth`` writes paths relative to the
dataset root, one level above ``annotations/``).

Speech: each turn carries its video's ASR segments where the json has them (the item's
``"asr"`` field or TimeIT's inline ``"Transcribed speech: ..."`` question prefix,
:func:`chronolens.data.formats.timeit.item_asr`); with ``speech=True`` an item without them
takes the transcript beside its video (``VIDEO.transcript.json``, ``VIDEO.srt`` / ``.vtt``;
:func:`chronolens.models.timechat.transcript.video_transcript`). ``build_samples`` puts them in
the prompt when the model's config says ``transcript = true``, except for transcription turns
(whose answer is the transcript) and questions that already hold TimeIT's inline ASR.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from chronolens.data.formats.timeit import item_asr, read_timeit, split_inline_asr
from chronolens.data.formats.timeit_tasks import TVC, task_of
from chronolens.errors import ChronolensError, FormatError
from chronolens.models.timechat.features import FrameFeatures, VideoFeatures, encode_video
from chronolens.progress import progress_bar

if TYPE_CHECKING:
    import torch

    from chronolens.models.timechat import TimeChatConfig, TimeChatSample
    from chronolens.speech.base import Segment

__all__ = [
    "FeatureCache",
    "TimeITTurn",
    "build_samples",
    "default_cache_dir",
    "encode_videos",
    "load_turns",
    "stack_features",
    "turn_transcript",
]

logger = logging.getLogger(__name__)

_CACHE_VERSION = 2  # bump when the cached arrays change meaning


@dataclass(frozen=True, slots=True)
class TimeITTurn:
    """One question/answer turn of a TimeIT item, with its video resolved to an existing file."""

    video: Path  # the video file
    question: str  # the instruction, as written in the json
    answer: str  # the target text
    source: str  # the item's "source" ("" when absent)
    task: str  # the TimeIT task its source names (``timeit_tasks.task_of``)
    item: int  # index of the item in its json file
    asr: tuple[Segment, ...] | None = None  # the video's speech, seconds on its clock; None = unknown
    inline_asr: bool = False  # the question already holds TimeIT's "Transcribed speech: ..." prefix


def _resolve_video(name: str, roots: Sequence[Path], json_path: Path, item: int) -> Path:
    path = Path(name).expanduser()
    candidates = [path] if path.is_absolute() else [root / path for root in roots]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise ChronolensError(
        f"{json_path}: item {item}: video {name!r} not found (looked at {tried}); "
        "pass the directory holding the videos as the video root"
    )


def load_turns(
    path: str | os.PathLike[str],
    *,
    tasks: Iterable[str] | None = None,
    video_root: str | os.PathLike[str] | None = None,
    max_items: int | None = None,
    speech: bool = False,
) -> list[TimeITTurn]:
    """Read a TimeIT json file into turns, keeping only ``tasks`` and checking every video exists.

    Args:
        path: the TimeIT json file.
        tasks: keep items whose task (``chronolens.data.formats.timeit_tasks.task_of`` of the
            source: ``tvg``, ``vhd``, ``dvc``, ...) is one of these (``None``: all).
        video_root: where relative video paths live (default: the json's directory or its parent).
        max_items: keep only the first items after filtering (quick experiments).
        speech: items without ASR in the json take the transcript file beside their video.

    Returns:
        One ``TimeITTurn`` per question/answer turn of the kept items.

    Raises:
        FormatError: the file is not TimeIT json, or an item's ASR (or, with ``speech``, a
            transcript beside its video) is malformed (names the file and the item).
        ChronolensError: a kept item's video does not exist (names the file, item and video).
    """
    json_path = Path(path)
    items = read_timeit(json_path)
    keep = set(tasks) if tasks is not None else None
    roots = [Path(video_root).expanduser()] if video_root else []
    roots += [json_path.parent, json_path.parent.parent]
    turns: list[TimeITTurn] = []
    kept = 0
    for index, item in enumerate(items):
        source = item.get("source", "")
        if not isinstance(source, str):
            raise FormatError(f"{json_path}: item {index}: 'source' must be a string, got {source!r}")
        task = task_of(source)
        if keep is not None and task not in keep:
            continue
        if max_items is not None and kept >= max_items:
            break
        kept += 1
        video = _resolve_video(str(item["video"]), roots, json_path, index)
        asr = item_asr(item, where=f"{json_path}: item {index} ({item['video']})")
        if asr is None and speech:
            asr = _sidecar_asr(video, json_path, index)
        qa = item["QA"]
        assert isinstance(qa, list)  # checked by read_timeit
        for turn in qa:
            question = str(turn["q"]).strip()
            turns.append(
                TimeITTurn(
                    video=video,
                    question=question,
                    answer=str(turn["a"]).strip(),
                    source=source,
                    task=task,
                    item=index,
                    asr=asr,
                    inline_asr=split_inline_asr(question) is not None,
                )
            )
    if not turns:
        wanted = f" of task(s) {sorted(keep)}" if keep is not None else ""
        raise FormatError(f"{json_path}: no TimeIT items{wanted}")
    logger.info("%s: %d turns from %d items", json_path, len(turns), kept)
    return turns


def _sidecar_asr(video: Path, json_path: Path, index: int) -> tuple[Segment, ...] | None:
    """The segments of the transcript beside ``video``, or None when there is none."""
    from chronolens.models.timechat.transcript import video_transcript

    try:
        transcript = video_transcript(video)
    except FormatError as exc:
        raise FormatError(f"{json_path}: item {index}: {exc}") from exc
    return None if transcript is None else transcript.segments


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/chronolens/timechat-features`` (``~/.cache/...`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chronolens" / "timechat-features"


class FeatureCache:
    """Frame features on disk, one ``.npz`` per (video size + mtime, encoder weights, n_frames).

    The key covers the resolved path, byte size and modification time of the video, so an
    edited or replaced file is re-encoded; the encoder's name and the sha256 of its weights
    select the tower (retrained weights under the same name are a miss), ``n_frames`` the
    sampling. Writes go to a temporary file renamed into place.
    """

    def __init__(
        self, root: str | os.PathLike[str], *, encoder: str, weights_sha256: str, n_frames: int
    ) -> None:
        self.root = Path(root)
        self.encoder = encoder
        self.weights_sha256 = weights_sha256
        self.n_frames = n_frames
        self.hits = 0  # lookups served from disk in this object's lifetime
        self.misses = 0  # lookups that had to decode and encode

    def path(self, video: str | os.PathLike[str]) -> Path:
        """The cache file of ``video`` under the current file state."""
        p = Path(video).resolve()
        stat = p.stat()
        parts = (p, stat.st_size, stat.st_mtime_ns, self.encoder, self.weights_sha256, self.n_frames)
        key = f"v{_CACHE_VERSION}|" + "|".join(str(part) for part in parts)
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        return self.root / f"{p.stem[:40]}-{digest}.npz"

    def load(self, video: str | os.PathLike[str]) -> VideoFeatures | None:
        """The cached features of ``video``, or ``None`` (also for an unreadable cache file)."""
        path = self.path(video)
        if not path.is_file():
            return None
        try:
            with np.load(path) as data:
                return VideoFeatures(
                    features=data["features"].astype(np.float32),
                    timestamps=data["timestamps"].astype(np.float64),
                    duration=float(data["duration"]),
                    path=str(video),
                )
        except (OSError, KeyError, ValueError) as exc:
            logger.warning("ignoring unreadable feature cache %s: %s", path, exc)
            return None

    def store(self, video: str | os.PathLike[str], value: VideoFeatures) -> Path:
        """Write ``value`` for ``video`` atomically."""
        path = self.path(video)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial.npz")
        try:
            np.savez(
                tmp,
                features=value.features.astype(np.float32),
                timestamps=value.timestamps.astype(np.float64),
                duration=np.float64(value.duration),
            )
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path


def encode_videos(
    videos: Iterable[Path],
    *,
    encoder: str | FrameFeatures,
    n_frames: int,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> tuple[dict[Path, VideoFeatures], FeatureCache]:
    """Sample and encode every distinct video once, reading and filling the on-disk cache.

    Args:
        videos: video files (duplicates are encoded once).
        encoder: the image encoder's registry name (e.g. ``builtin:synth-clip``), or an
            already loaded ``FrameFeatures`` (callers encoding several sets share one tower).
        n_frames: frames sampled uniformly per video.
        cache_dir: the cache root (default ``default_cache_dir()``).
        progress: show a progress bar (drawn only when stderr is a terminal).

    Returns:
        ``{video: VideoFeatures}`` and the cache (its ``hits``/``misses`` say what was reused).
    """
    unique = list(dict.fromkeys(videos))
    # Loaded up front: the cache key needs the weights' hash (a small cost next to decoding).
    tower = FrameFeatures(encoder) if isinstance(encoder, str) else encoder
    root = cache_dir or default_cache_dir()
    cache = FeatureCache(root, encoder=tower.name, weights_sha256=tower.weights_sha256, n_frames=n_frames)
    out: dict[Path, VideoFeatures] = {}
    for video in progress_bar(unique, desc="frame features", unit="video", enabled=progress):
        found = cache.load(video)
        if found is not None:
            cache.hits += 1
            out[video] = found
            continue
        cache.misses += 1
        value = encode_video(video, n_frames, tower)
        cache.store(video, value)
        out[video] = value
    logger.info(
        "frame features: %d videos (%d cached, %d encoded) in %s",
        len(unique),
        cache.hits,
        cache.misses,
        cache.root,
    )
    return out, cache


def build_samples(
    turns: Sequence[TimeITTurn],
    features: dict[Path, VideoFeatures],
    *,
    transcripts: dict[Path, str] | None = None,
    config: TimeChatConfig | None = None,
    tokenizer: object = None,
) -> list[TimeChatSample]:
    """Pair each turn with its video's features into a ``TimeChatSample`` (prompt from the question).

    Args:
        turns: from ``load_turns``.
        features: from ``encode_videos``; must hold every turn's video.
        transcripts: optional timestamped transcript text per video, placed in the prompt as given.
        config: with ``transcript = true``, each turn's ASR goes in its prompt (see
            :func:`turn_transcript`) unless ``transcripts`` names its video.
        tokenizer: the LLM tokenizer, to count the transcript's token budget (None: words).

    Returns:
        One sample per turn, in order.
    """
    from chronolens.models.timechat import TimeChatSample, build_prompt

    samples = []
    for turn in turns:
        value = features[turn.video]
        transcript = transcripts.get(turn.video) if transcripts else None
        if transcript is None and config is not None:
            transcript = turn_transcript(turn, config, tokenizer)
        samples.append(
            TimeChatSample(
                features=value.features,
                timestamps=value.timestamps,
                prompt=build_prompt(turn.question, transcript),
                answer=turn.answer,
                video=str(turn.video),
                duration=value.duration,
                transcript=transcript if transcript and transcript.strip() else None,
            )
        )
    return samples


def turn_transcript(turn: TimeITTurn, config: TimeChatConfig, tokenizer: object = None) -> str | None:
    """The transcript lines a turn's prompt carries under ``config``, or None.

    None when ``config.transcript`` is off, the turn has no speech, it is a transcription turn
    (its answer is the transcript: in the prompt it would be copied, not heard), or its question
    already holds TimeIT's inline ASR.
    """
    from chronolens.models.timechat.transcript import config_transcript_text

    if not config.transcript or not turn.asr or turn.task == TVC or turn.inline_asr:
        return None
    return config_transcript_text(turn.asr, config, tokenizer)


def stack_features(
    values: Sequence[VideoFeatures],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad videos to the longest: features ``(B, T, P, Dv)``, timestamps ``(B, T)``, mask ``(B, T)``."""
    from chronolens.models.timechat.prompting import pad_frames

    return pad_frames([v.features for v in values], [v.timestamps for v in values])

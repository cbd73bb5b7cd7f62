"""The demo's synthetic world and its queries, drawn exactly as ``chronolens bench synth`` draws them.

The videos are a test split rendered with the generator's defaults (the settings of the bench's
split; only the number of videos differs). The queries are read from the split's own annotation
files, the ones the bench scores:

- **which video?** each video's caption from ``retrieval_<split>.json`` (the bench's text->video
  retrieval: the true video should rank first among all of them);
- **when?** each event's query from ``qvhighlights_<split>.jsonl``, grounded in its own video
  (the bench's moment retrieval: the top moment should overlap the event's window).

The demo scores *every* query this way; it shows a seeded random sample of each kind (no
cherry-picking: the sample is drawn before anything is searched).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from chronolens.timebase import Span

__all__ = ["DemoQuery", "QueryKind", "SyntheticWorld", "draw_sample", "render_world"]

# "video": a video's caption, ranked over the library (bench: text->video retrieval);
# "moment": one event's query, grounded in its own video (bench: moment retrieval);
# "search": a user's query on the user's own videos (no truth).
QueryKind = Literal["video", "moment", "search"]

SPLIT = "test"  # the split the demo renders (the bench's default split)


@dataclass(frozen=True)
class DemoQuery:
    """One query and, on synthetic data, where it truly happens."""

    text: str
    kind: QueryKind = "search"
    video: str | None = None  # the true video's absolute path (synthetic data only)
    truth: tuple[Span, ...] = ()  # the true spans in that video ("moment" queries)


@dataclass(frozen=True)
class SyntheticWorld:
    """The rendered videos and every query the bench would score on them."""

    videos: list[Path]  # absolute paths of the rendered videos
    video_queries: list[DemoQuery]  # one caption per video
    moment_queries: list[DemoQuery]  # one per event


def render_world(
    data: Path,
    *,
    videos: int,
    seed: int,
    progress: bool,
    min_duration: float = 10.0,
    max_duration: float = 60.0,
) -> SyntheticWorld:
    """Render (once) a synthetic test split under ``data`` and read the bench's queries of it.

    Args:
        data: directory of the dataset; reused when it already holds one.
        videos: number of videos to render.
        seed: the dataset seed.
        progress: show the renderer's progress bar.
        min_duration: seconds, shortest video (the generator's default; tests shrink it).
        max_duration: seconds, longest video (the generator's default; tests shrink it).

    Returns:
        The videos and their queries.
    """
    from chronolens.data.formats.all import annotation_files
    from chronolens.data.formats.qvhighlights import read_qvhighlights
    from chronolens.data.formats.retrieval import read_retrieval_pairs
    from chronolens.data.synth import SynthConfig, generate, load_synth

    if not (data / "synth.json").exists():
        # The generator's defaults are the bench split's settings (frame rates, event lengths, the
        # rare 10-minute video); only the count, the seed and (in tests) the durations are the demo's.
        synth = SynthConfig(
            videos=videos, seed=seed, split=SPLIT, min_duration=min_duration, max_duration=max_duration
        )
        generate(data, synth, progress=progress)
    dataset = load_synth(data)
    members = dataset.split(SPLIT)
    path_of = {v.id: str(Path(dataset.video_path(v)).resolve()) for v in members}
    files = annotation_files(dataset.root, SPLIT)
    video_queries = [
        DemoQuery(text=caption, kind="video", video=path_of[vid])
        for vid, caption in read_retrieval_pairs(files["retrieval"])
        if vid in path_of
    ]
    moment_queries = [
        DemoQuery(
            text=record.query,
            kind="moment",
            video=path_of[record.vid],
            truth=tuple(Span(s, e) for s, e in record.relevant_windows),
        )
        for record in read_qvhighlights(files["qvhighlights"])
        if record.vid in path_of
    ]
    return SyntheticWorld([Path(path_of[v.id]) for v in members], video_queries, moment_queries)


def draw_sample(n_queries: int, shown: int, rng: np.random.Generator) -> list[int]:
    """Indices of ``shown`` queries out of ``n_queries``, drawn at random, in their original order."""
    if n_queries <= shown:
        return list(range(n_queries))
    return sorted(int(i) for i in rng.choice(n_queries, size=shown, replace=False))

"""Writing search results out: CSV, JSON, a CMX 3600 edit decision list, and clips.

All three text formats list the same things in the same order: the videos best first and, inside
each, its moments best first (the order ``chronolens search`` prints). Times stay in seconds in
CSV and JSON (machine formats keep numbers, as ``--json`` does); only the EDL speaks timecode.

- **csv** (``export_csv``): a header ``rank,video,video_score,moment,start,end,moment_score``,
  then one row per moment: ``rank`` is the video's 1-based rank, ``moment`` the moment's 1-based
  position inside it; ``start``/``end`` are seconds with 3 decimals (milliseconds), scores have 6
  decimals. A video returned without moments gets one row with ``moment``, ``start``, ``end`` and
  ``moment_score`` empty, so every video of the result shows up.
- **json** (``export_json``): ``{"query", "results": [...]}``, exactly the object
  ``chronolens search --json`` prints.
- **edl** (``export_edl``): CMX 3600. A ``TITLE:`` and ``FCM: NON-DROP FRAME`` header, then one
  cut event per moment on the video track, reel ``AX`` (the reel name editors use for file-based
  sources), followed by ``* FROM CLIP NAME: <file name>`` and ``* SOURCE FILE: <path>``. Source
  in/out are the moment's start/end as ``hh:mm:ss:ff`` at the video's own frame rate (the
  catalog's; :data:`DEFAULT_EDL_FPS` when unknown), out exclusive as EDLs count it; a
  fractional rate (29.97) counts frames in non-drop timecode at its nominal base (30). Record
  in/out lay the events end to end on a timeline from 01:00:00:00 at the first event's rate.
- **clips** (``export_clips``): each moment as an mp4 (:mod:`chronolens.video.clips`), named
  ``NN-<video stem>-<start>-<end>.mp4`` with ``NN`` the moment's position in the export (its EDL
  event number).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal

from chronolens.library.library import Library
from chronolens.tasks.search import SearchResult
from chronolens.timebase import Moment
from chronolens.video.clips import Clip, clip_name, write_clips

__all__ = [
    "CSV_HEADER",
    "DEFAULT_EDL_FPS",
    "EDL_RECORD_START",
    "FORMATS",
    "ExportFormat",
    "export_clips",
    "export_csv",
    "export_edl",
    "export_json",
    "frame_rates",
    "render",
    "timecode",
]

ExportFormat = Literal["csv", "json", "edl"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "json", "edl")
CSV_HEADER = ("rank", "video", "video_score", "moment", "start", "end", "moment_score")
DEFAULT_EDL_FPS = 25.0  # frame rate of EDL timecodes for a video whose catalog row states none
EDL_RECORD_START = 3600.0  # seconds: the record timeline starts at 01:00:00:00, as editors expect
_EDL_REEL = "AX"  # CMX reel name for a file-based source ("auxiliary"), read by every NLE
_EDL_TITLE_MAX = 70  # characters of the query kept in the TITLE line


def _moments(results: Sequence[SearchResult]) -> Iterator[tuple[int, SearchResult, int, Moment]]:
    """``(video rank, result, moment position, moment)`` for every moment, in export order."""
    for rank, result in enumerate(results, 1):
        for position, moment in enumerate(result.moments, 1):
            yield rank, result, position, moment


def export_json(query: str, results: Sequence[SearchResult]) -> str:
    """``{"query", "results": [...]}`` as ``chronolens search --json`` prints it (one line)."""
    return json.dumps({"query": query, "results": [r.to_json() for r in results]}) + "\n"


def export_csv(results: Sequence[SearchResult]) -> str:
    """One CSV row per moment under :data:`CSV_HEADER` (see the module docstring)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for rank, result in enumerate(results, 1):
        video = [rank, result.video, f"{result.score:.6f}"]
        if not result.moments:
            writer.writerow([*video, "", "", "", ""])
        for position, m in enumerate(result.moments, 1):
            writer.writerow([*video, position, f"{m.start:.3f}", f"{m.end:.3f}", f"{m.score:.6f}"])
    return out.getvalue()


def _edl_fps(fps: float | None) -> float:
    return float(fps) if fps is not None and math.isfinite(fps) and fps > 0 else DEFAULT_EDL_FPS


def timecode(seconds: float, fps: float) -> str:
    """``seconds`` as non-drop-frame ``hh:mm:ss:ff`` at ``fps`` (frames counted at the real rate).

    The frame number is ``round(seconds * fps)``; the digits count it in base ``round(fps)``, so a
    reader computes ``frames / fps`` and gets ``seconds`` back within half a frame.
    """
    base = max(1, round(fps))
    frames = max(0, round(seconds * fps))
    total, ff = divmod(frames, base)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}:{ff:02d}"


def _frames(seconds: float, fps: float) -> int:
    return max(0, round(seconds * fps))


def export_edl(query: str, results: Sequence[SearchResult], fps: Mapping[str, float]) -> str:
    """A CMX 3600 EDL with one cut event per moment (see the module docstring).

    Args:
        query: the search text (the EDL's title).
        results: search results, best first.
        fps: frame rate per video path (missing or <= 0: :data:`DEFAULT_EDL_FPS`).
    """
    title = " ".join(query.split())[:_EDL_TITLE_MAX]
    lines = [f"TITLE: chronolens {title}", "FCM: NON-DROP FRAME", ""]
    events = list(_moments(results))
    timeline_fps = _edl_fps(fps.get(events[0][1].video)) if events else DEFAULT_EDL_FPS
    record = _frames(EDL_RECORD_START, timeline_fps)  # frames on the record timeline
    for number, (_, result, _, m) in enumerate(events, 1):
        rate = _edl_fps(fps.get(result.video))
        src_in, src_out = _frames(m.start, rate), max(_frames(m.end, rate), _frames(m.start, rate) + 1)
        length = round((src_out - src_in) / rate * timeline_fps)  # the event's length at the timeline rate
        lines.append(
            f"{number:03d}  {_EDL_REEL:<8} {'V':<5} {'C':<8} "
            f"{timecode(src_in / rate, rate)} {timecode(src_out / rate, rate)} "
            f"{timecode(record / timeline_fps, timeline_fps)} "
            f"{timecode((record + length) / timeline_fps, timeline_fps)}"
        )
        lines.append(f"* FROM CLIP NAME: {Path(result.video).name}")
        lines.append(f"* SOURCE FILE: {result.video}")
        lines.append("")
        record += length
    return "\n".join(lines).rstrip("\n") + "\n"


def frame_rates(library: Library) -> dict[str, float]:
    """The catalogued frame rate of every video in ``library`` (0.0 where the container stated none)."""
    return {record.path: record.fps for record in library.videos()}


def render(
    fmt: str, query: str, results: Sequence[SearchResult], fps: Mapping[str, float] | None = None
) -> str:
    """The text of ``results`` in format ``fmt`` (``fps`` is read by ``edl`` only).

    Raises:
        ValueError: an unknown format.
    """
    if fmt == "csv":
        return export_csv(results)
    if fmt == "json":
        return export_json(query, results)
    if fmt == "edl":
        return export_edl(query, results, fps or {})
    raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")


def export_clips(
    results: Sequence[SearchResult], directory: str | os.PathLike[str], *, progress: bool = True
) -> list[Path]:
    """Write every moment of ``results`` as an mp4 under ``directory`` (created if absent).

    Returns:
        The clip files, in export order (moment ``NN`` is EDL event ``NN``).
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    clips = [
        Clip(
            video=result.video,
            start=m.start,
            end=m.end,
            path=out / clip_name(n, result.video, m.start, m.end),
        )
        for n, (_, result, _, m) in enumerate(_moments(results), 1)
    ]
    return write_clips(clips, progress=progress)

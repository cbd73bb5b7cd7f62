"""A self-contained HTML report of the demo: per query, its videos with curves, moments and frames.

Everything is inlined (JPEG thumbnails as data URIs, curves as SVG) so the file can be mailed or
opened offline. Thumbnails are JPEG-encoded with PyAV's MJPEG encoder (no imaging dependency).

**One score scale.** Every number and every curve is the cosine similarity between the query's
text embedding and frame embeddings (-1..1; with ``builtin:synth-clip`` a match sits around
0.3-0.5). A video's score is the mean of its 5 best frames (``chronolens.tasks.retrieval``); a
moment's is the mean over the frames inside it. Moments are *ordered* by the grounder (TFVTG-style
scoring over the curve; its internal score is in ``--json``, on its own scale). All curves share
one y axis, so heights compare across videos and queries.
"""

from __future__ import annotations

import base64
import html
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chronolens.atomic import write_text_atomic
from chronolens.timebase import Moment, Span, clock

__all__ = [
    "SCORE_SCALE",
    "ReportHeader",
    "ReportItem",
    "ReportPanel",
    "moment_similarity",
    "render_report",
    "write_report",
]

THUMB_WIDTH = 192  # pixels; thumbnails are scaled to this width, aspect kept
CURVE_WIDTH = 640  # SVG plot width in pixels (the axes' labels add margins around it)
CURVE_HEIGHT = 120  # SVG plot height in pixels
MARGIN_LEFT = 44  # pixels left of the plot: similarity tick labels
MARGIN_BOTTOM = 18  # pixels below the plot: time tick labels
TIME_TICKS = 6  # about this many labelled times along a curve's x axis
SCALE_STEP = 0.1  # the shared y range is rounded outwards to multiples of this similarity

SCORE_SCALE = (
    "Every score is the cosine similarity of the query with video frames (−1 to 1; with the "
    "built-in model a match sits around 0.3–0.5). A video's score is the mean of its 5 best "
    "frames; a moment's is the mean over the frames inside it. Moments are numbered in the "
    "grounder's order (TFVTG-style scoring of the curve; its own score is in --json). "
    "All curves share one similarity axis."
)


@dataclass(frozen=True)
class ReportPanel:
    """One video's result for one query."""

    video: str  # path or name shown to the user
    duration: float  # seconds
    score: float  # the video's pooled similarity (mean of its best frames)
    found: Sequence[Moment]  # best first, in the grounder's order
    times: np.ndarray  # (T,) seconds of the sampled frames
    similarity: np.ndarray  # (T,) query-frame cosine similarity at those times
    rank: int | None = None  # the video's rank for the query (1 = top); None: grounded directly
    truth: Sequence[Span] | None = None  # true spans in this video; None: the truth is unknown
    is_true: bool = False  # this is the query's true video (synthetic data)
    thumbnails: Sequence[tuple[float, bytes]] = field(default_factory=tuple)  # (time s, JPEG bytes)


@dataclass(frozen=True)
class ReportItem:
    """One query: its panels (the top videos, then the true video when they missed it)."""

    query: str
    panels: Sequence[ReportPanel]
    note: str = ""  # one line under the query, e.g. where the truth is


@dataclass(frozen=True)
class ReportHeader:
    """What the report opens with."""

    intro: str  # what this is, in a sentence or two
    facts: Sequence[tuple[str, str]] = ()  # (label, value): library, videos, frames, time, model
    summary: Sequence[str] = ()  # the measured outcome, one line each


def moment_similarity(times: np.ndarray, similarity: np.ndarray, moment: Span | Moment) -> float:
    """Mean similarity of the frames inside ``[start, end)`` (the nearest frame when none is).

    Args:
        times: ``(T,)`` seconds of the frames, T >= 1.
        similarity: ``(T,)`` their similarity with the query.
        moment: the span.

    Returns:
        The mean cosine similarity (NaN when there are no frames at all).
    """
    ts = np.asarray(times, dtype=np.float64)
    sims = np.asarray(similarity, dtype=np.float64)
    if sims.size == 0:
        return math.nan
    inside = (ts >= moment.start) & (ts < moment.end)
    if inside.any():
        return float(sims[inside].mean())
    return float(sims[int(np.argmin(np.abs(ts - (moment.start + moment.end) / 2)))])


def _time_ticks(duration: float) -> list[float]:
    """Round tick times (1, 2, 5 x 10^k seconds apart) covering ``[0, duration]``."""
    if duration <= 0:
        return [0.0]
    raw = duration / TIME_TICKS
    base = 10 ** math.floor(math.log10(raw))
    step = next(m * base for m in (1, 2, 5, 10) if m * base >= raw)
    return [i * step for i in range(int(duration / step + 1e-9) + 1)]


def _svg_curve(panel: ReportPanel, y_range: tuple[float, float]) -> str:
    """The similarity curve over time, on the report's shared y axis, with labelled axes.

    True spans are shaded green, found moments outlined orange (the first solid), the video's
    score drawn as a dashed grey line on the same axis.
    """
    dur = max(panel.duration, 1e-6)
    lo, hi = y_range
    total_w, total_h = MARGIN_LEFT + CURVE_WIDTH + 8, CURVE_HEIGHT + MARGIN_BOTTOM + 4

    def x(t: float) -> float:
        return MARGIN_LEFT + CURVE_WIDTH * min(max(t, 0.0), dur) / dur

    def y(s: float) -> float:
        return 2 + (CURVE_HEIGHT - 4) * (hi - min(max(s, lo), hi)) / (hi - lo)

    parts = [
        f'<svg width="{total_w}" height="{total_h}" viewBox="0 0 {total_w} {total_h}" '
        'xmlns="http://www.w3.org/2000/svg" role="img" font-size="10" fill="#555">',
        f'<rect x="{MARGIN_LEFT}" width="{CURVE_WIDTH}" height="{CURVE_HEIGHT}" '
        'fill="#fafafa" stroke="#ddd"/>',
    ]
    for t in _time_ticks(panel.duration):
        parts.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{CURVE_HEIGHT}" y2="{CURVE_HEIGHT + 4}" '
            'stroke="#999"/>'
            f'<text class=tick x="{x(t):.1f}" y="{CURVE_HEIGHT + 14}" text-anchor="middle">{clock(t)}</text>'
        )
    for value in (lo, (lo + hi) / 2, hi):
        parts.append(
            f'<text class=tick x="{MARGIN_LEFT - 4}" y="{y(value) + 3:.1f}" '
            f'text-anchor="end">{value:.2f}</text>'
        )
    for sp in panel.truth or ():
        parts.append(
            f'<rect x="{x(sp.start):.1f}" y="0" width="{max(x(sp.end) - x(sp.start), 1):.1f}" '
            f'height="{CURVE_HEIGHT}" fill="#2e7d32" fill-opacity="0.22"><title>true '
            f"{clock(sp.start)}–{clock(sp.end)}</title></rect>"
        )
    sims = np.asarray(panel.similarity, dtype=np.float64)
    for i, m in enumerate(panel.found):
        score = moment_similarity(panel.times, sims, m)
        parts.append(
            f'<rect x="{x(m.start):.1f}" y="1" width="{max(x(m.end) - x(m.start), 1):.1f}" '
            f'height="{CURVE_HEIGHT - 2}" fill="none" stroke="#ef6c00" stroke-width="{2 if i == 0 else 1}" '
            f'stroke-dasharray="{"" if i == 0 else "4 3"}"><title>found #{i + 1} '
            f"{clock(m.start)}–{clock(m.end)} (similarity {score:.2f})</title></rect>"
        )
    parts.append(
        f'<line x1="{MARGIN_LEFT}" x2="{MARGIN_LEFT + CURVE_WIDTH}" y1="{y(panel.score):.1f}" '
        f'y2="{y(panel.score):.1f}" stroke="#888" stroke-dasharray="2 3"><title>video score '
        f"{panel.score:.2f}</title></line>"
    )
    if sims.size:
        pts = " ".join(f"{x(float(t)):.1f},{y(float(s)):.1f}" for t, s in zip(panel.times, sims, strict=True))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="#1565c0" stroke-width="1.5"/>')
    parts.append("</svg>")
    return "".join(parts)


def _shared_y_range(items: Sequence[ReportItem]) -> tuple[float, float]:
    """One similarity range for every curve, rounded outwards to ``SCALE_STEP``."""
    values = [
        v
        for item in items
        for p in item.panels
        for v in (*np.asarray(p.similarity, dtype=np.float64).tolist(), p.score)
        if math.isfinite(v)
    ]
    if not values:
        return (0.0, 1.0)
    lo = math.floor(min(values) / SCALE_STEP) * SCALE_STEP
    hi = math.ceil(max(values) / SCALE_STEP) * SCALE_STEP
    return (lo, hi) if hi > lo else (lo, lo + SCALE_STEP)


def _fmt_spans(spans: Sequence[Span]) -> str:
    return ", ".join(f"{clock(s.start)}–{clock(s.end)}" for s in spans) or "—"


def _fmt_found(panel: ReportPanel) -> str:
    out = [
        f"#{i + 1} {clock(m.start)}–{clock(m.end)} "
        f"({moment_similarity(panel.times, panel.similarity, m):.2f})"
        for i, m in enumerate(panel.found)
    ]
    return ", ".join(out) or "—"


def _panel_html(panel: ReportPanel, y_range: tuple[float, float]) -> str:
    esc = html.escape
    thumbs = "".join(
        f'<figure><img alt="frame at {clock(t)}" src="data:image/jpeg;base64,'
        f'{base64.b64encode(data).decode("ascii")}"/><figcaption>{clock(t)}</figcaption></figure>'
        for t, data in panel.thumbnails
    )
    rank = "" if panel.rank is None else f"<span class=rank>#{panel.rank}</span> "
    mark = " <span class=true>✓ true video</span>" if panel.is_true else ""
    truth = f"<p><b>true:</b> {esc(_fmt_spans(panel.truth))}</p>" if panel.truth else ""
    return (
        f"<div class=panel><p class=video>{rank}<b>{esc(Path(panel.video).name)}</b> · "
        f"{clock(panel.duration)} · video score {panel.score:.2f}{mark}</p>"
        f"<p><b>found:</b> {esc(_fmt_found(panel))}</p>{truth}"
        f"<div class=curve>{_svg_curve(panel, y_range)}</div><div class=thumbs>{thumbs}</div></div>"
    )


def render_report(items: Sequence[ReportItem], *, title: str, header: ReportHeader) -> str:
    """Render the report as one HTML string.

    Args:
        items: the queries, in the order shown.
        title: the page title.
        header: what the page opens with (the intro, facts and the measured summary).
    """
    esc = html.escape
    y_range = _shared_y_range(items)
    rows = [
        f"<section><h2>“{esc(item.query)}”</h2>"
        + (f"<p class=note>{esc(item.note)}</p>" if item.note else "")
        + "".join(_panel_html(p, y_range) for p in item.panels)
        + "</section>"
        for item in items
    ]
    facts = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in header.facts)
    notes = "".join(f"<li>{esc(s)}</li>" for s in header.summary)
    has_truth = any(p.truth is not None for item in items for p in item.panels)
    legend = "<span style='color:#1565c0'>— similarity</span>"
    if has_truth:
        legend += "<span style='background:#c8e6c9'>true span</span>"
    legend += "<span style='border:1px solid #ef6c00'>found moment</span>"
    legend += "<span style='color:#888'>┄ video score</span>"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{esc(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}"
        "section{border-top:1px solid #ddd;padding:1em 0}h2{font-size:1.1em;margin:.2em 0}"
        ".panel{margin:.6em 0 1em}.video{color:#444;margin:.2em 0}.note{color:#666;margin:.2em 0}"
        ".rank{background:#eee;padding:0 .4em;border-radius:3px}.true{color:#2e7d32}"
        ".thumbs{display:flex;gap:8px;flex-wrap:wrap}figure{margin:0;font-size:.8em;color:#555}"
        "img{display:block;border:1px solid #ccc}.legend span{padding:0 .5em;margin-right:1em}"
        "table.facts th{text-align:left;padding-right:1em;color:#555;font-weight:normal}"
        ".scale{color:#555;font-size:.9em}"
        "</style></head><body>"
        f"<h1>{esc(title)}</h1><p class=intro>{esc(header.intro)}</p>"
        f"<table class=facts>{facts}</table><ul class=summary>{notes}</ul>"
        f"<p class=scale>{esc(SCORE_SCALE)}</p>"
        f"<p class=legend>{legend}</p>" + "".join(rows) + "</body></html>"
    )


def write_report(
    path: str | os.PathLike[str], items: Sequence[ReportItem], *, title: str, header: ReportHeader
) -> Path:
    """Write the report atomically and return its path."""
    return write_text_atomic(path, render_report(items, title=title, header=header))

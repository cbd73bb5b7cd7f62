"""A self-contained HTML report of search results: thumbnails, similarity curves, true spans.

Everything is inlined (JPEG thumbnails as data URIs, curves as SVG) so the file can be mailed or
opened offline. Thumbnails are JPEG-encoded with PyAV's MJPEG encoder (no imaging dependency).
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from chronolens.atomic import write_text_atomic
from chronolens.timebase import Moment, Span

__all__ = ["ReportItem", "jpeg_bytes", "render_report", "write_report"]

THUMB_WIDTH = 192  # pixels; thumbnails are scaled to this width, aspect kept
CURVE_WIDTH = 640  # SVG width in pixels
CURVE_HEIGHT = 120  # SVG height in pixels


@dataclass(frozen=True)
class ReportItem:
    """One query's result on one video, as the report shows it."""

    query: str
    video: str  # path or name shown to the user
    duration: float  # seconds
    found: Sequence[Moment]  # best first
    times: np.ndarray  # (T,) seconds of the sampled frames
    similarity: np.ndarray  # (T,) query-frame similarity at those times
    truth: Sequence[Span] | None = None  # true spans when known (synthetic data)
    thumbnails: Sequence[tuple[float, bytes]] = field(default_factory=tuple)  # (time s, JPEG bytes)
    rank: int | None = None  # rank of the video among all results (1 = top), when relevant


def jpeg_bytes(image: np.ndarray, width: int = THUMB_WIDTH) -> bytes:
    """Encode an ``(H, W, 3)`` uint8 RGB image as JPEG, scaled to ``width`` pixels wide.

    Returns:
        The JPEG file bytes.
    """
    h, w = image.shape[:2]
    out_w = max(2, width - width % 2)
    out_h = max(2, round(h * out_w / w / 2) * 2)
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    frame = frame.reformat(width=out_w, height=out_h, format="yuvj420p")
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height = out_w, out_h
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1, 25)
    packets = list(codec.encode(frame)) + list(codec.encode(None))
    return b"".join(bytes(p) for p in packets)


def _svg_curve(item: ReportItem) -> str:
    """Similarity curve over time, true spans shaded green, found moments outlined orange."""
    dur = max(item.duration, 1e-6)
    sims = np.asarray(item.similarity, dtype=np.float64)
    lo, hi = (float(sims.min()), float(sims.max())) if sims.size else (0.0, 1.0)
    span = hi - lo if hi > lo else 1.0

    def x(t: float) -> float:
        return CURVE_WIDTH * min(max(t, 0.0), dur) / dur

    def y(s: float) -> float:
        return CURVE_HEIGHT - 4 - (CURVE_HEIGHT - 8) * (s - lo) / span

    parts = [
        f'<svg width="{CURVE_WIDTH}" height="{CURVE_HEIGHT}" viewBox="0 0 {CURVE_WIDTH} {CURVE_HEIGHT}" '
        'xmlns="http://www.w3.org/2000/svg" role="img">',
        f'<rect width="{CURVE_WIDTH}" height="{CURVE_HEIGHT}" fill="#fafafa" stroke="#ddd"/>',
    ]
    for sp in item.truth or ():
        parts.append(
            f'<rect x="{x(sp.start):.1f}" y="0" width="{max(x(sp.end) - x(sp.start), 1):.1f}" '
            f'height="{CURVE_HEIGHT}" fill="#2e7d32" fill-opacity="0.22"><title>true '
            f"{sp.start:.1f}–{sp.end:.1f} s</title></rect>"
        )
    for i, m in enumerate(item.found):
        parts.append(
            f'<rect x="{x(m.start):.1f}" y="1" width="{max(x(m.end) - x(m.start), 1):.1f}" '
            f'height="{CURVE_HEIGHT - 2}" fill="none" stroke="#ef6c00" stroke-width="{2 if i == 0 else 1}" '
            f'stroke-dasharray="{"" if i == 0 else "4 3"}"><title>found #{i + 1} {m.start:.1f}–{m.end:.1f} s '
            f"(score {m.score:.3f})</title></rect>"
        )
    if sims.size:
        pts = " ".join(f"{x(float(t)):.1f},{y(float(s)):.1f}" for t, s in zip(item.times, sims, strict=True))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="#1565c0" stroke-width="1.5"/>')
    parts.append("</svg>")
    return "".join(parts)


def _fmt_spans(spans: Sequence[Span] | Sequence[Moment]) -> str:
    out = []
    for s in spans:
        text = f"{s.start:.1f}–{s.end:.1f} s"
        if isinstance(s, Moment):
            text += f" ({s.score:.3f})"
        out.append(text)
    return ", ".join(out) or "—"


def render_report(items: Sequence[ReportItem], *, title: str, summary: Sequence[str] = ()) -> str:
    """Render the report as one HTML string."""
    esc = html.escape
    rows = []
    for item in items:
        thumbs = "".join(
            f'<figure><img alt="frame at {t:.1f} s" src="data:image/jpeg;base64,'
            f'{base64.b64encode(data).decode("ascii")}"/><figcaption>{t:.1f} s</figcaption></figure>'
            for t, data in item.thumbnails
        )
        truth = "" if item.truth is None else f"<p><b>true:</b> {esc(_fmt_spans(item.truth))}</p>"
        rank = "" if item.rank is None else f" <span class=rank>video rank {item.rank}</span>"
        rows.append(
            f"<section><h2>“{esc(item.query)}”</h2>"
            f"<p class=video>{esc(item.video)} · {item.duration:.1f} s{rank}</p>"
            f"<p><b>found:</b> {esc(_fmt_spans(item.found))}</p>{truth}"
            f"<div class=curve>{_svg_curve(item)}</div><div class=thumbs>{thumbs}</div></section>"
        )
    notes = "".join(f"<li>{esc(s)}</li>" for s in summary)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{esc(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}"
        "section{border-top:1px solid #ddd;padding:1em 0}h2{font-size:1.1em;margin:.2em 0}"
        ".video{color:#666;margin:.2em 0}.rank{background:#eee;padding:0 .4em;border-radius:3px}"
        ".thumbs{display:flex;gap:8px;flex-wrap:wrap}figure{margin:0;font-size:.8em;color:#555}"
        "img{display:block;border:1px solid #ccc}.legend span{padding:0 .5em;margin-right:1em}"
        "</style></head><body>"
        f"<h1>{esc(title)}</h1><ul>{notes}</ul>"
        "<p class=legend><span style='color:#1565c0'>— similarity</span>"
        "<span style='background:#c8e6c9'>true span</span>"
        "<span style='border:1px solid #ef6c00'>found moment</span></p>" + "".join(rows) + "</body></html>"
    )


def write_report(
    path: str | os.PathLike[str], items: Sequence[ReportItem], *, title: str, summary: Sequence[str] = ()
) -> Path:
    """Write the report atomically and return its path."""
    return write_text_atomic(path, render_report(items, title=title, summary=summary))

"""Rendering synthetic videos frame by frame in numpy, from the ground truth alone.

``render_frame(video, t)`` is exactly the picture the video file holds at time ``t`` (before
H.264 compression): the generator encodes the same frames. Every event carries a cue readable
from one frame: moving objects leave a fading trail, spinning ones a rotational smear, an arc
and an off-centre marker, growing/shrinking ones faint outlines of their earlier sizes, a colour
change wipes the new colour across the old one, appearing objects radiate short rays,
disappearing ones dissolve, and a scene cut shows a new background with a fading white border.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator

import numpy as np

from chronolens.data.synth.scene import SynthBackground, SynthEvent, SynthObject, SynthVideo
from chronolens.data.synth.shapes import shape_mask, texture_shade
from chronolens.data.synth.vocab import BACKGROUND_COLORS, COLORS

__all__ = ["background_at", "render_frame", "render_frames"]

TRAIL_LAG_S = 0.35  # seconds between consecutive trail ghosts
TRAIL_ALPHAS = (0.45, 0.28, 0.14)  # opacity of the ghosts, newest first
OUTLINE_ALPHAS = (0.6, 0.4, 0.22)  # opacity of earlier-size outlines (grow/shrink)
OUTLINE_LAG_S = 0.6  # seconds between earlier-size outlines
OUTLINE_INNER = 0.84  # an outline is the shape minus the shape scaled by this
APPEAR_RAMP = 0.15  # fraction of an appear window over which opacity rises to 1
APPEAR_START_ALPHA = 0.55  # opacity at the first frame of an appear window
RAY_INNER, RAY_OUTER = 1.25, 1.7  # appear rays span these radii (object units)
RAY_COUNT = 8
RAY_HALF_WIDTH = 0.22  # |sin(RAY_COUNT/2 * theta)| below this is on a ray
DISSOLVE_MAX = 0.8  # fraction of a disappearing object's pixels gone at the window's end
SPIN_ARC_INNER, SPIN_ARC_OUTER = 1.15, 1.32  # rotational arc radii (object units)
SPIN_ARC_SPAN = 2.2  # radians of arc trailing behind the marker
SPIN_MARKER_OFFSET, SPIN_MARKER_RADIUS = 0.55, 0.2  # off-centre marker dot (object units)
SPIN_GHOST_ALPHAS = (0.35, 0.18)  # rotated ghosts, newest first
SPIN_GHOST_STEP = 0.35  # radians between rotated ghosts
MEET_APPROACH = 0.75  # fraction of a meet window spent approaching; then they touch
CUT_BORDER = 0.06  # white border width after a scene cut, fraction of the shorter side
NOISE_AMPLITUDE = 14.0  # grey levels of the grain on a "noise" background
GRADIENT_DIRECTIONS = 4  # gradient directions: left-right, top-bottom and the two diagonals
DARK_MARKER = (30, 30, 30)  # marker colour on light objects
LIGHT_MARKER = (250, 250, 250)  # marker colour on dark objects
WHITE = (255, 255, 255)


@functools.lru_cache(maxsize=64)
def _background(bg: SynthBackground, width: int, height: int) -> np.ndarray:
    c1 = np.asarray(BACKGROUND_COLORS[bg.color], dtype=np.float32)
    c2 = np.asarray(BACKGROUND_COLORS[bg.color2], dtype=np.float32)
    ys = (np.arange(height, dtype=np.float32) + 0.5)[:, None] / height
    xs = (np.arange(width, dtype=np.float32) + 0.5)[None, :] / width
    if bg.kind == "plain":
        img: np.ndarray = np.broadcast_to(c1, (height, width, 3)).astype(np.float32)
    elif bg.kind == "gradient":
        direction = bg.noise_seed % GRADIENT_DIRECTIONS
        ramp = [xs + 0 * ys, ys + 0 * xs, (xs + ys) / 2, (xs + 1 - ys) / 2][direction]
        img = c1 + (c2 - c1) * ramp[..., None]
    elif bg.kind == "checkerboard":
        cell = bg.cell * min(width, height)
        px = np.floor((np.arange(width) + 0.5) / cell).astype(np.int64)[None, :]
        py = np.floor((np.arange(height) + 0.5) / cell).astype(np.int64)[:, None]
        odd = ((px + py) % 2).astype(bool)
        img = np.where(odd[..., None], c2, c1).astype(np.float32)
    else:  # noise: grain around the main colour, fixed by the background's seed
        rng = np.random.default_rng(bg.noise_seed)
        grain = rng.normal(0.0, NOISE_AMPLITUDE, size=(height, width, 1)).astype(np.float32)
        img = c1 + grain
    out = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=64)
def _scene_layer(
    bg: SynthBackground, distractors: tuple[SynthObject, ...], width: int, height: int
) -> np.ndarray:
    layer = _background(bg, width, height).copy()
    for obj in distractors:
        _draw(layer, obj, obj.x, obj.y)
    layer.setflags(write=False)
    return layer


def _draw(
    canvas: np.ndarray,
    obj: SynthObject,
    x: float,
    y: float,
    *,
    scale: float = 1.0,
    angle: float = 0.0,
    alpha: float = 1.0,
    color: tuple[int, int, int] | None = None,
    wipe: tuple[float, tuple[int, int, int]] | None = None,
    outline: bool = False,
    dissolve: float = 0.0,
    marker: bool = False,
) -> None:
    """Alpha-blend one object onto ``canvas`` (H, W, 3) uint8, in place.

    Args:
        canvas: the frame being drawn.
        obj: shape, colour and texture; its own position is ignored in favour of ``x``, ``y``.
        x: centre, fraction of the width.
        y: centre, fraction of the height.
        scale: radius multiplier.
        angle: rotation in radians (clockwise on screen).
        alpha: opacity in [0, 1].
        color: colour override (RGB); default the object's colour family.
        wipe: ``(fraction, rgb)``: the left ``fraction`` of the object is drawn in ``rgb``.
        outline: draw only a thin outline of the shape.
        dissolve: fraction of pixels dropped (a fixed per-pixel pattern).
        marker: add an off-centre dot that makes rotation visible.
    """
    height, width = canvas.shape[:2]
    short = min(width, height)
    r = obj.radius * scale * short
    if r < 0.5 or alpha <= 0:
        return
    cx, cy = x * width, y * height
    x0, x1 = max(math.floor(cx - r) - 1, 0), min(math.ceil(cx + r) + 2, width)
    y0, y1 = max(math.floor(cy - r) - 1, 0), min(math.ceil(cy + r) + 2, height)
    if x0 >= x1 or y0 >= y1:
        return
    xs = (np.arange(x0, x1, dtype=np.float32) + 0.5 - cx)[None, :] / r  # (1, w)
    ys = (np.arange(y0, y1, dtype=np.float32) + 0.5 - cy)[:, None] / r  # (h, 1)
    cos, sin = math.cos(angle), math.sin(angle)
    u = xs * cos + ys * sin  # (h, w) object frame
    v = -xs * sin + ys * cos
    mask = shape_mask(obj.shape, u, v)
    if outline:
        mask &= ~shape_mask(obj.shape, u / OUTLINE_INNER, v / OUTLINE_INNER)
    if dissolve > 0:
        gx = np.arange(x0, x1, dtype=np.int64)[None, :]
        gy = np.arange(y0, y1, dtype=np.int64)[:, None]
        pattern = ((gx * 73856093) ^ (gy * 19349663)) % 1009 / 1009.0  # fixed per-pixel noise
        mask &= pattern >= dissolve
    if not mask.any():
        return
    rgb = np.asarray(color if color is not None else COLORS[obj.color], dtype=np.float32)
    paint = np.broadcast_to(rgb, (*mask.shape, 3)).copy()  # (h, w, 3)
    if wipe is not None:
        fraction, new_rgb = wipe
        left = np.broadcast_to(xs < -1.0 + 2.0 * fraction, mask.shape)
        paint[left] = new_rgb
    if not outline:
        shade = texture_shade(obj.texture, u, v)
        if shade is not None:
            paint *= np.broadcast_to(shade, mask.shape)[..., None]
    if marker:
        mu, mv = u - SPIN_MARKER_OFFSET, v
        dot = np.broadcast_to(mu * mu + mv * mv <= SPIN_MARKER_RADIUS**2, mask.shape)
        light = sum(COLORS[obj.color]) > 450
        paint[dot] = DARK_MARKER if light else LIGHT_MARKER
        mask = mask | dot
    region = canvas[y0:y1, x0:x1]
    blended = region[mask].astype(np.float32) * (1.0 - alpha) + paint[mask] * alpha
    region[mask] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def _annulus(
    canvas: np.ndarray,
    x: float,
    y: float,
    r_frac: float,
    inner: float,
    outer: float,
    rgb: tuple[int, int, int],
    alpha: float,
    keep: object,
) -> None:
    """Blend an annulus (object units ``inner``..``outer``) filtered by ``keep(theta)``."""
    height, width = canvas.shape[:2]
    r = r_frac * min(width, height)
    cx, cy = x * width, y * height
    ext = r * outer
    x0, x1 = max(int(cx - ext) - 1, 0), min(int(cx + ext) + 2, width)
    y0, y1 = max(int(cy - ext) - 1, 0), min(int(cy + ext) + 2, height)
    if x0 >= x1 or y0 >= y1 or r < 0.5:
        return
    u = (np.arange(x0, x1, dtype=np.float32) + 0.5 - cx)[None, :] / r
    v = (np.arange(y0, y1, dtype=np.float32) + 0.5 - cy)[:, None] / r
    rho = np.hypot(u, v)
    theta = np.arctan2(v, u)
    mask = (rho >= inner) & (rho <= outer) & keep(theta)  # type: ignore[operator]
    region = canvas[y0:y1, x0:x1]
    blended = region[mask].astype(np.float32) * (1.0 - alpha) + np.asarray(rgb, np.float32) * alpha
    region[mask] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def _lerp(a: tuple[float, float], b: tuple[float, float], p: float) -> tuple[float, float]:
    return (a[0] + (b[0] - a[0]) * p, a[1] + (b[1] - a[1]) * p)


def _draw_event(canvas: np.ndarray, event: SynthEvent, t: float) -> None:
    length = event.end - event.start
    p = min(max((t - event.start) / length, 0.0), 1.0)
    kind = event.kind
    if kind == "scene_cut":
        _draw_cut_border(canvas, 1.0 - p)
        return
    obj = event.objects[0]
    start = (obj.x, obj.y)
    if kind in ("move_left", "move_right", "move_up", "move_down", "meet"):
        for i, obj_i in enumerate(event.objects):
            a, b = (obj_i.x, obj_i.y), event.targets[i]

            def where(q: float) -> tuple[float, float]:
                if kind == "meet":
                    q = min(q / MEET_APPROACH, 1.0)
                return _lerp(a, b, q)  # noqa: B023 - used immediately, inside this iteration

            for k in range(len(TRAIL_ALPHAS), 0, -1):
                q = p - k * TRAIL_LAG_S / length
                if q >= 0:
                    gx, gy = where(q)
                    _draw(canvas, obj_i, gx, gy, alpha=TRAIL_ALPHAS[k - 1])
            px, py = where(p)
            _draw(canvas, obj_i, px, py)
    elif kind in ("grow", "shrink"):
        for k in range(len(OUTLINE_ALPHAS), 0, -1):
            q = p - k * OUTLINE_LAG_S / length
            if q >= 0:
                s = 1.0 + (event.scale_to - 1.0) * q
                _draw(canvas, obj, *start, scale=s, alpha=OUTLINE_ALPHAS[k - 1], outline=True)
        _draw(canvas, obj, *start, scale=1.0 + (event.scale_to - 1.0) * p)
    elif kind == "change_color":
        _draw(canvas, obj, *start, wipe=(p, COLORS[event.color_to]))
    elif kind == "spin":
        angle = 2.0 * math.pi * event.turns * p
        sign = 1.0 if event.turns >= 0 else -1.0
        for k in range(len(SPIN_GHOST_ALPHAS), 0, -1):
            ghost = angle - sign * k * SPIN_GHOST_STEP
            _draw(canvas, obj, *start, angle=ghost, alpha=SPIN_GHOST_ALPHAS[k - 1], marker=True)
        _draw(canvas, obj, *start, angle=angle, marker=True)

        def behind(theta: np.ndarray) -> np.ndarray:
            # Angular distance from the marker, measured against the direction of travel.
            lag = ((angle - theta) * sign) % (2.0 * math.pi)
            return lag <= SPIN_ARC_SPAN

        _annulus(canvas, *start, obj.radius, SPIN_ARC_INNER, SPIN_ARC_OUTER, COLORS[obj.color], 0.7, behind)
    elif kind == "appear":
        alpha = min(1.0, APPEAR_START_ALPHA + (1.0 - APPEAR_START_ALPHA) * p / APPEAR_RAMP)
        _draw(canvas, obj, *start, alpha=alpha)

        def on_ray(theta: np.ndarray) -> np.ndarray:
            return np.abs(np.sin(theta * RAY_COUNT / 2.0)) <= RAY_HALF_WIDTH

        ray_alpha = 0.85 * (1.0 - p) + 0.15
        _annulus(canvas, *start, obj.radius, RAY_INNER, RAY_OUTER, COLORS[obj.color], ray_alpha, on_ray)
    elif kind == "disappear":
        _draw(canvas, obj, *start, dissolve=DISSOLVE_MAX * p)
    else:  # pragma: no cover - SynthEvent validates kinds
        raise ValueError(f"unknown event kind {kind!r}")


def _draw_cut_border(canvas: np.ndarray, alpha: float) -> None:
    height, width = canvas.shape[:2]
    b = max(1, round(CUT_BORDER * min(width, height)))
    mask = np.zeros((height, width), dtype=bool)
    mask[:b, :] = mask[-b:, :] = True
    mask[:, :b] = mask[:, -b:] = True
    blended = canvas[mask].astype(np.float32) * (1.0 - alpha) + np.asarray(WHITE, np.float32) * alpha
    canvas[mask] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def background_at(video: SynthVideo, t: float) -> SynthBackground:
    """The background on screen at time ``t`` (the latest scene cut at or before ``t``)."""
    bg = video.background
    for event in video.events:
        if event.kind == "scene_cut" and event.start <= t and event.background is not None:
            bg = event.background
    return bg


def _render_at(video: SynthVideo, t: float) -> np.ndarray:
    bg = background_at(video, t)
    frame = _scene_layer(bg, video.distractors, video.width, video.height).copy()
    for event in video.events:
        if event.start <= t < event.end:
            _draw_event(frame, event, t)
    return frame


def render_frame(video: SynthVideo, t: float) -> np.ndarray:
    """The frame the video shows at time ``t`` seconds, as ``(H, W, 3)`` uint8 RGB.

    This is exactly the frame the generator encoded for that instant (the frame whose
    presentation interval ``[k / fps, (k + 1) / fps)`` contains ``t``, clamped to the video),
    so trainers can draw frames without decoding (only H.264 compression differs).
    """
    return _render_at(video, video.frame_time(video.frame_index(t)))


def render_frames(video: SynthVideo) -> Iterator[np.ndarray]:
    """Every frame of the video in order, ``(H, W, 3)`` uint8 RGB each."""
    for k in range(video.n_frames):
        yield _render_at(video, video.frame_time(k))

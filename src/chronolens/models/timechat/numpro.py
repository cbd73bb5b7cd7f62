"""NumPro (Wu et al., CVPR 2025): frame numbers drawn onto the frames' pixels before the image tower.

NumPro tells a video LLM *when* by writing each sampled frame's number (or its time in seconds)
into a corner of the frame, so the vision tower reads the label like any other visual detail.
The digits here are a hand-drawn 5 x 7 bitmap font (numpy only), scaled by a whole number of
pixels per font pixel so the glyphs are ``size`` of the frame height tall, and drawn in red
(NumPro's colour) at one of five positions.

``TimeChatConfig.numpro_settings()`` gives the settings of a model; ``features.encode_video``
draws them where frames become patch features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NUMPRO_LABELS", "NUMPRO_POSITIONS", "NumPro", "draw_label", "render_text"]

NUMPRO_POSITIONS = ("bottom_right", "bottom_left", "top_right", "top_left", "center")
NUMPRO_LABELS = ("frame", "seconds")  # the frame's index among the sampled frames, or its time
GLYPH_HEIGHT, GLYPH_WIDTH = 7, 5
COLOUR = (255, 0, 0)  # NumPro draws red numbers

# 5 x 7 glyphs, one string of 5 pixels per row ("#" = ink).
_FONT = {
    "0": (" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "),
    "1": ("  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "),
    "2": (" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"),
    "3": ("#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "),
    "4": ("   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "),
    "5": ("#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "),
    "6": ("  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "),
    "7": ("#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "),
    "8": (" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "),
    "9": (" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "),
    ".": ("     ", "     ", "     ", "     ", "     ", " ##  ", " ##  "),
}
GLYPHS = {ch: np.array([[c == "#" for c in row] for row in rows]) for ch, rows in _FONT.items()}


@dataclass(frozen=True, slots=True)
class NumPro:
    """Where and how large NumPro's labels are drawn.

    Attributes:
        position: one of ``NUMPRO_POSITIONS``.
        size: glyph height as a fraction of the frame height, in (0, 1].
        label: ``"frame"`` (0-based index among the sampled frames) or ``"seconds"`` (1 decimal).
    """

    position: str = "bottom_right"
    size: float = 0.2
    label: str = "frame"

    def __post_init__(self) -> None:
        if self.position not in NUMPRO_POSITIONS:
            raise ValueError(
                f"NumPro position must be one of {', '.join(NUMPRO_POSITIONS)}, got {self.position!r}"
            )
        if isinstance(self.size, bool) or not 0.0 < self.size <= 1.0:
            raise ValueError(
                f"NumPro size must be a fraction of the frame height in (0, 1], got {self.size!r}"
            )
        if self.label not in NUMPRO_LABELS:
            raise ValueError(f"NumPro label must be one of {', '.join(NUMPRO_LABELS)}, got {self.label!r}")

    def text(self, index: int, seconds: float) -> str:
        """The label of the ``index``-th sampled frame at ``seconds``."""
        return str(index) if self.label == "frame" else f"{seconds:.1f}"

    def draw(self, frames: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
        """A copy of ``(T, H, W, 3)`` uint8 frames with each frame's label drawn on it."""
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
        if len(timestamps) != len(frames):
            raise ValueError(f"{len(timestamps)} timestamps for {len(frames)} frames")
        out = frames.copy()
        for i, seconds in enumerate(np.asarray(timestamps, dtype=np.float64)):
            draw_label(out[i], self.text(i, float(seconds)), position=self.position, size=self.size)
        return out


def render_text(text: str, scale: int) -> np.ndarray:
    """``(7 * scale, W)`` bool ink mask of ``text`` (digits and "."), one font pixel between glyphs."""
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    unknown = sorted(set(text) - set(GLYPHS))
    if unknown or not text:
        raise ValueError(f"NumPro draws digits and '.', got {text!r}")
    gap = np.zeros((GLYPH_HEIGHT, 1), dtype=bool)
    parts: list[np.ndarray] = []
    for ch in text:
        parts.extend([GLYPHS[ch], gap])
    mask = np.concatenate(parts[:-1], axis=1)
    return mask.repeat(scale, axis=0).repeat(scale, axis=1)


def _origin(position: str, frame: tuple[int, int], text: tuple[int, int], margin: int) -> tuple[int, int]:
    """Top-left ``(row, col)`` of a ``text``-sized box at ``position`` in a ``frame``-sized image."""
    (height, width), (th, tw) = frame, text
    row = {"top": margin, "bottom": height - th - margin}.get(position.split("_")[0], (height - th) // 2)
    col = {"left": margin, "right": width - tw - margin}.get(position.split("_")[-1], (width - tw) // 2)
    return max(row, 0), max(col, 0)


def draw_label(frame: np.ndarray, text: str, *, position: str, size: float) -> np.ndarray:
    """Draw ``text`` in red onto one ``(H, W, 3)`` uint8 frame in place (and return it).

    The glyphs are ``round(size * H)`` pixels tall (at least the font's 7), shrunk until the text
    fits the frame's width; what still does not fit (a frame under 7 pixels) is clipped.
    """
    height, width = frame.shape[:2]
    scale = max(1, round(size * height / GLYPH_HEIGHT))
    mask = render_text(text, scale)
    while scale > 1 and mask.shape[1] > width:
        scale -= 1
        mask = render_text(text, scale)
    row, col = _origin(position, (height, width), mask.shape, margin=scale)
    mask = mask[: height - row, : width - col]
    region = frame[row : row + mask.shape[0], col : col + mask.shape[1]]
    region[mask] = COLOUR
    return frame

"""Vectorised shape masks and textures in an object's own coordinates.

Coordinates ``(u, v)`` are pixel offsets from the object's centre divided by its radius and
rotated into the object's frame, so every shape fits the unit disc and textures turn with it.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["shape_mask", "texture_shade"]

# Texture settings, in object units (radius = 1).
STRIPE_PERIOD = 0.5  # width of one dark + one light stripe
DOT_PERIOD = 0.5  # spacing of the dot grid
DOT_RADIUS = 0.15  # radius of one dot
TEXTURE_DARK = 0.45  # brightness multiplier of stripes / dots

# Shape geometry, in object units.
SQUARE_HALF = 0.82  # half side of the square
RING_INNER = 0.58  # inner radius of the ring
CROSS_HALF_WIDTH = 0.3  # half width of the cross bars
STAR_POINTS = 5
STAR_INNER = 0.45  # inner radius of the star (outer radius 1)
TRIANGLE_APOTHEM = 0.55  # distance from centre to each edge of the triangle


def _triangle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # Intersection of three half-planes whose outward normals point down, up-right and up-left,
    # so the apex points up (screen v grows downward).
    inside = v <= TRIANGLE_APOTHEM
    for angle in (math.radians(-30.0), math.radians(210.0)):
        nx, ny = math.cos(angle), math.sin(angle)
        inside &= u * nx + v * ny <= TRIANGLE_APOTHEM
    return inside


def _star(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    rho = np.hypot(u, v)
    theta = np.arctan2(u, -v)  # 0 at the top, so a point faces up
    phase = (theta * STAR_POINTS / (2 * math.pi)) % 1.0
    tri = 1.0 - np.abs(phase * 2.0 - 1.0)  # 0 at each point, 1 between points
    limit = 1.0 - (1.0 - STAR_INNER) * tri
    return rho <= limit


def shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Boolean mask of ``shape`` at object coordinates ``(u, v)`` (broadcastable arrays).

    Raises:
        ValueError: for an unknown shape name.
    """
    if shape == "circle":
        return u * u + v * v <= 1.0
    if shape == "ring":
        r2 = u * u + v * v
        return (r2 <= 1.0) & (r2 >= RING_INNER * RING_INNER)
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= SQUARE_HALF
    if shape == "diamond":
        return np.abs(u) + np.abs(v) <= 1.0
    if shape == "triangle":
        return _triangle(u, v)
    if shape == "star":
        return _star(u, v)
    if shape == "cross":
        au, av = np.abs(u), np.abs(v)
        return ((au <= CROSS_HALF_WIDTH) & (av <= 0.95)) | ((av <= CROSS_HALF_WIDTH) & (au <= 0.95))
    raise ValueError(f"unknown shape {shape!r}")


def texture_shade(texture: str, u: np.ndarray, v: np.ndarray) -> np.ndarray | None:
    """Brightness multiplier of ``texture`` at ``(u, v)``; ``None`` for a solid texture."""
    if texture == "solid":
        return None
    if texture == "striped":
        dark = np.floor((u + v) / STRIPE_PERIOD * 2.0).astype(np.int64) % 2 == 0
    elif texture == "dotted":
        du = (u / DOT_PERIOD) % 1.0 - 0.5
        dv = (v / DOT_PERIOD) % 1.0 - 0.5
        dark = du * du + dv * dv <= (DOT_RADIUS / DOT_PERIOD) ** 2
    else:
        raise ValueError(f"unknown texture {texture!r}")
    return np.where(dark, TEXTURE_DARK, 1.0)

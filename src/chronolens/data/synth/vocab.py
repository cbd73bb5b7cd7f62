"""The visual vocabulary of the synthetic benchmark: shapes, colours, sizes, textures, backgrounds.

Every attribute has one canonical word and a few synonyms. Synonyms are only words: they map to
the same rendered value (``"crimson"`` and ``"scarlet"`` are drawn with exactly the ``red``
family's RGB), so a model can learn that the words mean the same thing.
"""

from __future__ import annotations

__all__ = [
    "BACKGROUND_COLORS",
    "BACKGROUND_KINDS",
    "BACKGROUND_WORDS",
    "COLORS",
    "COLOR_WORDS",
    "EVENT_KINDS",
    "MOVE_DIRECTIONS",
    "OBJECT_EVENT_KINDS",
    "SHAPES",
    "SHAPE_WORDS",
    "SIZES",
    "SIZE_RADIUS",
    "SIZE_WORDS",
    "TEXTURES",
    "TEXTURE_WORDS",
]

# Object colour families: name -> RGB. Saturated, and far from every background colour below so
# an object's pixels are never confused with the background's.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "orange": (245, 140, 20),
    "yellow": (240, 220, 30),
    "green": (40, 190, 60),
    "cyan": (30, 200, 210),
    "blue": (40, 80, 230),
    "purple": (140, 50, 200),
    "pink": (240, 100, 190),
    "white": (245, 245, 245),
}

# Colour family -> words that name it (the first is canonical).
COLOR_WORDS: dict[str, tuple[str, ...]] = {
    "red": ("red", "crimson", "scarlet"),
    "orange": ("orange", "amber", "tangerine"),
    "yellow": ("yellow", "golden", "lemon"),
    "green": ("green", "emerald", "lime"),
    "cyan": ("cyan", "teal", "turquoise"),
    "blue": ("blue", "azure", "cobalt"),
    "purple": ("purple", "violet", "plum"),
    "pink": ("pink", "magenta", "rose"),
    "white": ("white", "ivory", "snow-white"),
}

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "ring", "cross", "diamond")

SHAPE_WORDS: dict[str, tuple[str, ...]] = {
    "circle": ("circle", "disc", "dot"),
    "square": ("square", "box", "block"),
    "triangle": ("triangle", "wedge", "three-sided shape"),
    "star": ("star", "five-pointed star", "starburst"),
    "ring": ("ring", "hoop", "donut"),
    "cross": ("cross", "plus sign", "plus"),
    "diamond": ("diamond", "rhombus", "lozenge"),
}

SIZES: tuple[str, ...] = ("small", "large")

# Object radius as a fraction of the frame's shorter side.
SIZE_RADIUS: dict[str, float] = {"small": 0.085, "large": 0.14}

SIZE_WORDS: dict[str, tuple[str, ...]] = {
    "small": ("small", "little", "tiny"),
    "large": ("large", "big", "huge"),
}

TEXTURES: tuple[str, ...] = ("solid", "striped", "dotted")

# "solid" is usually left unsaid; the empty word means "no adjective".
TEXTURE_WORDS: dict[str, tuple[str, ...]] = {
    "solid": ("", "solid", "plain"),
    "striped": ("striped", "stripy", "banded"),
    "dotted": ("dotted", "spotted", "polka-dot"),
}

BACKGROUND_KINDS: tuple[str, ...] = ("plain", "gradient", "checkerboard", "noise")

BACKGROUND_WORDS: dict[str, tuple[str, ...]] = {
    "plain": ("plain", "flat", "uniform"),
    "gradient": ("gradient", "fading", "shaded"),
    "checkerboard": ("checkerboard", "checkered", "chequered"),
    "noise": ("noisy", "grainy", "speckled"),
}

# Background colours: muted, and far from every object colour family.
BACKGROUND_COLORS: dict[str, tuple[int, int, int]] = {
    "black": (22, 22, 26),
    "gray": (100, 100, 104),
    "brown": (96, 66, 44),
    "slate": (52, 62, 80),
    "olive": (84, 90, 48),
    "beige": (176, 166, 140),
}

MOVE_DIRECTIONS: tuple[str, ...] = ("left", "right", "up", "down")

# Event kinds about one or two objects (these have colour-shape-action combinations).
OBJECT_EVENT_KINDS: tuple[str, ...] = (
    "appear",
    "disappear",
    "move_left",
    "move_right",
    "move_up",
    "move_down",
    "grow",
    "shrink",
    "change_color",
    "spin",
    "meet",
)

EVENT_KINDS: tuple[str, ...] = (*OBJECT_EVENT_KINDS, "scene_cut")

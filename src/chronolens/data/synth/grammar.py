"""Captions for synthetic events from a small grammar with paraphrases.

Each event has one canonical caption (canonical words, fixed template) and paraphrases drawn from
the grammar (synonyms for every attribute, several verb phrases per kind). Colour-change captions
name the object without its colour ("a striped disc turns from red to blue"). No caption contains
a full stop, so dense-caption formats can join them with ". " and split them back.
"""

from __future__ import annotations

import itertools

import numpy as np

from chronolens.data.synth.scene import SynthBackground, SynthEvent, SynthObject
from chronolens.data.synth.vocab import (
    BACKGROUND_WORDS,
    COLOR_WORDS,
    SHAPE_WORDS,
    SIZE_WORDS,
    TEXTURE_WORDS,
)

__all__ = [
    "PARAPHRASES_PER_EVENT",
    "VERB_PHRASES",
    "all_paraphrases",
    "background_phrase",
    "canonical_caption",
    "noun_phrase",
    "sample_paraphrases",
    "scene_caption",
    "video_caption",
]

# How many distinct paraphrases each event stores in the manifest.
PARAPHRASES_PER_EVENT = 4

# Most events a video-level caption mentions (the longest ones, in time order).
VIDEO_CAPTION_MAX_EVENTS = 3

# kind -> verb phrase templates; {a} (and {b} for "meet") are noun phrases, {x}/{y} colours,
# {bg} a background phrase. The first template of each kind is the canonical one.
VERB_PHRASES: dict[str, tuple[str, ...]] = {
    "appear": ("{a} appears", "{a} pops into view", "{a} shows up", "{a} comes into view"),
    "disappear": ("{a} disappears", "{a} fades away", "{a} vanishes", "{a} dissolves out of sight"),
    "move_left": ("{a} moves left", "{a} drifts left", "{a} slides to the left", "{a} glides leftward"),
    "move_right": ("{a} moves right", "{a} drifts right", "{a} slides to the right", "{a} glides rightward"),
    "move_up": ("{a} moves up", "{a} rises", "{a} floats upward", "{a} slides toward the top"),
    "move_down": ("{a} moves down", "{a} sinks", "{a} drops downward", "{a} slides toward the bottom"),
    "grow": ("{a} grows", "{a} gets bigger", "{a} expands", "{a} swells in size"),
    "shrink": ("{a} shrinks", "{a} gets smaller", "{a} contracts", "{a} dwindles in size"),
    "change_color": (
        "{a} changes colour from {x} to {y}",
        "{a} turns from {x} to {y}",
        "{a} switches from {x} to {y}",
        "{a} goes from {x} to {y}",
    ),
    "spin": ("{a} spins", "{a} rotates", "{a} twirls around", "{a} turns in place"),
    "meet": (
        "{a} and {b} meet",
        "{a} moves toward {b} until they touch",
        "{a} and {b} come together",
        "{a} bumps into {b}",
    ),
    "scene_cut": (
        "the scene cuts to {bg}",
        "the background switches to {bg}",
        "a cut to {bg}",
        "the view changes to {bg}",
    ),
}

_ARTICLES = ("a", "the", "one")


def _article(word: str, article: str) -> str:
    if article == "a" and word[:1] in "aeiou":
        return "an"
    return article


def noun_phrase(
    obj: SynthObject,
    *,
    with_color: bool = True,
    article: str = "a",
    words: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> str:
    """Describe an object: ``"a large striped red circle"``.

    Args:
        obj: the object.
        with_color: include the colour word (off for colour-change captions).
        article: "a", "the" or "one" ("a" becomes "an" before a vowel).
        words: synonym index for (size, texture, colour, shape); 0 is the canonical word.
    """
    size_i, tex_i, col_i, shape_i = words
    parts = [
        SIZE_WORDS[obj.size][size_i % len(SIZE_WORDS[obj.size])],
        TEXTURE_WORDS[obj.texture][tex_i % len(TEXTURE_WORDS[obj.texture])],
        COLOR_WORDS[obj.color][col_i % len(COLOR_WORDS[obj.color])] if with_color else "",
        SHAPE_WORDS[obj.shape][shape_i % len(SHAPE_WORDS[obj.shape])],
    ]
    body = " ".join(p for p in parts if p)
    return f"{_article(body, article)} {body}"


def background_phrase(bg: SynthBackground, *, variant: int = 0) -> str:
    """Describe a background: ``"a gray checkerboard background"``."""
    kind_word = BACKGROUND_WORDS[bg.kind][variant % len(BACKGROUND_WORDS[bg.kind])]
    if bg.kind in ("gradient", "checkerboard") and bg.color2 != bg.color:
        colors = f"{bg.color} and {bg.color2}"
    else:
        colors = bg.color
    body = f"{colors} {kind_word} background"
    return f"{_article(body, 'a')} {body}"


def _render(event: SynthEvent, template: int, article: str, words: tuple[int, int, int, int]) -> str:
    kind = event.kind
    fill: dict[str, str] = {}
    if kind == "scene_cut":
        if event.background is None:
            raise ValueError("a scene_cut event needs a background")
        fill["bg"] = background_phrase(event.background, variant=words[0])
    else:
        with_color = kind != "change_color"
        fill["a"] = noun_phrase(event.objects[0], with_color=with_color, article=article, words=words)
        if kind == "meet":
            fill["b"] = noun_phrase(event.objects[1], article=article, words=words)
        if kind == "change_color":
            fill["x"] = COLOR_WORDS[event.objects[0].color][words[2] % 3]
            fill["y"] = COLOR_WORDS[event.color_to][words[2] % 3]
    return VERB_PHRASES[kind][template].format(**fill)


def canonical_caption(event: SynthEvent) -> str:
    """The canonical caption: first template, article "a", canonical words."""
    return _render(event, 0, "a", (0, 0, 0, 0))


def all_paraphrases(event: SynthEvent) -> list[str]:
    """Every caption the grammar can produce for ``event`` (sorted, canonical excluded)."""
    out = set()
    n_templates = len(VERB_PHRASES[event.kind])
    for template, article, *words in itertools.product(
        range(n_templates), _ARTICLES, range(3), range(3), range(3), range(3)
    ):
        out.add(_render(event, template, article, (words[0], words[1], words[2], words[3])))
    out.discard(canonical_caption(event))
    return sorted(out)


def sample_paraphrases(
    event: SynthEvent, rng: np.random.Generator, n: int = PARAPHRASES_PER_EVENT
) -> list[str]:
    """Draw ``n`` distinct paraphrases (never the canonical caption), seeded by ``rng``.

    Every template other than the canonical one is used before any repeats, so a paraphrase
    usually differs from the caption in its verb as well as its words.
    """
    canonical = canonical_caption(event)
    n_templates = len(VERB_PHRASES[event.kind])
    order = [1 + int(i) for i in rng.permutation(n_templates - 1)] + [0]
    out: list[str] = []
    attempts = 0
    while len(out) < n and attempts < 20 * n:
        template = order[len(out) % len(order)]
        article = _ARTICLES[int(rng.integers(len(_ARTICLES)))]
        words = tuple(int(w) for w in rng.integers(0, 3, size=4))
        text = _render(event, template, article, (words[0], words[1], words[2], words[3]))
        attempts += 1
        if text != canonical and text not in out:
            out.append(text)
    return out


def scene_caption(distractors: tuple[SynthObject, ...], background: SynthBackground) -> str:
    """Describe the opening scene: ``"a small red star and a blue ring on a gray plain background"``."""
    phrases = [noun_phrase(obj) for obj in distractors]
    bg = background_phrase(background)
    if not phrases:
        return f"an empty scene on {bg}"
    things = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    return f"{things} on {bg}"


def video_caption(scene: str, events: tuple[SynthEvent, ...]) -> str:
    """A caption that identifies a video: its scene and its main (longest) events, in time order."""
    main = sorted(events, key=lambda e: (-e.duration, e.start))[:VIDEO_CAPTION_MAX_EVENTS]
    main = sorted(main, key=lambda e: e.start)
    if not main:
        return scene
    return f"{scene}, where " + ", then ".join(e.caption for e in main)

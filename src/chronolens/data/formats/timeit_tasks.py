"""The TimeIT task vocabulary: one name per task, the words that alias it, the benchmark names.

TimeIT (TimeChat's instruction data) names its tasks ``tvg`` (temporal video grounding),
``vhd`` (video highlight detection), ``dvc`` (dense video captioning), ``step`` (step
localisation), ``vs`` (video summarisation) and ``tvc`` (transcribed speech generation:
TimeIT's ``transcribed_speech_generation/yttemporal``, files ``instruct_tsg_*``). An
item says which task it belongs to only through its ``"source"`` (``"Charades"``,
``"QVHighlights"``, ``"synth_tvg"``, ...): :data:`SOURCE_WORDS` lists the words that name each
task there and :func:`task_of` reads them.

``chronolens bench timechat --task`` names the three tasks it evaluates in words
(:data:`BENCH_TASKS`: ``grounding``, ``dense-captioning``, ``highlights``), each mapped to its
TimeIT name here. This module imports nothing, so the CLI, ``data``, ``training`` and
``evaluation`` can all read it.
"""

from __future__ import annotations

__all__ = [
    "BENCH_TASKS",
    "DVC",
    "OTHER",
    "SOURCE_WORDS",
    "STEP",
    "TASKS",
    "TVC",
    "TVG",
    "VHD",
    "VS",
    "task_of",
]

TVG = "tvg"  # temporal video grounding: one span per query
VHD = "vhd"  # video highlight detection: saliency of moments for a query
DVC = "dvc"  # dense video captioning: timed events
STEP = "step"  # step localisation: timed steps
VS = "vs"  # video summarisation
TVC = "tvc"  # transcribed speech generation: the timestamped transcript of the video's speech
OTHER = "other"  # what task_of answers for a source naming none of the above

# Words in a TimeIT item's "source" naming its task (TimeIT's own sources and chronolens synth's
# ``synth_<task>``); the first task with a word in the lowered source wins, in this order.
SOURCE_WORDS: dict[str, tuple[str, ...]] = {
    TVG: ("tvg", "grounding", "charades", "didemo", "queryd"),
    VHD: ("vhd", "highlight", "qvhighlights"),
    DVC: ("dvc", "dense", "youcook", "anet", "activitynet", "vitt"),
    STEP: ("step", "coin", "crosstask"),
    VS: ("summar", "tvsum", "summe"),
    TVC: ("tvc", "transcri", "tsg", "tsp", "yttemporal", "speech"),
}
TASKS: tuple[str, ...] = tuple(SOURCE_WORDS)  # every TimeIT task name, in TimeIT's order

# `chronolens bench timechat --task` name -> the TimeIT task it evaluates (CLI order).
BENCH_TASKS: dict[str, str] = {"grounding": TVG, "dense-captioning": DVC, "highlights": VHD}


def task_of(source: str) -> str:
    """The TimeIT task a source names (``tvg``, ``vhd``, ``dvc``, ``step``, ``vs``, ``tvc``) or ``other``."""
    lowered = source.lower()
    for task, words in SOURCE_WORDS.items():
        if any(word in lowered for word in words):
            return task
    return OTHER

"""The TimeIT task vocabulary: task names, source aliases, the bench names and the instructions."""

from __future__ import annotations

from chronolens.data.formats.timeit import INSTRUCTIONS, TVG_INSTRUCTIONS
from chronolens.data.formats.timeit_tasks import BENCH_TASKS, DVC, OTHER, TASKS, TVG, VHD, task_of


def test_sources_name_their_task() -> None:
    # TimeIT's own sources, chronolens synth's, and one that names no task.
    assert [task_of(s) for s in ("Charades", "QVHighlights", "YouCook2", "COIN", "TVSum", "synth_tvg")] == [
        "tvg",
        "vhd",
        "dvc",
        "step",
        "vs",
        "tvg",
    ]
    assert task_of("synth_dvc") == DVC and task_of("mystery") == OTHER
    assert TASKS == ("tvg", "vhd", "dvc", "step", "vs", "tvc")


def test_bench_names_map_to_timeit_tasks_with_instructions() -> None:
    assert list(BENCH_TASKS) == ["grounding", "dense-captioning", "highlights"]  # the CLI's order
    assert BENCH_TASKS == {"grounding": TVG, "dense-captioning": DVC, "highlights": VHD}
    assert all(task in INSTRUCTIONS for task in BENCH_TASKS.values())
    assert INSTRUCTIONS[TVG] is TVG_INSTRUCTIONS

"""The moment finder registry: names, the finders behind them, and unknown names."""

from __future__ import annotations

import numpy as np
import pytest

from chronolens.errors import ChronolensError
from chronolens.tasks.ground import MomentFinder, get_finder, list_finders, register_finder
from chronolens.tasks.ground.finders import UnknownFinderError
from chronolens.tasks.ground.simple import find_moments
from chronolens.tasks.ground.tfvtg import GroundingConfig, ground
from chronolens.timebase import Moment


def _curve() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    sim = rng.normal(0.2, 0.01, size=40)
    sim[10:16] += 0.2  # one planted event, 10-16 s
    sim[28:31] += 0.1  # a weaker one
    return sim, np.arange(40) + 0.5


def test_registered_names_in_report_order() -> None:
    assert list_finders() == ["grounder", "tfvtg-paper", "simple"]


def test_each_name_is_the_finder_the_benchmarks_used() -> None:
    sim, ts = _curve()
    expected = {
        "grounder": list(ground(sim, ts, 40.0, top_k=3).windows),
        "tfvtg-paper": list(ground(sim, ts, 40.0, config=GroundingConfig.tfvtg(), top_k=3).windows),
        "simple": find_moments(sim, ts, 40.0, top_k=3),
    }
    for name, moments in expected.items():
        assert get_finder(name)(sim, ts, 40.0, 3) == moments
    best = get_finder("grounder")(sim, ts, 40.0, 1)[0]
    assert best.start == pytest.approx(10.0) and best.end == pytest.approx(16.0)
    assert expected["grounder"] != expected["tfvtg-paper"]  # two scorings, two answers


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(UnknownFinderError, match=r"did you mean 'grounder'\?.*tfvtg-paper") as info:
        get_finder("grounderr")
    assert isinstance(info.value, ChronolensError)
    with pytest.raises(UnknownFinderError, match="choose from grounder, tfvtg-paper, simple"):
        get_finder("zzz")


def test_a_name_registers_once() -> None:
    def finder(s: np.ndarray, t: np.ndarray, d: float, k: int) -> list[Moment]:
        return []

    typed: MomentFinder = finder
    with pytest.raises(ValueError, match="already registered"):
        register_finder("simple")(typed)
    assert list_finders() == ["grounder", "tfvtg-paper", "simple"]

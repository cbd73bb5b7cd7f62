"""The fusion rule, golden: weighted reciprocal-rank over videos, agreement + NMS over moments."""

from __future__ import annotations

import pytest

from chronolens.tasks.fusion import FusionConfig, fuse, rrf
from chronolens.tasks.search import SearchResult
from chronolens.tasks.speech_search import SpeechResult, SpokenMoment
from chronolens.timebase import Moment


def _visual(video: str, *moments: tuple[float, float]) -> SearchResult:
    return SearchResult(
        video=video, score=0.3, moments=[Moment(s, e, 0.3) for s, e in moments], duration=20.0
    )


def _spoken(video: str, *moments: tuple[float, float, str]) -> SpeechResult:
    spoken = [SpokenMoment(start=s, end=e, score=5.0, text=t, match="lexical") for s, e, t in moments]
    return SpeechResult(video=video, score=5.0, duration=20.0, moments=spoken)


VISUAL = [_visual("/v/a", (0, 4), (10, 12)), _visual("/v/b", (2, 6))]
SPOKEN = [_spoken("/v/b", (2.5, 6.0, "add flour"), (15, 16, "stir")), _spoken("/v/c", (1, 2, "hello"))]


def test_rrf_golden() -> None:
    scores = rrf({"x": ["a", "b", "a"], "y": ["b"]}, {"x": 1.0, "y": 2.0}, k=60)
    assert scores == pytest.approx({"a": 1 / 61, "b": 1 / 62 + 2 / 61})


def test_videos_golden() -> None:
    fused = fuse(VISUAL, SPOKEN)
    assert [(r.video, r.modality) for r in fused] == [
        ("/v/b", "both"),
        ("/v/a", "visual"),
        ("/v/c", "speech"),
    ]
    assert [r.score for r in fused] == pytest.approx([1 / 62 + 1 / 61, 1 / 61, 1 / 62])


def test_moments_golden_agreement_and_nms() -> None:
    b = fuse(VISUAL, SPOKEN)[0]
    # visual (2, 6) and spoken (2.5, 6) overlap with tIoU 3.5/4 = 0.875: each gains the other's 1/61;
    # NMS keeps the earlier-starting one of the tie, marked "both" with the words said.
    assert [(m.start, m.end, m.modality, m.text) for m in b.moments] == [
        (2, 6, "both", "add flour"),
        (15, 16, "speech", "stir"),
    ]
    assert [m.score for m in b.moments] == pytest.approx([2 / 61, 1 / 62])
    assert b.to_json()["moment_modalities"] == ["both", "speech"] and b.to_json()["said"] == [
        "add flour",
        "stir",
    ]


def test_weights_tune_the_rule() -> None:
    visual_only = fuse(VISUAL, SPOKEN, config=FusionConfig(speech_weight=0))
    assert [r.video for r in visual_only] == ["/v/a", "/v/b"]  # the visual ranking, unchanged
    speech_only = fuse(VISUAL, SPOKEN, config=FusionConfig(visual_weight=0))
    assert [r.video for r in speech_only] == ["/v/b", "/v/c"]
    heavy = fuse(VISUAL, SPOKEN, config=FusionConfig(visual_weight=3))
    assert [r.video for r in heavy][:2] == ["/v/b", "/v/a"]  # 3/62 + 1/61 > 3/61
    strict = fuse(VISUAL, SPOKEN, config=FusionConfig(iou_threshold=0.9))[0]
    assert [(m.start, m.modality) for m in strict.moments] == [(2, "visual"), (2.5, "speech"), (15, "speech")]


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="k must be > 0"):
        FusionConfig(k=0)
    with pytest.raises(ValueError, match="weights must be >= 0"):
        FusionConfig(speech_weight=-1)
    with pytest.raises(ValueError, match="iou_threshold"):
        FusionConfig(iou_threshold=2)


def _meant(video: str, similarity: float, *moments: tuple[float, float, str]) -> SpeechResult:
    spoken = [
        SpokenMoment(start=s, end=e, score=0.03, text=t, match="semantic", similarity=similarity)
        for s, e, t in moments
    ]
    return SpeechResult(video=video, score=0.03, duration=20.0, moments=spoken)


# the frames rank a, b, c; speech ranks c, b (c's sentence means the query: cosine 0.6)
FRAMES = [_visual("/v/a", (0, 4)), _visual("/v/b", (2, 6)), _visual("/v/c", (8, 10))]
SAID = [_meant("/v/c", 0.6, (12, 14, "two cups of flour")), _meant("/v/b", 0.2, (1, 3, "the car"))]


def test_speech_that_means_the_query_leads_the_ranking() -> None:
    fused = fuse(FRAMES, SAID)
    assert [r.video for r in fused] == ["/v/c", "/v/b", "/v/a"]  # speech's order, then frames' others
    assert [r.score for r in fused] == pytest.approx([1 / 61, 1 / 62, 1 / 63])
    assert [r.modality for r in fused] == ["both", "both", "visual"]
    # plain RRF: c = 1/63 + 1/61, b = 1/62 + 1/62, a = 1/61: the same top here, scored by ranks
    plain = fuse(FRAMES, SAID, config=FusionConfig(speech_gate=None))
    assert [r.score for r in plain] == pytest.approx([1 / 63 + 1 / 61, 2 / 62, 1 / 61])


def test_speech_below_the_gate_is_left_out() -> None:
    weak = [_meant("/v/c", 0.25, (12, 14, "the weather")), _meant("/v/b", 0.2, (1, 3, "the car"))]
    fused = fuse(FRAMES, weak)
    assert [r.video for r in fused] == ["/v/a", "/v/b", "/v/c"]  # the frames' order
    assert all(r.modality == "visual" for r in fused)
    assert all(m.text is None for r in fused for m in r.moments)  # nothing said is shown
    lower = fuse(FRAMES, weak, config=FusionConfig(speech_gate=0.2))
    assert lower[0].video == "/v/c"  # with a lower gate the same speech leads


def test_lexical_only_speech_keeps_plain_rrf() -> None:
    assert [r.video for r in fuse(VISUAL, SPOKEN)] == [
        r.video for r in fuse(VISUAL, SPOKEN, config=FusionConfig(speech_gate=None))
    ]

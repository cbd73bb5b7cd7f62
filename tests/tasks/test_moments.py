"""The simple moment finder: thresholded similarity runs -> spans in seconds."""

from __future__ import annotations

import numpy as np
import pytest

from chronolens.tasks.ground.simple import find_moments, smooth
from chronolens.timebase.intervals import sample_intervals


def test_smooth_is_an_edge_normalised_moving_average() -> None:
    np.testing.assert_allclose(smooth(np.array([3.0, 0.0, 0.0, 6.0])), [1.5, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(smooth(np.ones(5)), np.ones(5))  # flat stays flat, edges included
    with pytest.raises(ValueError, match="odd"):
        smooth(np.ones(3), window=2)


def test_sample_intervals_split_halfway_and_cover_the_video() -> None:
    starts, ends = sample_intervals(np.array([0.0, 1.0, 3.0]), duration=4.5)
    np.testing.assert_allclose(starts, [0.0, 0.5, 2.0])
    np.testing.assert_allclose(ends, [0.5, 2.0, 4.5])


def test_single_event_span_covers_its_samples_halfway_to_neighbours() -> None:
    ts = np.arange(10.0)  # 1 fps over a 10 s video
    sim = np.full(10, 0.1)
    sim[3:6] = 0.9  # the event is seen at t = 3, 4, 5
    (moment,) = find_moments(sim, ts, 10.0, top_k=3)
    assert (moment.start, moment.end) == (2.5, 5.5)
    assert moment.score == pytest.approx(0.9)


def test_events_at_both_ends_are_clamped_to_the_video() -> None:
    ts = np.arange(8.0) + 0.5
    sim = np.array([0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.8, 0.8])
    moments = find_moments(sim, ts, 8.0, top_k=5)
    assert [(m.start, m.end) for m in moments] == [(0.0, 2.0), (6.0, 8.0)]  # best first, t=0 and t=duration
    assert moments[0].score > moments[1].score
    assert len(find_moments(sim, ts, 8.0, top_k=1)) == 1


def test_flat_curve_returns_the_whole_video_and_empty_input_nothing() -> None:
    (m,) = find_moments(np.full(4, 0.3), np.arange(4.0), 4.0, top_k=2)
    assert (m.start, m.end) == (0.0, 4.0) and m.score == pytest.approx(0.3)
    assert find_moments(np.zeros(0), np.zeros(0), 1.0, top_k=3) == []
    (one,) = find_moments(np.array([0.5]), np.array([0.0]), 0.4, top_k=3)  # single frame video
    assert (one.start, one.end) == (0.0, 0.4)
    with pytest.raises(ValueError, match=r"\(T,\)"):
        find_moments(np.zeros(3), np.zeros(2), 1.0, top_k=1)


def test_smoothing_removes_a_lone_spike_but_keeps_event_edges() -> None:
    ts = np.arange(20.0)
    sim = np.full(20, 0.2)
    sim[2] = 0.5  # one noisy frame
    sim[10:16] = 0.8  # the event: 6 frames, fully recovered despite smoothing
    moments = find_moments(sim, ts, 20.0, top_k=3)
    assert [(m.start, m.end) for m in moments] == [(9.5, 15.5)]

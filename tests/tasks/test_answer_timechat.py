"""TimeChat inference: captions, questions and grounding from a saved tiny checkpoint.

The random-init tiny model writes garbage, so the parsing / clamping / unparsed paths are driven
through the generation boundary (``generate_fn``) with scripted answers; other tests run the real
tiny model end to end to prove the wiring (sampling, features, prompt, greedy generation).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from chronolens.errors import ChronolensError, DecodeError
from chronolens.tasks import answer as video_llm
from chronolens.tasks.answer import (
    TimeChatGrounder,
    TimeChatSession,
    VideoFeatures,
    caption_instruction,
    grounding_instruction,
)
from chronolens.timebase import Span
from chronolens.timebase.grid import saliency_from_span
from chronolens.timebase.intervals import snap_span
from chronolens.timebase.text import highlight_saliency, parse_highlight_answer

N_FRAMES = 8  # frames sampled per video by the tiny test checkpoint
CORPUS = (
    "The given query happens in 0.0 - 6.9 seconds.",
    "0.5 - 3.2 seconds, a red square appears. 4.0 - 6.0 seconds, a blue circle moves.",
    "There are 2 highlight moments in the 4.0, 6.0 second. Their saliency scores are 2.7, 3.3.",
    "When does the following happen in the video? Give its start and end time in seconds.",
)


def build_tiny_checkpoint(directory: Path) -> Path:
    """Build, save and return a tiny random-init TimeChat checkpoint (shared by the CLI and bench tests)."""
    from chronolens.models.timechat import TimeChat, TimeChatConfig
    from chronolens.models.timechat.weights import save_timechat

    config = TimeChatConfig.tiny(n_frames=N_FRAMES)
    model = TimeChat.build(config, corpus=CORPUS)
    return Path(save_timechat(model, directory))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("timechat") / "ckpt")


@pytest.fixture
def clip(make_video: Callable[..., Path]) -> Path:
    return make_video("clip.mkv", n_frames=40, fps=10)  # 4.0 s


class Scripted:
    """A generator returning fixed answers and recording what it was asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[VideoFeatures, list[str], str | None]] = []

    def __call__(
        self, video: VideoFeatures, instructions: Sequence[str], transcript: str | None
    ) -> list[str]:
        self.calls.append((video, list(instructions), transcript))
        return [self.answers[min(i, len(self.answers) - 1)] for i in range(len(instructions))]


# --------------------------------------------------------------------------------------------
# Pure helpers


def test_parse_highlight_answer_reads_the_timeit_form() -> None:
    text = (
        "There are 3 highlight moments in the 4.0, 6.0, 8.0 second. Their saliency scores are 2.7, 3.3, 1.7."
    )
    assert parse_highlight_answer(text) == [(4.0, 2.7), (6.0, 3.3), (8.0, 1.7)]
    # The stated count caps the lists; missing scores are 0 (format_vhd pads the same way).
    assert parse_highlight_answer("There are 1 highlight moments in the 2, 4 second. Scores 3.0, 1.0") == [
        (2.0, 3.0)
    ]
    assert parse_highlight_answer("highlights at 2.0, 4.0 seconds") == [(2.0, 0.0), (4.0, 0.0)]
    assert parse_highlight_answer("square square the the") == []


def test_highlight_saliency_puts_scores_in_clips_by_start_time() -> None:
    pairs = [(0.0, 1.0), (4.0, 3.0), (5.0, 1.0), (99.0, 4.0), (-1.0, 4.0)]
    # 9 s -> int(9 / 2) = 4 clips; t=4 and t=5 share clip 2 (mean 2); t=99 and t=-1 are dropped.
    assert highlight_saliency(pairs, 9.0, 2.0) == [1.0, 0.0, 2.0, 0.0]
    assert highlight_saliency([], 1.0, 2.0) == [0.0]  # at least one clip


def test_saliency_from_span_covers_clips_and_snap_moves_to_frame_times() -> None:
    assert saliency_from_span(Span(1.0, 4.0), 5.0, 2.0) == pytest.approx((0.5, 1.0, 0.0))
    assert saliency_from_span(Span(4.0, 5.0), 5.0, 2.0) == pytest.approx((0.0, 0.0, 1.0))  # partial last clip
    ts = np.array([0.25, 0.75, 1.25, 1.75])
    assert snap_span(Span(0.6, 1.6), ts) == Span(0.75, 1.75)
    assert snap_span(Span(0.0, 0.1), ts) == Span(0.25, 0.25)


# --------------------------------------------------------------------------------------------
# Scripted generation: what is read from answers


def test_caption_reads_events_and_clamps_them(checkpoint: Path, clip: Path) -> None:
    gen = Scripted("0.0 - 2.0 seconds, a red square appears. 1.5 - 99 seconds, it moves away.")
    session = TimeChatSession(checkpoint, generate_fn=gen)
    result = session.caption(clip)
    assert result.duration == pytest.approx(4.0)
    assert [(s.start, s.end, c) for s, c in result.events] == [
        (0.0, 2.0, "a red square appears."),
        (1.5, pytest.approx(4.0), "it moves away."),
    ]
    ((video, instructions, transcript),) = gen.calls
    assert instructions == [caption_instruction()] and transcript is None
    # Uniform sampling with real timestamps: N frames, increasing, inside the video.
    assert video.features.ndim == 3 and video.features.shape[0] == N_FRAMES
    assert video.features.dtype == np.float32
    assert np.all(np.diff(video.timestamps) > 0) and 0 <= video.timestamps[0] < video.timestamps[-1] < 4.0


def test_caption_without_timestamps_gives_no_events(checkpoint: Path, clip: Path) -> None:
    session = TimeChatSession(checkpoint, generate_fn=Scripted("a square a square"))
    result = session.caption(clip)
    assert result.events == () and result.text == "a square a square"


def test_grounder_unparsed_answer_is_empty_and_flagged(checkpoint: Path, clip: Path) -> None:
    session = TimeChatSession(checkpoint, generate_fn=Scripted("the square the square"))
    answer = TimeChatGrounder(session=session).answer(clip, "a red square appears")
    assert not answer.parsed and answer.text == "the square the square"
    assert answer.result.windows == () and answer.result.saliency == () and answer.result.best is None
    assert answer.to_json()["parsed"] is False and answer.to_json()["windows"] == []


def test_grounder_clamps_and_snaps(checkpoint: Path, clip: Path) -> None:
    gen = Scripted("The given query happens in 3 - 50 seconds.")
    session = TimeChatSession(checkpoint, generate_fn=gen)
    for parser in ("default", "timechat"):  # the timechat parser does not clamp; the grounder does
        result = TimeChatGrounder(session=session, parser=parser).ground(clip, "a blue circle moves")
        assert [(m.start, m.end, m.score) for m in result.windows] == [(3.0, pytest.approx(4.0), 1.0)]
        assert result.duration == pytest.approx(4.0) and result.clip_length == 2.0
        assert result.saliency == pytest.approx((0.0, 0.5))
    assert gen.calls[0][1] == [grounding_instruction("a blue circle moves")]
    snapped = TimeChatGrounder(session=session, snap=True).ground(clip, "a blue circle moves").best
    timestamps = gen.calls[0][0].timestamps
    assert snapped is not None and snapped.start in timestamps and snapped.end in timestamps
    assert snapped.start == timestamps[np.abs(timestamps - 3.0).argmin()] and snapped.end == timestamps[-1]


def test_video_is_sampled_once_per_session(
    checkpoint: Path, clip: Path, make_video: Callable[..., Path]
) -> None:
    gen = Scripted("The given query happens in 1 - 2 seconds.")
    session = TimeChatSession(checkpoint, generate_fn=gen)
    grounder = TimeChatGrounder(session=session)
    answers = grounder.answer_many(clip, ["a", "b", "c"])
    assert [a.result.best.start for a in answers if a.result.best] == [1.0, 1.0, 1.0]
    grounder.ground(clip, "d")
    session.ask(clip, "what happens?")
    assert len(gen.calls) == 3 and all(call[0] is gen.calls[0][0] for call in gen.calls)  # same features
    other = make_video("other.mkv", n_frames=20, fps=10)
    session.ask(other, "what happens?")
    assert gen.calls[-1][0] is not gen.calls[0][0] and gen.calls[-1][0].duration == pytest.approx(2.0)


def test_ask_passes_question_and_transcript(checkpoint: Path, clip: Path) -> None:
    gen = Scripted("  a red square.  ")
    session = TimeChatSession(checkpoint, generate_fn=gen)
    assert (
        session.ask(clip, "What appears?", transcript=["0.0 - 1.0s: hello", "1.0 - 2.0s: bye"])
        == "a red square."
    )
    assert gen.calls[0][1:] == (["What appears?"], "0.0 - 1.0s: hello\n1.0 - 2.0s: bye")


def test_errors_are_clear(checkpoint: Path, clip: Path, tmp_path: Path) -> None:
    with pytest.raises(ChronolensError, match="no TimeChat checkpoint directory"):
        TimeChatSession(tmp_path / "nope")
    with pytest.raises(ValueError, match="unknown parser"):
        TimeChatGrounder(checkpoint, parser="gpt")
    session = TimeChatSession(checkpoint, generate_fn=Scripted("x"))
    with pytest.raises(ChronolensError, match="no such video file"):
        session.caption(tmp_path / "missing.mp4")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    with pytest.raises(DecodeError):
        session.caption(broken)
    with pytest.raises(ChronolensError, match="empty"):
        session.ask(clip, "  ")


# --------------------------------------------------------------------------------------------
# The real tiny model, end to end


def test_real_tiny_model_answers_deterministically(checkpoint: Path, clip: Path) -> None:
    session = TimeChatSession(checkpoint, max_new_tokens=12)
    first = session.ask(clip, "What happens in the video?")
    assert isinstance(first, str) and first == session.ask(clip, "What happens in the video?")
    captions = session.caption(clip, max_new_tokens=12)
    assert all(0 <= s.start <= s.end <= captions.duration for s, _ in captions.events)
    answer = TimeChatGrounder(session=session, max_new_tokens=12).answer(clip, "a red square appears")
    if answer.parsed:  # whatever the random model says, a span is inside the video
        assert answer.result.best is not None and answer.result.best.end <= answer.result.duration
    else:
        assert answer.result.windows == ()


def test_module_functions_share_one_loaded_checkpoint(checkpoint: Path, clip: Path) -> None:
    events = video_llm.caption(clip, checkpoint=checkpoint, max_new_tokens=8)
    assert isinstance(events, list)
    text = video_llm.ask(clip, "What is shown?", checkpoint=checkpoint, max_new_tokens=8)
    assert isinstance(text, str)
    assert video_llm.get_session(checkpoint) is video_llm.get_session(checkpoint)


def test_module_functions_give_details(checkpoint: Path, clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``details=True``: what ``chronolens caption`` / ``ask`` print (raw answer, duration)."""
    gen = Scripted("0.0 - 2.0 seconds, a red square appears.")
    monkeypatch.setattr(video_llm.get_session(checkpoint), "generate_fn", gen)
    full = video_llm.caption(clip, checkpoint=checkpoint, details=True)
    assert full.text == gen.answers[0] and full.duration == pytest.approx(4.0)
    assert video_llm.caption(clip, checkpoint=checkpoint) == list(full.events)
    answer = video_llm.ask(clip, "What appears?", checkpoint=checkpoint, details=True)
    assert answer.to_json() == {
        "question": "What appears?",
        "answer": gen.answers[0],
        "duration": full.duration,
    }
    assert video_llm.ask(clip, "What appears?", checkpoint=checkpoint) == answer.text
    assert gen.calls[0][0].path == str(clip.resolve())  # a session's sampled video knows its file

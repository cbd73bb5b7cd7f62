"""`bench timechat` with a model that hears: each video's transcript file goes into its prompts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from chronolens.data.synth import SynthConfig, generate
from chronolens.evaluation.timechat import run_timechat_bench
from chronolens.tasks.answer import TimeChatSession, VideoFeatures

TINY = SynthConfig(
    videos=2,
    seed=4,
    split="test",
    width=64,
    height=64,
    fps_choices=(8.0,),
    fps_weights=(),
    min_duration=4.0,
    max_duration=5.0,
    long_fraction=0.0,
    event_min=1.0,
    event_max=2.0,
    gap_min=0.3,
    gap_max=1.0,
)
SRT = "1\n00:00:00,500 --> 00:00:01,250\nThe box moves.\n"


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("timechat-bench-speech") / "data"
    generate(root, TINY, progress=False)
    videos = sorted((root / "videos").iterdir())
    videos[0].with_suffix(".srt").write_text(SRT)  # the first video has subtitles, the second none
    return root


class Recorder:
    """A generator recording the transcript each video was asked with."""

    def __init__(self) -> None:
        self.heard: dict[str, str | None] = {}

    def __call__(
        self, video: VideoFeatures, instructions: Sequence[str], transcript: str | None
    ) -> list[str]:
        self.heard[Path(str(video.path)).name] = transcript
        return ["0.0 - 1.0 seconds." for _ in instructions]


def test_transcripts_beside_the_videos_reach_the_prompts(split: Path, tmp_path: Path) -> None:
    from chronolens.models.timechat import TimeChat, TimeChatConfig

    model = TimeChat.build(TimeChatConfig.tiny(n_frames=4), corpus=["when does it happen?"])
    first, second = sorted(p.name for p in (split / "videos").iterdir() if p.suffix != ".srt")
    heard = Recorder()
    session = TimeChatSession(model=model, generate_fn=heard)
    run_timechat_bench(split, session=session, task="grounding", out=tmp_path / "a", transcripts=True)
    assert heard.heard == {first: "0.5 - 1.2s: The box moves.", second: None}
    # by default a bench follows the model's config: this one was not trained with transcripts
    off = Recorder()
    run_timechat_bench(
        split, session=TimeChatSession(model=model, generate_fn=off), task="grounding", out=tmp_path / "b"
    )
    assert set(off.heard.values()) == {None}


def test_a_model_trained_with_transcripts_hears_them_by_default(split: Path, tmp_path: Path) -> None:
    from chronolens.models.timechat import TimeChat, TimeChatConfig

    model = TimeChat.build(TimeChatConfig.tiny(n_frames=4, transcript=True), corpus=["the box moves."])
    prompts: list[str] = []
    generate = model.generate

    def spy(*args: Any, **kwargs: Any) -> list[str]:
        prompts.extend(args[3])
        return generate(*args, **{**kwargs, "max_new_tokens": 2})

    model.generate = spy  # type: ignore[method-assign]
    report = run_timechat_bench(
        split, session=TimeChatSession(model=model), task="grounding", out=tmp_path / "c"
    )
    assert report.n_queries == len(prompts) > 0
    with_speech = [p for p in prompts if "Transcript:\n0.5 - 1.2s: The box moves.\n" in p]
    assert 0 < len(with_speech) < len(prompts)  # the video without subtitles is asked without speech
    assert all(p.startswith("<video>\n") for p in prompts)

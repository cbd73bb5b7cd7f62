"""TimeIT data for TimeChat: loading, video resolution, errors, the feature cache, label masking."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from chronolens.data.formats.timeit_tasks import task_of
from chronolens.errors import ChronolensError, FormatError
from chronolens.training.recipes.timechat.data import (
    FeatureCache,
    build_samples,
    encode_videos,
    load_turns,
)

ENCODER = "builtin:synth-clip"


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from chronolens.data.synth import SynthConfig, generate

    out = tmp_path_factory.mktemp("tc-synth")
    config = SynthConfig(
        videos=4,
        seed=5,
        width=64,
        height=64,
        min_duration=6.0,
        max_duration=8.0,
        long_fraction=0.0,
        split_fractions=(0.5, 0.5, 0.0, 0.0),
    )
    generate(out, config, progress=False)
    return out


def test_synth_timeit_files_load_with_resolved_videos_and_questions_as_given(synth_dir: Path) -> None:
    path = synth_dir / "annotations" / "timeit_train.json"
    raw = json.loads(path.read_text())
    turns = load_turns(path, tasks=("tvg",))
    tvg = [item for item in raw if item["source"] == "synth_tvg"]
    assert len(turns) == len(tvg) > 0
    for turn, item in zip(turns, tvg, strict=True):
        assert turn.task == "tvg"
        assert turn.question == item["QA"][0]["q"]  # TimeIT's own instruction text, unchanged
        assert turn.answer.startswith("The given query happens in")
        assert turn.video == synth_dir / item["video"]  # relative to the dataset root
        assert turn.video.is_file()
    every = load_turns(path)
    assert {t.task for t in every} == {"tvg", "vhd", "dvc", "step"}
    assert len(load_turns(path, max_items=1)) == len(raw[0]["QA"]) == 1


def test_task_of_real_timeit_sources() -> None:
    assert task_of("Charades") == "tvg"
    assert task_of("QVHighlights") == "vhd"
    assert task_of("YouCook2") == "dvc"
    assert task_of("COIN") == "step"
    assert task_of("mystery") == "other"


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_video_root_and_json_dir_resolution(tmp_path: Path, make_video: Callable[..., Path]) -> None:
    video = make_video("clip.mkv", n_frames=20, fps=10)
    item = {"video": "clip.mkv", "QA": [{"q": "what?", "a": "0.0 - 1.0 seconds, x."}], "source": "YouCook2"}
    beside = _write(tmp_path / "data.json", [item])
    assert load_turns(beside)[0].video == video
    elsewhere = tmp_path / "ann"
    elsewhere.mkdir()
    far = _write(elsewhere / "deep.json", [item])
    nested = tmp_path / "x" / "y"
    nested.mkdir(parents=True)
    moved = _write(nested / "deep.json", [item])
    assert load_turns(far)[0].video == video  # found in the json dir's parent
    with pytest.raises(ChronolensError, match=r"item 0: video 'clip.mkv' not found"):
        load_turns(moved)
    assert load_turns(moved, video_root=tmp_path)[0].video == video


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not readable TimeIT json"),
        (json.dumps({"video": "a.mp4"}), "must be a list"),
        (json.dumps([{"video": "a.mp4", "QA": []}]), "item 0"),
        (json.dumps([{"video": "a.mp4", "QA": [{"q": "x"}]}]), "item 0"),
        (json.dumps([{"video": "a.mp4", "QA": [{"q": "x", "a": "y"}], "source": 3}]), "'source' must be"),
    ],
)
def test_malformed_files_raise_format_errors_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(FormatError, match=message) as info:
        load_turns(path)
    assert str(path) in str(info.value)


def test_no_items_of_the_task_is_an_error(tmp_path: Path, make_video: Callable[..., Path]) -> None:
    make_video("clip.mkv", n_frames=10)
    path = _write(tmp_path / "d.json", [{"video": "clip.mkv", "QA": [{"q": "q", "a": "a"}], "source": "vhd"}])
    with pytest.raises(FormatError, match="no TimeIT items of task"):
        load_turns(path, tasks=("tvg",))


def test_feature_cache_hits_misses_and_invalidation(tmp_path: Path, make_video: Callable[..., Path]) -> None:
    from chronolens.video import UniformN, read_frames

    video = make_video("clip.mkv", n_frames=30, fps=10)
    cache_dir = tmp_path / "cache"
    first, cache = encode_videos(
        [video, video], encoder=ENCODER, n_frames=6, cache_dir=cache_dir, progress=False
    )
    assert (cache.hits, cache.misses) == (0, 1)
    value = first[video]
    assert value.features.dtype == np.float32 and value.features.shape[0] == 6
    expected = read_frames(video, sampling=UniformN(n=6)).timestamps
    np.testing.assert_allclose(value.timestamps, expected)  # real decoder timestamps
    assert value.duration == pytest.approx(3.0, abs=0.11)
    assert not list(cache_dir.glob(".*partial*"))  # atomic write left no temporary file

    again, cache = encode_videos([video], encoder=ENCODER, n_frames=6, cache_dir=cache_dir, progress=False)
    assert (cache.hits, cache.misses) == (1, 0)
    np.testing.assert_array_equal(again[video].features, value.features)
    from chronolens.models.timechat.features import FrameFeatures

    shared, cache = encode_videos(  # a loaded tower (shared by the recipe's two sets) keys the same entries
        [video], encoder=FrameFeatures(ENCODER), n_frames=6, cache_dir=cache_dir, progress=False
    )
    assert (cache.hits, cache.misses) == (1, 0)
    np.testing.assert_array_equal(shared[video].features, value.features)

    _, cache = encode_videos([video], encoder=ENCODER, n_frames=4, cache_dir=cache_dir, progress=False)
    assert cache.misses == 1  # another n_frames is another entry

    stat = video.stat()
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    _, cache = encode_videos([video], encoder=ENCODER, n_frames=6, cache_dir=cache_dir, progress=False)
    assert cache.misses == 1  # a modified video is encoded again

    sha = cache.weights_sha256
    assert len(sha) == 64
    keyed = FeatureCache(cache_dir, encoder="hf:other", weights_sha256=sha, n_frames=6)
    assert keyed.load(video) is None  # another encoder never reads these features
    retrained = FeatureCache(cache_dir, encoder=ENCODER, weights_sha256="0" * 64, n_frames=6)
    assert retrained.load(video) is None  # new weights under the same name: a miss, not stale features
    broken = FeatureCache(cache_dir, encoder=ENCODER, weights_sha256=sha, n_frames=6)
    broken.path(video).write_bytes(b"garbage")
    assert broken.load(video) is None  # an unreadable entry is a miss, not a crash


def test_labels_cover_exactly_the_answer_tokens(synth_dir: Path, tmp_path: Path) -> None:
    import torch

    from chronolens.models.timechat import TimeChatConfig, build_text_tokenizer, collate
    from chronolens.models.timechat.prompting import IGNORE_INDEX

    path = synth_dir / "annotations" / "timeit_train.json"
    turns = load_turns(path, tasks=("tvg",), max_items=3)
    features, _ = encode_videos(
        [t.video for t in turns], encoder=ENCODER, n_frames=5, cache_dir=tmp_path, progress=False
    )
    samples = build_samples(turns, features)
    assert samples[0].prompt.startswith("<video>\n") and turns[0].question in samples[0].prompt
    tokenizer = build_text_tokenizer([s.prompt for s in samples] + [t.answer for t in turns])
    batch = collate(samples, tokenizer, TimeChatConfig.tiny())
    for row, turn in enumerate(turns):
        labelled = batch.labels[row][batch.labels[row] != IGNORE_INDEX]
        assert tokenizer.decode(labelled[:-1]).strip() == turn.answer.lower()
        assert int(labelled[-1]) == tokenizer.eos_token_id
        assert torch.equal(batch.input_ids[row][batch.labels[row] != IGNORE_INDEX], labelled)
    assert batch.features.shape[:2] == (len(turns), 5)

"""The synthetic benchmark: determinism, visible events, manifest round trip, splits, grammar."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from chronolens.data.synth import (
    SynthConfig,
    SynthDataset,
    SynthEvent,
    SynthObject,
    SynthVideo,
    generate,
    heldout_combos,
    load_synth,
    plan_dataset,
    render_frame,
    render_frames,
)
from chronolens.data.synth.grammar import VERB_PHRASES, all_paraphrases, canonical_caption, sample_paraphrases
from chronolens.data.synth.vocab import COLOR_WORDS, COLORS, EVENT_KINDS, SHAPE_WORDS
from chronolens.errors import FormatError

TINY = SynthConfig(
    videos=3,
    seed=11,
    width=96,
    height=96,
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
RENDER_TOL = 12  # max channel difference from the family RGB on an uncompressed frame
DECODE_RADIUS = 60.0  # RGB distance to the family colour after H.264 (chroma subsampling)


def _decode(path: str) -> np.ndarray:
    with av.open(path) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def _color_pixels(frame: np.ndarray, color: str, tol: int) -> int:
    diff = np.abs(frame.astype(np.int16) - np.asarray(COLORS[color], dtype=np.int16)).max(axis=-1)
    return int((diff <= tol).sum())


def _family_pixels(frame: np.ndarray, color: str, radius: float = DECODE_RADIUS) -> int:
    """Pixels (of a decoded frame) nearer to ``color`` than to any other family, within ``radius``."""
    palette = np.asarray(list(COLORS.values()), dtype=np.float32)  # (K, 3)
    dist = np.linalg.norm(frame.astype(np.float32)[..., None, :] - palette, axis=-1)  # (H, W, K)
    k = list(COLORS).index(color)
    return int(((dist.argmin(-1) == k) & (dist[..., k] <= radius)).sum())


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> SynthDataset:
    return generate(tmp_path_factory.mktemp("synth") / "a", TINY, progress=False)


def test_generate_is_deterministic(tiny: SynthDataset, tmp_path: Path) -> None:
    again = generate(tmp_path / "b", TINY, progress=False)
    first = json.loads((Path(tiny.root) / "synth.json").read_text())
    second = json.loads((Path(again.root) / "synth.json").read_text())
    assert first == second
    video = tiny.videos[0]
    frames_a = _decode(tiny.video_path(video))
    frames_b = _decode(again.video_path(again.videos[0]))
    assert frames_a.shape == (video.n_frames, 96, 96, 3)
    assert np.array_equal(frames_a, frames_b)
    for name in ("qvhighlights_train.jsonl", "timeit_train.json"):
        a, b = Path(tiny.root, "annotations", name), Path(again.root, "annotations", name)
        assert a.read_bytes() == b.read_bytes()


def test_other_seed_or_split_gives_other_videos() -> None:
    base = plan_dataset(SynthConfig(videos=2, seed=1, split="train", long_fraction=0.0))
    other_seed = plan_dataset(SynthConfig(videos=2, seed=2, split="train", long_fraction=0.0))
    other_split = plan_dataset(SynthConfig(videos=2, seed=1, split="test", long_fraction=0.0))
    assert base[0].events != other_seed[0].events
    assert base[0].events != other_split[0].events
    assert base[0].id != other_split[0].id


def test_render_frame_matches_render_frames_and_decoded_video(tiny: SynthDataset) -> None:
    video = tiny.videos[0]
    frames = list(render_frames(video))
    assert len(frames) == video.n_frames
    for k in (0, video.n_frames // 2, video.n_frames - 1):
        t = video.frame_time(k) + 0.4 / video.fps  # any instant inside frame k's interval
        assert np.array_equal(render_frame(video, t), frames[k])
    assert np.array_equal(render_frame(video, video.duration + 5), frames[-1])  # clamped
    decoded = _decode(tiny.video_path(video)).astype(np.float32)
    rendered = np.stack(frames).astype(np.float32)
    assert np.abs(decoded - rendered).mean() < 6.0  # only compression differs


def _colors_of(event: object) -> set[str]:
    out = {o.color for o in event.objects}  # type: ignore[attr-defined]
    if event.color_to:  # type: ignore[attr-defined]
        out.add(event.color_to)  # type: ignore[attr-defined]
    return out


def _visibility_cases(video: SynthVideo) -> list[tuple[str, float, list[float]]]:
    """(colour, time inside the window, times when nothing of that colour is on screen)."""
    distractor_colors = {d.color for d in video.distractors}
    cases = []
    for event in video.events:
        if event.kind == "scene_cut":
            continue
        color = event.objects[0].color
        if color in distractor_colors:
            continue
        busy = [e for e in video.events if color in _colors_of(e)]
        times = np.arange(video.n_frames) / video.fps
        free = [float(t) for t in times if all(not (e.start - 0.3 <= t < e.end + 0.3) for e in busy)]
        # A disappearing object dissolves over its window: look while most of it is still there.
        share = 0.25 if event.kind == "disappear" else 0.5
        cases.append((color, event.start + share * event.duration, free))
    return cases


def test_event_objects_visible_only_in_their_window() -> None:
    videos = plan_dataset(SynthConfig(videos=12, seed=4, long_fraction=0.0, max_duration=30.0))
    checked = 0
    for video in videos:
        for color, inside, free in _visibility_cases(video):
            assert _color_pixels(render_frame(video, inside), color, RENDER_TOL) >= 10, (
                video.id,
                color,
                inside,
            )
            for t in free[:: max(1, len(free) // 6)]:
                assert _color_pixels(render_frame(video, t), color, RENDER_TOL) == 0, (video.id, color, t)
            checked += 1
    assert checked >= 20


def test_event_visible_in_decoded_video(tiny: SynthDataset) -> None:
    checked = 0
    for video in tiny.videos:
        frames = _decode(tiny.video_path(video))
        for color, inside, free in _visibility_cases(video):
            assert _family_pixels(frames[video.frame_index(inside)], color) >= 8, (video.id, color)
            for t in free:
                assert _family_pixels(frames[video.frame_index(t)], color) <= 1, (video.id, color, t)
            checked += 1
    assert checked >= 2


def test_action_cues_are_in_single_frames() -> None:
    # A moving object's trail and a spinning object's arc put its colour at partial opacity
    # next to the object; a static appear/disappear event has no such ghost pixels.
    videos = plan_dataset(SynthConfig(videos=20, seed=8, long_fraction=0.0, max_duration=30.0))
    found = {"move": 0, "spin": 0, "change_color": 0}
    for video in videos:
        for event in video.events:
            t = event.start + 0.7 * event.duration
            frame = render_frame(video, t)
            if event.kind.startswith("move_") or event.kind == "spin":
                bg_only = render_frame(video, event.end + 1e-3) if event.end < video.duration else None
                if bg_only is None:
                    continue
                changed = np.abs(frame.astype(int) - bg_only.astype(int)).max(axis=-1) > 0
                full = _color_pixels(frame, event.objects[0].color, 2)
                assert changed.sum() > full  # ghosts / arc add partially blended pixels
                found["move" if event.kind != "spin" else "spin"] += 1
            elif event.kind == "change_color":
                old = _color_pixels(frame, event.objects[0].color, 2)
                new = _color_pixels(frame, event.color_to, 2)
                assert old > 0 and new > 0  # the wipe shows both colours at once
                found["change_color"] += 1
    assert all(n > 0 for n in found.values()), found


def test_manifest_round_trip(tiny: SynthDataset) -> None:
    planned = plan_dataset(TINY)
    assert tiny.videos == tuple(planned)
    for video in tiny.videos:
        assert Path(tiny.video_path(video)).is_file()
        assert abs(video.duration - video.n_frames / video.fps) < 1e-9
        assert len(video.clip_saliency) == int(np.ceil(video.duration / 2.0 - 1e-9))
        for event in video.events:
            assert 0 <= event.start < event.end <= video.duration
            assert event.query in event.paraphrases and event.caption not in event.paraphrases


@pytest.mark.parametrize(
    "mutate, needle",
    [
        (lambda d: d.update(version=99), "version"),
        (lambda d: d.update(format="other"), "format"),
        (lambda d: d["videos"][0].pop("events"), "events"),
        (lambda d: d["videos"][0]["events"][0].update(kind="explode"), "kind"),
        (lambda d: d["videos"][0].update(split="holdout"), "split"),
    ],
)
def test_load_synth_rejects_malformed_manifest(
    tiny: SynthDataset, tmp_path: Path, mutate, needle: str
) -> None:  # type: ignore[no-untyped-def]
    data = json.loads((Path(tiny.root) / "synth.json").read_text())
    mutate(data)
    (tmp_path / "synth.json").write_text(json.dumps(data))
    with pytest.raises(FormatError, match=needle):
        load_synth(tmp_path)


def test_load_synth_rejects_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="no synthetic dataset"):
        load_synth(tmp_path)
    (tmp_path / "synth.json").write_text("{not json")
    with pytest.raises(FormatError, match="JSON"):
        load_synth(tmp_path)


def test_compositional_split_is_disjoint_from_train() -> None:
    videos = plan_dataset(SynthConfig(videos=60, seed=2, long_fraction=0.0))
    by_split: dict[str, set[tuple[str, str, str]]] = {}
    for video in videos:
        for event in video.events:
            by_split.setdefault(video.split, set()).update(event.combos)
    train, comp = by_split["train"], by_split["compositional"]
    assert comp and train
    assert not train & comp
    held = heldout_combos()
    assert comp <= held
    assert not (by_split["test"] | by_split["val"]) & held
    # Only the combination is new: every colour and shape of the compositional split is in train.
    assert {c for c, _, _ in comp} <= {c for c, _, _ in train}
    assert {s for _, s, _ in comp} <= {s for _, s, _ in train}


def test_separate_runs_agree_on_heldout_combos() -> None:
    train = plan_dataset(SynthConfig(videos=15, seed=5, split="train", long_fraction=0.0))
    comp = plan_dataset(SynthConfig(videos=5, seed=99, split="compositional", long_fraction=0.0))
    train_combos = {c for v in train for e in v.events for c in e.combos}
    comp_combos = {c for v in comp for e in v.events for c in e.combos}
    assert comp_combos and not train_combos & comp_combos


def test_paraphrase_grammar_coverage() -> None:
    videos = plan_dataset(SynthConfig(videos=40, seed=6, long_fraction=0.0))
    events = {e.kind: e for v in videos for e in v.events}
    assert set(events) == set(EVENT_KINDS)
    rng = np.random.default_rng(0)
    for kind, event in events.items():
        everything = all_paraphrases(event)
        assert canonical_caption(event) == event.caption
        assert event.caption not in everything
        for template in VERB_PHRASES[kind][1:]:
            fragments = [f.strip() for f in re.split(r"\{\w+\}", template) if f.strip()]
            assert any(all(f in p for f in fragments) for p in everything), (kind, template)
        drawn = sample_paraphrases(event, rng, n=4)
        assert len(set(drawn)) == 4 and event.caption not in drawn
        assert all("." not in p for p in [event.caption, *everything])


def test_synonyms_name_one_rendered_colour() -> None:
    obj = SynthObject(shape="circle", color="red", size="large", texture="solid", x=0.5, y=0.5, radius=0.2)
    event = SynthEvent(kind="appear", start=0.0, end=2.0, objects=(obj,), targets=((0.5, 0.5),))
    words = " ".join(all_paraphrases(event))
    assert all(w in words for w in (*COLOR_WORDS["red"], *SHAPE_WORDS["circle"]))
    video = plan_dataset(SynthConfig(videos=1, seed=0, long_fraction=0.0, width=64, height=64))[0]
    video = dataclasses.replace(video, events=(event,), distractors=())
    frame = render_frame(video, 1.0)
    assert _color_pixels(frame, "red", 0) > 100  # "crimson" and "scarlet" are this exact RGB


def test_config_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="min_duration"):
        SynthConfig(min_duration=30, max_duration=10)
    with pytest.raises(ValueError, match="split"):
        SynthConfig(split="holdout")
    with pytest.raises(ValueError, match="fps_weights"):
        SynthConfig(fps_choices=(8.0, 10.0), fps_weights=(1.0,))


def test_long_video_plan_covers_its_length_with_at_most_two_concurrent_events() -> None:
    config = SynthConfig(videos=1, seed=7, long_fraction=1.0, long_duration=(600.0, 610.0))
    video = plan_dataset(config)[0]
    assert 600.0 <= video.duration <= 610.0
    assert video.events[-1].end > video.duration - 30.0
    assert len(video.events) >= 50
    for event in video.events:
        concurrent = [e for e in video.events if e.start <= event.start < e.end]
        assert len(concurrent) <= 2


def test_split_names_live_in_one_light_module() -> None:
    from chronolens.cli.main import build_parser
    from chronolens.data.split_names import SPLIT_CHOICES, SPLITS
    from chronolens.data.synth.events import SPLIT_CODES

    assert SPLITS == ("train", "val", "test", "compositional")
    assert SPLIT_CHOICES[:-1] == SPLITS and SPLIT_CHOICES[-1] == "all"
    assert set(SPLIT_CODES) == set(SPLITS)
    assert [SynthConfig(split=s).split for s in SPLIT_CHOICES] == list(SPLIT_CHOICES)  # all valid
    parser, _ = build_parser()
    for argv in (["synth", "out"], ["bench", "synth"]):
        with pytest.raises(SystemExit):
            parser.parse_args([*argv, "--split", "nope"])
    # --help builds every parser: the split names must not pull in the generator.
    code = (
        "import sys, chronolens.data.split_names; print(sorted(m for m in sys.modules if 'chronolens.' in m))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert (
        out.strip()
        == "['chronolens.data', 'chronolens.data.split_names', 'chronolens.errors', 'chronolens.version']"
    )

"""Indexing on Ray (``chronolens index --ray``): the same library as one process builds, and faults.

One local Ray runtime (2 CPUs) serves the module. Its workers run ``_worker_setup`` when they
start: it registers the ``testcolor:`` encoder there (as a user's plugin encoder would be) and
wraps the reader so that a video named ``crash*`` kills its worker once (a marker file records
it) and one named ``poison*`` kills it every time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.ingest.bad_media import png_named_mp4, truncated_faststart_mp4
from tests.library.colorhist import segment_video

import chronolens
from chronolens.cli.main import main
from chronolens.ingest import IngestConfig, RayConfig
from chronolens.library import Library
from chronolens.library.manifest import ENGINE_LOCAL, ENGINE_RAY, Manifest, read_manifest
from chronolens.video.sampling import FixedFps

ray = pytest.importorskip("ray", reason="needs the ray extra: pip install 'chronolens[ray]'")

MODEL = "testcolor:ray"
SAMPLING = FixedFps(fps=4.0)
CONFIG = IngestConfig(batch_size=3)  # several batches per video, so a crash lands mid-video
CRASH_MARKER = "CHRONOLENS_TEST_CRASH_MARKER"


def _worker_setup() -> None:
    """Runs in every Ray worker of this module's runtime (``worker_process_setup_hook``)."""
    import tests.library.colorhist  # noqa: F401  (registers the testcolor: scheme)

    from chronolens.video import reader

    real = reader.iter_frames
    marker = Path(os.environ[CRASH_MARKER])

    def crashing(path: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        name = Path(path).name
        for i, frames in enumerate(real(path, *args, **kwargs)):
            if i == 1 and (name.startswith("poison") or (name.startswith("crash") and not marker.exists())):
                marker.touch()
                os._exit(1)  # the worker dies mid-task, as if killed
            yield frames

    reader.iter_frames = crashing


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The module's Ray runtime; yields the crash marker's path (absent until a crash)."""
    marker = tmp_path_factory.mktemp("ray") / "crashed"
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={
            # The hook runs before Ray puts the driver's directory on the workers' path.
            "env_vars": {CRASH_MARKER: str(marker), "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            "worker_process_setup_hook": f"{__name__}._worker_setup",
        },
    )
    try:
        yield marker
    finally:
        ray.shutdown()


def _videos(root: Path) -> Path:
    segment_video(root / "a.mkv", [("blue", 2), ("red", 1.5)])
    segment_video(root / "b.mkv", [("green", 3)])
    segment_video(root / "sub" / "c.mkv", [("yellow", 1), ("cyan", 2)])
    png_named_mp4(root / "still.mp4")  # decodes to one frame, no duration: fails after decoding
    truncated_faststart_mp4(root / "cut.mp4")  # indexed, partial
    (root / "junk.mkv").write_bytes(b"not a video at all")  # fails when probed, on the driver
    return root


def _contents(lib: Library) -> dict[str, tuple[Any, ...]]:
    out = {}
    for record in lib.videos():
        row = (record.status, record.n_frames, record.duration, record.fps, record.codec, record.warning)
        out[record.path] = (*row, record.error, record.content_hash)
    return out


def _ray(**kwargs: Any) -> RayConfig:
    return RayConfig(embed_cpus=0.5, decode_retries=1, embed_restarts=1, **kwargs)


def _index(root: Path, videos: Path, ray_config: RayConfig | None) -> chronolens.IngestReport:
    with Library.open(root, model=MODEL, sampling=SAMPLING) as lib:
        return chronolens.index(lib, [videos], config=CONFIG, progress=False, ray=ray_config)


def test_ray_library_equals_local_library(tmp_path: Path, cluster: Path) -> None:
    videos = _videos(tmp_path / "videos")
    local = _index(tmp_path / "local", videos, None)
    on_ray = _index(tmp_path / "ray", videos, _ray())
    assert sorted(on_ray.indexed) == sorted(local.indexed) and len(local.indexed) == 4
    assert on_ray.failed == local.failed and len(local.failed) == 2
    assert on_ray.partial == local.partial and len(local.partial) == 1
    assert on_ray.n_frames == local.n_frames
    with Library.open(tmp_path / "local") as a, Library.open(tmp_path / "ray") as b:
        assert _contents(a) == _contents(b)
        assert [r.path for r in a.videos()] == [r.path for r in b.videos()]  # same ids, same order
        for record in a.videos():
            if record.status != "indexed":
                continue
            emb_a, ts_a = a.frame_embeddings(record.path)
            emb_b, ts_b = b.frame_embeddings(record.path)
            np.testing.assert_array_equal(ts_a, ts_b)  # PTS-exact, the same reader
            np.testing.assert_allclose(emb_a, emb_b, atol=1e-6)
    ma, mb = (
        read_manifest(tmp_path / "local" / "manifest.json"),
        read_manifest(tmp_path / "ray" / "manifest.json"),
    )
    assert (ma.engine, mb.engine) == (ENGINE_LOCAL, ENGINE_RAY)
    assert replace(ma, created=0.0, updated=0.0) == replace(mb, created=0.0, updated=0.0)
    # Incremental either way: nothing new, nothing done (and no cluster work needed).
    again = _index(tmp_path / "ray", videos, _ray())
    assert len(again.unchanged) == 4 and not again.indexed


def test_old_manifest_without_engine_reads_as_local(tmp_path: Path) -> None:
    import json
    from dataclasses import asdict

    m = Manifest(
        encoder="x",
        weights_sha256="0" * 64,
        dim=8,
        sampling="fps:1",
        decode_size=16,
        chronolens_version="0",
        pyav_version="0",
        ffmpeg_version="0",
        created=1.0,
        updated=1.0,
    )
    data = asdict(m)
    del data["engine"]
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    old = read_manifest(tmp_path / "manifest.json")
    assert old.engine == ENGINE_LOCAL and old == replace(m, engine=ENGINE_RAY)


def test_killed_worker_is_retried_and_the_library_ends_complete(tmp_path: Path, cluster: Path) -> None:
    videos = tmp_path / "videos"
    segment_video(videos / "crash.mkv", [("red", 2), ("blue", 2)])
    segment_video(videos / "ok.mkv", [("green", 2)])
    cluster.unlink(missing_ok=True)
    report = _index(tmp_path / "lib", videos, _ray())
    assert cluster.exists()  # the worker really died mid-video
    assert sorted(Path(p).name for p in report.indexed) == ["crash.mkv", "ok.mkv"] and not report.failed
    with Library.open(tmp_path / "lib") as lib:
        emb, ts = lib.frame_embeddings(videos / "crash.mkv")
    # Every sampled frame once, none twice: the 10 fps frame shown at each k / 4 s.
    np.testing.assert_allclose(ts, np.floor(np.arange(16) * 2.5) / 10)
    assert emb.shape == (16, 8)


def test_video_that_always_kills_its_worker_is_recorded_failed(tmp_path: Path, cluster: Path) -> None:
    videos = tmp_path / "videos"
    segment_video(videos / "poison.mkv", [("red", 2)])
    segment_video(videos / "ok.mkv", [("green", 2)])
    report = _index(tmp_path / "lib", videos, _ray())
    assert [Path(p).name for p in report.indexed] == ["ok.mkv"]
    assert list(report.failed) == [str((videos / "poison.mkv").resolve())]
    assert "killing its Ray worker" in next(iter(report.failed.values()))
    again = _index(tmp_path / "lib", videos, _ray())  # same bytes: failed again, not re-run
    assert len(again.failed) == 1 and len(again.unchanged) == 1


def test_ctrl_c_cancels_the_cluster_work_and_leaves_the_library_consistent(
    tmp_path: Path, cluster: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chronolens.ingest.local as local

    videos = tmp_path / "videos"
    for i, color in enumerate(["red", "green", "blue", "cyan"]):
        segment_video(videos / f"v{i}.mkv", [(color, 3)])
    real = local.commit_video

    def commit_then_interrupt(*args: Any, **kwargs: Any) -> str:
        real(*args, **kwargs)
        raise KeyboardInterrupt  # Ctrl-C right after the first commit

    monkeypatch.setattr(local, "commit_video", commit_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        _index(tmp_path / "lib", videos, _ray())
    monkeypatch.setattr(local, "commit_video", real)
    with Library.open(tmp_path / "lib") as lib:
        records = lib.videos()
        assert [(Path(r.path).name, r.status) for r in records] == [("v0.mkv", "indexed")]
        assert lib.frame_embeddings(records[0].path)[0].shape == (12, 8)
        stored = sorted(p.name for p in (tmp_path / "lib" / "embeddings").iterdir())
        assert stored == [records[0].embeddings]
    # The run's tasks and actors are gone: the cluster's CPUs come back.
    for _ in range(50):
        if ray.available_resources().get("CPU", 0) == 2:
            break
        time.sleep(0.1)
    assert ray.available_resources().get("CPU", 0) == 2
    resumed = _index(tmp_path / "lib", videos, _ray())
    assert len(resumed.indexed) == 3 and len(resumed.unchanged) == 1


def test_cli_ray_flag_indexes_on_the_running_runtime(tmp_path: Path, cluster: Path) -> None:
    videos = tmp_path / "videos"
    segment_video(videos / "a.mkv", [("red", 1)])
    argv = ["-q", "index", str(videos), "--library", str(tmp_path / "lib"), "--model", MODEL, "--ray"]
    assert main(argv) == 0
    assert read_manifest(tmp_path / "lib" / "manifest.json").engine == ENGINE_RAY

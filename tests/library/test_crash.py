"""SIGKILL ``chronolens index`` mid-run, rerun it: every video indexed exactly once, nothing corrupt."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from tests.encoders.tiny import save_tiny_clip

from chronolens.cli.main import main
from chronolens.library.catalog import Catalog
from chronolens.library.store import EmbeddingStore
from chronolens.video.writer import write_video

N_VIDEOS = 12
KILL_AFTER = 3  # committed videos seen before the kill
START_TIMEOUT_S = 120.0  # the child imports torch + transformers: slow on a busy 2-core machine


def _index_command(videos: Path, library: Path, model_dir: Path) -> list[str]:
    code = "from chronolens.cli.main import entry; entry()"
    return [sys.executable, "-c", code, "-q", "index", str(videos), "--library", str(library),
            "--model", f"hf:{model_dir}", "--fps", "5"]  # fmt: skip


def _committed(catalog_path: Path) -> int:
    if not catalog_path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{catalog_path}?mode=ro", uri=True, timeout=1.0) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM videos WHERE status = 'indexed'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # schema not created yet


def test_sigkill_then_rerun_indexes_each_video_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    videos = tmp_path / "videos"
    for i in range(N_VIDEOS):
        frames = rng.integers(0, 256, size=(60, 32, 48, 3), dtype=np.uint8)  # 6 s at 10 fps
        write_video(videos / f"v{i:02d}.mkv", list(frames), fps=10, codec="ffv1")
    model_dir = save_tiny_clip(tmp_path / "tiny-clip")
    library = tmp_path / "lib"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    child = subprocess.Popen(_index_command(videos, library, model_dir), env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + START_TIMEOUT_S
    while _committed(library / "catalog.sqlite") < KILL_AFTER:
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        assert time.monotonic() < deadline, "index made no progress"
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    killed_at = _committed(library / "catalog.sqlite")
    if killed_at == N_VIDEOS:
        pytest.fail("index finished before the kill; make the videos longer")

    # The rerun goes in-process: this process already paid for importing torch + transformers.
    assert main(_index_command(videos, library, model_dir)[3:]) == 0
    summary = capsys.readouterr().out
    assert f"indexed {N_VIDEOS - killed_at}, unchanged {killed_at}, failed 0" in summary

    catalog = Catalog(library / "catalog.sqlite")
    try:
        assert catalog.integrity_check() == "ok"
        records = catalog.records()
        assert sorted(Path(r.path).name for r in records) == [f"v{i:02d}.mkv" for i in range(N_VIDEOS)]
        assert all(r.status == "indexed" and r.n_frames == 30 for r in records)
        store = EmbeddingStore(library / "embeddings")
        assert store.names() == {r.embeddings for r in records}  # no orphan or partial file left
        for record in records:
            assert record.embeddings is not None
            embeddings, timestamps = store.load(record.embeddings)
            assert embeddings.shape == (30, 32) and np.all(np.isfinite(embeddings))
            np.testing.assert_allclose(timestamps, np.arange(30) / 5.0, atol=1e-6)
    finally:
        catalog.close()

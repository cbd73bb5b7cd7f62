"""The approximate index's default probe count: the one measured to reach recall@10 >= 0.95 on the
weak query set at 1M frames (benchmarks/search.py; 128 gave 0.944)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chronolens.library.ann import AnnConfig, FrameIndex


def test_default_nprobe_is_the_measured_one() -> None:
    assert AnnConfig().nprobe == 192


def test_a_built_or_loaded_index_probes_the_configured_cells(tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(3000, 16)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    index = FrameIndex.build(lambda r: rows[r], dim=16, n_total=3000, config=AnnConfig(threads=1))
    assert index.nprobe == 192 and index._index.nprobe == 192
    index.save(tmp_path / "i.faiss")
    again = FrameIndex.load(tmp_path / "i.faiss", nprobe=AnnConfig().nprobe)
    assert again._index.nprobe == 192
    _, found = again.search(rows[:3], 5)
    assert found.shape == (3, 5) and ((found >= 0) & (found < 3000)).all()

"""Retrieval R@k / MedianR / MeanR with CLIP4Clip's definitions (ties included) and file formats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chronolens.errors import FormatError
from chronolens.metrics.retrieval import evaluate_files, ranks_from_similarity, retrieval_metrics


def test_against_naive_ranks_without_ties() -> None:
    rng = np.random.default_rng(1)
    sim = rng.normal(size=(40, 40))
    ranks = ranks_from_similarity(sim)
    naive = [int(np.sum(sim[i] > sim[i, i])) for i in range(40)]
    assert ranks.tolist() == naive
    metrics = retrieval_metrics(ranks)
    assert metrics["R1"] == pytest.approx(100 * np.mean(np.array(naive) == 0))
    assert metrics["R5"] == pytest.approx(100 * np.mean(np.array(naive) < 5))
    assert metrics["MedianR"] == np.median(naive) + 1
    assert metrics["MeanR"] == pytest.approx(np.mean(naive) + 1)


def test_ties_add_one_rank_per_tied_position_like_clip4clip() -> None:
    sim = np.array([[0.5, 0.5, 0.1], [0.2, 0.9, 0.3], [0.0, 0.0, 0.0]])
    ranks = ranks_from_similarity(sim)
    assert ranks.tolist() == [0, 1, 0, 0, 1, 2]  # row 0: two tied positions; row 2: three
    metrics = retrieval_metrics(ranks)
    assert metrics["R1"] == pytest.approx(100 * 3 / 6)  # denominators count ranks, not queries
    assert metrics["MedianR"] == 1.5 and metrics["MeanR"] == pytest.approx(1 + 4 / 6)


def test_one_query_and_explicit_targets() -> None:
    assert ranks_from_similarity(np.array([[0.1, 0.7, 0.2]]), [2]).tolist() == [1]
    assert retrieval_metrics(np.array([1]))["R1"] == 0.0


def test_file_formats(tmp_path: Path) -> None:
    sim = np.array([[0.9, 0.1], [0.8, 0.2]])
    np.save(tmp_path / "sim.npy", sim)
    (tmp_path / "gt.json").write_text("[0, 1]", encoding="utf-8")
    from_npy = evaluate_files(tmp_path / "sim.npy", tmp_path / "gt.json")
    assert from_npy["R1"] == 50.0 and from_npy["num_queries"] == 2
    (tmp_path / "sim.json").write_text(json.dumps({"similarity": sim.tolist()}), encoding="utf-8")
    (tmp_path / "diag.json").write_text('"diagonal"', encoding="utf-8")
    assert evaluate_files(tmp_path / "sim.json", tmp_path / "diag.json") == from_npy
    (tmp_path / "ranked.json").write_text(
        json.dumps({"q1": ["v1", "v2"], "q2": ["v1", "v2"]}), encoding="utf-8"
    )
    (tmp_path / "targets.json").write_text(json.dumps({"q1": "v1", "q2": "v2"}), encoding="utf-8")
    assert evaluate_files(tmp_path / "ranked.json", tmp_path / "targets.json") == from_npy


def test_malformed_files(tmp_path: Path) -> None:
    np.save(tmp_path / "sim.npy", np.zeros((2, 2)))
    (tmp_path / "gt.json").write_text("[0, 5]", encoding="utf-8")
    with pytest.raises(FormatError, match=r"gt\.json: index 1: target 5 is not a column index"):
        evaluate_files(tmp_path / "sim.npy", tmp_path / "gt.json")
    (tmp_path / "ranked.json").write_text(json.dumps({"q1": ["v1"]}), encoding="utf-8")
    (tmp_path / "targets.json").write_text(json.dumps({"q1": "v1", "q2": "v2"}), encoding="utf-8")
    with pytest.raises(FormatError, match="no ranked list for query 'q2'"):
        evaluate_files(tmp_path / "ranked.json", tmp_path / "targets.json")

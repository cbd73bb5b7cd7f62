"""The numpy CLIP text tower and the text-first builtin encoder, against transformers itself."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.encoders.tiny import TINY_TEXT_POSITIONS, save_tiny_clip, save_tiny_siglip

from chronolens.encoders import builtin, load_encoder
from chronolens.encoders.clip_text import ClipTextTower, supports
from chronolens.encoders.hf import HFEncoder, load_hf_encoder
from chronolens.encoders.text_first import TextFirstEncoder

TEXTS = [
    "a red car",
    "the dog jumps over a box",
    "A Person puts a BOX on the table!",  # case and punctuation
    "zebra",  # out of vocabulary
    "a man and a woman walk left with a big ball and a small cat in the scene at the door",  # > 16 tokens
]
ATOL = 1e-5  # float32 numpy vs float32 torch


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_clip(tmp_path_factory.mktemp("tiny-clip"), seed=3)


@pytest.fixture(scope="module")
def reference(clip_dir: Path) -> HFEncoder:
    return load_hf_encoder(str(clip_dir), device="cpu", precision="fp32")


def test_tower_matches_transformers_fp32(clip_dir: Path, reference: HFEncoder) -> None:
    tower = ClipTextTower.load(clip_dir)
    got = tower.encode(TEXTS)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), reference.dim)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(got, reference.encode_texts(TEXTS), atol=ATOL)


def test_tower_tokenises_as_transformers(clip_dir: Path, reference: HFEncoder) -> None:
    tower = ClipTextTower.load(clip_dir)
    ids = reference.tokenize(TEXTS)["input_ids"].tolist()
    mine = tower.token_ids(TEXTS)
    assert max(len(row) for row in mine) == TINY_TEXT_POSITIONS  # the long text was truncated
    for padded, row in zip(ids, mine, strict=True):
        assert padded[: len(row)] == row and row[-1] == 3  # ends with EOS even when truncated


def test_tower_batching_and_padding_do_not_change_embeddings(clip_dir: Path) -> None:
    tower = ClipTextTower.load(clip_dir)
    together = tower.encode(TEXTS, batch_size=len(TEXTS))
    one_by_one = np.concatenate([tower.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)
    np.testing.assert_allclose(tower.encode(TEXTS, batch_size=2), together, atol=1e-6)
    assert tower.encode([]).shape == (0, tower.dim)
    with pytest.raises(TypeError):
        tower.encode("a red car")


def test_legacy_eos_id_pools_at_the_largest_id(tmp_path: Path, clip_dir: Path) -> None:
    legacy = tmp_path / "legacy"
    shutil.copytree(clip_dir, legacy)
    config = json.loads((legacy / "config.json").read_text())
    config["text_config"]["eos_token_id"] = 2  # transformers then pools at argmax(input_ids)
    (legacy / "config.json").write_text(json.dumps(config))
    expected = load_hf_encoder(str(legacy), device="cpu", precision="fp32").encode_texts(TEXTS)
    np.testing.assert_allclose(ClipTextTower.load(legacy).encode(TEXTS), expected, atol=ATOL)


def test_supports_only_what_it_runs(tmp_path: Path, clip_dir: Path) -> None:
    assert supports(clip_dir)
    assert not supports(save_tiny_siglip(tmp_path / "siglip"))
    gelu = tmp_path / "gelu"
    shutil.copytree(clip_dir, gelu)
    config = json.loads((gelu / "config.json").read_text())
    config["text_config"]["hidden_act"] = "gelu"
    (gelu / "config.json").write_text(json.dumps(config))
    assert not supports(gelu)
    del config["text_config"]["hidden_act"]  # a default we would have to guess
    (gelu / "config.json").write_text(json.dumps(config))
    assert not supports(gelu)
    assert not supports(tmp_path / "nothing-here")


def _as_builtin(monkeypatch: pytest.MonkeyPatch, root: Path, model_dir: Path) -> None:
    shutil.copytree(model_dir, root / "synth-clip")
    monkeypatch.setattr(builtin, "_weights_root", lambda: root)


def test_builtin_is_text_first_and_equals_the_hf_encoder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clip_dir: Path, reference: HFEncoder
) -> None:
    _as_builtin(monkeypatch, tmp_path, clip_dir)
    encoder = load_encoder("builtin:synth-clip", device="cpu")  # precision "auto": texts still float32
    assert isinstance(encoder, TextFirstEncoder)
    assert (encoder.name, encoder.dim, encoder.image_size) == (
        "builtin:synth-clip",
        reference.dim,
        reference.image_size,
    )
    assert encoder.weights_sha256 == reference.weights_sha256
    np.testing.assert_allclose(encoder.encode_texts(TEXTS), reference.encode_texts(TEXTS), atol=ATOL)
    assert "text tower" in repr(encoder)
    frames = np.random.default_rng(0).integers(0, 256, (3, 40, 56, 3), dtype=np.uint8)
    # The image side is the hf: encoder with the same options (auto: bf16 where the CPU has it).
    same_options = load_hf_encoder(str(clip_dir), device="cpu")
    np.testing.assert_allclose(encoder.encode_images(frames), same_options.encode_images(frames), atol=1e-6)
    assert "both towers" in repr(encoder)
    assert encoder.model.text_model is not None  # the image side's model, loaded on demand
    assert tuple(encoder.pixel_values(frames).shape) == (3, 3, encoder.image_size, encoder.image_size)
    assert encoder.tokenize(["a red car"])["input_ids"].shape[0] == 1
    assert encoder.tokenizer is not None


def test_builtin_bf16_sends_texts_through_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clip_dir: Path
) -> None:
    _as_builtin(monkeypatch, tmp_path, clip_dir)
    encoder = load_encoder("builtin:synth-clip", device="cpu", precision="bf16")
    assert isinstance(encoder, TextFirstEncoder)
    expected = load_hf_encoder(str(clip_dir), device="cpu", precision="bf16")
    assert expected.dtype == torch.bfloat16
    np.testing.assert_array_equal(encoder.encode_texts(TEXTS), expected.encode_texts(TEXTS))


def test_builtin_falls_back_to_transformers_for_other_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _as_builtin(monkeypatch, tmp_path, save_tiny_siglip(tmp_path / "siglip"))
    assert isinstance(load_encoder("builtin:synth-clip", device="cpu", precision="fp32"), HFEncoder)


def test_shipped_builtin_texts_equal_transformers_fp32() -> None:
    shipped = builtin.builtin_directory("synth-clip")
    encoder = load_encoder("builtin:synth-clip")
    assert isinstance(encoder, TextFirstEncoder)
    queries = ["a red circle drifts left", "the blue square spins then stops", "x " * 80]
    expected = load_hf_encoder(str(shipped), device="cpu", precision="fp32").encode_texts(queries)
    np.testing.assert_allclose(encoder.encode_texts(queries), expected, atol=ATOL)


def test_a_query_imports_neither_torch_nor_transformers(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from chronolens.encoders import load_encoder
        encoder = load_encoder("builtin:synth-clip")
        assert encoder.encode_texts(["a red circle"]).shape == (1, encoder.dim)
        assert len(encoder.weights_sha256) == 64 and encoder.image_size > 0
        print(sorted(m for m in ("torch", "transformers") if m in sys.modules))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_search_ground_highlights_over_stored_embeddings_import_no_torch(tmp_path: Path) -> None:
    # The whole query path of the CLI: library open, text embedding, ranking, grounding.
    video = tmp_path / "v.mp4"
    video.touch()  # ground/highlights need the file; its embeddings come from the library
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        from chronolens.cli.main import main
        from chronolens.library import Library
        from chronolens.library.store import EmbeddingStore

        rng = np.random.default_rng(0)
        with Library.open({str(tmp_path / "lib")!r}, model="builtin:synth-clip") as lib:
            with lib.writing() as (catalog, store):
                emb = rng.standard_normal((20, lib.manifest.dim)).astype(np.float32)
                emb /= np.linalg.norm(emb, axis=1, keepdims=True)
                name = EmbeddingStore.file_name({str(video)!r}, "h")
                store.save(name, emb, np.arange(20, dtype=np.float64))
                size, sha = store.checksum(name)
                catalog.upsert_indexed(
                    path={str(video)!r}, size=0, mtime_ns=0, content_hash="h", duration=20.0, fps=1.0,
                    codec="h264", width=96, height=96, n_frames=20, embeddings=name,
                    embeddings_size=size, embeddings_sha256=sha,
                )
        lib_dir = {str(tmp_path / "lib")!r}
        for argv in (
            ["search", "a red circle", "--library", lib_dir],
            ["ground", {str(video)!r}, "a red circle then a blue square", "--library", lib_dir],
            ["highlights", {str(video)!r}, "a red circle", "--library", lib_dir],
        ):
            assert main(argv) == 0, argv
        print("MODULES", sorted(m for m in ("torch", "transformers") if m in sys.modules))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "MODULES []" in done.stdout, done.stdout

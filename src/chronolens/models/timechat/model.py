"""TimeChat: timestamp-aware frame encoder -> sliding video Q-Former -> projection -> LLM with LoRA.

Ren et al., "TimeChat: A Time-sensitive Multimodal Large Language Model for Long Video
Understanding", CVPR 2024. The reference implementation is ``timechat/models/timechat.py``
(class ``TimeChat``); this module re-builds the same data flow on transformers' Q-Former classes
and any transformers causal LM:

    patch features (B, T, P, Dv) --TimestampFrameEncoder--> (B, T, Nq, H)
        --SlidingVideoQFormer--> (B, ceil(T/S) * Nv, H) --projection--> (B, V, D_llm)
        --spliced at <video> into the prompt embeddings--> LLM (base frozen, LoRA trained)

What trains (``TimeChat.trainable_parameters``): both Q-Formers with their query tokens, the
frame position embeddings, the projection and the LoRA adapters. The image tower is outside
the module (``chronolens.models.timechat.features``) and always frozen.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from chronolens.errors import ModelNotFoundError
from chronolens.models.layers import DiffFP, build_compressor, frame_spans, spans_to_seconds, window_spans
from chronolens.models.timechat import time_tokens
from chronolens.models.timechat.config import TimeChatConfig
from chronolens.models.timechat.frame_encoder import TimestampFrameEncoder
from chronolens.models.timechat.prompting import (
    IGNORE_INDEX,
    VIDEO_PLACEHOLDER,
    TimeChatBatch,
    build_prompt,
    encode_text,
    frame_times_text,
    pad_token_id,
    video_token_id,
)
from chronolens.models.timechat.tokenizer import add_video_token
from chronolens.models.timechat.video_qformer import SlidingVideoQFormer
from chronolens.models.token_batches import right_pad

__all__ = ["TimeChat", "TimeChatOutput", "build_tiny_llm", "load_llm"]

logger = logging.getLogger(__name__)

# Words every tiny vocabulary holds besides the corpus: the prompt scaffolding.
_PROMPT_SCAFFOLD = (build_prompt("question", "transcript"), frame_times_text([0.0, 1.5]))


@dataclass
class TimeChatOutput:
    """What ``TimeChat.forward`` returns."""

    loss: torch.Tensor | None  # mean cross-entropy over answer tokens (+ eos); None without labels
    logits: torch.Tensor  # (B, L', vocab) for the spliced sequence (L' = text + video tokens)
    labels: torch.Tensor | None  # (B, L') labels aligned with logits, IGNORE_INDEX over video/prompt/pad
    attention_mask: torch.Tensor  # (B, L') 1 = real token (text or video)


def build_tiny_llm(config: TimeChatConfig, tokenizer: Any) -> nn.Module:
    """The random-init ``LlamaForCausalLM`` of ``llm="tiny"``, sized by the ``llm_*`` fields."""
    from transformers import LlamaConfig, LlamaForCausalLM

    max_positions = config.max_text_tokens + config.max_video_tokens + time_tokens.max_marker_tokens(config)
    llama_config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.llm_hidden,
        intermediate_size=config.llm_intermediate,
        num_hidden_layers=config.llm_layers,
        num_attention_heads=config.llm_heads,
        num_key_value_heads=config.llm_heads,
        max_position_embeddings=max_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,  # separate tensors, so safetensors can store both
    )
    return LlamaForCausalLM(llama_config)


def _llm_source(name: str) -> tuple[str, dict[str, Any]]:
    """``(directory or hub id, from_pretrained kwargs)`` for an LLM name; ``x.gguf`` -> gguf_file."""
    path = Path(name).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelNotFoundError(f"LLM gguf file {name!r} does not exist")
        return str(path.parent), {"gguf_file": path.name, "local_files_only": True}
    if path.is_dir():
        return str(path), {"local_files_only": True}
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelNotFoundError(
            f"LLM {name!r}: no such directory; TimeChatConfig.llm takes 'tiny', a model directory, "
            "a .gguf file or a Hugging Face hub id"
        )
    return name, {}


def load_llm(config: TimeChatConfig, *, dtype: torch.dtype | None = None) -> tuple[nn.Module, Any]:
    """Load a pretrained causal LM and its tokenizer for ``config.llm`` (not ``"tiny"``).

    Args:
        config: ``llm`` is a local directory, a ``.gguf`` file (dequantised by transformers,
            needs ``gguf``) or a hub id (from the user's cache, or downloaded).
        dtype: weights dtype; default float32.

    Returns:
        ``(model, tokenizer)``; the tokenizer has a ``<video>`` special token added.

    Raises:
        ModelNotFoundError: nothing loadable under that name.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source, kwargs = _llm_source(config.llm)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype or torch.float32, **kwargs)
    except ImportError as exc:
        raise ModelNotFoundError(
            f"cannot load LLM {config.llm!r}: {exc} (pip install gguf for .gguf)"
        ) from exc
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(
            f"cannot load LLM {config.llm!r} ({type(exc).__name__}: {exc}); TimeChatConfig.llm takes 'tiny', "
            "a model directory, a .gguf file or a Hugging Face hub id available offline"
        ) from exc
    add_video_token(tokenizer)
    time_tokens.add_time_tokens(model, tokenizer, config)
    return model, tokenizer


def _with_lora(llm: nn.Module, config: TimeChatConfig) -> nn.Module:
    """Wrap ``llm`` in peft LoRA adapters on ``config.lora_targets``; peft freezes the base."""
    from peft import LoraConfig, PeftModel, get_peft_model

    if isinstance(llm, PeftModel):
        return llm
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.lora_targets),
        bias="none",
        task_type="CAUSAL_LM",
    )
    try:
        return get_peft_model(llm, lora)
    except ValueError as exc:  # no module matches the targets
        raise ValueError(
            f"TimeChatConfig.lora_targets {config.lora_targets!r} do not fit this LLM: {exc}"
        ) from exc


def _hidden_size(llm: nn.Module) -> int:
    config: Any = llm.config
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    return int(text_config.hidden_size)


class TimeChat(nn.Module):
    """The TimeChat video LLM (TimeChat's ``TimeChat`` class, ``timechat/models/timechat.py``).

    Build with ``TimeChat.build(config, corpus=...)`` (creates the tokenizer and the LLM) or load a
    checkpoint with ``chronolens.models.timechat.load_timechat``. The constructor takes an
    existing tokenizer (and optionally a loaded LLM).

    Training a tiny random-init LLM: LoRA on a frozen *random* LLM cannot learn language, so a
    recipe training ``llm="tiny"`` from scratch calls ``model.unfreeze_llm()`` to train every LLM
    weight too; checkpoints remember this (``save_timechat``).
    """

    def __init__(
        self,
        config: TimeChatConfig,
        *,
        tokenizer: Any,
        llm: nn.Module | None = None,
    ) -> None:
        """Assemble the modules (random init of everything but a given or pretrained LLM).

        Args:
            config: architecture.
            tokenizer: the LLM tokenizer, holding ``<video>``.
            llm: a causal LM (plain or already peft-wrapped); None builds the tiny one or loads
                ``config.llm``.

        Raises:
            ValueError: ``config.vision_dim`` is None (``build`` fills it from the image encoder).
        """
        super().__init__()
        dim = config.vision_dim
        if dim is None:
            raise ValueError(
                "TimeChatConfig.vision_dim is None; TimeChat.build reads it from the image encoder"
            )
        self.config = config
        self.tokenizer = tokenizer
        self.video_id = video_token_id(tokenizer)
        self.pad_id = pad_token_id(tokenizer)
        self.llm_trainable = False
        self.time_markers = time_tokens.TimeMarkers.of(config, tokenizer)  # None: no time tokens
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.frame_encoder = TimestampFrameEncoder(config, vision_dim=dim)
            # The video Q-Former, and / or another compressor (TimeChatConfig.compressor).
            self.video_qformer = SlidingVideoQFormer(config) if config.uses_video_qformer else None
            compressor = config.compressor_config()
            self.compressor = build_compressor(compressor) if compressor is not None else None
            if llm is None:
                if config.is_tiny_llm:
                    llm = build_tiny_llm(config, tokenizer)
                else:
                    llm, _ = load_llm(config)
            self.projection = nn.Linear(config.qformer_hidden, _hidden_size(llm))
            self.llm: Any = _with_lora(llm, config)  # peft PeftModelForCausalLM

    # -- construction ----------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        config: TimeChatConfig,
        *,
        corpus: Iterable[str] | None = None,
        dtype: torch.dtype | None = None,
    ) -> TimeChat:
        """Create tokenizer, LLM (+LoRA) and the randomly initialised TimeChat parts.

        Args:
            config: architecture.
            corpus: texts for the tiny word-level vocabulary (prompts, answers); required for
                ``llm="tiny"``, ignored otherwise.
            dtype: weights dtype of a pretrained LLM (default float32).

        Raises:
            ValueError: ``llm="tiny"`` without a corpus.
            ModelNotFoundError: unknown image encoder or LLM.
        """
        from chronolens.models.timechat.tokenizer import build_text_tokenizer

        if config.vision_dim is None:  # Dv from the image tower (loads it once)
            from chronolens.models.timechat.features import FrameFeatures

            config = config.with_(vision_dim=FrameFeatures(config.image_encoder, device="cpu").dim)
        llm: nn.Module | None = None
        if config.is_tiny_llm:
            if corpus is None:
                raise ValueError(
                    "TimeChat.build with llm='tiny' needs a corpus for its word-level vocabulary"
                )
            texts = [*corpus, *_PROMPT_SCAFFOLD, *time_tokens.scaffold(config)]
            extra = time_tokens.absolute_tokens(config)  # VTG-LLM's <tK>, if configured
            tokenizer = build_text_tokenizer(
                texts, max_length=config.max_text_tokens, extra_special_tokens=extra
            )
        else:
            llm, tokenizer = load_llm(config, dtype=dtype)
        return cls(config, tokenizer=tokenizer, llm=llm)

    # -- parameters ------------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        """Device of the TimeChat-specific parameters."""
        return self.projection.weight.device

    @property
    def vision_dim(self) -> int:
        """Dv, the patch feature width the frame encoder expects."""
        return self.frame_encoder.vision_dim

    def unfreeze_llm(self) -> None:
        """Train every LLM weight too (for the tiny random-init LLM, which LoRA alone cannot teach)."""
        for param in self.llm.parameters():
            param.requires_grad_(True)
        self.llm_trainable = True
        logger.info("LLM base weights unfrozen: training the whole LLM")

    def trainable_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """``(name, parameter)`` of everything that trains, in a stable order."""
        return [(name, p) for name, p in self.named_parameters() if p.requires_grad]

    # -- video -----------------------------------------------------------------------------------

    def encode_video(
        self, features: torch.Tensor, timestamps: torch.Tensor, frame_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Video tokens in the LLM embedding space and which of them are real (see ``encode_video_spans``)."""
        tokens, token_mask, _ = self.encode_video_spans(features, timestamps, frame_mask)
        return tokens, token_mask

    def video_token_times(
        self, features: torch.Tensor, timestamps: torch.Tensor, frame_mask: torch.Tensor
    ) -> torch.Tensor:
        """``(B, V, 2)`` seconds: first and last frame time each video token stands for (NaN if not real)."""
        _, _, spans = self.encode_video_spans(features, timestamps, frame_mask)
        return spans_to_seconds(spans, timestamps)

    def encode_video_spans(
        self, features: torch.Tensor, timestamps: torch.Tensor, frame_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Video tokens in the LLM embedding space, which of them are real, and their frames.

        Args:
            features: ``(B, T, P, Dv)`` patch features.
            timestamps: ``(B, T)`` seconds of each frame.
            frame_mask: ``(B, T)`` bool, True = a real frame (padding at the end).

        Returns:
            ``(tokens, token_mask, spans)``: ``(B, V, D_llm)`` with zeros at invalid positions,
            ``(B, V)`` bool and ``(B, V, 2)`` long, the first and last frame index each token stands
            for (-1 where not real); a video with T' real frames has ``config.n_video_tokens(T')``
            real tokens (DiffFP: at most).
        """
        device = self.device
        features = features.to(device=device, dtype=torch.float32)
        frame_mask = frame_mask.to(device=device, dtype=torch.bool)
        batch, n_frames = features.shape[:2]
        if frame_mask.shape != (batch, n_frames) or timestamps.shape != (batch, n_frames):
            raise ValueError(
                f"features {tuple(features.shape)}, timestamps {tuple(timestamps.shape)} and frame_mask "
                f"{tuple(frame_mask.shape)} disagree on (B, T)"
            )
        if features.shape[-1] != self.vision_dim:
            raise ValueError(
                f"patch features have width {features.shape[-1]}, the model expects {self.vision_dim}"
            )
        # Only real frames go through the frame Q-Former; padding stays exactly zero.
        real = self.frame_encoder(features[frame_mask], timestamps.to(device)[frame_mask])  # (N, Nq, H)
        frame_tokens = real.new_zeros(batch, n_frames, *real.shape[1:])
        frame_tokens[frame_mask] = real  # (B, T, Nq, H)
        video, token_mask, spans = self._compress(frame_tokens, frame_mask, features)  # (B, V, H)
        tokens = self.projection(video) * token_mask[..., None].to(video.dtype)  # (B, V, D_llm)
        return tokens, token_mask, spans

    def _compress(
        self, frame_tokens: torch.Tensor, frame_mask: torch.Tensor, features: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Frame tokens ``(B, T, Nq, H)`` -> ``(video (B, V, H), token_mask (B, V), spans (B, V, 2))``."""
        batch, n_frames = frame_mask.shape
        index = None
        if self.video_qformer is not None:  # units = windows of Nv tokens
            video, token_mask = self.video_qformer(frame_tokens, frame_mask)  # (B, W * Nv, H)
            index = self.video_qformer.window_index(n_frames)  # (W, Lw)
            units = video.reshape(batch, index.shape[0], self.config.video_queries, -1)  # (B, W, Nv, H)
            unit_mask, unit_spans = (
                token_mask.reshape(units.shape[:3])[..., 0],
                window_spans(index, frame_mask),
            )
        else:  # units = frames of Nq tokens (a compressor is configured: TimeChatConfig checks)
            units, unit_mask, unit_spans = frame_tokens, frame_mask, frame_spans(frame_mask)
        if self.compressor is None:  # TimeChat: each token stands for its window
            spans = unit_spans.repeat_interleave(units.shape[2], dim=1)
            return video, token_mask, spans.masked_fill(~token_mask[..., None], -1)
        if isinstance(self.compressor, DiffFP):
            # Pixels do not reach the model: DiffFP compares the image tower's patch features, and a
            # unit (frame, or window) is kept whole when any of its patches changed.
            keep = self.compressor.unit_keep(features, frame_mask, index)  # (B, U)
            out = self.compressor(units, unit_mask, unit_spans, keep=keep[..., None].expand(units.shape[:3]))
        else:
            out = self.compressor(units, unit_mask, unit_spans)
        return out.tokens, out.mask, out.spans

    def _video_with_times(
        self, features: torch.Tensor, timestamps: torch.Tensor, frame_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``encode_video``'s tokens and mask, and their seconds (``(B, V, 2)``) when time tokens are on."""
        tokens, token_mask, spans = self.encode_video_spans(features, timestamps, frame_mask)
        times = spans_to_seconds(spans, timestamps).cpu() if self.time_markers is not None else None
        return tokens, token_mask, times

    def video_tokens(
        self, features: torch.Tensor, timestamps: torch.Tensor, frame_mask: torch.Tensor
    ) -> torch.Tensor:
        """``(B, V, D_llm)`` video tokens (see ``encode_video``; invalid positions are zeros)."""
        return self.encode_video(features, timestamps, frame_mask)[0]

    # -- splicing --------------------------------------------------------------------------------

    def splice_video(
        self,
        tokens: torch.Tensor,
        token_mask: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor | None,
        *,
        padding_side: str,
        token_times: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Replace each row's ``<video>`` by its real video tokens and re-pad.

        Rows may be padded on either side (``attention_mask`` says which ids are real). Returns
        ``(inputs_embeds (B, L', D), attention_mask (B, L'), labels (B, L') | None)`` padded on
        ``padding_side``; video positions get ``IGNORE_INDEX`` labels, as do the time markers put
        before each group of video tokens with ``config.time_tokens`` and ``token_times`` (seconds).
        """
        embed = self.llm.get_input_embeddings()
        device = embed.weight.device
        input_ids = input_ids.to(device)
        attention_mask = attention_mask.to(device)
        # The placeholder may lie outside the LLM vocabulary (added token): embed pad in its place.
        safe_ids = input_ids.masked_fill(input_ids == self.video_id, self.pad_id)
        text = embed(safe_ids)  # (B, L, D)
        tokens = tokens.to(device=device, dtype=text.dtype)
        rows: list[torch.Tensor] = []
        row_labels: list[torch.Tensor] = []
        for b in range(input_ids.shape[0]):
            keep = attention_mask[b].bool()
            ids = input_ids[b][keep]
            at = (ids == self.video_id).nonzero().flatten()
            if at.numel() != 1:
                raise ValueError(
                    f"row {b} holds {at.numel()} {VIDEO_PLACEHOLDER!r} tokens; exactly one is needed"
                )
            p = int(at[0])
            emb = text[b][keep]
            video = tokens[b][token_mask[b].to(device)]  # (V_b, D)
            if self.time_markers is not None and token_times is not None:
                video = self.time_markers.interleave(video, token_times[b][token_mask[b].cpu()], embed)
            rows.append(torch.cat([emb[:p], video, emb[p + 1 :]], dim=0))
            if labels is not None:
                lab = labels[b].to(device)[keep]
                ignore = lab.new_full((video.shape[0],), IGNORE_INDEX)
                row_labels.append(torch.cat([lab[:p], ignore, lab[p + 1 :]]))
        length = max(r.shape[0] for r in rows)
        batch = len(rows)
        pad_embed = embed(torch.tensor([self.pad_id], device=device))[0]  # (D,)
        embeds = pad_embed.expand(batch, length, -1).clone()
        mask = torch.zeros(batch, length, dtype=torch.long, device=device)
        out_labels = torch.full((batch, length), IGNORE_INDEX, dtype=torch.long, device=device)
        for b, row in enumerate(rows):
            n = row.shape[0]
            span = slice(0, n) if padding_side == "right" else slice(length - n, length)
            embeds[b, span] = row
            mask[b, span] = 1
            if labels is not None:
                out_labels[b, span] = row_labels[b]
        return embeds, mask, out_labels if labels is not None else None

    # -- training --------------------------------------------------------------------------------

    def forward(self, batch: TimeChatBatch) -> TimeChatOutput:
        """Teacher-forced pass; the loss is the mean next-token cross-entropy over answer tokens."""
        tokens, token_mask, times = self._video_with_times(batch.features, batch.timestamps, batch.frame_mask)
        text = (batch.input_ids, batch.attention_mask, batch.labels)
        embeds, mask, labels = self.splice_video(
            tokens, token_mask, *text, padding_side="right", token_times=times
        )
        logits = self.llm(inputs_embeds=embeds, attention_mask=mask).logits  # (B, L', vocab)
        loss = None
        if labels is not None:
            target = labels[:, 1:]  # position i predicts token i + 1
            if bool((target != IGNORE_INDEX).any()):
                loss = nn.functional.cross_entropy(
                    logits[:, :-1].float().reshape(-1, logits.shape[-1]),
                    target.reshape(-1),
                    ignore_index=IGNORE_INDEX,
                )
        return TimeChatOutput(loss=loss, logits=logits, labels=labels, attention_mask=mask)

    # -- inference -------------------------------------------------------------------------------

    @torch.inference_mode()
    def generate(
        self,
        features: torch.Tensor,
        timestamps: torch.Tensor,
        frame_mask: torch.Tensor,
        prompts: Sequence[str],
        *,
        max_new_tokens: int = 128,
        transcripts: Sequence[str | None] | None = None,
    ) -> list[str]:
        """Greedy answers, one per video, without the prompt.

        Args:
            features: ``(B, T, P, Dv)`` patch features.
            timestamps: ``(B, T)`` seconds.
            frame_mask: ``(B, T)`` bool.
            prompts: B prompts; one holding ``<video>`` is used verbatim, any other text is an
                instruction wrapped by ``build_prompt`` (with the row's transcript, if any).
            max_new_tokens: most generated tokens per answer.
            transcripts: optional B transcripts for instruction prompts.

        Returns:
            B strings, decoded up to (not including) the first eos, special tokens dropped.
        """
        batch = features.shape[0]
        if len(prompts) != batch:
            raise ValueError(f"{len(prompts)} prompts for {batch} videos")
        if transcripts is not None and len(transcripts) != batch:
            raise ValueError(f"{len(transcripts)} transcripts for {batch} videos")
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        encoded = []
        for i, prompt in enumerate(prompts):
            transcript = transcripts[i] if transcripts is not None else None
            text = prompt if VIDEO_PLACEHOLDER in prompt else build_prompt(prompt, transcript)
            times = timestamps[i][frame_mask[i]].tolist() if self.config.frame_times_prompt else None
            ids, _ = encode_text(
                self.tokenizer, text, None, max_tokens=self.config.max_text_tokens, frame_times=times
            )
            encoded.append(ids)
        input_ids, attention_mask = right_pad(encoded, self.pad_id)
        was_training = self.training
        self.eval()
        try:
            tokens, token_mask, spans = self._video_with_times(features, timestamps, frame_mask)
            embeds, mask, _ = self.splice_video(
                tokens, token_mask, input_ids, attention_mask, None, padding_side="left", token_times=spans
            )
            eos = self.tokenizer.eos_token_id
            output = self.llm.generate(
                inputs_embeds=embeds,
                attention_mask=mask,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                num_beams=1,
                eos_token_id=eos,
                pad_token_id=self.pad_id,
                temperature=None,
                top_p=None,
                top_k=None,
            )
        finally:
            self.train(was_training)
        answers = []
        for row in output.tolist():
            if eos is not None and eos in row:
                row = row[: row.index(eos)]
            answers.append(self.tokenizer.decode(row, skip_special_tokens=True).strip())
        return answers

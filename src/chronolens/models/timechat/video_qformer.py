"""TimeChat's sliding video Q-Former: windows of frame tokens -> Nv video tokens per window.

Frame tokens get a learnable frame position embedding (per absolute frame index), then a window
of Lw frames (Lw * Nq tokens) moves over the video with stride S; in every window Nv learnable
queries cross-attend the window's tokens, so a T-frame video gives ``ceil(T / S) * Nv`` video
tokens - their number grows with the video's length (TimeChat, Sec. 3.2). As in TimeChat's
``range(0, T, stride)`` loop the last windows may be shorter than Lw; here all windows run as one
batch, with the missing frames masked. ``sliding=False`` is the ablation's global Q-Former: one
window over all frames, Nv tokens whatever the length.
"""

from __future__ import annotations

import torch
from torch import nn

from chronolens.models.timechat.config import TimeChatConfig

__all__ = ["SlidingVideoQFormer"]


class SlidingVideoQFormer(nn.Module):
    """Frame tokens ``(B, T, Nq, H)`` -> video tokens ``(B, W * Nv, H)``.

    Corresponds to TimeChat's ``video_frame_position_embedding`` + ``video_Qformer`` +
    ``video_query_tokens`` (a 2-layer BLIP-2 Q-Former with cross-attention in every layer and no
    text input: transformers ``Blip2QFormerModel``).
    """

    def __init__(self, config: TimeChatConfig) -> None:
        from transformers import Blip2QFormerConfig, Blip2QFormerModel

        super().__init__()
        self.config = config
        hidden = config.qformer_hidden
        qconfig = Blip2QFormerConfig(
            hidden_size=hidden,
            num_hidden_layers=config.video_qformer_layers,
            num_attention_heads=config.qformer_heads,
            intermediate_size=config.qformer_intermediate,
            cross_attention_frequency=1,  # TimeChat's init_video_Qformer: cross-attention in every layer
            encoder_hidden_size=hidden,
            use_qformer_text_input=False,  # queries only: no text feed-forward branch
            initializer_range=config.qformer_init_std,
            hidden_dropout_prob=config.qformer_dropout,
            attention_probs_dropout_prob=config.qformer_dropout,
        )
        self.frame_position = nn.Embedding(config.n_frames, hidden)
        self.qformer = Blip2QFormerModel(qconfig)
        self.query_tokens = nn.Parameter(torch.empty(1, config.video_queries, hidden))
        nn.init.normal_(self.query_tokens, std=config.qformer_init_std)
        nn.init.normal_(self.frame_position.weight, std=config.qformer_init_std)

    def window_index(self, n_frames: int) -> torch.Tensor:
        """Frame indices of each window, ``(W, Lw)``; indices >= ``n_frames`` are padding."""
        if self.config.sliding:
            n_windows = self.config.n_windows(n_frames)
            length, stride = self.config.window, self.config.stride
        else:
            n_windows, length, stride = 1, n_frames, n_frames
        starts = torch.arange(n_windows) * stride  # (W,)
        return starts[:, None] + torch.arange(length)[None, :]  # (W, Lw)

    def forward(
        self, frame_tokens: torch.Tensor, frame_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the video Q-Former over all windows at once.

        Args:
            frame_tokens: ``(B, T, Nq, H)`` output of the frame encoder.
            frame_mask: ``(B, T)`` bool, True = a real frame; masked frames never influence outputs.

        Returns:
            ``(tokens, token_mask)``: ``(B, W * Nv, H)`` video tokens (zeros where invalid) and
            ``(B, W * Nv)`` bool, False for the tokens of windows holding no real frame.
        """
        batch, n_frames, n_query, hidden = frame_tokens.shape
        if n_frames > self.config.n_frames:
            raise ValueError(
                f"{n_frames} frames exceed the frame position table (TimeChatConfig.n_frames="
                f"{self.config.n_frames}); sample at most n_frames frames per video"
            )
        device = frame_tokens.device
        positions = self.frame_position.weight[:n_frames]  # (T, H)
        tokens = frame_tokens + positions[None, :, None, :]  # (B, T, Nq, H)
        index = self.window_index(n_frames).to(device)  # (W, Lw)
        n_windows, length = index.shape
        padded = int(index.max()) + 1
        if padded > n_frames:  # the last window(s) reach past the end: pad with masked frames
            tokens = torch.cat([tokens, tokens.new_zeros(batch, padded - n_frames, n_query, hidden)], dim=1)
            frame_mask = torch.cat([frame_mask, frame_mask.new_zeros(batch, padded - n_frames)], dim=1)
        windows = tokens[:, index]  # (B, W, Lw, Nq, H)
        windows = windows.reshape(batch * n_windows, length * n_query, hidden)
        keys_mask = frame_mask.bool()[:, index]  # (B, W, Lw)
        window_valid = keys_mask.any(dim=-1).reshape(batch * n_windows)  # (B*W,)
        keys_mask = keys_mask.reshape(batch * n_windows, length, 1).expand(-1, -1, n_query)
        keys_mask = keys_mask.reshape(batch * n_windows, length * n_query)
        # A window without any real frame would softmax over nothing (NaN); let it see its zeros and
        # drop its output below.
        keys_mask = keys_mask | ~window_valid[:, None]
        queries = self.query_tokens.expand(batch * n_windows, -1, -1)  # (B*W, Nv, H)
        output = self.qformer(
            query_embeds=queries,
            encoder_hidden_states=windows,
            encoder_attention_mask=keys_mask.long(),
        ).last_hidden_state  # (B*W, Nv, H)
        n_video = self.config.video_queries
        token_mask = window_valid[:, None].expand(-1, n_video).reshape(batch, n_windows * n_video)
        output = output.reshape(batch, n_windows * n_video, hidden)
        output = output * token_mask[..., None].to(output.dtype)
        return output, token_mask

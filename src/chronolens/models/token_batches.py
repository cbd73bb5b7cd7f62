"""Token id lists into right-padded batch tensors (``torch.nn.utils.rnn.pad_sequence``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn.utils.rnn import pad_sequence

__all__ = ["right_pad"]


def right_pad(rows: Sequence[Sequence[int]], value: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack id lists of different lengths, padded on the right with ``value``.

    Args:
        rows: one list of ids (or labels) per row, at least one row.
        value: the padding id (a pad token, or an ignore index for labels).

    Returns:
        ``(ids, mask)``: ``(B, L)`` int64 with ``L`` the longest row, and ``(B, L)`` int64 with 1
        over each row's own entries.
    """
    seqs = [torch.as_tensor(list(row), dtype=torch.long) for row in rows]
    ids = pad_sequence(seqs, batch_first=True, padding_value=value)
    mask = pad_sequence([torch.ones(len(s), dtype=torch.long) for s in seqs], batch_first=True)
    return ids, mask

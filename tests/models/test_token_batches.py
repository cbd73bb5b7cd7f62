"""right_pad: id lists of different lengths into one right-padded tensor and its mask."""

from __future__ import annotations

import torch

from chronolens.models.token_batches import right_pad


def test_right_pad_pads_on_the_right_and_masks_real_entries() -> None:
    ids, mask = right_pad([[5, 6, 7], [8], [9, 10]], 0)
    assert ids.dtype == torch.long and mask.dtype == torch.long
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
    labels, _ = right_pad([[-100, 3], [4]], -100)  # labels pad with the ignore index
    assert labels.tolist() == [[-100, 3], [4, -100]]

"""The synthetic benchmark's split names, in one module that imports nothing.

Everything that names a split reads it here: the generator (``data.synth``: ``SynthConfig.split``,
``SynthVideo.split``, the 70/10/10/10 assignment), the annotation writers and the CLI's
``--split`` choices. It lives outside the ``data.synth`` package on purpose: importing anything
under ``data.synth`` runs that package's ``__init__``, which loads the generator and renderer
(~100 ms), and ``chronolens --help`` builds every subcommand's parser.
"""

from __future__ import annotations

__all__ = ["ALL_SPLITS", "SPLITS", "SPLIT_CHOICES"]

# The splits, in the order of SynthConfig.split_fractions (train/val/test share colour-shape-action
# combinations; compositional uses only combinations held out of train).
SPLITS: tuple[str, ...] = ("train", "val", "test", "compositional")
ALL_SPLITS = "all"  # SynthConfig.split value that renders every split by its fraction
SPLIT_CHOICES: tuple[str, ...] = (*SPLITS, ALL_SPLITS)  # values SynthConfig.split accepts

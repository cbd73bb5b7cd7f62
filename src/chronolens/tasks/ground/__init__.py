"""Temporal grounding: which moments of a video a query describes.

- :mod:`~chronolens.tasks.ground.tfvtg`: the training-free TFVTG-style grounder (``ground`` for a
  similarity curve, ``ground_query`` for embeddings and composite queries, ``GroundingConfig``);
- :mod:`~chronolens.tasks.ground.simple`: the simple threshold-and-grow moment finder;
- :mod:`~chronolens.tasks.ground.finders`: every moment finder by name (``list_finders``,
  ``get_finder``), the registry benchmarks compare;
- :mod:`~chronolens.tasks.ground.decompose`: composite queries ("A then B") split into parts and
  their moments combined;
- :mod:`~chronolens.tasks.ground.nms` and :mod:`~chronolens.tasks.ground.smoothing`: the shared
  temporal NMS and curve smoothing.
"""

from chronolens.tasks.ground.decompose import Decomposition, Relation, combine, decompose
from chronolens.tasks.ground.finders import (
    MomentFinder,
    UnknownFinderError,
    get_finder,
    list_finders,
    register_finder,
)
from chronolens.tasks.ground.tfvtg import DEFAULT_TOP_K, GroundingConfig, ground, ground_query

__all__ = [
    "DEFAULT_TOP_K",
    "Decomposition",
    "GroundingConfig",
    "MomentFinder",
    "Relation",
    "UnknownFinderError",
    "combine",
    "decompose",
    "get_finder",
    "ground",
    "ground_query",
    "list_finders",
    "register_finder",
]

"""Trained moment retrieval: Moment-DETR and QD-DETR heads over chronolens' own clip features.

- ``config``: frozen configs (papers' defaults, ``tiny()`` for tests) of the head, losses,
  matcher and sliding-window inference;
- ``model``: ``MomentDETR``, ``QDDETR`` (``torch.nn`` transformer blocks), ``build_head``;
- ``matcher`` / ``losses`` / ``targets``: Hungarian matching, the set-prediction losses and
  their targets;
- ``features``: clip features (frame embeddings pooled per 2 s clip) and query token features
  from the library's encoder, with the extractor recorded;
- ``checkpoint``: ``save_head`` / ``load_head``; the predictor over a video of any length is
  ``chronolens.tasks.ground.moment_detr.MomentDETRPredictor``.
"""

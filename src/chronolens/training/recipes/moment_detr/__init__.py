"""The ``moment-detr`` recipe: train a Moment-DETR / QD-DETR head on QVHighlights-format jsonl."""

"""chronolens.metrics."""

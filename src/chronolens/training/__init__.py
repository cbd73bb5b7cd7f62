"""chronolens.training."""

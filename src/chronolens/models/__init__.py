"""chronolens.models."""

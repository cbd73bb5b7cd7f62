"""chronolens.data."""

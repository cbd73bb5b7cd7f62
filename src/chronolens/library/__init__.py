"""chronolens.library."""

"""chronolens.tasks."""

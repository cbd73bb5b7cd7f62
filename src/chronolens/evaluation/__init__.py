"""End-to-end benchmarks: run chronolens pipelines on a dataset and score them with chronolens.metrics."""

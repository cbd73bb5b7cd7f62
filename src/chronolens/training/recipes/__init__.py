"""Training recipes: each builds a ``TrainTask`` for ``chronolens.training.loop.train``, then exports."""

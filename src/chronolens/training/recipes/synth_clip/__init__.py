"""training/recipes/synth_clip."""

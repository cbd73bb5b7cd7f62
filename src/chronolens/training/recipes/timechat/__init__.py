"""training/recipes/timechat."""

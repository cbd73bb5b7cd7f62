"""tasks/answer."""

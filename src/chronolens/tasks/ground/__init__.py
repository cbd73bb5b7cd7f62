"""tasks/ground."""

"""The `chronolens demo` main job: render, index, search, and report in one command."""

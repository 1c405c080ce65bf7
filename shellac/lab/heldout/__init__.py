"""Held-out benchmark and guidance sweep: held-out material through the production chain, scored."""

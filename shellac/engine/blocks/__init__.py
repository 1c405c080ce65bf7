"""Block utilities for long recordings: overlap-add and block checkpoints (the driver: engine.restoration)."""

"""Numerical engine: audio I/O, DSP, diffusion, block processing, model bundles."""

"""Research tooling: evaluation, training, degradation simulation, synthesis, datasets, held-out benchmarks.

The runtime (engine, stages, flows, jobs, catalogs, report) never imports this package
(import-linter contract in pyproject.toml); the command line and scripts do.
"""

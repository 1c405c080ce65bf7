"""Objective benchmark of the generative EQ; the same entry point as ``shellac bench``."""

import sys

from shellac.cli.bench import main

if __name__ == "__main__":
    sys.exit(main(prog="python scripts/bench_generative_eq.py"))

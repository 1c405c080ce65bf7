"""Experiment record (session 27): give a post-sampling candidate the shipped run's work, blocks included.

Not shipped code. For every excerpt folder in CACHE, copy the shipped `piano` run folder to the folder
of the run with the given --set items (its ChainRun key, computed as `shellac bench-heldout` does), unless
that exists. The candidate's bench-heldout run then reruns only what its settings change: the generative
stage resumes every block from its checkpoints (their key leaves out the consistency step's settings).

Usage (from the repository root): python seed_candidate.py CACHE STAGE.PARAM=VALUE [...]
"""
import shutil
import sys
from pathlib import Path

from shellac.lab.heldout.bench import with_overrides
from shellac.lab.heldout.runner import ChainRun
from shellac.stages.profiles import parse_sets

cache, sets = Path(sys.argv[1]), sys.argv[2:]
shipped = ChainRun("piano").key()
candidate = with_overrides(ChainRun("piano"), parse_sets(sets)).key()
copied = 0
for folder in sorted((cache / "excerpts").iterdir()):
    source, target = folder / shipped, folder / candidate
    if source.is_dir() and not target.exists():
        shutil.copytree(source, target, symlinks=True)
        copied += 1
print(f"{shipped} -> {candidate}: {copied} run folders copied")

"""Experiment record (session 29): give a voice post-sampling candidate the shipped run's work and blocks.

Not shipped code. As session27/seed_candidate.py, for the voice profile, whose run folders are keyed per
singer (the registry's model for each): for every excerpt folder in CACHE, copy the shipped `voice` run
folder to that of the run with the given --set items, unless it exists.

Usage (from the repository root): python seed_voice_candidate.py CACHE STAGE.PARAM=VALUE [...]
"""
import shutil
import sys
from pathlib import Path

from shellac.lab.heldout.bench import with_overrides
from shellac.lab.heldout.runner import ChainRun, catalog_run
from shellac.stages.profiles import parse_sets

cache, sets = Path(sys.argv[1]), sys.argv[2:]
copied = 0
for folder in sorted((cache / "excerpts").iterdir()):
    voice = "tenor" if "-tenor-" in folder.name else "soprano"
    source = folder / catalog_run(ChainRun("voice"), voice).key()
    target = folder / catalog_run(with_overrides(ChainRun("voice"), parse_sets(sets)), voice).key()
    if source.is_dir() and not target.exists():
        shutil.copytree(source, target, symlinks=True)
        copied += 1
print(f"{copied} run folders copied")

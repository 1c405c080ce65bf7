"""Experiment record (session 30): the shellac CLI with the generative stage's code hash pinned.

Not shipped code, and never for a rule's runs. Block checkpoints are keyed with the stage's code hash, so
after any change to the consistency step the blocks sampled by an earlier commit are sampled again. For
exploring a post-sampling candidate on spent material, this runs the CLI with that hash pinned to the one
recorded in the earlier run's state.json, so its blocks resume (with --workers 1: the pin does not reach
spawned processes).

Usage: python explore.py OLD_HASH bench-heldout ...
"""
import sys

import shellac.stages.chain as chain

old, args = sys.argv[1], sys.argv[2:]
original = chain.stage_code_hash
chain.stage_code_hash = lambda stage: old if stage.name == "generative_eq" else original(stage)
from shellac.cli.main import main  # noqa: E402

sys.argv = ["shellac", *args]
sys.exit(main())

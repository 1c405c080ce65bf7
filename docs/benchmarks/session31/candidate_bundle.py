"""Experiment record (session 31): the rule's candidate `soprano` bundle from a fine-tune run's output.

Not shipped code. The candidate keeps the shipped bundle's config and reference LTAS (the `ltas_eq` step's
`model:soprano` reference) and takes only the run's EMA weights, so the prior is the one thing that differs.
Its card is the shipped card with the run's training record; the spectral bias and the held-out standing
are left out (they belong to the old weights: `shellac calibrate-prior --write` measures the bias again).

Usage: python candidate_bundle.py SHIPPED_BUNDLE RUN_BUNDLE OUT_BUNDLE
"""
import sys
from datetime import UTC, datetime
from pathlib import Path

from shellac.engine.models.bundle import bundle_checksum, load_bundle, save_bundle

shipped_dir, run_dir, out = (Path(a) for a in sys.argv[1:4])
shipped, run = load_bundle(shipped_dir), load_bundle(run_dir)
card = shipped.card.model_copy(update={
    "description": "Soprano-like singer fine-tune of the voice prior (BABE-2 singer models): the previous "
                   "soprano bundle fine-tuned further on CPU (session 31)",
    "data": run.card.data, "training_steps": run.card.training_steps, "wall_time_s": run.card.wall_time_s,
    "final_loss": run.card.final_loss, "command": run.card.command, "validation": run.card.validation,
    "base_model": f"soprano (bundle sha256 {bundle_checksum(shipped_dir)})", "created": datetime.now(UTC),
    "spectral_bias": None, "heldout": None,
})
save_bundle(out, run.network, shipped.config, card, shipped.reference_ltas, overwrite=True)
print(f"{out}: checksum {bundle_checksum(out)} (shipped {bundle_checksum(shipped_dir)})")

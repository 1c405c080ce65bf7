"""Experiment record (session 32): the rule's candidate voice bundles from the GPU run's EMA weights.

Not shipped code. Each candidate keeps its shipped bundle's config and reference LTAS (so the chain EQ and the
`model:<singer>` references are unchanged) and takes only the run's EMA weights, so the prior is the one thing
that differs. Its card is the shipped card with the GPU run's record; the spectral bias and the held-out
standing are left out (they belong to the old weights: `shellac calibrate-prior --write` measures the bias).

Usage: python candidate_bundles.py RUNS_DIR OUT_MODELS_DIR
  RUNS_DIR holds voice/ tenor/ soprano/ as unpacked from the device (ema.safetensors, summary.json,
  val_loss.csv); OUT_MODELS_DIR receives voice/ tenor/ soprano/ bundles.
"""
import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from safetensors.torch import load_file

from shellac.engine.models.bundle import bundle_checksum, load_bundle, save_bundle

COMMAND = ("bash scripts/gpu_voice_priors.sh prepare (here), then bash scripts/gpu_voice_priors.sh train "
           "on one NVIDIA H200 (device tool, carry .gpu .whl; session 32, 2026-12-04)")
DATA = {
    "voice": "78 clips, 26.0 min of synthesised singing, tenor and soprano (scripts/make_training_data.py "
             "--kind tenor|soprano --minutes 13 --seed 12|13 --sample-rate 22050 --bits 16)",
    "tenor": "39 clips, 13.0 min of tenor-like synthesised singing (scripts/make_training_data.py --kind "
             "tenor --minutes 13 --seed 12 --sample-rate 22050 --bits 16)",
    "soprano": "39 clips, 13.0 min of soprano-like synthesised singing (scripts/make_training_data.py --kind "
               "soprano --minutes 13 --seed 13 --sample-rate 22050 --bits 16)",
}
WHAT = {
    "voice": "the shipped voice prior continued on a GPU for 230 s at batch 64 (lr 2e-4)",
    "tenor": "fine-tuned for 100 s at batch 64 (lr 1e-4, +-3 dB gain) from the GPU-continued voice prior",
    "soprano": "fine-tuned for 100 s at batch 64 (lr 1e-4, +-3 dB gain) from the GPU-continued voice prior",
}

runs, out = Path(sys.argv[1]), Path(sys.argv[2])
base_sum = ""
for name in ("voice", "tenor", "soprano"):
    shipped_dir = Path("models") / name
    shipped = load_bundle(shipped_dir)
    net = shipped.network
    net.load_state_dict(load_file(str(runs / name / "ema.safetensors")))
    summary = json.loads((runs / name / "summary.json").read_text())
    rows = list(csv.DictReader((runs / name / "val_loss.csv").open()))
    validation = {
        "data": f"{'both singers' if name == 'voice' else name}: clean sung excerpts 0-47 of the held-out "
                "validation works (josquin), 16 fixed segments (scripts/train_gpu.py prepare)",
        "first_ema": float(rows[0]["val_loss_ema"]), "last_ema": float(rows[-1]["val_loss_ema"]),
        "sigmas": [k.removeprefix("ema_sigma_") for k in rows[-1] if k.startswith("ema_sigma_")],
    }
    card = shipped.card.model_copy(update={
        "description": f"{shipped.card.description.split(',')[0]}: {WHAT[name]} (session 32)",
        "data": DATA[name], "training_steps": summary["steps"], "wall_time_s": summary["train_s"],
        "final_loss": float(rows[-1]["train_loss_recent"]), "command": COMMAND, "validation": validation,
        "base_model": (f"voice (bundle sha256 {bundle_checksum(shipped_dir)})" if name == "voice"
                       else f"voice, GPU-continued (bundle sha256 {base_sum})"),
        "created": datetime.now(UTC), "spectral_bias": None, "heldout": None,
    })
    save_bundle(out / name, net, shipped.config, card, shipped.reference_ltas, overwrite=True)
    if name == "voice":
        base_sum = bundle_checksum(out / name)
    print(f"{out / name}: checksum {bundle_checksum(out / name)} (shipped {bundle_checksum(shipped_dir)}); "
          f"{summary['steps']} steps, validation EMA {validation['first_ema']:.4f} -> "
          f"{validation['last_ema']:.4f}")

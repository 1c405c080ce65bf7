"""Experiment record (session 32): voice_gpu_rule.txt's verdict per singer, shipped against candidate report.

Not shipped code. Bars 1-5 per singer through session 31's `verdict` (its access copies, wins and fallbacks,
restricted to the singer's 12 excerpts); the validation losses come from runs/voice-gpu-s32/*/
validation_vs_shipped.json. `voice` ships only if both singers do.

Usage (PYTHONPATH=docs/benchmarks/session29:docs/benchmarks/session30:docs/benchmarks/session31:.):
    python voice_gpu_verdict.py SHIPPED.json CANDIDATE.json
"""
import json
import sys
from pathlib import Path

from range_verdict import access
from soprano_verdict import verdict

RUNS = Path("runs/voice-gpu-s32")


def val_losses(name: str) -> tuple[float, float]:
    """Shipped and candidate EMA validation loss of one bundle (scripts/validation_loss.py's record)."""
    results = json.loads((RUNS / name / "validation_vs_shipped.json").read_text())["results"]
    return results[f"models/{name}"]["val_loss"], next(v["val_loss"] for k, v in results.items()
                                                         if k != f"models/{name}")


def main() -> None:
    shipped, candidate = (json.loads(Path(p).read_text()) for p in sys.argv[1:3])
    adopted = {}
    for voice in ("tenor", "soprano"):
        print(f"== {voice}")
        adopted[voice] = verdict(shipped, candidate, voice, *val_losses(voice))
    print(f"== voice (the singers' base): ships {'with them' if all(adopted.values()) else 'not'}; "
          "validation loss {:.4f} -> {:.4f}".format(*val_losses("voice")))
    both = [(access(r, "lsd_db").mean(), access(r, "ltas_err_db").mean()) for r in (shipped, candidate)]
    print(f"all {len(shipped['excerpts'])} excerpts: LSD {both[0][0]:.3f} -> {both[1][0]:.3f}, "
          f"LTAS {both[0][1]:.3f} -> {both[1][1]:.3f}")


if __name__ == "__main__":
    main()

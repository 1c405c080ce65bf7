"""Scratch (session 15): run the generative chain of benchmark excerpts from the last one down, while the bench
runs upward. The cache holds session 14's runs under the same keys, so "near" is a run state the bench
has written since this script started. Usage: prewarm_blocks.py N STOP [CACHE [MODELS]] (session 15 ran it
with the defaults, /tmp/s15/cache and /tmp/s15/clone/models; session 16 with its own)."""
import sys, time
from pathlib import Path
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import prepare_excerpts, run_chain, catalog_run
from shellac.lab.heldout.bench import select_rows
n, stop = int(sys.argv[1]), int(sys.argv[2])
cache = Path(sys.argv[3] if len(sys.argv) > 3 else "/tmp/s15/cache")
models = Path(sys.argv[4] if len(sys.argv) > 4 else "/tmp/s15/clone/models")
started = time.time()
part = load_heldout("benchmark", kind="piano")
ex = prepare_excerpts(part, n, 5.5, 22050, 0, cache, log=lambda s: None)
run = {r.key: r.run for r in select_rows(["babe2"])}["babe2"]
key = catalog_run(run, "").key()
for i in range(n - 1, stop - 1, -1):
    near = [ex[j].master.parent / key / "state.json" for j in (i - 2, i - 1, i) if j >= 0]
    if any(p.exists() and p.stat().st_mtime > started for p in near):
        print(f"{time.strftime('%H:%M:%S')} stop before {ex[i].name}: the bench is near", flush=True); break
    t = time.time()
    run_chain(ex[i], run, models.resolve())
    print(f"{time.strftime('%H:%M:%S')} {ex[i].name} done in {time.time()-t:.0f} s", flush=True)

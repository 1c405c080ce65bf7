"""Scratch record (session 18): run the shipped piano profile (EQ step + generative step) on validation excerpts.

Usage, from a clone (its shellac imported first): python -c "exec(open(...).read())" FONT N I,J,.. CACHE MODELS
(FONT: - for the held-out soundfont). Session 18 ran it as two processes (0,1,2,3 and 7,6,5,4; FluidR3 0,1 and 3,2)."""
import sys, time
from dataclasses import replace
from pathlib import Path
from shellac.lab.heldout.material import load_heldout, find_soundfont
from shellac.lab.heldout.runner import prepare_excerpts, run_chain
from shellac.lab.heldout.bench import select_rows
font, n, idx = sys.argv[1], int(sys.argv[2]), [int(a) for a in sys.argv[3].split(",")]
cache, models = Path(sys.argv[4]), Path(sys.argv[5])
part = load_heldout("validation", kind="piano")
if font != "-":
    part = replace(part, soundfont=find_soundfont(Path(font)))
ex = prepare_excerpts(part, n, 5.5, 22050, 0, cache, log=lambda s: None)
run = {r.key: r.run for r in select_rows(["babe2"])}["babe2"]
for i in idx:
    t = time.time()
    run_chain(ex[i], run, models.resolve())
    print(f"{time.strftime('%H:%M:%S')} {ex[i].name} done in {time.time()-t:.0f} s", flush=True)

#!/bin/bash
# The voice priors on one GPU: continue `voice`, then fine-tune `tenor` and `soprano` from it (docs/models.md,
# "The voice priors on a GPU"). Two steps:
#   here:  bash scripts/gpu_voice_priors.sh prepare      (material, validation, configs, wheels into .gpu/ .whl/)
#   there: bash scripts/gpu_voice_priors.sh train        (device tool; carry .gpu and .whl; results in $OUT)
# Dry run here on the CPU (about 70 s): DEV=cpu BATCH=2 B1=4 B2=3 PY=.venv/bin/python OUT=/tmp/gpuout \
#   bash scripts/gpu_voice_priors.sh train
set -uo pipefail
G=.gpu
case "${1:-}" in
prepare)
  set -e
  PY=${PY:-.venv/bin/python}
  # 13 min per singer of the training singers' material, 16-bit so that everything sent stays under 64 MiB
  $PY scripts/make_training_data.py --out $G/data/tenor --kind tenor --minutes 13 --seed 12 --sample-rate 22050 --bits 16
  $PY scripts/make_training_data.py --out $G/data/soprano --kind soprano --minutes 13 --seed 13 --sample-rate 22050 --bits 16
  # validation: the clean sung excerpts 0-47 of the held-out validation works (josquin), per singer and both;
  # the run configs
  PYTHONPATH=. $PY - <<'EOF'
from pathlib import Path
import soundfile as sf
from shellac.engine.models.bundle import read_config
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import prepare_excerpts
from shellac.lab.training.config import TrainConfig
out = Path(".gpu/val")
# the held-out benchmark's own renderer (bench-heldout --kind voice --part validation --excerpts 48)
for e in prepare_excerpts(load_heldout("validation", kind="voice"), 48, 5.5, 22050, 0, out / "cache",
                          log=lambda s: None):
    for d in (out / "voice", out / e.voice):
        d.mkdir(parents=True, exist_ok=True)
        sf.write(d / f"{e.name[:2]}.flac", e.clean.astype("float32"), 22050, subtype="PCM_24")
# the shipped voice bundle's rate, segment, normalisation and sigma range; batch 64; +-3 dB for the singers
base = read_config(Path("models/voice"))
common = dict(network=base.network, sample_rate=base.sample_rate, segment_length=base.segment_length,
              normalization=base.normalization, sigma_data=base.sigma_data, sigma_min=base.sigma_min,
              sigma_max=base.sigma_max, warmup_steps=100, batch_size=64)
Path(".gpu/cfg").mkdir(parents=True, exist_ok=True)
for name, gain in (("voice", 0.0), ("tenor", 3.0), ("soprano", 3.0)):
    Path(f".gpu/cfg/{name}.json").write_text(TrainConfig(**common, gain_db=gain).model_dump_json(indent=1))
EOF
  for n in voice tenor soprano; do
    d=$G/data; [ $n != voice ] && d=$G/data/$n
    $PY scripts/train_gpu.py prepare --data $d --val-dir $G/val/$n --run-config $G/cfg/$n.json --out $G/prep-$n
  done
  rm -rf $G/val  # the prepared .npy segments are what travels
  # the device's python has torch, numpy, scipy and safetensors; these travel as wheels
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl \
    annotated-types==0.8.0 cffi==2.1.1 pycparser==3.12 pydantic==2.14.4 pydantic_core==2.50.5 \
    soundfile==0.14.0 typing-inspection==0.4.5
  du -sh $G .whl
  ;;
train)
  for n in voice tenor soprano; do
    [ -f $G/cfg/$n.json ] && [ -f $G/prep-$n/val_clean.npy ] \
      || { echo "gpu_voice_priors: $G/cfg/$n.json or $G/prep-$n/ is missing: run prepare first (and carry .gpu)" >&2; exit 2; }
  done
  B1=${B1:-230}; B2=${B2:-100}; DEV=${DEV:-cuda}; BATCH=${BATCH:-64}; O=${OUT:-/tmp/gpuout}; PY=${PY:-python3}
  mkdir -p "$O" /tmp/r
  if [ -d .whl ] && [ "$DEV" = cuda ]; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
      || exit 3
    export PYTHONPATH=/tmp/site:$PWD
  else
    export PYTHONPATH=$PWD
  fi
  export PYTHONUNBUFFERED=1
  (nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; uptime
   $PY -c "import torch; print(torch.__version__)") 2>&1 | tee "$O/host.txt"
  run() {
    name=$1; data=$2; shift 2
    mkdir -p /tmp/r/$name
    $PY scripts/train_gpu.py train --base models/voice --data "$data" --run-config $G/cfg/$name.json \
      --weights $G/prep-$name/spectral_w2.npy --val-npy $G/prep-$name/val_clean.npy --device "$DEV" \
      --batch "$BATCH" --out /tmp/r/$name --save-every-s 60 "$@" 2>&1 | tee /tmp/r/$name/train.log
    echo "$name exit ${PIPESTATUS[0]}"
    tar -C /tmp/r -cf "$O/$name.tar" $name  # one file per run: the device tool returns at most 8
  }
  run voice $G/data --lr 2e-4 --warmup 200 --budget-s "$B1" --validate-every 500
  if [ -f /tmp/r/voice/ema.safetensors ]; then
    run tenor $G/data/tenor --init-weights /tmp/r/voice/ema.safetensors --lr 1e-4 --warmup 100 \
      --budget-s "$B2" --validate-every 250
    run soprano $G/data/soprano --init-weights /tmp/r/voice/ema.safetensors --lr 1e-4 --warmup 100 \
      --budget-s "$B2" --validate-every 250
  fi
  ls -la "$O"
  ;;
*)
  echo "usage: bash scripts/gpu_voice_priors.sh prepare|train" >&2
  exit 2
  ;;
esac

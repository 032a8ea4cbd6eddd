#!/usr/bin/env bash
# Shows `sr train` and `sr upscale` progress in a real terminal: a detached tmux session at 80 and at 120 columns, the
# pane captured while the bar is live and again at the end. Prints the captures and fails (exit 1) when a capture
# has a torn line: a bar fragment after log text on one row, or a row that starts with a bar character.
#   build/tmux-progress.sh [SR_DLL]      (default: src/MLNet.SuperResolution.Cli/bin/Release/net10.0/sr.dll; build it first)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
sr="${1:-$root/src/MLNet.SuperResolution.Cli/bin/Release/net10.0/sr.dll}"
command -v tmux >/dev/null || { echo "tmux is not installed (apt-get install tmux)"; exit 2; }
work="$(mktemp -d)"
trap 'tmux kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/photos"
for f in astronaut.png coffee.png retina.jpg; do cp "$root/data/samples/$f" "$work/photos/" 2>/dev/null || true; done
[ "$(ls "$work/photos" | wc -l)" -gt 0 ] || { echo "no sample photos under $root/data/samples"; exit 2; }
status=0
capture() { # name, columns, seconds before the live capture, command
  local name="$1" columns="$2" wait="$3" command="$4" session="sr$RANDOM"
  tmux new-session -d -s "$session" -x "$columns" -y 30 "cd $work && $command; echo EXIT=\$?; sleep 30"
  sleep "$wait"
  local live; live="$(tmux capture-pane -p -t "$session")"
  for _ in $(seq 120); do tmux capture-pane -p -t "$session" | grep -q "EXIT=" && break; sleep 1; done
  local final; final="$(tmux capture-pane -p -t "$session")"
  tmux kill-session -t "$session"
  printf '===== %s, %s columns, while running =====\n%s\n===== %s, %s columns, at the end =====\n%s\n' "$name" "$columns" "$live" "$name" "$columns" "$final"
  # A torn row: log text and then a bar (━) on one row, or a bar row cut mid-way onto the next row.
  if printf '%s\n%s\n' "$live" "$final" | grep -E '^(Training|Epoch|warning|Read|Check|Trained|Saved|Upscaling|Done).*━|^━' >/dev/null; then
    echo "TORN LINES in $name at $columns columns"; status=1
  fi
}
for columns in 80 120; do
  capture "sr train" "$columns" 12 "dotnet $sr train photos --arch Espcn --scale 2 --epochs 150 --patches-per-image 32 -o m.zip"
  capture "sr upscale" "$columns" 22 "dotnet $sr upscale photos --scale 4 -o out"
done
exit $status

#!/usr/bin/env bash
# Side-by-side: the same networks, weights, inputs and thread count in TorchSharp (this library, libtorch 2.10) and in
# PyTorch (Debian's python3-torch 1.13, a measuring stick only). Per network: our forward and training step, then
# theirs, each median of >= 10 repetitions after warm-up, plus the output agreement; then the ML.NET pipeline against
# the raw forward, and the machine's ceiling (a float32 matmul through our libtorch). Ends with one line per
# measurement, "RATIO <network> <forward|train|pipeline> <ours/theirs>" (NCHW on both sides: the same kernels), then
# "PEAK <network> <fraction of ceiling>". Our training step runs as SrTrainer runs it on the CPU (inside
# NativeHeap.EnterTraining: glibc keeps freed activations for the next step); PyTorch's in a default process. Before
# them, "LAYOUT" lines: the forward with a channels-last input on both sides, and ours channels-last (SrUpscaler's CPU
# default) against PyTorch's NCHW (the reference code's default).
#
#   bash build/compare-pytorch.sh [--threads N] [--reps R] [--cases "Espcn-Paper-Y-x2 Vdsr-Notes-RGB-x2"] [--out DIR] [--pin-heap]
#                                   [--rounds N]
#
# --pin-heap fixes glibc's heap thresholds for both sides alike (MALLOC_MMAP_THRESHOLD_=32 MB, MALLOC_TRIM_THRESHOLD_=1 GB,
# what the sr tool sets): without it each process's heap history decides whether activation buffers are reused or
# faulted in afresh, which moves single forward timings by up to 30% between processes (docs/performance.md).
# --rounds N (default 1) measures every case N times, ours and theirs alternating in fresh processes, and reports the
# median over rounds of each process's median: one process's heap luck no longer decides a ratio (N times as long).
# Odd rounds run ours first, even rounds PyTorch first (on the previous round's export), so the order of a pair does
# not favour either side; an even N gives each order the same number of rounds.
#
# The community networks compare with their official code: --cases "Compact-Paper-RGB-x4 Esrgan-Paper-RGB-x4" --reps 3,
# with SR_REFERENCE_SOURCES naming the exported official sources (default /tmp/refs; build/make_community_probes.py).
#
# A few minutes on an idle 2-core machine; timings taken while anything else runs are not comparable.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
threads=2 reps=10 warmup=2 cases="" out="" pin_heap=0 rounds=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --cases) cases="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --pin-heap) pin_heap=1; shift ;;
    --rounds) rounds="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
python=/usr/bin/python3   # Debian's, not a pyenv one earlier on PATH: python3-torch installs there

if ! "$python" -c 'import torch' 2>/dev/null; then
  echo "Installing Debian's python3-torch (PyTorch 1.13) for the comparison..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null
fi

echo "Building benchmarks/TorchCompare (Release)..."
dotnet build -c Release "$root/benchmarks/TorchCompare" -v q -nologo | grep -E "error|Warn|warn" || true
app="$root/benchmarks/TorchCompare/bin/Release/net10.0/TorchCompare"
[[ -x "$app" ]] || { echo "TorchCompare did not build" >&2; exit 1; }

out="${out:-$(mktemp -d /tmp/compare-pytorch.XXXXXX)}"
mkdir -p "$out"
echo "Results in $out; $threads threads, $reps repetitions after $warmup warm-up."
export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
if [[ $pin_heap == 1 ]]; then
  export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824
  echo "Heap pinned for both sides: MALLOC_MMAP_THRESHOLD_=$MALLOC_MMAP_THRESHOLD_ MALLOC_TRIM_THRESHOLD_=$MALLOC_TRIM_THRESHOLD_"
fi

"$app" ceiling --threads "$threads" --reps "$reps" --out "$out/ceiling.json"
# The default run leaves out the community networks (Esrgan-*, Compact-*): their PyTorch side imports the official code
# (SR_REFERENCE_SOURCES, build/make_community_probes.py), and ESRGAN's forward alone takes seconds. Name them in --cases.
[[ -n "$cases" ]] || cases="$("$app" list | grep -v -E '^(Esrgan|Compact)-' || true)"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds takes a positive integer, not '$rounds'" >&2; exit 2; }
for ((round = 1; round <= rounds; round++)); do
  dir="$out"
  if ((rounds > 1)); then dir="$out/round-$round"; mkdir -p "$dir"; echo "Round $round of $rounds"; fi
  for case in $cases; do
    if ((round % 2 == 0)); then
      # Even rounds run PyTorch first, on the previous round's export (the same seeded weights and inputs), so that
      # neither side is always the first or the second process of a pair; ours then re-exports the same files.
      prev="$out/round-$((round - 1))"
      cp "$prev/$case".*.f32 "$prev/$case.pth" "$prev/$case.json" "$dir/"
      sed -i "s#$prev/#$dir/#g" "$dir/$case.json"
      "$python" "$root/build/compare_pytorch.py" network --manifest "$dir/$case.json" --reps "$reps" --warmup "$warmup"
      "$app" network --case "$case" --dir "$dir" --threads "$threads" --reps "$reps" --warmup "$warmup"
    else
      "$app" network --case "$case" --dir "$dir" --threads "$threads" --reps "$reps" --warmup "$warmup"
      "$python" "$root/build/compare_pytorch.py" network --manifest "$dir/$case.json" --reps "$reps" --warmup "$warmup"
    fi
  done
  for case in $("$app" list-pipeline); do
    # At least 10 warm-up blocks (80 images): .NET's tiered JIT recompiles the per-image code over its first ~70 calls
    # (with 2, repetitions 0, 2 and 6 were 40-110 ms slower in every process; docs/performance.md).
    "$app" pipeline --case "$case" --out "$dir/pipeline-$case.json" --threads "$threads" --reps "$reps" --warmup "$((warmup > 10 ? warmup : 10))" --images 8
  done
done

echo
"$python" "$root/build/compare_pytorch.py" summarize --dir "$out" --order "$(echo $cases | tr ' ' ',')"

#!/usr/bin/env bash
# Packs the `sr` command-line tool and installs it from the local package (no feed needed).
# Usage: build/install-sr-tool.sh [TOOL_PATH]   (default: a global tool, ~/.dotnet/tools)
# Packs the Linux x64 tool package (RID-specific: only that platform's natives, 141 MB), which carries the libtorch CPU
# backend and the GLIBCXX-patched libLibTorchSharp.so (build/README.md), and the small package that points at it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
dotnet pack src/MLNet.SuperResolution.Cli -c Release -o "$out" -p:SrToolRuntimes=linux-x64
if [ $# -ge 1 ]; then
  dotnet tool uninstall --tool-path "$1" MLNet.SuperResolution.Cli >/dev/null 2>&1 || true
  dotnet tool install --tool-path "$1" --add-source "$out" MLNet.SuperResolution.Cli
  echo "installed: $1/sr"
else
  dotnet tool uninstall --global MLNet.SuperResolution.Cli >/dev/null 2>&1 || true
  dotnet tool install --global --add-source "$out" MLNet.SuperResolution.Cli
  echo "installed: sr (make sure ~/.dotnet/tools is on PATH)"
fi

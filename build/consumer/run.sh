#!/usr/bin/env bash
# Packs the library, builds build/consumer (a new user's app) outside the repository against that package and
# libtorch-cpu-linux-x64 and the newest ML.NET, and runs it: the default model's upscale, a pipeline
# fit/save/load/evaluate, and one image through a PredictionEngine.
#   build/consumer/run.sh [WORK_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-$(mktemp -d)}"
version="1.0.0-local.$(date +%s)"   # never an older copy from the NuGet cache
mkdir -p "$work/packages" "$work/app"
dotnet pack "$root/src/MLNet.SuperResolution" -c Release -o "$work/packages" -p:Version="$version" -v quiet -nologo
cp "$root/build/consumer/Program.cs" "$work/app/"
cp "$root/build/consumer/Consumer.csproj.template" "$work/app/Consumer.csproj"
cat > "$work/app/nuget.config" <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="packed" value="$work/packages" />
  </packageSources>
</configuration>
CONFIG
ls -l "$work/packages"
(cd "$work/app" && dotnet build -c Release -o "$work/app/out" -p:SrPackageVersion="$version" -v quiet -nologo)
start=$(date +%s%N)
dotnet "$work/app/out/Consumer.dll" "$root/data/samples/chelsea.png" "$work/results"
echo "consumer app: first run $(( ($(date +%s%N) - start) / 1000000 )) ms"

#!/usr/bin/env bash
# Packs the GPU check for the lent GPU machine (bench/gpu/README.md): a self-contained, trimmed linux-x64 publish of
# bench/gpu/ParticleGrid.GpuCheck without libtorch's natives (the machine's own torch provides libtorch), as one
# tar.xz in bench/gpu/pack/ (git-ignored). That folder is what the device tool's `carry` names; with the tracked
# working tree it must stay under 64 MiB, so this fails when the archive passes its budget.
#
#   bash bench/gpu/pack.sh              # about 1-2 minutes on 2 cores
#   PACK_DIR=/tmp/x bash bench/gpu/pack.sh   # elsewhere (the CI test packs into a temporary folder)
#
# Prints the archive's size and its largest files; exit code 1 when the publish fails or the budget is exceeded.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
pack="${PACK_DIR:-$root/bench/gpu/pack}"
# What is carried with one device call, all of it: the tracked working tree plus the ignored paths named in `carry`.
limit_mib=64
# The archive's own budget leaves room for the tracked working tree that travels with it (about 2 MiB now).
budget_mib="${PACK_BUDGET_MIB:-56}"
publish="$(mktemp -d)"
trap 'rm -rf "$publish"' EXIT

echo "== publish (self-contained, trimmed, linux-x64, no libtorch natives)"
dotnet publish "$root/bench/gpu/ParticleGrid.GpuCheck/ParticleGrid.GpuCheck.csproj" -c Release -r linux-x64 --self-contained \
  -p:GpuCheckPack=true -o "$publish/app" -nologo -v quiet

app="$publish/app"
[ -x "$app/particlegrid-gpu-check" ] || { echo "pack: no executable in the publish"; exit 1; }
[ -f "$app/libLibTorchSharp.so" ] || { echo "pack: libLibTorchSharp.so is missing from the publish"; exit 1; }
if ls "$app" | grep -E '^lib(torch|torch_cpu|torch_cuda|c10)\.so' >/dev/null; then
  echo "pack: libtorch natives leaked into the publish:"; ls "$app" | grep -E '^lib(torch|c10)'; exit 1
fi
# The Python scripts travel as tracked files; this marks which commit the binary was built from.
git -C "$root" rev-parse HEAD > "$app/COMMIT" 2>/dev/null || echo unknown > "$app/COMMIT"

echo "== compress"
rm -rf "$pack"; mkdir -p "$pack"
# xz: Python's tarfile unpacks it on the machine without any tool there; -T0 uses every core here.
tar -C "$publish" -cf - app | xz -T0 -6 > "$pack/particlegrid-gpu-check.tar.xz"

bytes=$(stat -c %s "$pack/particlegrid-gpu-check.tar.xz")
unpacked=$(du -sb "$app" | cut -f1)
tracked=$(git -C "$root" ls-files -z | (cd "$root" && xargs -0 stat -c %s 2>/dev/null) | awk '{s+=$1} END {print s+0}')
echo "largest files in the publish:"
(cd "$app" && ls -S -l | awk 'NR>1 && NR<=9 {printf "  %6.1f MiB  %s\n", $5/1048576, $9}')
awk -v pack_dir="$pack" -v b="$bytes" -v u="$unpacked" -v t="$tracked" -v budget="$budget_mib" -v limit="$limit_mib" 'BEGIN {
  printf "pack: %s/particlegrid-gpu-check.tar.xz %.1f MiB (%.1f MiB unpacked); with the tracked tree (%.1f MiB) %.1f of %d MiB\n",
         pack_dir, b/1048576, u/1048576, t/1048576, (b+t)/1048576, limit }'
if [ "$bytes" -gt $((budget_mib * 1048576)) ] || [ $((bytes + tracked)) -gt $((limit_mib * 1048576)) ]; then
  echo "pack: over budget (archive at most $budget_mib MiB, archive + tracked tree at most $limit_mib MiB)"; exit 1
fi

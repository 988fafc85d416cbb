#!/usr/bin/env bash
# Installs what Skiff needs on a Debian machine and is not there yet: etcd,
# the Docker engine, busybox-static (for the locally built images), iptables
# and iproute2; then npm packages and the TypeScript build. Says what it does.
# Safe to run again: it skips whatever is present.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx httpd || need+=(busybox-static)
command -v iptables-restore >/dev/null 2>&1 || need+=(iptables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  echo "skiff: installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "skiff: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "skiff: building (tsc)"
npx tsc -p tsconfig.json || { echo "skiff: type errors (see above)"; exit 1; }
# The build excludes *.test.ts; tests are type-checked like the code, so a
# type error in a test fails here too instead of passing unnoticed under vitest.
echo "skiff: type-checking the tests (tsc -p tsconfig.check.json)"
npx tsc -p tsconfig.check.json || { echo "skiff: type errors (see above)"; exit 1; }

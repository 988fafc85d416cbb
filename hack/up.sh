#!/usr/bin/env bash
# One command for a working local cluster: installs what is missing, builds,
# then `skiff up` prepares Docker and the images and starts etcd, the API server,
# the scheduler, the controller-manager and a kubelet and kube-proxy per node.
# Arguments go to `skiff up` (for example --nodes 3).
set -euo pipefail
cd "$(dirname "$0")/.."
bash hack/deps.sh
exec node dist/cli/main.js up "$@"

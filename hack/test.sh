#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds, makes
# sure Docker and the local images are there, then runs the unit tests and the
# suites under test/ that start real etcd, API servers, Docker containers,
# iptables rules and kubectl. Ends with one line "N passed, N failed".
# Pass vitest arguments to narrow it: hack/test.sh test/apiserver
set -uo pipefail
cd "$(dirname "$0")/.."

bash hack/deps.sh || exit 1
bash hack/images.sh || exit 1

results=$(mktemp)
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@"
code=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = (r.numPendingTests || 0) + (r.numTodoTests || 0);
  console.log(`\nTests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results" 2>/dev/null || echo "Tests: 0 passed, 1 failed"
rm -f "$results"
exit $code

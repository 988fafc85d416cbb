#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds, makes
# sure Docker and the local images are there, then runs the unit tests and the
# suites under test/ that start real etcd, API servers, Docker containers,
# iptables rules and kubectl (one file at a time: they share the kernel's
# tables and the Docker engine). Ends with one line "N passed, N failed".
# Arguments narrow the run to matching test files: hack/test.sh test/apiserver
set -uo pipefail
cd "$(dirname "$0")/.."

bash hack/deps.sh || exit 1
bash hack/images.sh || exit 1

tmp=$(mktemp -d)
code=0
npx vitest run --project unit --reporter=default --reporter=json --outputFile.json="$tmp/unit.json" --passWithNoTests "$@" || code=1
npx vitest run --project integration --reporter=default --reporter=json --outputFile.json="$tmp/integration.json" --passWithNoTests "$@" || code=1
node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0, ran = 0;
  for (const f of process.argv.slice(1)) {
    if (!fs.existsSync(f)) { failed++; continue; }
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    ran++;
    passed += r.numPassedTests; failed += r.numFailedTests;
    skipped += (r.numPendingTests || 0) + (r.numTodoTests || 0);
    // A suite that failed to load counts as a failure even with no test inside.
    failed += (r.testResults || []).filter((t) => t.status === "failed" && (t.assertionResults || []).length === 0).length;
  }
  console.log(`\nTests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$tmp/unit.json" "$tmp/integration.json"
rm -rf "$tmp"
exit $code

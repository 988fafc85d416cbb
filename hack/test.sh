#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds, makes
# sure Docker and the local images are there, then runs the unit tests and the
# suites under test/ that start real etcd, API servers, Docker containers,
# iptables rules and kubectl (one file at a time: they share the kernel's
# tables and the Docker engine). Ends with one line "N passed, N failed".
# Arguments narrow the run to matching test files: hack/test.sh test/apiserver
set -uo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Whatever happens, the last line is the count, and any failure makes the exit non-zero.
if ! bash hack/deps.sh || ! bash hack/images.sh; then
  echo "skiff: setup failed (see above), no tests ran"
  echo "0 passed, 1 failed"
  exit 1
fi

npx vitest run --project unit --reporter=default --reporter=json --outputFile.json="$tmp/unit.json" --passWithNoTests "$@"
echo $? > "$tmp/unit.code"
npx vitest run --project integration --reporter=default --reporter=json --outputFile.json="$tmp/integration.json" --passWithNoTests "$@"
echo $? > "$tmp/integration.code"
node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of process.argv.slice(1)) {
    const exitCode = Number(fs.readFileSync(f.replace(/\.json$/, ".code"), "utf8"));
    // No report at all: vitest itself crashed.
    if (!fs.existsSync(f)) { failed++; continue; }
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    const before = failed;
    passed += r.numPassedTests; failed += r.numFailedTests;
    skipped += (r.numPendingTests || 0) + (r.numTodoTests || 0);
    // A file that failed without a failed test (it did not load, or a hook threw) counts as one failure.
    failed += (r.testResults || []).filter((t) => t.status === "failed" && !(t.assertionResults || []).some((a) => a.status === "failed")).length;
    // vitest failed the run for something outside any test (an unhandled error): one more failure.
    if (exitCode !== 0 && failed === before) failed++;
  }
  if (skipped) console.log(`(${skipped} skipped)`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
' "$tmp/unit.json" "$tmp/integration.json"

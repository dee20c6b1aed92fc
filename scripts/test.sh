#!/usr/bin/env bash
# Runs every test of the project: unit tests and, as root, the integration tests (a real etcd,
# network namespaces, the published agent binary). Installs what it needs first. The last line
# is the totals over all test projects: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh

require_root
ensure_project_packages
ensure_dotnet
ensure_dotnet_tools

log=$(mktemp)
trap 'rm -f "$log"' EXIT

fail_before_tests() {
  echo "error: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
}

dotnet restore Felix.sln --nologo -v quiet || fail_before_tests "NuGet restore failed"
dotnet format Felix.sln --verify-no-changes --no-restore ||
  fail_before_tests "code is not formatted: run 'dotnet format Felix.sln'"
publish_agent || fail_before_tests "publishing the agent (Native AOT) failed"
export FELIX_BINARY="$PWD/out/felix/felix"

# A hung test must not eat CI's time: dump and abort it after 10 minutes.
dotnet test Felix.sln --no-restore --nologo --blame-hang-timeout 10m 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# One summary line per test project: "Passed!  - Failed: 0, Passed: 76, Skipped: 0, Total: 76, ...".
read -r passed failed skipped projects < <(awk -F'[:,]' '
  /(Passed|Failed)! +- Failed:/ {
    for (i = 1; i < NF; i++) {
      key = $i; gsub(/.*- |[ \t]/, "", key); value = $(i + 1) + 0
      if (key == "Failed") f += value; else if (key == "Passed") p += value; else if (key == "Skipped") s += value
    }
    n++
  }
  END { printf "%d %d %d %d\n", p, f, s, n }' "$log")

expected=$(ls tests/*/*.csproj | wc -l)
if [ "$projects" -lt "$expected" ] && [ "$status" -eq 0 ]; then
  echo "error: only $projects of $expected test projects reported results" >&2
  status=1
fi
[ "$failed" -gt 0 ] && status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"

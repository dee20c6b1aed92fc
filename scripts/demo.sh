#!/usr/bin/env bash
# The demo: a local etcd and the felix agent on a simulated host (a network namespace), showing
# what an operator sees — the start-up log, health endpoints and Prometheus metrics — and a clean
# stop. Everything it creates is removed on exit; run it again at will.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh

require_root
ensure_project_packages
ensure_dotnet
echo "== Building the agent (Native AOT)"
publish_agent
ls -l out/felix/felix

host=felixdemo-host1
work=$(mktemp -d /tmp/felix-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$host" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# Background jobs below call ip netns exec directly, so $! is the program itself (ip and env exec).
in_host() { ip netns exec "$host" "$@"; }

# Waits (at most 20 s) until a URL inside the simulated host answers.
wait_for() {
  for _ in $(seq 1 100); do
    in_host curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.2
  done
  die "$1 did not answer within 20 s"
}

echo "== Simulated host '$host' (network namespace with its own loopback)"
ip netns del "$host" 2>/dev/null || true
ip netns add "$host"
ip -n "$host" link set lo up

echo "== etcd inside $host on 127.0.0.1:2379"
ip netns exec "$host" etcd --name demo --data-dir "$work/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster demo=http://127.0.0.1:2380 >"$work/etcd.log" 2>&1 &
pids+=($!)
wait_for http://127.0.0.1:2379/health
ETCDCTL_API=3 in_host etcdctl --endpoints http://127.0.0.1:2379 put /calico/v1/Ready true

echo "== felix inside $host"
ip netns exec "$host" env FELIX_FELIXHOSTNAME=host1 FELIX_ETCDENDPOINTS=http://127.0.0.1:2379 \
  FELIX_HEALTHPORT=9099 FELIX_PROMETHEUSMETRICSPORT=9091 out/felix/felix >"$work/felix.log" 2>&1 &
felix=$!
pids+=("$felix")
wait_for http://127.0.0.1:9099/liveness

echo "== GET /liveness"
in_host curl -s -w '(HTTP %{http_code})\n' http://127.0.0.1:9099/liveness
echo "== GET /readiness (not ready until the datastore and dataplane report in)"
in_host curl -s -w '(HTTP %{http_code})\n' http://127.0.0.1:9099/readiness || true
echo "== GET /metrics (felix_*)"
in_host curl -s http://127.0.0.1:9091/metrics | grep '^felix_\|^# TYPE felix_'

echo "== SIGTERM"
kill -TERM "$felix"
status=0
wait "$felix" || status=$?
echo "felix exited with $status"
echo "== felix log"
cat "$work/felix.log"
[ "$status" -eq 0 ] || die "felix did not stop cleanly"

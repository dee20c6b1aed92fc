#!/usr/bin/env bash
# The demo: a local etcd holding the seed article's profiles and containers, and the felix agent on
# a simulated host (a network namespace), showing what an operator sees — the start-up log, health
# endpoints, the cluster as the agent counts it, a rejected bad value, its status in etcd — and a
# clean stop. Everything it creates is removed on exit; run it again at will.
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
etcdctl() { ETCDCTL_API=3 in_host /usr/bin/etcdctl --endpoints http://127.0.0.1:2379 "$@"; }

echo "== The seed article's objects in etcd: profiles db, web, app (app carries tag db-users); container1 on host1, container2 on host2"
etcdctl put /calico/v1/policy/profile/db/rules \
  '{"inbound_rules":[{"action":"allow","src_tag":"db"},{"action":"allow","src_tag":"db-users","protocol":"tcp","dst_ports":[3306]}],"outbound_rules":[{"action":"allow"}]}' >/dev/null
etcdctl put /calico/v1/policy/profile/db/tags '["db"]' >/dev/null
etcdctl put /calico/v1/policy/profile/web/rules \
  '{"inbound_rules":[{"action":"allow","src_tag":"web"},{"action":"allow","protocol":"tcp","dst_ports":[80,443]}],"outbound_rules":[{"action":"allow"}]}' >/dev/null
etcdctl put /calico/v1/policy/profile/web/tags '["web"]' >/dev/null
etcdctl put /calico/v1/policy/profile/app/rules \
  '{"inbound_rules":[{"action":"allow","src_tag":"app"},{"action":"allow","src_tag":"web"}],"outbound_rules":[{"action":"allow"}]}' >/dev/null
etcdctl put /calico/v1/policy/profile/app/tags '["app","db-users"]' >/dev/null
etcdctl put /calico/v1/host/host1/workload/docker/container1/endpoint/2466cece7bc \
  '{"state":"active","name":"cali2466cece7bc","mac":"96:c4:86:4d:d7:2c","profile_ids":["db"],"ipv4_nets":["192.168.0.1/32"],"ipv6_nets":[]}' >/dev/null
etcdctl put /calico/v1/host/host2/workload/docker/container2/endpoint/ea3aaf5a7be \
  '{"state":"active","name":"caliea3aaf5a7be","mac":"1e:48:3e:ec:71:52","profile_ids":["db"],"ipv4_nets":["192.168.0.2/32"],"ipv6_nets":[]}' >/dev/null
etcdctl put /calico/v1/host/host2/bird_ip 192.168.78.22 >/dev/null
etcdctl put /calico/v1/Ready true >/dev/null

echo "== felix inside $host"
ip netns exec "$host" env FELIX_FELIXHOSTNAME=host1 FELIX_ETCDENDPOINTS=http://127.0.0.1:2379 \
  FELIX_HEALTHPORT=9099 FELIX_PROMETHEUSMETRICSPORT=9091 FELIX_REPORTINGINTERVALSECS=2 \
  out/felix/felix >"$work/felix.log" 2>&1 &
felix=$!
pids+=("$felix")
wait_for http://127.0.0.1:9099/liveness

# Ready once in sync with etcd: wait (at most 20 s) for /readiness to say so.
for _ in $(seq 1 100); do
  [ "$(in_host curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9099/readiness)" = 200 ] && break
  sleep 0.2
done
echo "== GET /liveness"
in_host curl -s -w '(HTTP %{http_code})\n' http://127.0.0.1:9099/liveness
echo "== GET /readiness"
in_host curl -s -w '(HTTP %{http_code})\n' http://127.0.0.1:9099/readiness || true
echo "== GET /metrics: what the agent knows of the cluster"
in_host curl -s http://127.0.0.1:9091/metrics | grep -E '^felix_(cluster|ready|resync)'

echo "== A bad value: an endpoint whose interface name tries shell and iptables injection"
etcdctl put /calico/v1/host/host1/workload/docker/evil/endpoint/x '{"state":"active","name":"cali; -j ACCEPT"}' >/dev/null
sleep 1
in_host curl -s http://127.0.0.1:9091/metrics | grep '^felix_datastore_invalid_keys'
echo "== The agent's status in etcd (under a lease: it vanishes if the agent dies)"
sleep 2
etcdctl get /calico/felix/v1/host/host1/status --print-value-only

echo "== SIGTERM"
kill -TERM "$felix"
status=0
wait "$felix" || status=$?
echo "felix exited with $status"
echo "== felix log"
cat "$work/felix.log"
[ "$status" -eq 0 ] || die "felix did not stop cleanly"

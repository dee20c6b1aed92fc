#!/usr/bin/env bash
# The demo: the seed article's profiles enforced by the agent on two simulated hosts.
#
# A LAN (a bridge in its own network namespace) joins an etcd namespace and two host namespaces,
# each running the felix agent. Workloads (web, app, db, and one in an unrelated profile) sit
# behind cali… veths on both hosts and listen on 22, 80, 443, 3306 and 8080. The agents route
# between hosts with RemoteWorkloadRoutes (no BGP daemon). The demo prints the connectivity matrix,
# adds the tag db-users to profile app and prints it again, each time checked against what the
# article says, with the chains and sets behind it. Everything is removed on exit unless --keep.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh

keep=false
[ "${1:-}" = "--keep" ] && keep=true

require_root
ensure_project_packages
ensure_packages socat
ensure_dotnet
echo "== Building the agent (Native AOT)"
publish_agent
ls -l out/felix/felix

p=felixdemo
lan=$p-lan
etcd_ns=$p-etcd
hosts=(host1 host2)
ports=(22 80 443 3306 8080)
work=$(mktemp -d /tmp/felix-demo.XXXXXX)
pids=()
namespaces=()

cleanup() {
  if $keep; then
    echo "== --keep: left running (namespaces: ${namespaces[*]}; processes: ${pids[*]}; logs in $work)"
    return
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

new_ns() {
  ip netns del "$1" 2>/dev/null || true
  ip netns add "$1"
  namespaces+=("$1")
  ip -n "$1" link set lo up
}

# Joins namespace $1 to the LAN bridge as eth0 with address $2.
join_lan() {
  ip -n "$lan" link add "$p-$3" type veth peer name eth0 netns "$1"
  ip -n "$lan" link set "$p-$3" master br0 up
  ip -n "$1" addr add "$2/24" dev eth0
  ip -n "$1" link set eth0 up
}

echo "== LAN 10.99.0.0/24 (a bridge in $lan), etcd at 10.99.0.254, host1 10.99.0.1, host2 10.99.0.2"
# Stale namespaces of an earlier --keep run.
for ns in $(ip netns list | awk '{print $1}' | grep "^$p-" || true); do ip netns del "$ns"; done
new_ns "$lan"
ip -n "$lan" link add br0 type bridge
ip -n "$lan" link set br0 up
new_ns "$etcd_ns"
join_lan "$etcd_ns" 10.99.0.254 e
for i in 1 2; do
  new_ns "$p-host$i"
  join_lan "$p-host$i" "10.99.0.$i" "h$i"
  # A default route: proxy ARP answers for the workloads' gateway only when it routes elsewhere.
  ip -n "$p-host$i" route add default via 10.99.0.254
done

ip netns exec "$etcd_ns" etcd --name demo --data-dir "$work/etcd" \
  --listen-client-urls http://10.99.0.254:2379 --advertise-client-urls http://10.99.0.254:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster demo=http://127.0.0.1:2380 >"$work/etcd.log" 2>&1 &
pids+=($!)
etcdctl() { ETCDCTL_API=3 ip netns exec "$etcd_ns" /usr/bin/etcdctl --endpoints http://10.99.0.254:2379 "$@"; }
for _ in $(seq 1 100); do etcdctl endpoint health >/dev/null 2>&1 && break; sleep 0.2; done
etcdctl endpoint health >/dev/null 2>&1 || die "etcd did not start within 20 s (see $work/etcd.log)"

echo "== The article's profiles: web (80, 443 from anyone), app (from app and web), db (from db; 3306 from tag db-users)"
etcdctl put /calico/v1/policy/profile/web/rules \
  '{"inbound_rules":[{"action":"allow","src_tag":"web"},{"action":"allow","protocol":"tcp","dst_ports":[80,443]}],"outbound_rules":[{"action":"allow"}]}' >/dev/null
etcdctl put /calico/v1/policy/profile/web/tags '["web"]' >/dev/null
etcdctl put /calico/v1/policy/profile/app/rules \
  '{"inbound_rules":[{"action":"allow","src_tag":"app"},{"action":"allow","src_tag":"web"}],"outbound_rules":[{"action":"allow"}]}' >/dev/null
etcdctl put /calico/v1/policy/profile/app/tags '["app"]' >/dev/null
etcdctl put /calico/v1/policy/profile/db/rules \
  '{"inbound_rules":[{"action":"allow","src_tag":"db"},{"action":"allow","protocol":"tcp","src_tag":"db-users","dst_ports":[3306]}],"outbound_rules":[{"action":"allow"}]}' >/dev/null
etcdctl put /calico/v1/policy/profile/db/tags '["db"]' >/dev/null
etcdctl put /calico/v1/policy/profile/other/rules '{"inbound_rules":[{"action":"allow","src_tag":"other"}],"outbound_rules":[{"action":"allow"}]}' >/dev/null
etcdctl put /calico/v1/policy/profile/other/tags '["other"]' >/dev/null
for i in 1 2; do etcdctl put "/calico/v1/host/host$i/bird_ip" "10.99.0.$i" >/dev/null; done

# name host profile address
workloads=(
  "web1 host1 web 192.168.1.1" "app1 host1 app 192.168.1.2" "db1 host1 db 192.168.1.3"
  "web2 host2 web 192.168.2.1" "app2 host2 app 192.168.2.2" "db2 host2 db 192.168.2.3" "other2 host2 other 192.168.2.4"
)
echo "== Workloads (each a namespace behind a cali… veth, listening on ${ports[*]})"
for w in "${workloads[@]}"; do
  read -r name host profile address <<<"$w"
  ns=$p-$name
  iface=cali$(printf '%s' "$name" | sha256sum | cut -c1-11)
  new_ns "$ns"
  ip -n "$p-$host" link add "$iface" type veth peer name eth0 netns "$ns"
  ip -n "$p-$host" link set "$iface" up
  ip -n "$ns" addr add "$address/32" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add 169.254.1.1 dev eth0 scope link
  ip -n "$ns" route add default via 169.254.1.1 dev eth0
  mac=$(ip -n "$ns" -br link show eth0 | awk '{print $3}')
  for port in "${ports[@]}"; do
    ip netns exec "$ns" socat -u "TCP-LISTEN:$port,fork,reuseaddr" /dev/null &
    pids+=($!)
  done
  etcdctl put "/calico/v1/host/$host/workload/demo/$name/endpoint/eth0" \
    "{\"state\":\"active\",\"name\":\"$iface\",\"mac\":\"$mac\",\"profile_ids\":[\"$profile\"],\"ipv4_nets\":[\"$address/32\"],\"ipv6_nets\":[]}" >/dev/null
  printf '  %-7s on %s  %-14s profile %-6s %s\n' "$name" "$host" "$address" "$profile" "$iface"
done
etcdctl put /calico/v1/Ready true >/dev/null

echo "== felix on host1 and host2 (RemoteWorkloadRoutes on: routes to the other host's workloads via its address)"
for i in 1 2; do
  ip netns exec "$p-host$i" env FELIX_FELIXHOSTNAME="host$i" FELIX_ETCDENDPOINTS=http://10.99.0.254:2379 \
    FELIX_REMOTEWORKLOADROUTES=true FELIX_HEALTHPORT=9099 FELIX_PROMETHEUSMETRICSPORT=9091 \
    out/felix/felix >"$work/felix-host$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2; do
  for _ in $(seq 1 150); do
    [ "$(ip netns exec "$p-host$i" curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9099/readiness)" = 200 ] && break
    sleep 0.2
  done
  echo "host$i /readiness: $(ip netns exec "$p-host$i" curl -s http://127.0.0.1:9099/readiness | tr '\n' ';')"
done

# What the article says: web open on 80 and 443 to all; app only from web and app; db from db on
# anything and on 3306 from db-users; other only from other. Everything else closed.
expected() { # source-profile dest-profile port tagged
  local src=$1 dst=$2 port=$3 tagged=$4
  case $dst in
    web) [ "$src" = web ] || [ "$port" = 80 ] || [ "$port" = 443 ] ;;
    app) [ "$src" = app ] || [ "$src" = web ] ;;
    db) [ "$src" = db ] || { [ "$port" = 3306 ] && [ "$src" = app ] && $tagged; } ;;
    other) [ "$src" = other ] ;;
  esac
}

# Probes every (source, destination, port) in parallel; a dropped SYN times out after 1 s.
matrix() {
  local tagged=$1 out=$work/probes mismatches=0
  rm -rf "$out"
  mkdir -p "$out"
  local probes=()
  for s in "${workloads[@]}"; do
    read -r sname _ _ _ <<<"$s"
    for d in "${workloads[@]}"; do
      read -r dname _ _ daddr <<<"$d"
      [ "$sname" = "$dname" ] && continue
      for port in "${ports[@]}"; do
        (ip netns exec "$p-$sname" timeout 1 bash -c ": </dev/tcp/$daddr/$port" 2>/dev/null && touch "$out/$sname-$dname-$port") &
        probes+=($!)
      done
    done
    # One source at a time (30 probes, at most about 1 s); not a bare wait, which would wait for the agents too.
    wait "${probes[@]}" || true
    probes=()
  done
  printf '%-8s' "from\\to"
  for d in "${workloads[@]}"; do read -r dname _ _ _ <<<"$d"; printf ' %-16s' "$dname"; done
  printf '\n%-8s' ""
  for d in "${workloads[@]}"; do printf ' %-16s' "22 80 443 33 80"; done
  echo
  for s in "${workloads[@]}"; do
    read -r sname _ sprofile _ <<<"$s"
    printf '%-8s' "$sname"
    for d in "${workloads[@]}"; do
      read -r dname _ dprofile _ <<<"$d"
      local cells=""
      for port in "${ports[@]}"; do
        if [ "$sname" = "$dname" ]; then cells+=" ."; continue; fi
        local open=false want=false
        [ -e "$out/$sname-$dname-$port" ] && open=true
        expected "$sprofile" "$dprofile" "$port" "$tagged" && want=true
        if [ "$open" != "$want" ]; then
          mismatches=$((mismatches + 1))
          cells+=" !"
        elif $open; then cells+=" o"; else cells+=" -"; fi
      done
      printf ' %-16s' "${cells# }"
    done
    echo
  done
  echo "(o open, - closed, ! differs from the article; ports 22 80 443 3306 8080)"
  [ "$mismatches" -eq 0 ] && echo "matches the article" || echo "$mismatches probes differ from the article"
  return "$mismatches"
}

status=0
echo
echo "== Connectivity: app does not carry tag db-users yet, so db's 3306 is closed to it"
matrix false || status=1
echo
echo "== host1: the chain of profile db and the set of tag db-users"
ip netns exec "$p-host1" iptables-save -t filter | grep -E -- '-A felix-p-db-i' || true
ip netns exec "$p-host1" ipset list felix-v4-db-users | grep -E '^(Name|Type|Members|[0-9])' || true

echo
echo "== Adding tag db-users to profile app"
etcdctl put /calico/v1/policy/profile/app/tags '["app","db-users"]' >/dev/null
sleep 2
ip netns exec "$p-host1" ipset list felix-v4-db-users | grep -E '^(Name|Members|[0-9])' || true
echo
echo "== Connectivity: app reaches db on 3306, and only there"
matrix true || status=1

echo
echo "== host1: routes the agent programmed (proto 80: local workloads, and host2's via 10.99.0.2)"
ip -n "$p-host1" route show proto 80
echo "== host1: metrics"
ip netns exec "$p-host1" curl -s http://127.0.0.1:9091/metrics |
  grep -E '^felix_(active_local_endpoints|ipsets_total|iptables_chains\{ip_version="4",table="filter"\}|int_dataplane_apply_time_seconds_count|int_dataplane_failures)'
echo "== host1: agent log (warnings and above)"
grep -E '\[(WARNING|ERROR|CRITICAL)\]' "$work/felix-host1.log" || echo "(none)"
exit "$status"

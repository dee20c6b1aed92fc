# Shared by the scripts: install what the project needs on a Debian 12 machine, idempotently.
# Sourced, not run.

die() {
  echo "error: $*" >&2
  exit 1
}

require_root() {
  [ "$(id -u)" = 0 ] || die "run as root: the agent and its tests create network namespaces and program iptables"
}

# Installs the Debian packages that are not installed yet; does nothing when all are.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  require_root
  echo "Installing ${missing[*]}..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The packages the agent, its tests and the demo use:
# - etcd for the datastore; iptables, ipset, iproute2 and ping, which the tests inspect state with;
#   conntrack, which the tests fill conntrack tables with and read them back by;
# - clang and zlib for the Native AOT build; gcc and the kernel headers for the test that checks the
#   netlink structs against them;
# - curl for health checks, openssl for the certificates of the TLS tests;
# - dpkg-dev and lintian to build and check the Debian package; systemd for systemd-analyze on its
#   unit, man-db for verify's check of Documentation=man:felix(8); python3-seccomp for the tests that
#   run the agent in the unit's sandbox;
# - afl++, which drives the fuzz harness (scripts/fuzz.sh).
ensure_project_packages() {
  ensure_packages etcd-server etcd-client iptables ipset iproute2 iputils-ping conntrack clang gcc libc6-dev linux-libc-dev zlib1g-dev curl ca-certificates openssl dpkg-dev lintian man-db systemd python3-seccomp afl++
}

ensure_dotnet() {
  command -v dotnet >/dev/null 2>&1 ||
    die "the .NET 10 SDK is needed (dotnet on PATH); Debian 12 does not package it"
  dotnet --list-sdks | grep -q '^10\.' || die "the .NET 10 SDK is needed; found: $(dotnet --list-sdks | tr '\n' ' ')"
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
}

# The .NET tools of .config/dotnet-tools.json: sharpfuzz, which instruments the fuzz targets.
ensure_dotnet_tools() {
  dotnet tool restore >/dev/null || die "dotnet tool restore failed (.config/dotnet-tools.json)"
}

# Builds the agent as it ships: one Native AOT executable, out/felix/felix.
publish_agent() {
  dotnet publish src/Felix.Agent -c Release -o out/felix --nologo -v quiet
}

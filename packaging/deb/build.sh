#!/usr/bin/env bash
# Builds the Debian package of the agent: dist/felix_<version>_amd64.deb.
#
#   packaging/deb/build.sh [--binary PATH] [--version VERSION] [--output DIR]
#
# --binary   package this published agent instead of publishing one (dotnet publish, ~4 min)
# --version  the Debian version; default <Version> of Directory.Build.props with revision -1.
#            A version that is not the top entry of packaging/deb/changelog gets an entry of its
#            own saying it is a local rebuild (the tests build an upgrade this way).
# --output   where the .deb goes; default dist/
#
# The unit (and the tmpfiles.d snippet, when there is one) come from packaging/systemd/. The config
# file and the manual page's parameter list are printed by the binary itself, so neither can drift
# from the parameters the agent knows. Installs what it needs with apt-get, like the other scripts.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
# shellcheck source=../../scripts/lib/setup.sh
source scripts/lib/setup.sh

binary="" version="" output="$repo/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) [ $# -ge 2 ] || die "--binary needs a path"; binary=$2; shift 2 ;;
    --version) [ $# -ge 2 ] || die "--version needs a version"; version=$2; shift 2 ;;
    --output) [ $# -ge 2 ] || die "--output needs a directory"; output=$2; shift 2 ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see $0 --help)" ;;
  esac
done

deb=packaging/deb
unit=packaging/systemd/felix.service
tmpfiles=packaging/systemd/felix.tmpfiles
[ -f "$unit" ] || die "$unit is missing: the package ships the agent's systemd unit from there"

ensure_packages dpkg-dev gzip

if [ -z "$binary" ]; then
  ensure_dotnet
  echo "Publishing the agent (Native AOT)..."
  publish_agent
  binary=out/felix/felix
fi
[ -x "$binary" ] || die "agent binary $binary not found or not executable"
"$binary" --print-config >/dev/null 2>&1 ||
  die "$binary does not support --print-config: publish the agent from this tree, or omit --binary"

upstream=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
[ -n "$upstream" ] || die "no <Version> in Directory.Build.props"
version=${version:-$upstream-1}
case "$version" in "$upstream"-*) ;; *) die "version $version is not $upstream-<revision>" ;; esac
arch=$(dpkg --print-architecture)
[ "$arch" = amd64 ] || die "the agent is published for linux-x64; this machine is $arch"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
umask 022

# Files, with the modes Debian policy expects whatever the checkout's are.
install -D -m 0755 "$binary" "$root/usr/bin/felix"
install -D -m 0644 "$unit" "$root/lib/systemd/system/felix.service"
if [ -f "$tmpfiles" ]; then
  install -D -m 0644 "$tmpfiles" "$root/usr/lib/tmpfiles.d/felix.conf"
fi
install -d -m 0755 "$root/etc/felix"
"$binary" --print-config >"$root/etc/felix/felix.cfg"
chmod 0644 "$root/etc/felix/felix.cfg"
install -D -m 0644 $deb/copyright "$root/usr/share/doc/felix/copyright"
install -D -m 0644 $deb/lintian-overrides "$root/usr/share/lintian/overrides/felix"

# The changelog: the kept history, headed by an entry for a rebuild under another version.
changelog=$work/changelog
top=$(dpkg-parsechangelog -l $deb/changelog -S Version)
if [ "$version" != "$top" ]; then
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  maintainer=$(dpkg-parsechangelog -l $deb/changelog -S Maintainer)
  {
    printf 'felix (%s) unstable; urgency=medium\n\n' "$version"
    printf '  * Local rebuild of commit %s as %s.\n\n' "$commit" "$version"
    printf ' -- %s  %s\n\n' "$maintainer" "$(date -R)"
    cat $deb/changelog
  } >"$changelog"
else
  cp $deb/changelog "$changelog"
fi
install -d -m 0755 "$root/usr/share/doc/felix"
gzip -9n <"$changelog" >"$root/usr/share/doc/felix/changelog.Debian.gz"
chmod 0644 "$root/usr/share/doc/felix/changelog.Debian.gz"
# Dates of what is built (file times, the manual page) follow the changelog, not the clock, so
# the same tree builds the same package.
epoch=$(dpkg-parsechangelog -l "$changelog" -S Timestamp)
export SOURCE_DATE_EPOCH=$epoch

# The manual page, its parameter list rendered from the binary's commented config: each parameter
# is a block of '# ' comment lines ended by its '#Name = default' line. Each text line starts with
# the roff no-op \& so that one starting with a dot or a quote cannot read as a request.
parameters=$("$binary" --print-config | awk '
  function roff(s) { gsub(/\\/, "\\e", s); gsub(/-/, "\\-", s); return s }
  /^$/ { text = ""; next }
  /^#[A-Za-z0-9]+ =/ {
    name = substr($1, 2); value = $0; sub(/^#[A-Za-z0-9]+ = ?/, "", value)
    printf ".TP\n.B %s\n%s\n", name, text
    if (value != "") printf "Default: \\fB%s\\fR.\n", roff(value)
    text = ""; next
  }
  /^# / { line = "\\&" roff(substr($0, 3)); text = text == "" ? line : text "\n" line }
')
[ "$(grep -c '^\.TP' <<<"$parameters")" -ge 20 ] || die "no parameters in the output of $binary --print-config"
man_date=$(date -u -d "@$epoch" +%Y-%m-%d)
install -d -m 0755 "$root/usr/share/man/man8"
# Through the environment: awk -v would interpret the backslashes of the roff escapes.
PARAMETERS=$parameters awk -v version="$version" -v date="$man_date" '
  /^@PARAMETERS@$/ { print ENVIRON["PARAMETERS"]; next }
  { gsub(/@VERSION@/, version); gsub(/@DATE@/, date); print }
' $deb/felix.8.in | gzip -9n >"$root/usr/share/man/man8/felix.8.gz"
chmod 0644 "$root/usr/share/man/man8/felix.8.gz"

# Depends: the libraries the executable links, as dpkg-shlibdeps works them out (it wants a
# debian/control to read), libssl3, which the runtime loads by name for TLS to etcd and which no
# ELF header mentions, the tools the agent runs, and those the operator troubleshoots with.
mkdir -p "$work/shlibs/debian"
printf 'Source: felix\n\nPackage: felix\nArchitecture: amd64\n' >"$work/shlibs/debian/control"
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O "$root/usr/bin/felix" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no library dependencies of $binary"
depends="$shlibs, libssl3, iptables, ipset, iproute2, conntrack"

install -d -m 0755 "$root/DEBIAN"
install -m 0755 $deb/postinst $deb/prerm $deb/postrm "$root/DEBIAN/"
echo /etc/felix/felix.cfg >"$root/DEBIAN/conffiles"
# Conffiles are left out of md5sums, as dh_md5sums does: dpkg tracks them on its own.
(cd "$root" && find . -type f ! -path './DEBIAN/*' ! -path ./etc/felix/felix.cfg -printf '%P\0' | sort -z |
  xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"
installed_size=$(du -k -s --apparent-size --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
  -e "s/@DEPENDS@/$depends/" $deb/control.in >"$root/DEBIAN/control"

find "$root" -exec touch -h -d "@$epoch" {} +
mkdir -p "$output"
package="$output/felix_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$package" >/dev/null
echo "$package"

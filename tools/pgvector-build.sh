#!/usr/bin/env bash
# Build pgvector for Debian 12's PostgreSQL 15 from Debian 13's (trixie) source package: Debian 12
# does not package pgvector and trixie's binary packages need a newer glibc, but its source builds
# against postgresql-server-dev-15 in seconds. The trixie source index lives in a private apt
# configuration under a temporary directory, so the system's sources, lists and cache stay untouched.
#   usage: tools/pgvector-build.sh        (as root, or as a user who may write PostgreSQL's directories)
# Exit 0: pgvector is installed (or already was). Exit 3: it could not be fetched or built (the
# reason is on stderr); the tests that need it then skip.
set -euo pipefail

PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
say() { echo "[pgvector] $*" >&2; }
give_up() { say "$*"; exit 3; }

[ -x "$PG_CONFIG" ] || give_up "no $PG_CONFIG: install postgresql-server-dev-15 first"
control="$("$PG_CONFIG" --sharedir)/extension/vector.control"
if [ -f "$control" ]; then
  say "already installed ($control)"
  exit 0
fi
for tool in apt-get dpkg-source make gcc; do
  command -v "$tool" >/dev/null || give_up "$tool is missing: install dpkg-dev and build-essential"
done

work="$(mktemp -d -t pgvector-build.XXXXXX)"
trap 'rm -rf "$work"' EXIT
apt_root="$work/apt"
mkdir -p "$apt_root/lists/partial" "$apt_root/cache/archives/partial" "$apt_root/sources.list.d" "$work/src"
cat >"$apt_root/sources.list" <<SOURCES
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
SOURCES
private_apt=(
  -o "Dir::Etc::SourceList=$apt_root/sources.list"
  -o "Dir::Etc::SourceParts=$apt_root/sources.list.d"
  -o "Dir::State::Lists=$apt_root/lists"
  -o "Dir::Cache=$apt_root/cache"
  -o "Acquire::Languages=none"
  -o "Acquire::Retries=2"
  -o "Acquire::http::Timeout=30"
  # apt's download sandbox user cannot write into a root-only temporary directory.
  -o "APT::Sandbox::User=root"
)

started=$SECONDS
apt-get "${private_apt[@]}" -qq update >"$work/apt.log" 2>&1 \
  || give_up "cannot read trixie's source index: $(tail -n 3 "$work/apt.log")"
(cd "$work/src" && apt-get "${private_apt[@]}" -qq source --download-only pgvector/trixie) >"$work/apt.log" 2>&1 \
  || give_up "cannot download trixie's pgvector source package: $(tail -n 3 "$work/apt.log")"
dsc="$(ls "$work"/src/pgvector_*.dsc)"
dpkg-source -x "$dsc" "$work/src/pgvector" >"$work/build.log" 2>&1 \
  || give_up "cannot unpack $dsc: $(tail -n 3 "$work/build.log")"
# with_llvm=no: no JIT bitcode, which would need clang matching the server's LLVM.
{ make -C "$work/src/pgvector" PG_CONFIG="$PG_CONFIG" with_llvm=no -j"$(nproc)" \
    && make -C "$work/src/pgvector" PG_CONFIG="$PG_CONFIG" with_llvm=no install; } >"$work/build.log" 2>&1 \
  || give_up "building $(basename "$dsc" .dsc) failed: $(tail -n 5 "$work/build.log")"
[ -f "$control" ] || give_up "make install did not install $control"
say "installed $(basename "$dsc" .dsc) into $("$PG_CONFIG" --pkglibdir) in $((SECONDS - started)) s"

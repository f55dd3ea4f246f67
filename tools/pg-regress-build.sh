#!/usr/bin/env bash
# Build PostgreSQL 15's own regression suite (src/test/regress, the one pg_upgrade's test dumps and
# restores) from Debian 12's source package, for test/fidelity_regression.test.ts: the SQL scripts,
# their data files and the C module they load (regress.so, built against postgresql-server-dev-15),
# with contrib's autoinc.so and refint.so beside it. The source index lives in a private apt
# configuration under a temporary directory, so the system's sources, lists and cache stay untouched.
#   usage: tools/pg-regress-build.sh        (as root, or as a user who may write PostgreSQL's share directory)
# Installs into $(pg_config --sharedir)/regress (readable by the server, which loads regress.so and
# reads the data files itself). Exit 0: installed (or already was). Exit 3: it could not be fetched or
# built (the reason is on stderr).
set -euo pipefail

PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
say() { echo "[pg-regress] $*" >&2; }
give_up() { say "$*"; exit 3; }

[ -x "$PG_CONFIG" ] || give_up "no $PG_CONFIG: install postgresql-server-dev-15 first"
target="$("$PG_CONFIG" --sharedir)/regress"
if [ -f "$target/regress.so" ] && [ -f "$target/parallel_schedule" ]; then
  say "already installed ($target)"
  exit 0
fi
for tool in apt-get tar make gcc; do
  command -v "$tool" >/dev/null || give_up "$tool is missing: install dpkg-dev and build-essential"
done
[ -f "$("$PG_CONFIG" --includedir-server)/postgres.h" ] || give_up "no server headers: install postgresql-server-dev-15"
lib="$("$PG_CONFIG" --pkglibdir)"
for module in autoinc refint; do
  [ -f "$lib/$module.so" ] || give_up "$lib/$module.so is missing: install postgresql-15 (contrib's spi modules)"
done

work="$(mktemp -d -t pg-regress-build.XXXXXX)"
trap 'rm -rf "$work"' EXIT
apt_root="$work/apt"
mkdir -p "$apt_root/lists/partial" "$apt_root/cache/archives/partial" "$apt_root/sources.list.d" "$work/src"
# bookworm's own pool: its postgresql-15 is the server these tests run (any 15.x suite fits a 15.x server).
cat >"$apt_root/sources.list" <<SOURCES
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
SOURCES
private_apt=(
  -o "Dir::Etc::SourceList=$apt_root/sources.list"
  -o "Dir::Etc::SourceParts=$apt_root/sources.list.d"
  -o "Dir::State::Lists=$apt_root/lists"
  -o "Dir::Cache=$apt_root/cache"
  -o "Acquire::Languages=none"
  -o "Acquire::Retries=2"
  -o "Acquire::http::Timeout=30"
  -o "APT::Sandbox::User=root"
)

started=$SECONDS
apt-get "${private_apt[@]}" -qq update >"$work/apt.log" 2>&1 \
  || give_up "cannot read bookworm's source index: $(tail -n 3 "$work/apt.log")"
(cd "$work/src" && apt-get "${private_apt[@]}" -qq source --download-only postgresql-15/bookworm) >"$work/apt.log" 2>&1 \
  || give_up "cannot download bookworm's postgresql-15 source package: $(tail -n 3 "$work/apt.log")"
orig="$(ls "$work"/src/postgresql-15_*.orig.tar.*)"
# The checksums apt verified cover the tarball; only the regression suite is unpacked from it.
version="${orig##*_}"
top="postgresql-${version%.orig.tar.*}"
tar -xf "$orig" -C "$work/src" "$top/src/test/regress" >"$work/build.log" 2>&1 \
  || give_up "cannot unpack $orig: $(tail -n 3 "$work/build.log")"
suite="$work/src/$top/src/test/regress"
cat >"$suite/Makefile.module" <<MAKEFILE
MODULES = regress
PG_CONFIG = $PG_CONFIG
PGXS := \$(shell \$(PG_CONFIG) --pgxs)
include \$(PGXS)
MAKEFILE
# with_llvm=no: no JIT bitcode, which would need clang matching the server's LLVM.
make -C "$suite" -f Makefile.module with_llvm=no >"$work/build.log" 2>&1 \
  || give_up "building regress.so failed: $(tail -n 5 "$work/build.log")"

rm -rf "$target.partial"
mkdir -p "$target.partial"
cp -r "$suite/sql" "$suite/expected" "$suite/data" "$target.partial/"
cp "$suite/parallel_schedule" "$suite/resultmap" "$suite/regress.so" "$lib/autoinc.so" "$lib/refint.so" "$target.partial/"
chmod -R a+rX "$target.partial"
rm -rf "$target"
mv "$target.partial" "$target"
say "installed $top's regression suite into $target in $((SECONDS - started)) s"

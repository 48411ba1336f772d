#!/usr/bin/env bash
# mutate.sh: mutation testing of the client (the root package), the server and the SQLite store
# with gremlins, pinned by a tool line in go.mod. Each package is mutated in turn and its own tests
# run against every mutant; RELIABILITY.md reports the outcome and explains each survivor.
#
#   MUTATE_PKGS     packages to mutate, as directories (default: ". server store/sqlitestore")
#   MUTATE_WORKERS  mutants tested at once (default 2)
#   MUTATE_TIMEOUT  the timeout coefficient: a mutant's tests time out after this many times the
#                   duration of the coverage run (default 5; raise it on a busy machine)
#   MUTATE_OUT      directory of the JSON results (default $TMPDIR/uploads-mutate)
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=${MUTATE_PKGS:-. server store/sqlitestore}
workers=${MUTATE_WORKERS:-2}
coefficient=${MUTATE_TIMEOUT:-5}
out=${MUTATE_OUT:-${TMPDIR:-/tmp}/uploads-mutate}
mkdir -p "$out"

# The timeout is derived from how long the coverage run took: a cached run would make it a few
# milliseconds and every mutant would time out.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-count=1"

for pkg in $pkgs; do
	name=$(echo "$pkg" | tr / -)
	[ "$name" = . ] && name=root
	args=(unleash --workers "$workers" --timeout-coefficient "$coefficient" --output "$out/$name.json")
	if [ "$pkg" = . ]; then
		# From the module's root, gremlins takes coverage of the whole module and would mutate every
		# package: keep to the files of the root package (any path with a slash is elsewhere).
		args+=(--exclude-files /)
	fi
	echo "== mutate $pkg"
	start=$(date +%s)
	(cd "$pkg" && go tool gremlins "${args[@]}")
	echo "== $pkg: $(($(date +%s) - start)) s; results in $out/$name.json"
done

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
#   MUTATE_ARGS     more flags for gremlins unleash, such as --exclude-files 'faults\.go$'
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=${MUTATE_PKGS:-. server store/sqlitestore}
workers=${MUTATE_WORKERS:-2}
coefficient=${MUTATE_TIMEOUT:-5}
out=$(mkdir -p "${MUTATE_OUT:-${TMPDIR:-/tmp}/uploads-mutate}" && cd "${MUTATE_OUT:-${TMPDIR:-/tmp}/uploads-mutate}" && pwd)

# The timeout is derived from how long the coverage run took: a cached run would make it a few
# milliseconds and every mutant would time out.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-count=1"

# Mutants are made in a copy of the tree as it is now, so the tree may be edited during the run.
tree=$(mktemp -d "${TMPDIR:-/tmp}/uploads-mutate-tree.XXXXXX")
trap 'rm -rf "$tree"' EXIT

for pkg in $pkgs; do
	name=$(echo "$pkg" | tr / -)
	[ "$name" = . ] && name=root
	rm -rf "$tree" && mkdir -p "$tree"
	tar --exclude=.git --exclude=./.tools --exclude=./data -cf - . | tar -xf - -C "$tree"
	args=(unleash --workers "$workers" --timeout-coefficient "$coefficient" --output "$out/$name.json")
	# shellcheck disable=SC2206 # split on purpose: several flags
	args+=(${MUTATE_ARGS:-})
	if [ "$pkg" = . ]; then
		# From the module's root gremlins takes the coverage of every package and would mutate them
		# all. In the copy, the other packages lose their tests (only the root package's tests run
		# against its mutants), and their files are excluded (any path with a slash).
		find "$tree" -mindepth 2 -name '*_test.go' -delete
		args+=(--exclude-files /)
	fi
	echo "== mutate $pkg"
	start=$(date +%s)
	(cd "$tree/$pkg" && go tool gremlins "${args[@]}")
	echo "== $pkg: $(($(date +%s) - start)) s; results in $out/$name.json"
done

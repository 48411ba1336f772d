#!/usr/bin/env bash
# Runs every fuzz target of the module, one after the other, each for a bounded time.
#
#   FUZZTIME=10s scripts/fuzz.sh           # the default: what `make fuzz` runs
#   FUZZTIME=3s scripts/fuzz.sh            # what CI runs, so regressions surface
#   FUZZTIME=10m scripts/fuzz.sh Complete  # only the targets whose name matches
#
# A target that finds a failing input writes it under testdata/fuzz/<Target>/ next to its package;
# from then on a plain `go test` replays it. Minimizing an input that only widened coverage is kept
# short (FUZZMINIMIZETIME): the server's goroutines make coverage noisy, and Go's default of 60s
# per input would spend the whole budget minimizing.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME="${FUZZTIME:-10s}"
FUZZMINIMIZETIME="${FUZZMINIMIZETIME:-2s}"
FILTER="${1:-}"

# Packages with fuzz targets: those whose test files declare a func FuzzXxx(f *testing.F).
mapfile -t dirs < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . |
	grep -v '^./gen/' | xargs -r -n1 dirname | sort -u)
if [ "${#dirs[@]}" -eq 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi

failed=0
ran=0
for dir in "${dirs[@]}"; do
	mapfile -t targets < <(grep -hoE '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' "$dir"/*_test.go |
		sed -E 's/^func (Fuzz[A-Za-z0-9_]+).*/\1/' | sort -u)
	for target in "${targets[@]}"; do
		if [ -n "$FILTER" ] && [[ "$target" != *"$FILTER"* ]]; then
			continue
		fi
		echo "== $dir $target ($FUZZTIME)"
		ran=$((ran + 1))
		if ! go test "$dir" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME"; then
			echo "fuzz: $target in $dir failed; the input is under $dir/testdata/fuzz/$target/" >&2
			failed=$((failed + 1))
		fi
	done
done
if [ "$ran" -eq 0 ]; then
	echo "fuzz: no target matches '$FILTER'" >&2
	exit 1
fi
echo "fuzz: $ran target(s) run, $failed failed"
[ "$failed" -eq 0 ]

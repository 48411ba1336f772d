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
FUZZRETRIES="${FUZZRETRIES:-2}"
FILTER="${1:-}"

# Packages with fuzz targets: those whose test files declare a func FuzzXxx(f *testing.F).
mapfile -t dirs < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . |
	grep -v '^./gen/' | xargs -r -n1 dirname | sort -u)
if [ "${#dirs[@]}" -eq 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi

# fuzz_one runs one target. Go 1.26's fuzzing coordinator can fail a target at the end of a
# -fuzztime window with a bare "context deadline exceeded" although nothing failed
# (go.dev/issue/75804, fixed in Go 1.27): its check that the deadline is the normal end races
# the cancellation of the workers' context. Such a run writes no failing input, so it is told
# apart from a real finding and run again, at most FUZZRETRIES more times; a real finding
# ("Failing input written to ...", a new file under testdata/fuzz, any other error) fails at once.
count_inputs() {
	if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi
}

fuzz_one() {
	local dir=$1 target=$2 attempt=0 out corpus before after
	out=$(mktemp)
	corpus="$dir/testdata/fuzz/$target"
	while :; do
		before=$(count_inputs "$corpus")
		if go test "$dir" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" 2>&1 | tee "$out"; then
			rm -f "$out"
			return 0
		fi
		after=$(count_inputs "$corpus")
		if [ "$attempt" -lt "$FUZZRETRIES" ] && [ "$before" -eq "$after" ] &&
			grep -qx '[[:space:]]*context deadline exceeded' "$out" &&
			! grep -q 'Failing input written to' "$out" &&
			! grep -qE '^[[:space:]]+[a-z_]+_test\.go:[0-9]+:' "$out"; then
			attempt=$((attempt + 1))
			echo "fuzz: $target stopped with the coordinator's spurious deadline error (go.dev/issue/75804), no input written; running it again ($attempt of $FUZZRETRIES)" >&2
			continue
		fi
		rm -f "$out"
		if [ "$before" -ne "$after" ]; then
			echo "fuzz: $target in $dir failed; the input is under $corpus/" >&2
		else
			echo "fuzz: $target in $dir failed without writing an input; see its output above" >&2
		fi
		return 1
	done
}

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
		if ! fuzz_one "$dir" "$target"; then
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

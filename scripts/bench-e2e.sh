#!/usr/bin/env bash
# End-to-end benchmark: `uploads put` (UploadFile) of a generated file, 1 GiB by default, through
# the reference server (uploads-server on the embedded SQLite store) on loopback. Both are built
# binaries run as separate processes, so each one's peak memory is its own. It prints the rate
# and the peak resident set size (VmHWM, the kernel's high-water mark) of client and server, and
# with UPLOADS_BENCH_ASSERT=1 fails unless the client stayed under 64 MiB and the server under
# 128 MiB.
#
#   bash scripts/bench-e2e.sh                 # 1 GiB, 4 parts at a time
#   E2E_MIB=256 E2E_CONCURRENCY=8 E2E_MD5=1 bash scripts/bench-e2e.sh
#
# Everything lives in a temporary directory removed at the end; nothing is written to the repo.

set -euo pipefail

mib=${E2E_MIB:-1024}
concurrency=${E2E_CONCURRENCY:-4}
md5=${E2E_MD5:-0}
client_limit_mib=64
server_limit_mib=128
key=sk-bench-e2e
time_bin=${E2E_TIME:-/usr/bin/time} # E2E_TIME=none samples VmHWM instead

cd "$(dirname "$0")/.."
work=$(mktemp -d)
server_pid=
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

die() {
	echo "bench-e2e: $*" >&2
	exit 1
}

# hwm_kib prints the peak resident set size of a running process, in KiB.
hwm_kib() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

echo "building the server and the command-line client"
go build -o "$work/uploads-server" ./cmd/uploads-server
go build -o "$work/uploads" ./cmd/uploads

echo "generating $mib MiB of random data"
head -c "$((mib << 20))" /dev/urandom >"$work/e2e.jsonl"

"$work/uploads-server" -addr 127.0.0.1:0 -data "$work/data" -api-key "$key" >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
base=
for _ in $(seq 100); do
	base=$(sed -n 's|^uploads-server listening on \(http://[^ ]*/v1\).*|\1|p' "$work/server.out")
	[ -n "$base" ] && break
	kill -0 "$server_pid" 2>/dev/null || die "the server did not start: $(cat "$work/server.log")"
	sleep 0.1
done
[ -n "$base" ] || die "the server did not say where it listens"

flags=(--purpose batch --concurrency "$concurrency" --progress none --json)
[ "$md5" = 1 ] && flags+=(--md5)

# The client's peak comes from /usr/bin/time when it is there, else from sampling VmHWM, which only
# grows, every 20 ms while the client runs.
start=$(date +%s%N)
if [ -x "$time_bin" ]; then
	OPENAI_BASE_URL=$base OPENAI_API_KEY=$key "$time_bin" -f '%M' -o "$work/client.rss" \
		"$work/uploads" put "$work/e2e.jsonl" "${flags[@]}" >"$work/client.out" 2>"$work/client.err" ||
		die "upload failed: $(cat "$work/client.err")"
	client_kib=$(tail -n 1 "$work/client.rss")
else
	OPENAI_BASE_URL=$base OPENAI_API_KEY=$key "$work/uploads" put "$work/e2e.jsonl" "${flags[@]}" \
		>"$work/client.out" 2>"$work/client.err" &
	client_pid=$!
	client_kib=0
	while kill -0 "$client_pid" 2>/dev/null; do
		k=$(hwm_kib "$client_pid" 2>/dev/null || true)
		[ -n "$k" ] && client_kib=$k
		sleep 0.02
	done
	wait "$client_pid" || die "upload failed: $(cat "$work/client.err")"
fi
end=$(date +%s%N)
server_kib=$(hwm_kib "$server_pid")

grep -q '"status": *"processed"' "$work/client.out" || die "no processed File in the answer: $(cat "$work/client.out")"
grep -q "\"bytes\": *$((mib << 20))" "$work/client.out" || die "the File does not have $((mib << 20)) bytes: $(cat "$work/client.out")"

secs=$(awk -v ns="$((end - start))" 'BEGIN { printf "%.2f", ns / 1e9 }')
rate=$(awk -v ns="$((end - start))" -v b="$((mib << 20))" 'BEGIN { printf "%.0f", b / 1e6 / (ns / 1e9) }')
client_mib=$(awk -v k="$client_kib" 'BEGIN { printf "%.1f", k / 1024 }')
server_mib=$(awk -v k="$server_kib" 'BEGIN { printf "%.1f", k / 1024 }')

echo "uploaded $mib MiB in $secs s: $rate MB/s (concurrency $concurrency, MD5 $([ "$md5" = 1 ] && echo on || echo off))"
echo "peak RSS: client $client_mib MiB (target < $client_limit_mib), server $server_mib MiB (target < $server_limit_mib)"

if [ "${UPLOADS_BENCH_ASSERT:-}" = 1 ]; then
	fail=0
	[ "$client_kib" -lt $((client_limit_mib * 1024)) ] || { echo "FAIL: client peak $client_mib MiB" >&2; fail=1; }
	[ "$server_kib" -lt $((server_limit_mib * 1024)) ] || { echo "FAIL: server peak $server_mib MiB" >&2; fail=1; }
	exit "$fail"
fi

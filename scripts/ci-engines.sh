#!/usr/bin/env bash
# Installs and starts, on loopback, the engines the networked store's tests need: PostgreSQL
# (Debian's package) and an S3-compatible server (versitygw), and exports where they are:
#
#   UPLOADS_TEST_DATABASE_URL    postgres://… of an empty database
#   UPLOADS_TEST_S3_ENDPOINT     host:port of the S3 server (plain HTTP)
#   UPLOADS_TEST_S3_BUCKET       a bucket that exists
#   UPLOADS_TEST_S3_ACCESS_KEY   its credentials
#   UPLOADS_TEST_S3_SECRET_KEY
#
# Two ways to use it:
#
#   source scripts/ci-engines.sh      # engines run until this shell exits (an EXIT trap stops them)
#   make test
#
#   bash scripts/ci-engines.sh make test   # runs the command with the engines, then stops them
#
# Everything lives in a temporary directory removed at the end. versitygw is built once into
# $(go env GOPATH)/bin (about two minutes) and reused. Set UPLOADS_ENGINES_NO_INSTALL=1 to fail
# instead of installing missing engines.

VERSITYGW_VERSION=v1.8.0

# _ce_die reports why the engines could not start.
_ce_die() {
	echo "ci-engines: $*" >&2
	return 1
}

# _ce_free_port prints a TCP port on 127.0.0.1 that nothing listens on.
_ce_free_port() {
	local port i
	for i in $(seq 1 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	_ce_die "no free port found"
}

# _ce_wait_port waits until something listens on 127.0.0.1:$1, for at most $2 seconds.
_ce_wait_port() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# _ce_as_pg runs a command as the PostgreSQL user when this shell is root (initdb refuses root).
_ce_as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# _ce_pg_bin finds the directory holding initdb and pg_ctl, installing PostgreSQL if needed.
_ce_pg_bin() {
	local dir
	dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$dir" ]; then
		[ -z "${UPLOADS_ENGINES_NO_INSTALL:-}" ] || { _ce_die "PostgreSQL is not installed"; return 1; }
		echo "ci-engines: installing PostgreSQL from Debian's packages" >&2
		local sudo=""
		[ "$(id -u)" = 0 ] || sudo=sudo
		$sudo apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2 ||
			{ _ce_die "apt-get install postgresql failed"; return 1; }
		dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	fi
	[ -x "$dir/initdb" ] || { _ce_die "no initdb under /usr/lib/postgresql"; return 1; }
	echo "$dir"
}

# _ce_start_postgres creates a throwaway cluster in $CI_ENGINES_DIR/pg and starts it on loopback.
_ce_start_postgres() {
	local bin port data
	bin=$(_ce_pg_bin) || return 1
	data="$CI_ENGINES_DIR/pg"
	mkdir -p "$data"
	[ "$(id -u)" != 0 ] || chown postgres: "$CI_ENGINES_DIR" "$data"
	_ce_as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-sync >"$CI_ENGINES_DIR/initdb.log" 2>&1 ||
		{ cat "$CI_ENGINES_DIR/initdb.log" >&2; _ce_die "initdb failed"; return 1; }
	port=$(_ce_free_port) || return 1
	# Durability off: a test cluster is thrown away, and this keeps tests fast.
	_ce_as_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 30 start \
		-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$data' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >&2 ||
		{ cat "$data/server.log" >&2; _ce_die "PostgreSQL did not start"; return 1; }
	CI_ENGINES_PG_CTL="$bin/pg_ctl"
	"$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE uploads_test" >&2 ||
		{ _ce_die "could not create the test database"; return 1; }
	export UPLOADS_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/uploads_test?sslmode=disable"
}

# _ce_versitygw prints the path of the versitygw binary, building it once if needed.
_ce_versitygw() {
	local gobin
	gobin="$(go env GOBIN)"
	[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
	if [ -x "$gobin/versitygw" ] && go version -m "$gobin/versitygw" 2>/dev/null | grep -q "versitygw[[:space:]]*$VERSITYGW_VERSION"; then
		echo "$gobin/versitygw"
		return 0
	fi
	[ -z "${UPLOADS_ENGINES_NO_INSTALL:-}" ] || { _ce_die "versitygw is not installed in $gobin"; return 1; }
	echo "ci-engines: building versitygw $VERSITYGW_VERSION (about two minutes, once)" >&2
	# Outside the module: its dependencies are not ours.
	(cd / && GOFLAGS= go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION") >&2 ||
		{ _ce_die "go install versitygw failed"; return 1; }
	echo "$gobin/versitygw"
}

# _ce_start_s3 starts versitygw on loopback over a directory and creates the test bucket.
_ce_start_s3() {
	local gw port dir
	gw=$(_ce_versitygw) || return 1
	port=$(_ce_free_port) || return 1
	dir="$CI_ENGINES_DIR/s3"
	mkdir -p "$dir"
	export UPLOADS_TEST_S3_ACCESS_KEY=uploadstest
	export UPLOADS_TEST_S3_SECRET_KEY=uploadstest-secret
	export UPLOADS_TEST_S3_BUCKET=uploads-test
	export UPLOADS_TEST_S3_ENDPOINT="127.0.0.1:$port"
	ROOT_ACCESS_KEY="$UPLOADS_TEST_S3_ACCESS_KEY" ROOT_SECRET_KEY="$UPLOADS_TEST_S3_SECRET_KEY" \
		"$gw" --port "127.0.0.1:$port" posix "$dir" >"$CI_ENGINES_DIR/versitygw.log" 2>&1 &
	CI_ENGINES_S3_PID=$!
	_ce_wait_port "$port" 30 || { cat "$CI_ENGINES_DIR/versitygw.log" >&2; _ce_die "versitygw did not start"; return 1; }
	# The SHA-256 of an empty body: versitygw requires the header.
	curl -fsS -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
		-H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
		--user "$UPLOADS_TEST_S3_ACCESS_KEY:$UPLOADS_TEST_S3_SECRET_KEY" \
		"http://$UPLOADS_TEST_S3_ENDPOINT/$UPLOADS_TEST_S3_BUCKET" >&2 ||
		{ _ce_die "could not create bucket $UPLOADS_TEST_S3_BUCKET"; return 1; }
}

# ci_engines_stop stops the engines and removes their files. It is safe to call twice.
ci_engines_stop() {
	if [ -n "${CI_ENGINES_S3_PID:-}" ]; then
		kill "$CI_ENGINES_S3_PID" 2>/dev/null || true
		wait "$CI_ENGINES_S3_PID" 2>/dev/null || true
		CI_ENGINES_S3_PID=
	fi
	if [ -n "${CI_ENGINES_PG_CTL:-}" ]; then
		_ce_as_pg "$CI_ENGINES_PG_CTL" -D "$CI_ENGINES_DIR/pg" -m immediate stop >/dev/null 2>&1 || true
		CI_ENGINES_PG_CTL=
	fi
	if [ -n "${CI_ENGINES_DIR:-}" ]; then
		rm -rf "$CI_ENGINES_DIR" || true
		CI_ENGINES_DIR=
	fi
}

# ci_engines_start starts both engines and exports the UPLOADS_TEST_* variables.
ci_engines_start() {
	CI_ENGINES_DIR=$(mktemp -d "${TMPDIR:-/tmp}/uploads-engines.XXXXXX") || return 1
	chmod 755 "$CI_ENGINES_DIR"
	_ce_start_postgres && _ce_start_s3 || { ci_engines_stop; return 1; }
	echo "ci-engines: PostgreSQL at $UPLOADS_TEST_DATABASE_URL, S3 at http://$UPLOADS_TEST_S3_ENDPOINT/$UPLOADS_TEST_S3_BUCKET" >&2
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
	# Sourced: start, and stop when the sourcing shell exits.
	trap ci_engines_stop EXIT
	# A signal ends the shell through exit, so the EXIT trap runs (bash skips it otherwise).
	trap 'exit 130' INT
	trap 'exit 143' TERM
	ci_engines_start || return 1
else
	set -uo pipefail
	[ $# -gt 0 ] || { echo "usage: $0 command [args...]   (or: source $0)" >&2; exit 2; }
	trap ci_engines_stop EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	ci_engines_start || exit 1
	"$@"
	exit $?
fi

#!/usr/bin/env bash
# Builds the same five-line program (create a client, cancel an upload, print its status) twice:
# once on this module, once on the official Go SDK (openai-go, at the version go.mod pins for the
# tests), and prints each binary's size and the modules `go mod tidy` adds to the program's go.mod.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sdk_version=$(cd "$root" && go list -m -f '{{.Version}}' github.com/openai/openai-go/v3)
go_version=$(cd "$root" && go list -m -f '{{.GoVersion}}' github.com/uploadkit/uploads)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

probe() { # name, import, go.mod requirements, body
	mkdir -p "$tmp/$1"
	printf 'package main\n\nimport (\n\t"context"\n\t"fmt"\n\t"log"\n\n\t"%s"\n)\n\nfunc main() {\n%s\n}\n' "$2" "$4" >"$tmp/$1/main.go"
	printf 'module probe\n\ngo %s\n\n%s\n' "$go_version" "$3" >"$tmp/$1/go.mod"
	(cd "$tmp/$1" && go mod tidy >/dev/null 2>&1 && CGO_ENABLED=0 go build -o bin . &&
		size=$(wc -c <bin) &&
		reqs=$(awk '/^require \(/{b=1;next} b&&/^\)/{b=0} b{print $1} /^require [^(]/{print $2}' go.mod | paste -sd' ') &&
		printf '%-10s %5s MB, go.mod requires %d modules: %s\n' "$1" "$(awk -v s="$size" 'BEGIN{printf "%.1f", s/1e6}')" \
			"$(wc -w <<<"$reqs")" "$reqs")
}

probe uploads github.com/uploadkit/uploads \
	"require github.com/uploadkit/uploads v0.0.0
replace github.com/uploadkit/uploads => $root" \
	'	client, err := uploads.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	up, err := client.Cancel(context.Background(), "upload_abc123")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(up.Status)'

probe openai-go github.com/openai/openai-go/v3 \
	"require github.com/openai/openai-go/v3 $sdk_version" \
	'	client := openai.NewClient()
	up, err := client.Uploads.Cancel(context.Background(), "upload_abc123")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(up.Status)'

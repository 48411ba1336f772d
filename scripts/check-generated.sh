#!/usr/bin/env bash
# Regenerates gen/ from openapi/ into a temporary copy of the module and fails, naming the files,
# when the committed gen/ differs from what the spec and generator configs produce.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cp "$root/go.mod" "$root/go.sum" "$root/generate.go" "$tmp/"
cp -R "$root/openapi" "$tmp/openapi"
mkdir -p "$tmp/gen"
(cd "$tmp" && go generate ./)

stale=()
for f in "$tmp"/gen/* "$root"/gen/*; do
  name=$(basename "$f")
  if ! cmp -s "$tmp/gen/$name" "$root/gen/$name"; then
    stale+=("gen/$name")
  fi
done
if ((${#stale[@]})); then
  printf 'gen/ is stale: these files differ from what openapi/ generates:\n' >&2
  printf '  %s\n' $(printf '%s\n' "${stale[@]}" | sort -u) >&2
  printf 'Run `make generate` and commit gen/.\n' >&2
  exit 1
fi
echo "gen/ is up to date with openapi/."

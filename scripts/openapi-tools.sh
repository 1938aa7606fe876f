#!/usr/bin/env bash
# The OpenAPI document through the usual generators, at pinned versions:
# redocly lint must report no error, and oapi-codegen's Go client and
# models must generate and compile. A tool that cannot be fetched (no
# network to its registry) is said and skipped; a document the tools
# refuse fails.
set -euo pipefail
cd "$(dirname "$0")/.."
spec="$PWD/docs/openapi.yaml"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

REDOCLY=@redocly/cli@2.77.0
OAPI=github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2

# redocly: fetched first, so that a fetch failure is told apart.
if command -v npm >/dev/null && (cd "$work" && npm install --silent --no-audit --no-fund --prefix "$work/redocly" "$REDOCLY" >/dev/null 2>&1); then
	"$work/redocly/node_modules/.bin/redocly" lint --format=stylish "$spec"
else
	echo "openapi-tools: SKIPPED redocly lint: $REDOCLY could not be installed (npm or its registry unreachable)" >&2
fi

# oapi-codegen: generated into a module of its own, then compiled.
mkdir -p "$work/gen/client"
cat > "$work/gen/go.mod" <<'MOD'
module oapicheck

go 1.24
MOD
cat > "$work/gen/cfg.yaml" <<'CFG'
package: client
output: client/client.go
generate:
  models: true
  client: true
CFG
if (cd "$work/gen" && GOFLAGS=-mod=mod go run "$OAPI" --version >/dev/null 2>&1); then
	(cd "$work/gen" && GOFLAGS=-mod=mod go run "$OAPI" -config cfg.yaml "$spec" && go mod tidy && go build ./... && go vet ./...)
	echo "openapi-tools: oapi-codegen's client compiles"
else
	echo "openapi-tools: SKIPPED oapi-codegen: $OAPI could not be fetched (module proxy unreachable)" >&2
fi

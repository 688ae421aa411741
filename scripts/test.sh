#!/usr/bin/env bash
# `make test`: install what the tests need, start a throwaway PostgreSQL,
# then vet, format-check and run every test with the race detector,
# including the interop checks (kcat, kafka-go, FHIR.js, fhir-kit-client).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/test-deps.sh

pgdir=$(mktemp -d /tmp/it4ct-pg.XXXXXX)
pgport=${IT4CT_TEST_PG_PORT:-55432}
trap 'scripts/pg.sh stop "$pgdir"' EXIT
export IT4CT_TEST_POSTGRES_DSN
IT4CT_TEST_POSTGRES_DSN=$(scripts/pg.sh start "$pgdir" "$pgport")
export IT4CT_INTEROP=1

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './tools/*'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi
echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 12m ./... 2>&1 | tee /tmp/it4ct-test.log

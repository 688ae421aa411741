.PHONY: test bench demo build fuzz

test: ## install test dependencies, vet, and run all tests (race detector, interop checks)
	bash scripts/test.sh

bench: ## run the benchmarks (see BENCHMARKS.md)
	go test -run=^$$ -bench=. -benchmem ./...

demo: ## run the whole system on embedded defaults
	go run ./cmd/it4ct demo

build:
	go build -o bin/it4ct ./cmd/it4ct

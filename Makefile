# The two commands a developer needs: `make dev` and `make test`.
.PHONY: dev test fuzz browser clients verifiers emulate build bench import-bench

PORT ?= 3000
BACKEND ?= memory

## dev: the whole API on 127.0.0.1:$(PORT), in-memory store, SMS on the console
dev:
	PORT=$(PORT) BACKEND=$(BACKEND) cargo run --locked -p dev-server --bin dev-server

## test: pinned tools in .venv, moto on loopback, fmt, clippy and every test
test:
	scripts/test.sh

## fuzz: schemathesis from openapi.yaml against a dev server (FUZZ_EXAMPLES, FUZZ_SEED)
fuzz:
	scripts/fuzz.sh

## browser: the try-it page (GET / of the dev server) through the whole flow in headless Chromium
browser:
	scripts/browser.sh

## clients: a Python client and TypeScript types generated from openapi.yaml, driven against dev servers
clients:
	scripts/clients.sh

## verifiers: our access tokens checked by PyJWT (JWKS) and SimpleJWT (RS256 and HS256), our challenges solved by the altcha library, against dev servers
verifiers:
	scripts/verifiers.sh

## emulate: the Lambda binaries under cargo lambda watch on 127.0.0.1:$(API_PORT), moto on $(MOTO_PORT)
API_PORT ?= 9000
MOTO_PORT ?= 5055
emulate:
	API_PORT=$(API_PORT) MOTO_PORT=$(MOTO_PORT) scripts/emulate.sh

## build: release bootstraps for Lambda (arm64) with cargo-lambda, and their sizes
build:
	scripts/build.sh

## bench: cold start, peak RSS, sizes and round trips of every function (docs/BENCHMARKS.md)
bench:
	scripts/bench.sh

## import-bench: import-django with 100,000 generated users into a moto of its own: rows/s and peak RSS
import-bench:
	scripts/import_bench.sh

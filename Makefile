# The two commands a developer needs: `make dev` and `make test`.
.PHONY: dev test

PORT ?= 3000
BACKEND ?= memory

## dev: the whole API on 127.0.0.1:$(PORT), in-memory store, SMS on the console
dev:
	PORT=$(PORT) BACKEND=$(BACKEND) cargo run --locked --bin dev-server

## test: pinned tools in .venv, moto on loopback, fmt, clippy and every test
test:
	scripts/test.sh

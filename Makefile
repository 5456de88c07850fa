# Ferry: `make run` and `make test` install what they need first (apt packages with sudo when not
# root, Rust components), so they work on a fresh Debian/Ubuntu machine with rustup.

SHELL := /bin/bash
APT_PACKAGES := build-essential pkg-config
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FERRY_STATE_DIR ?= $(HOME)/.local/share/ferry

.PHONY: run test lint deps rust-tools

deps: rust-tools
	@if command -v apt-get >/dev/null 2>&1; then \
		missing=""; \
		for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
		if [ -n "$$missing" ]; then \
			echo "installing system packages:$$missing"; \
			$(SUDO) apt-get update -qq && \
			$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		fi; \
	else \
		echo "note: no apt-get here; make sure a C compiler and pkg-config are installed"; \
	fi

rust-tools:
	@command -v cargo >/dev/null 2>&1 || { echo "Rust is missing: install it with rustup (https://rustup.rs), then run make again"; exit 1; }
	@if command -v rustup >/dev/null 2>&1; then \
		rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt; \
		rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy; \
	fi

# Every test: unit tests and integration tests against a real S3 server started in-process.
test: deps
	cargo test --locked

lint: deps
	cargo fmt --all -- --check
	cargo clippy --all-targets --locked -- -D warnings

# Until the desktop app lands, `make run` starts the embedded S3 endpoint and shows how to use it.
run: deps
	cargo build --locked --release --bin ferry
	@echo
	@echo "Starting Ferry's local S3 endpoint (Ctrl-C stops it). In another terminal, try:"
	@echo "  target/release/ferry --account local cp README.md s3://ferry/"
	@echo "  target/release/ferry --account local ls s3://ferry/"
	@echo "  target/release/ferry --account local presign s3://ferry/README.md --expires-in 1h"
	@echo
	FERRY_STATE_DIR=$(FERRY_STATE_DIR) target/release/ferry serve-local

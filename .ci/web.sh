#!/usr/bin/env bash
# The browser page (examples/web): builds the wasm module (simd128, and a scalar one),
# then checks both in Node (golden CRCs of seeds 0-7, the corrupt-blob error text, µs per
# digit) and the page in headless Debian Chromium through playwright-core (canvas pixels'
# CRCs, clicks, sliders, a corrupt blob dropped, a screenshot at target/web-screenshot.png).
# First, vae-core's unit tests compiled for wasm32 with simd128 (wasm32-wasip1, a debug
# build: overflow checks on) run under Node's WASI: the simd128 kernels against the
# portable ones and the golden bytes, on 32-bit usize.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown wasm32-wasip1 >/dev/null 2>&1 || true
RUSTFLAGS="-C target-feature=+simd128" \
  CARGO_TARGET_WASM32_WASIP1_RUNNER="node --no-warnings $PWD/examples/web/test/wasi.mjs" \
  cargo test -p vae-core --lib --target wasm32-wasip1 -- --test-threads=1
if ! command -v chromium >/dev/null; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq
  $sudo_ apt-get install -y -qq --no-install-recommends chromium
fi
(cd examples/web && npm ci --no-audit --no-fund --loglevel=error)
(cd examples/web && CARGO_TARGET_DIR="$PWD/target" cargo clippy --release --quiet -- -D warnings)
env -u CARGO_TARGET_DIR examples/web/build.sh
node examples/web/test/node.mjs examples/web/dist/vae.wasm examples/web/target/vae-scalar.wasm
CHROMIUM="$(command -v chromium)" node examples/web/test/browser.mjs

#!/usr/bin/env bash
# The browser page (examples/web): builds the wasm module (simd128, and a scalar one),
# then checks both in Node (golden CRCs of seeds 0-7, the corrupt-blob error text, µs per
# digit) and the page in headless Debian Chromium through playwright-core (canvas pixels'
# CRCs, clicks, sliders, a corrupt blob dropped, a screenshot at target/web-screenshot.png).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
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

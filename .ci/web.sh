#!/usr/bin/env bash
# The browser page (examples/web): builds the wasm modules (simd128, relaxed SIMD, and a
# scalar one), checks the page's size budgets (test/size.mjs), then the modules in Node
# (golden CRCs of seeds 0-7, the corrupt-blob error text, µs per digit) and the page in
# headless Debian Chromium through playwright-core (canvas pixels' CRCs, clicks, sliders, a
# corrupt blob dropped, a screenshot at target/web-screenshot.png).
# First, vae-core's unit tests compiled for wasm32 with simd128, then with relaxed SIMD too
# (wasm32-wasip1, debug builds: overflow checks on), run under Node's WASI: the wasm
# kernels against the portable ones and the golden bytes, on 32-bit usize. Node 20 runs
# relaxed SIMD behind --experimental-wasm-relaxed-simd (Chromium by default).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown wasm32-wasip1 >/dev/null 2>&1 || true
RUSTFLAGS="-C target-feature=+simd128" \
  CARGO_TARGET_WASM32_WASIP1_RUNNER="node --no-warnings $PWD/examples/web/test/wasi.mjs" \
  cargo test -p vae-core --lib --target wasm32-wasip1 -- --test-threads=1
RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" \
  CARGO_TARGET_WASM32_WASIP1_RUNNER="node --no-warnings --experimental-wasm-relaxed-simd $PWD/examples/web/test/wasi.mjs" \
  cargo test -p vae-core --lib --target wasm32-wasip1 -- --test-threads=1
# Lints of the wasm kernels, which the host's clippy does not compile.
for features in +simd128 +simd128,+relaxed-simd; do
  RUSTFLAGS="-C target-feature=$features" \
    cargo clippy -p vae-core --target wasm32-unknown-unknown --lib --tests -- -D warnings
done
if ! command -v chromium >/dev/null; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq
  $sudo_ apt-get install -y -qq --no-install-recommends chromium
fi
(cd examples/web && npm ci --no-audit --no-fund --loglevel=error)
(cd examples/web && CARGO_TARGET_DIR="$PWD/target" cargo clippy --release --quiet -- -D warnings)
env -u CARGO_TARGET_DIR examples/web/build.sh
node examples/web/test/size.mjs
node --experimental-wasm-relaxed-simd examples/web/test/node.mjs examples/web/dist/vae.wasm \
  examples/web/dist/vae-relaxed.wasm examples/web/target/vae-scalar.wasm
# And without the flag: an engine without relaxed SIMD, where the page's probe must say no.
node examples/web/test/node.mjs examples/web/dist/vae.wasm
CHROMIUM="$(command -v chromium)" node examples/web/test/browser.mjs

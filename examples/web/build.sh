#!/usr/bin/env bash
# Builds the page into examples/web/dist/ (index.html, main.js, vae.js, vae.wasm,
# vae-relaxed.wasm, decoder.bin, and decoder-cond.bin and decoder-z2.bin, fetched when the
# page's conditional or 2-D model is chosen): serve it with
# `python3 -m http.server -d examples/web/dist`.
# vae-relaxed.wasm is the same decoder built with relaxed SIMD as well (i8 columns, four
# inputs per step); the page loads it where the browser validates relaxed SIMD, else
# vae.wasm (simd128 only).
# Also builds the scalar module (without simd128) into target/vae-scalar.wasm for the tests.
# wasm-opt (npm binaryen) and esbuild (minifies main.js and vae.js) are used when installed
# (`npm ci` in examples/web).
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="$PWD/target"
cargo build --release --quiet
RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" cargo build --release --quiet --target-dir target/relaxed
RUSTFLAGS="-C target-feature=-simd128" cargo build --release --quiet --target-dir target/scalar
rm -rf dist && mkdir -p dist
cp www/index.html dist/
if [ -x node_modules/.bin/esbuild ]; then
  # Minified one by one (not bundled: the tests import dist/vae.js's exports).
  for js in main.js vae.js; do
    node_modules/.bin/esbuild "www/$js" --minify --format=esm --target=es2022 --log-level=warning --outfile="dist/$js"
  done
else
  echo "build.sh: no esbuild (run npm ci in examples/web); copying the scripts as written" >&2
  cp www/main.js www/vae.js dist/
fi
cp ../models/decoder.bin ../models/decoder-cond.bin ../models/decoder-z2.bin dist/
simd=target/wasm32-unknown-unknown/release/vae_web.wasm
relaxed=target/relaxed/wasm32-unknown-unknown/release/vae_web.wasm
scalar=target/scalar/wasm32-unknown-unknown/release/vae_web.wasm
if [ -x node_modules/.bin/wasm-opt ]; then
  node_modules/.bin/wasm-opt -O3 --enable-simd --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals "$simd" -o dist/vae.wasm
  node_modules/.bin/wasm-opt -O3 --enable-simd --enable-relaxed-simd --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals "$relaxed" -o dist/vae-relaxed.wasm
  node_modules/.bin/wasm-opt -O3 --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals "$scalar" -o target/vae-scalar.wasm
else
  echo "build.sh: no wasm-opt (run npm ci in examples/web); copying the modules as built" >&2
  cp "$simd" dist/vae.wasm
  cp "$relaxed" dist/vae-relaxed.wasm
  cp "$scalar" target/vae-scalar.wasm
fi
wc -c dist/* target/vae-scalar.wasm

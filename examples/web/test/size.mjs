// The page's size budgets (the browser-page issue's goals), checked on the built dist/:
// each wasm module at most 25 KB (a visit loads one), HTML + JS at most 15 KB, and what a
// visit loads (HTML, JS, the larger module, the default blob) at most 350 KB; KB = 1024
// bytes, as the page itself counts. Prints each size and its gzip -9 size.
// Usage: node test/size.mjs   (after ./build.sh)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const KB = 1024;
const dist = (name) => fileURLToPath(new URL(`../dist/${name}`, import.meta.url));
const size = (names) => {
  const bytes = names.map((n) => readFileSync(dist(n)));
  const raw = bytes.reduce((sum, b) => sum + b.length, 0);
  const gzip = gzipSync(Buffer.concat(bytes), { level: 9 }).length;
  return { raw, gzip };
};

let failed = 0;
const budget = (what, names, limitKb) => {
  const { raw, gzip } = size(names);
  const ok = raw <= limitKb * KB;
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}: ${raw.toLocaleString('en')} B (gzip ${gzip.toLocaleString('en')} B), budget ${limitKb} KB`);
  return raw;
};

const page = ['index.html', 'main.js', 'vae.js'];
const modules = ['vae.wasm', 'vae-relaxed.wasm'];
for (const m of modules) budget(m, [m], 25);
budget('HTML + JS', page, 15);
const larger = modules.reduce((a, b) => (size([a]).raw >= size([b]).raw ? a : b));
budget(`a visit (HTML + JS + ${larger} + decoder.bin)`, [...page, larger, 'decoder.bin'], 350);
process.exit(failed ? 1 : 0);

// The page: a grid of seeds, a temperature slider, digit buttons for a conditional blob,
// latent exploration (a 2-D pad, or sliders), and blob loading by drop or file input.
import { fetchVae } from './vae.js';

const $ = (id) => document.getElementById(id);
const CELLS = 16;
const [vae, moduleFile] = await fetchVae();
document.body.dataset.module = moduleFile;
let good = null; // the last blob that loaded, restored after a bad one
let seeds = [...Array(CELLS).keys()];
let digit = null;
let temperature = 1;
let explore = { x: 0, y: 0, mix: 0, along: [0, 0, 0] };
let axes = []; // the prior's principal axes, { v, sigma }, largest spread first

function draw(canvas, pixels) {
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) img.data.set([pixels[i], pixels[i], pixels[i], 255], 4 * i);
  ctx.putImageData(img, 0, 0);
}

let timedAt = -Infinity;
let best = Infinity; // the best reading for the loaded blob
let loads = 0; // counts blob loads, so that a timer set for an earlier blob does nothing
function timing(z) {
  // At most twice a second: 1,500 decodes take about 10-20 ms.
  if (performance.now() - timedAt < 500) return;
  // The best of three calls of 500 (the browser's clock ticks as coarsely as 0.1 ms), and
  // of every reading since the blob loaded: V8 first runs wasm from its baseline compiler
  // (1.6-2.2x slower) and swaps in the optimised code between calls once its background
  // compile is done, and a shared machine's speed comes and goes.
  best = Math.min(best, vae.time(z, digit, 500, 3));
  timedAt = performance.now();
  $('timing').textContent = `decode: ${best.toFixed(1)} µs per digit (${vae.macs.toLocaleString('en')} multiply-adds, wasm ${moduleFile === 'vae.wasm' ? 'simd128' : 'relaxed SIMD'})`;
  $('timing').dataset.us = best;
}

// Times a new blob again 0.25, 0.5, 1 and 2 seconds after it loads, then marks the
// reading settled (data-settled, which the browser test waits for).
function retime() {
  const load = ++loads;
  delete $('timing').dataset.settled;
  for (const ms of [250, 500, 1000, 2000]) {
    setTimeout(() => {
      if (load !== loads) return;
      timedAt = -Infinity;
      timing(vae.prior(seeds[0], temperature));
      if (ms === 2000) $('timing').dataset.settled = '1';
    }, ms);
  }
}

function grid() {
  const cells = $('grid').children;
  for (let i = 0; i < CELLS; i++) draw(cells[i], vae.decode(vae.prior(seeds[i], temperature), digit));
  timing(vae.prior(seeds[0], temperature));
}

// The explorer's latent: a point of the pad (latent 2), else the interpolation between
// the first two seeds' latents, moved along the prior's principal axes (slider value x
// the axis's standard deviation).
function exploreLatent() {
  if (vae.latent === 2) return Float32Array.of(explore.x, explore.y);
  const a = vae.prior(seeds[0], temperature), b = vae.prior(seeds[1], temperature);
  return a.map((v, i) => axes.reduce((z, { v: axis, sigma }, k) => z + explore.along[k] * sigma * axis[i], v + explore.mix * (b[i] - v)));
}

// The principal axes of the prior: the leading eigenvectors of the covariance of 512 of
// its samples (seeds 0-511, temperature 1), by power iteration and deflation, each with its
// standard deviation; signs fixed by the largest component.
function principalAxes(count) {
  const n = 512, d = vae.latent;
  const zs = Array.from({ length: n }, (_, s) => vae.prior(s, 1));
  const mean = Array.from({ length: d }, (_, i) => zs.reduce((m, z) => m + z[i], 0) / n);
  const cov = mean.map((mi, i) => mean.map((mj, j) => zs.reduce((c, z) => c + (z[i] - mi) * (z[j] - mj), 0) / n));
  const found = [];
  for (let k = 0; k < Math.min(count, d); k++) {
    let v = mean.map((_, i) => 1 + i / d), lambda = 0;
    for (let it = 0; it < 300; it++) {
      const w = cov.map((row) => row.reduce((sum, c, j) => sum + c * v[j], 0));
      lambda = Math.hypot(...w);
      v = w.map((x) => x / lambda);
    }
    const sign = Math.sign(v.reduce((a, x) => (Math.abs(x) > Math.abs(a) ? x : a), 0)) || 1;
    v = v.map((x) => sign * x);
    found.push({ v, sigma: Math.sqrt(lambda) });
    cov.forEach((row, i) => row.forEach((_, j) => { row[j] -= lambda * v[i] * v[j]; }));
  }
  return found;
}

function big() {
  const z = exploreLatent();
  $('big').dataset.latent = Array.from(z).join(',');
  draw($('big'), vae.decode(z, digit));
}

// The 2-D pad spans latents -reach..reach on both axes (y upwards) over PAD x PAD pixels,
// reach being where the prior's samples end (97% of their coordinates inside; the learned
// priors spread their clusters well past 3), under a map of the plane: the digits decoded
// at the centres of its SIDE x SIDE squares, 28 px each.
const PAD = 224, SIDE = PAD / 28;
let reach = 3, padMap = null;
function padReach() {
  const coords = [];
  for (let seed = 0; seed < 256; seed++) for (const v of vae.prior(seed, 1)) coords.push(Math.abs(v));
  coords.sort((a, b) => a - b);
  return Math.max(1, Math.ceil(2 * coords[Math.floor(0.97 * coords.length)]) / 2);
}
function mapPad() {
  const ctx = $('pad').getContext('2d');
  const at = (k) => -reach + (k + 0.5) * (2 * reach / SIDE);
  for (let row = 0; row < SIDE; row++) {
    for (let col = 0; col < SIDE; col++) {
      const pixels = vae.decode(Float32Array.of(at(col), -at(row)), digit);
      const img = ctx.createImageData(28, 28);
      for (let i = 0; i < 784; i++) img.data.set([pixels[i], pixels[i], pixels[i], 255], 4 * i);
      ctx.putImageData(img, col * 28, row * 28);
    }
  }
  padMap = ctx.getImageData(0, 0, PAD, PAD);
}
function drawPad() {
  const ctx = $('pad').getContext('2d');
  ctx.putImageData(padMap, 0, 0);
  ctx.fillStyle = '#e33';
  ctx.beginPath();
  ctx.arc((explore.x + reach) / (2 * reach) * PAD, (reach - explore.y) / (2 * reach) * PAD, 5, 0, 7);
  ctx.fill();
  $('pad').dataset.point = `${explore.x},${explore.y}`;
}
function render() {
  grid();
  big();
  if (vae.latent === 2) drawPad();
}

function setup() {
  const conditional = vae.classes > 0;
  digit = conditional ? (digit ?? 0) % vae.classes : null;
  temperature = vae.defaultTemperature(conditional);
  $('temperature').value = temperature;
  $('tval').value = temperature;
  const digits = $('digits');
  digits.classList.toggle('hide', !conditional);
  digits.replaceChildren(...[...Array(vae.classes).keys()].map((d) => {
    const b = document.createElement('button');
    b.textContent = d;
    b.className = d === digit ? 'on' : '';
    b.onclick = () => {
      digit = d;
      for (const o of digits.children) o.className = o === b ? 'on' : '';
      if (vae.latent === 2) mapPad(); // the map is the blob's and the digit's
      render();
    };
    return b;
  }));
  $('pad').classList.toggle('hide', vae.latent !== 2);
  if (vae.latent === 2) {
    reach = padReach();
    $('pad').dataset.reach = reach;
    explore.x = explore.y = 0;
    mapPad();
  }
  const sliders = $('sliders');
  sliders.replaceChildren();
  if (vae.latent !== 2) {
    const slider = (text, min, max, value, set) => {
      const l = document.createElement('label');
      const s = Object.assign(document.createElement('input'), { type: 'range', min, max, step: 0.01, value });
      s.oninput = () => { set(Number(s.value)); big(); };
      l.append(text + ' ', s);
      sliders.append(l);
    };
    slider('seed A → B', 0, 1, explore.mix, (v) => { explore.mix = v; });
    axes = principalAxes(3);
    sliders.dataset.axes = JSON.stringify(axes);
    axes.forEach(({ sigma }, k) => slider(`axis ${k + 1} (σ ${sigma.toFixed(2)})`, -3, 3, explore.along[k], (v) => { explore.along[k] = v; }));
  }
  $('status').textContent = `${good.name}: ${(good.bytes.length / 1024).toFixed(0)} KB, latent ${vae.latent}, ` +
    (conditional ? `${vae.classes} classes` : 'unconditional');
  render();
}

function load(bytes, name) {
  try {
    vae.load(bytes);
    good = { bytes, name };
    seeds = [...Array(CELLS).keys()]; // a new blob starts from seeds 0-15
    timedAt = -Infinity; // and is timed at once, and again until settled
    best = Infinity;
    retime();
    $('error').textContent = '';
    setup();
  } catch (e) {
    $('error').textContent = `${name}: ${e.message}`;
    if (good) vae.load(good.bytes); // the wasm dropped the old model: load it again
  }
}

const grid0 = $('grid');
for (let i = 0; i < CELLS; i++) {
  const c = Object.assign(document.createElement('canvas'), { width: 28, height: 28, title: 'click: new seed' });
  c.onclick = () => {
    seeds[i] = (Math.random() * 2 ** 32) >>> 0;
    draw(c, vae.decode(vae.prior(seeds[i], temperature), digit));
    if (i < 2) big();
  };
  grid0.append(c);
}
$('temperature').oninput = (e) => { temperature = Number(e.target.value); $('tval').value = temperature; render(); };
const pad = $('pad');
pad.onpointermove = (e) => {
  if (!e.buttons) return;
  const r = pad.getBoundingClientRect();
  const clamp = (v) => Math.max(-reach, Math.min(reach, v));
  explore.x = clamp(((e.clientX - r.left) / r.width) * 2 * reach - reach);
  explore.y = clamp(reach - ((e.clientY - r.top) / r.height) * 2 * reach);
  drawPad();
  big();
};
pad.onpointerdown = pad.onpointermove;
const file = async (f) => load(new Uint8Array(await f.arrayBuffer()), f.name);
// The two shipped blobs; the conditional one is fetched only when asked for.
const fetched = async (name) => load(new Uint8Array(await (await fetch(name)).arrayBuffer()), name);
for (const b of document.querySelectorAll('#models button')) b.onclick = () => fetched(b.dataset.blob);
$('file').onchange = (e) => e.target.files[0] && file(e.target.files[0]);
document.ondragover = (e) => e.preventDefault();
document.ondrop = (e) => { e.preventDefault(); const f = e.dataTransfer.files[0]; if (f) file(f); };

await fetched('decoder.bin');
document.body.dataset.ready = '1';

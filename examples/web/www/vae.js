// vae-core's wasm module, wrapped for the page and the Node test (no dependencies).

// Whether this engine runs relaxed SIMD: a module of one function that uses
// i16x8.relaxed_dot_i8x16_i7x16_s validates. The page then loads vae-relaxed.wasm (the same
// bytes, faster), else vae.wasm (simd128 only).
const v128Zero = [0xfd, 0x0c, ...Array(16).fill(0)];
export const relaxedSimd = WebAssembly.validate(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
  1, 5, 1, 0x60, 0, 1, 0x7b, 3, 2, 1, 0, 10, 0x2b, 1, 0x29, 0, ...v128Zero, ...v128Zero, 0xfd, 0x92, 0x02, 0x0b]));
// The module files to try, best first.
export const moduleFiles = relaxedSimd ? ['vae-relaxed.wasm', 'vae.wasm'] : ['vae.wasm'];

// The first of moduleFiles that fetches and instantiates (a server without the relaxed
// build still serves the page): [Vae, file name].
export async function fetchVae() {
  let error;
  for (const file of moduleFiles) {
    try {
      const response = await fetch(file);
      if (!response.ok) throw new Error(`${file}: HTTP ${response.status}`);
      return [await Vae.create(await response.arrayBuffer()), file];
    } catch (e) { error = e; }
  }
  throw error;
}

export class Vae {
  static async create(wasmBytes) {
    const { instance } = await WebAssembly.instantiate(wasmBytes, {});
    return new Vae(instance.exports);
  }
  constructor(exports) { this.x = exports; }
  bytes(ptr, len) { return new Uint8Array(this.x.memory.buffer, ptr, len); }
  error() { return new TextDecoder().decode(this.bytes(this.x.error_ptr(), this.x.error_len()).slice()); }
  check(rc) { if (rc !== 0) throw new Error(this.error()); }
  // Parses a blob (ArrayBuffer or Uint8Array); throws the vae_core::Error text on failure.
  load(blob) {
    const src = new Uint8Array(blob);
    const ptr = this.x.blob_buffer(src.length);
    if (ptr === 0) throw new Error(`blob of ${src.length} bytes is larger than this page accepts`);
    this.bytes(ptr, src.length).set(src);
    this.check(this.x.load(src.length));
    this.latent = this.x.latent_dim();
    this.classes = this.x.classes();
    this.macs = this.x.macs();
  }
  defaultTemperature(withDigit) { return this.x.default_temperature(withDigit ? 1 : 0); }
  z() { return new Float32Array(this.x.memory.buffer, this.x.latent_ptr(), this.latent); }
  // The prior's latent for a seed (a copy).
  prior(seed, temperature) { this.check(this.x.prior(seed >>> 0, temperature)); return this.z().slice(); }
  // Decodes latent z (digit: null or 0-9) into a copy of the 784 pixels.
  decode(z, digit = null) {
    this.z().set(z);
    this.check(this.x.decode(digit ?? -1));
    return this.bytes(this.x.image_ptr(), 784).slice();
  }
  // Microseconds per decode of z: the best of `rounds` calls of n decodes each (the
  // engine compiles hot wasm again in the background; a call keeps the code it began with).
  time(z, digit = null, n = 200, rounds = 1, now = () => performance.now()) {
    this.z().set(z);
    let best = Infinity;
    for (let r = 0; r < rounds; r++) {
      const t0 = now();
      this.check(this.x.decode_repeat(n, digit ?? -1));
      best = Math.min(best, (now() - t0) * 1000 / n);
    }
    return best;
  }
}

const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

// CRC-32 (IEEE, as zlib) of bytes, as 8 hex digits.
export function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return ((c ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}

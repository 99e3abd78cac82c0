//! The blob's checksum: CRC-32/IEEE, four bits per table lookup.
//!
//! A 16-entry table (64 bytes) instead of the usual 256 entries (1 KB): flash and wasm
//! size matter more here than speed, since a blob is checked once, when it is loaded.

/// CRC-32 of each 4-bit value (reflected polynomial `0xEDB88320`), built at compile time.
const CRC_NIBBLE_TABLE: [u32; 16] = {
    let mut table = [0u32; 16];
    let mut i = 0;
    while i < 16 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 4 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32/IEEE (as in zlib, PNG, Ethernet): reflected, init and final XOR `0xFFFFFFFF`.
/// `crc32(b"123456789") == 0xCBF43926`.
pub fn crc32(data: &[u8]) -> u32 {
    let step =
        |crc: u32, nibble: u32| CRC_NIBBLE_TABLE[((crc ^ nibble) & 0xF) as usize] ^ (crc >> 4);
    let mut crc = !0u32;
    for &byte in data {
        crc = step(crc, u32::from(byte));
        crc = step(crc, u32::from(byte) >> 4);
    }
    !crc
}

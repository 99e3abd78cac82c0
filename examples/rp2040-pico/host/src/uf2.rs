//! ELF -> UF2 for the RP2040: the loadable bytes of the firmware (what `PT_LOAD` program
//! headers put in flash) in 256-byte pages, one page per 512-byte UF2 block.
//!
//! UF2 (<https://github.com/microsoft/uf2>): each block holds two start magics, flags, the
//! target address, the payload size (256), the block number, the number of blocks, the
//! family ID (the flag `0x2000` says the field is one), 476 data bytes (256 used), and an
//! end magic. The RP2040 boot ROM accepts only pages inside its XIP flash window.
use std::{collections::BTreeMap, fmt};

/// UF2 family ID of the RP2040.
pub const RP2040_FAMILY: u32 = 0xe48b_ff56;
/// Bytes of one UF2 block.
pub const BLOCK: usize = 512;
/// Payload bytes of one block: a flash page.
pub const PAGE: u32 = 256;
/// The RP2040's flash window (XIP), where UF2 pages must go.
pub const FLASH: core::ops::Range<u32> = 0x1000_0000..0x1100_0000;

const MAGIC_START0: u32 = 0x0A32_4655;
const MAGIC_START1: u32 = 0x9E5D_5157;
const MAGIC_END: u32 = 0x0AB1_6F30;
const FLAG_FAMILY_ID: u32 = 0x0000_2000;
const PT_LOAD: u32 = 1;

/// Why an ELF file cannot become a UF2 file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Not a 32-bit little-endian ELF file, or cut short.
    NotElf32,
    /// A program header points outside the file.
    Truncated,
    /// A loadable segment lies (partly) outside the flash window.
    OutsideFlash {
        /// Load address of the segment.
        address: u32,
        /// Its size in the file.
        size: u32,
    },
    /// No loadable bytes at all.
    Empty,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotElf32 => f.write_str("not a 32-bit little-endian ELF file"),
            Self::Truncated => f.write_str("the ELF file is cut short"),
            Self::OutsideFlash { address, size } => write!(
                f,
                "a segment of {size} bytes at {address:#010x} is outside the RP2040's flash \
                 ({:#010x}..{:#010x}): is this an RP2040 firmware linked to run from flash?",
                FLASH.start, FLASH.end
            ),
            Self::Empty => f.write_str("the ELF file has nothing to load"),
        }
    }
}

impl std::error::Error for Error {}

fn u16_at(b: &[u8], at: usize) -> Result<u16, Error> {
    let bytes = b.get(at..at + 2).ok_or(Error::NotElf32)?;
    Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, Error> {
    let bytes = b.get(at..at + 4).ok_or(Error::NotElf32)?;
    Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// The flash pages an ELF file loads: page address -> 256 bytes (gaps within a page are
/// zero). Uses the segments' physical (load) addresses, so `.data` comes from its flash
/// copy.
pub fn pages(elf: &[u8]) -> Result<BTreeMap<u32, [u8; PAGE as usize]>, Error> {
    if elf.len() < 52 || elf[..4] != *b"\x7fELF" || elf[4] != 1 || elf[5] != 1 {
        return Err(Error::NotElf32);
    }
    let phoff = u32_at(elf, 28)? as usize;
    let phentsize = usize::from(u16_at(elf, 42)?);
    let phnum = usize::from(u16_at(elf, 44)?);
    let mut pages = BTreeMap::new();
    for i in 0..phnum {
        let ph = phoff.checked_add(i * phentsize).ok_or(Error::Truncated)?;
        if elf.len() < ph.saturating_add(32) {
            return Err(Error::Truncated);
        }
        let (kind, offset, paddr, filesz) = (
            u32_at(elf, ph)?,
            u32_at(elf, ph + 4)? as usize,
            u32_at(elf, ph + 12)?,
            u32_at(elf, ph + 16)?,
        );
        if kind != PT_LOAD || filesz == 0 {
            continue;
        }
        let end = paddr.checked_add(filesz);
        if paddr < FLASH.start || end.is_none_or(|end| end > FLASH.end) {
            return Err(Error::OutsideFlash {
                address: paddr,
                size: filesz,
            });
        }
        let data = elf
            .get(offset..offset + filesz as usize)
            .ok_or(Error::Truncated)?;
        for (i, &byte) in data.iter().enumerate() {
            let address = paddr + i as u32;
            let page = pages
                .entry(address & !(PAGE - 1))
                .or_insert([0u8; PAGE as usize]);
            page[(address % PAGE) as usize] = byte;
        }
    }
    if pages.is_empty() {
        return Err(Error::Empty);
    }
    Ok(pages)
}

/// The UF2 file of an ELF file, for the RP2040.
pub fn elf_to_uf2(elf: &[u8]) -> Result<Vec<u8>, Error> {
    let pages = pages(elf)?;
    let count = pages.len() as u32;
    let mut out = Vec::with_capacity(pages.len() * BLOCK);
    for (number, (address, data)) in pages.iter().enumerate() {
        let header = [
            MAGIC_START0,
            MAGIC_START1,
            FLAG_FAMILY_ID,
            *address,
            PAGE,
            number as u32,
            count,
            RP2040_FAMILY,
        ];
        for word in header {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(data);
        out.resize(out.len() + 476 - PAGE as usize, 0);
        out.extend_from_slice(&MAGIC_END.to_le_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF32 file with the given (load address, bytes) segments.
    fn elf(segments: &[(u32, &[u8])]) -> Vec<u8> {
        let mut f = vec![0u8; 52];
        f[..6].copy_from_slice(b"\x7fELF\x01\x01");
        f[28..32].copy_from_slice(&52u32.to_le_bytes());
        f[42..44].copy_from_slice(&32u16.to_le_bytes());
        f[44..46].copy_from_slice(&(segments.len() as u16).to_le_bytes());
        let mut offset = 52 + 32 * segments.len();
        let mut data = Vec::new();
        for (address, bytes) in segments {
            for word in [
                PT_LOAD,
                offset as u32,
                *address,
                *address,
                bytes.len() as u32,
                bytes.len() as u32,
                5,
                4,
            ] {
                f.extend_from_slice(&word.to_le_bytes());
            }
            data.extend_from_slice(bytes);
            offset += bytes.len();
        }
        f.extend_from_slice(&data);
        f
    }

    fn word(block: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(block[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn segments_become_numbered_pages_with_family_and_magics() {
        let boot: Vec<u8> = (0..=255).collect();
        let text = [0xAAu8; 300]; // crosses into a second page
        let uf2 = elf_to_uf2(&elf(&[(0x1000_0000, &boot), (0x1000_0100, &text)])).unwrap();
        assert_eq!(uf2.len(), 3 * BLOCK);
        for (n, block) in uf2.chunks_exact(BLOCK).enumerate() {
            assert_eq!(word(block, 0), MAGIC_START0);
            assert_eq!(word(block, 4), MAGIC_START1);
            assert_eq!(word(block, 8), FLAG_FAMILY_ID);
            assert_eq!(word(block, 12), 0x1000_0000 + 256 * n as u32);
            assert_eq!(word(block, 16), 256);
            assert_eq!(word(block, 20), n as u32);
            assert_eq!(word(block, 24), 3);
            assert_eq!(word(block, 28), RP2040_FAMILY);
            assert_eq!(word(block, 508), MAGIC_END);
        }
        assert_eq!(&uf2[32..32 + 256], &boot[..]);
        assert!(uf2[BLOCK + 32..BLOCK + 288].iter().all(|&b| b == 0xAA));
        // The third page holds the last 44 bytes, then zeros.
        let third = &uf2[2 * BLOCK + 32..2 * BLOCK + 288];
        assert!(third[..44].iter().all(|&b| b == 0xAA) && third[44..].iter().all(|&b| b == 0));
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert_eq!(elf_to_uf2(b"not an elf"), Err(Error::NotElf32));
        assert_eq!(elf_to_uf2(&elf(&[])), Err(Error::Empty));
        assert_eq!(
            elf_to_uf2(&elf(&[(0x2000_0000, &[1, 2, 3])])),
            Err(Error::OutsideFlash {
                address: 0x2000_0000,
                size: 3
            })
        );
        let mut cut = elf(&[(0x1000_0000, &[1; 64])]);
        cut.truncate(cut.len() - 10);
        assert_eq!(elf_to_uf2(&cut), Err(Error::Truncated));
    }
}

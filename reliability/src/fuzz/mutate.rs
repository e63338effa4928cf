//! A coverage-free mutator: seeded edits of seed inputs, biased towards what
//! breaks binary decoders (length prefixes, varint continuation bits,
//! truncation, splices of two valid inputs).

use crate::rng::Rng;

/// Bytes that often sit on decoder boundaries.
const INTERESTING: [u8; 8] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x64, 0x65, 0x66];

/// One mutated input from `seeds` (never empty), 1..=8 edits deep.
pub fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut out = seeds[rng.index(seeds.len())].clone();
    let edits = 1 + rng.below(8);
    for _ in 0..edits {
        edit(rng, &mut out, seeds);
    }
    out
}

fn edit(rng: &mut Rng, out: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let len = out.len();
    match rng.below(10) {
        // Flip one bit.
        0 if len > 0 => {
            let i = rng.index(len);
            out[i] ^= 1 << rng.below(8);
        }
        // Overwrite a byte with a boundary value.
        1 if len > 0 => {
            let i = rng.index(len);
            out[i] = INTERESTING[rng.index(INTERESTING.len())];
        }
        // Overwrite a byte with anything.
        2 if len > 0 => {
            let i = rng.index(len);
            out[i] = rng.next_u64() as u8;
        }
        // Insert random bytes.
        3 => {
            let at = rng.index(len + 1);
            let n = 1 + rng.index(8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            out.splice(at..at, bytes);
        }
        // Delete a range.
        4 if len > 0 => {
            let at = rng.index(len);
            let n = 1 + rng.index((len - at).min(16));
            out.drain(at..at + n);
        }
        // Truncate.
        5 if len > 0 => out.truncate(rng.index(len)),
        // Duplicate a range in place.
        6 if len > 0 => {
            let at = rng.index(len);
            let n = 1 + rng.index((len - at).min(32));
            let copy = out[at..at + n].to_vec();
            out.splice(at..at, copy);
        }
        // Splice: our head, another seed's tail.
        7 => {
            let other = &seeds[rng.index(seeds.len())];
            let cut = rng.index(len + 1);
            let from = rng.index(other.len() + 1);
            out.truncate(cut);
            out.extend_from_slice(&other[from..]);
        }
        // Insert a varint: huge lengths, maximal continuation runs.
        8 => {
            let at = rng.index(len + 1);
            let value = match rng.below(4) {
                0 => u64::MAX,
                1 => u32::MAX as u64,
                2 => 1 << (7 * (1 + rng.below(9))),
                _ => rng.below(300),
            };
            let mut v = Vec::new();
            tessera_crdt::encoding::write_var_u64(&mut v, value);
            out.splice(at..at, v);
        }
        // Set a byte's continuation bit (turns a length into a longer varint).
        _ if len > 0 => {
            let i = rng.index(len);
            out[i] |= 0x80;
        }
        _ => out.push(rng.next_u64() as u8),
    }
}

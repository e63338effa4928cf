//! The on-disk record format.
//!
//! ```text
//! offset  size  field
//! 0       4     magic  b"TWR1" (format version 1)
//! 4       4     body length, u32 LE  (= doc id length + update length)
//! 8       8     ticket, u64 LE
//! 16      2     doc id length, u16 LE
//! 18      n     body: doc id (UTF-8), then the update bytes
//! 18+n    16    blake3 of bytes 0..18+n, truncated to 128 bits
//! ```
//!
//! Records are self-delimiting: the header gives the body length, and the
//! checksum covers the header too, so a torn or flipped length is caught.
//! blake3 rather than a CRC because it is already a dependency and 128 bits
//! make an accidental match (e.g. garbage that looks like a record while
//! scanning past damage) practically impossible.

/// Marks the start of a record; the digit is the format version.
pub const MAGIC: [u8; 4] = *b"TWR1";
/// Bytes before the body.
pub const HEADER_LEN: usize = 18;
/// Bytes of checksum after the body.
pub const CHECK_LEN: usize = 16;
/// Header plus checksum: a record's size beyond its body.
pub const OVERHEAD: usize = HEADER_LEN + CHECK_LEN;

/// The encoded size of a record for `doc` and `update`.
pub fn encoded_len(doc: &str, update: &[u8]) -> u64 {
    (OVERHEAD + doc.len() + update.len()) as u64
}

/// Appends one record to `out`. The caller has checked that the doc id fits
/// a u16 and the body a u32 (see `Wal::check_entry`).
pub fn encode(out: &mut Vec<u8>, ticket: u64, doc: &str, update: &[u8]) {
    let start = out.len();
    let body = doc.len() + update.len();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&(body as u32).to_le_bytes());
    out.extend_from_slice(&ticket.to_le_bytes());
    out.extend_from_slice(&(doc.len() as u16).to_le_bytes());
    out.extend_from_slice(doc.as_bytes());
    out.extend_from_slice(update);
    let check = checksum(&out[start..]);
    out.extend_from_slice(&check);
}

/// A record read back from disk, borrowing from the segment's bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The log ticket.
    pub ticket: u64,
    /// The doc id.
    pub doc: &'a str,
    /// The update bytes.
    pub update: &'a [u8],
    /// The whole record's length on disk.
    pub len: usize,
}

/// Why the bytes at an offset are not a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bad {
    /// Fewer bytes remain than the header (or its length field) needs.
    Short {
        /// Bytes the record needs.
        need: u64,
        /// Bytes left in the file.
        have: u64,
    },
    /// The magic number is wrong.
    Magic,
    /// The length field exceeds the record size cap.
    TooLong(u64),
    /// The doc id length exceeds the body.
    DocLen,
    /// The checksum does not match.
    Checksum,
    /// The doc id is not UTF-8 (despite a good checksum: a bug, not damage).
    Utf8,
}

impl std::fmt::Display for Bad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bad::Short { need, have } => {
                write!(f, "record needs {need} bytes but only {have} remain")
            }
            Bad::Magic => f.write_str("no record header (bad magic)"),
            Bad::TooLong(n) => write!(f, "record length {n} exceeds the record size cap"),
            Bad::DocLen => f.write_str("doc id length exceeds the record body"),
            Bad::Checksum => f.write_str("checksum mismatch"),
            Bad::Utf8 => f.write_str("doc id is not UTF-8"),
        }
    }
}

/// Decodes the record at the start of `buf`. `max_record` caps the total
/// record size a length field may claim, so a damaged length can never ask
/// for a huge buffer (we only ever slice `buf`, but callers that stream
/// would allocate by it).
pub fn decode(buf: &[u8], max_record: u64) -> Result<Decoded<'_>, Bad> {
    let have = buf.len() as u64;
    if buf.len() < HEADER_LEN {
        // A partial header is a torn write only if what is there could be
        // the start of one; otherwise call it what it is.
        let n = buf.len().min(MAGIC.len());
        if buf[..n] != MAGIC[..n] {
            return Err(Bad::Magic);
        }
        return Err(Bad::Short {
            need: HEADER_LEN as u64,
            have,
        });
    }
    if buf[..4] != MAGIC {
        return Err(Bad::Magic);
    }
    let body = u64::from(read_u32(&buf[4..8]));
    let ticket = read_u64(&buf[8..16]);
    let doc_len = usize::from(read_u16(&buf[16..18]));
    let total = OVERHEAD as u64 + body;
    if total > max_record {
        return Err(Bad::TooLong(total));
    }
    if doc_len as u64 > body {
        return Err(Bad::DocLen);
    }
    if total > have {
        return Err(Bad::Short { need: total, have });
    }
    // `total <= have`, which is a usize, so this cannot truncate.
    let total = total as usize;
    let body_end = total - CHECK_LEN;
    if checksum(&buf[..body_end]) != buf[body_end..total] {
        return Err(Bad::Checksum);
    }
    let doc_end = HEADER_LEN + doc_len;
    let doc = std::str::from_utf8(&buf[HEADER_LEN..doc_end]).map_err(|_| Bad::Utf8)?;
    Ok(Decoded {
        ticket,
        doc,
        update: &buf[doc_end..body_end],
        len: total,
    })
}

/// Offset of the first well-formed record at or after `from`, if any. Used
/// after damage to tell a torn tail (nothing valid follows) from corruption
/// in the middle (valid, possibly acknowledged, records follow).
pub fn find_valid_after(buf: &[u8], from: usize, max_record: u64) -> Option<usize> {
    let mut at = from;
    while at + MAGIC.len() <= buf.len() {
        let rest = &buf[at..];
        match rest.windows(MAGIC.len()).position(|w| w == MAGIC) {
            None => return None,
            Some(i) => {
                at += i;
                if decode(&buf[at..], max_record).is_ok() {
                    return Some(at);
                }
                at += 1;
            }
        }
    }
    None
}

fn checksum(bytes: &[u8]) -> [u8; CHECK_LEN] {
    let hash = blake3::hash(bytes);
    let mut out = [0u8; CHECK_LEN];
    out.copy_from_slice(&hash.as_bytes()[..CHECK_LEN]);
    out
}

fn read_u16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

fn read_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn read_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_decodes_to_what_was_encoded() {
        let mut buf = Vec::new();
        encode(&mut buf, 42, "index", b"hello");
        assert_eq!(buf.len() as u64, encoded_len("index", b"hello"));
        let d = decode(&buf, 1 << 20).expect("valid record");
        assert_eq!(
            (d.ticket, d.doc, d.update, d.len),
            (42, "index", &b"hello"[..], buf.len())
        );
    }

    #[test]
    fn a_flipped_bit_anywhere_is_detected() {
        let mut buf = Vec::new();
        encode(&mut buf, 7, "doc", b"some update bytes");
        for i in 0..buf.len() {
            for bit in 0..8 {
                let mut b = buf.clone();
                b[i] ^= 1 << bit;
                assert!(decode(&b, 1 << 20).is_err(), "flip at byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn a_huge_length_field_is_refused_before_anything_is_read() {
        let mut buf = Vec::new();
        encode(&mut buf, 1, "d", b"x");
        buf[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            decode(&buf, 64 << 20),
            Err(Bad::TooLong(OVERHEAD as u64 + u64::from(u32::MAX)))
        );
    }

    #[test]
    fn scanning_finds_the_next_valid_record_past_garbage() {
        let mut buf = b"TWR1garbageTWR".to_vec();
        let at = buf.len();
        encode(&mut buf, 3, "d", b"u");
        assert_eq!(find_valid_after(&buf, 0, 1 << 20), Some(at));
        assert_eq!(find_valid_after(&buf, at + 1, 1 << 20), None);
    }
}

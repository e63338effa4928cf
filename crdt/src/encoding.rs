//! lib0's variable-length encoding, as Yjs writes it, with a reader that
//! never trusts a length it reads.
//!
//! Every length taken from the wire is checked against the bytes actually
//! remaining (and against a caller-supplied maximum) before it is used, so a
//! forged length can neither panic the decoder nor size an allocation.

use thiserror::Error;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended in the middle of a value.
    #[error("message truncated: needed {needed} more bytes")]
    Truncated {
        /// How many bytes were missing (at least).
        needed: usize,
    },
    /// A variable-length integer had more than 64 bits or a redundant tail.
    #[error("variable-length integer is malformed or exceeds 64 bits")]
    VarIntOverflow,
    /// A length field exceeds the limit for that field.
    #[error("{what} is {len} bytes, over the limit of {max}")]
    TooLong {
        /// The field whose length was refused.
        what: &'static str,
        /// The length the sender claimed.
        len: u64,
        /// The configured maximum.
        max: usize,
    },
    /// A string was not valid UTF-8.
    #[error("{what} is not valid UTF-8")]
    BadUtf8 {
        /// The field that held the bad string.
        what: &'static str,
    },
    /// Bytes were left over after a complete message.
    #[error("{0} unexpected bytes after the end of the message")]
    TrailingBytes(usize),
    /// A message or field type that this protocol version does not know.
    #[error("unknown {what} type {value}")]
    UnknownType {
        /// Which kind of tag was unknown.
        what: &'static str,
        /// The tag value received.
        value: u64,
    },
    /// A field held a value outside its allowed range.
    #[error("invalid {0}")]
    Invalid(&'static str),
}

/// A cursor over untrusted bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// How many bytes have been consumed.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Fails unless every byte has been consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }

    /// Reads one byte.
    pub fn read_u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or(DecodeError::Truncated { needed: 1 })?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads exactly `n` bytes, borrowed from the input.
    pub fn read_exact(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated {
                needed: n - self.remaining(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Reads a lib0 varUint (7 bits per byte, little-endian groups).
    pub fn read_var_u64(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.read_u8()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(DecodeError::VarIntOverflow);
            }
            value |= bits << shift;
            if b & 0x80 == 0 {
                // A zero final byte after a continuation is an overlong
                // encoding; Yjs never writes one, so refuse it.
                if b == 0 && shift > 0 {
                    return Err(DecodeError::VarIntOverflow);
                }
                return Ok(value);
            }
            shift += 7;
            if shift > 63 {
                return Err(DecodeError::VarIntOverflow);
            }
        }
    }

    /// Reads a length prefix and checks it against `max` and the bytes left.
    fn read_len(&mut self, what: &'static str, max: usize) -> Result<usize, DecodeError> {
        let len = self.read_var_u64()?;
        if len > max as u64 {
            return Err(DecodeError::TooLong { what, len, max });
        }
        // Fits in usize: it is at most `max`.
        let len = len as usize;
        if len > self.remaining() {
            return Err(DecodeError::Truncated {
                needed: len - self.remaining(),
            });
        }
        Ok(len)
    }

    /// Reads a lib0 varUint8Array of at most `max` bytes, borrowed.
    pub fn read_var_bytes(
        &mut self,
        what: &'static str,
        max: usize,
    ) -> Result<&'a [u8], DecodeError> {
        let len = self.read_len(what, max)?;
        self.read_exact(len)
    }

    /// Reads a lib0 varString of at most `max` UTF-8 bytes, borrowed.
    pub fn read_var_str(&mut self, what: &'static str, max: usize) -> Result<&'a str, DecodeError> {
        let bytes = self.read_var_bytes(what, max)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::BadUtf8 { what })
    }
}

/// Appends a lib0 varUint.
pub fn write_var_u64(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a lib0 varUint8Array (length, then bytes).
pub fn write_var_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_var_u64(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends a lib0 varString (UTF-8 length, then bytes).
pub fn write_var_str(out: &mut Vec<u8>, s: &str) {
    write_var_bytes(out, s.as_bytes());
}

/// Number of bytes `write_var_u64(value)` appends.
pub fn var_u64_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    bits.max(1).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varuint_round_trips_at_every_byte_boundary() {
        for v in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u32::MAX as u64,
            (1 << 53) - 1,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            write_var_u64(&mut out, v);
            assert_eq!(out.len(), var_u64_len(v), "{v}");
            let mut r = Reader::new(&out);
            assert_eq!(r.read_var_u64(), Ok(v));
            assert!(r.finish().is_ok());
        }
    }

    #[test]
    fn varuint_longer_than_64_bits_is_refused() {
        let eleven = [0xffu8; 10]
            .iter()
            .copied()
            .chain([0x01])
            .collect::<Vec<_>>();
        assert_eq!(
            Reader::new(&eleven).read_var_u64(),
            Err(DecodeError::VarIntOverflow)
        );
        let mut over = vec![0xffu8; 9];
        over.push(0x02);
        assert_eq!(
            Reader::new(&over).read_var_u64(),
            Err(DecodeError::VarIntOverflow)
        );
    }

    #[test]
    fn overlong_varuints_are_refused() {
        assert_eq!(
            Reader::new(&[0x80, 0x00]).read_var_u64(),
            Err(DecodeError::VarIntOverflow)
        );
        assert_eq!(
            Reader::new(&[0x81, 0x80, 0x00]).read_var_u64(),
            Err(DecodeError::VarIntOverflow)
        );
    }

    #[test]
    fn a_forged_length_larger_than_the_input_is_truncation_not_allocation() {
        let mut out = Vec::new();
        write_var_u64(&mut out, 1 << 40);
        let err = Reader::new(&out).read_var_bytes("update", usize::MAX);
        assert!(matches!(err, Err(DecodeError::Truncated { .. })));
    }

    #[test]
    fn a_length_over_the_limit_is_refused_before_reading() {
        let mut out = Vec::new();
        write_var_bytes(&mut out, &[0; 10]);
        let err = Reader::new(&out).read_var_bytes("update", 9);
        assert_eq!(
            err,
            Err(DecodeError::TooLong {
                what: "update",
                len: 10,
                max: 9
            })
        );
    }

    #[test]
    fn invalid_utf8_in_a_string_is_refused() {
        let mut out = Vec::new();
        write_var_bytes(&mut out, &[0xff, 0xfe]);
        let err = Reader::new(&out).read_var_str("doc id", 100);
        assert_eq!(err, Err(DecodeError::BadUtf8 { what: "doc id" }));
    }
}

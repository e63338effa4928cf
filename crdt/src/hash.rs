//! Content addresses: blake3, as lowercase hex.

/// The blake3 hash of `bytes` as 64 lowercase hex digits.
pub fn blake3_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// True when `s` looks like a blake3 hex digest (64 lowercase hex digits).
pub fn is_blake3_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blake3_hex_matches_the_reference_vector_for_empty_input() {
        assert_eq!(
            blake3_hex(b""),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        assert!(is_blake3_hex(&blake3_hex(b"x")));
        assert!(!is_blake3_hex("AF13"));
    }
}

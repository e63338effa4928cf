//! One-step device setup: an `obsidian://tessera-setup?url=…&vault=…&token=…`
//! link (the plugin's protocol handler fills its settings from it after the
//! user confirms) and the same link as a terminal QR code, for phones.
//! Printed on stdout only: the link carries the token, so it is never logged.

use qrcode::render::unicode::Dense1x2;
use qrcode::{EcLevel, QrCode};

/// The link the plugin's `tessera-setup` protocol handler accepts.
pub fn setup_link(url: &str, vault: &str, token: &str) -> String {
    format!(
        "obsidian://tessera-setup?url={}&vault={}&token={}",
        encode(url.trim_end_matches('/')),
        encode(vault),
        encode(token)
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `text` as a QR code drawn with half-block characters, two modules a line.
///
/// Light modules are drawn filled: terminals are mostly light-on-dark, and
/// phone scanners need the code's light parts lighter than its dark parts.
/// Level L keeps a ~300-character link at a size a terminal can show.
pub fn terminal_qr(text: &str) -> anyhow::Result<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L)
        .map_err(|e| anyhow::anyhow!("the setup link does not fit a QR code: {e}"))?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// The link and its QR code, with a line saying what to do with them.
pub fn setup_block(url: &str, vault: &str, token: &str) -> anyhow::Result<String> {
    let link = setup_link(url, vault, token);
    let qr = terminal_qr(&link)?;
    Ok(format!(
        "Set up a device: open this link on it (Obsidian with Tessera Sync installed),\n\
         or scan the code with the phone's camera:\n\n{link}\n\n{qr}\n\
         The link contains the token: share it only with your own devices.\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setup_link_percent_encodes_the_url_and_keeps_token_characters() {
        let link = setup_link("https://sync.example.org/", "my-notes", "v1.abc_D-9.x");
        assert_eq!(
            link,
            "obsidian://tessera-setup?url=https%3A%2F%2Fsync.example.org&vault=my-notes&token=v1.abc_D-9.x"
        );
    }

    #[test]
    fn a_link_with_a_full_length_token_fits_a_terminal_qr_code() {
        let token = format!("v1.{}.{}", "e".repeat(150), "m".repeat(43));
        let qr = terminal_qr(&setup_link(
            "https://relay.example.org:8443",
            "default",
            &token,
        ))
        .unwrap();
        let lines: Vec<&str> = qr.lines().collect();
        // Square: two modules per line; version 10–11 plus the quiet zone.
        assert!(lines.len() < 40, "{} lines", lines.len());
        assert!(lines[0].chars().count() < 80);
    }
}

//! Tests of the parent module (kept beside it as a child module, so
//! they can reach its private items).

use super::*;
use proptest::prelude::*;

const NOW: u64 = 1_800_000_000;

fn key() -> TokenKey {
    TokenKey::from_secret(b"test secret, not for production")
}

fn claims(scope: Scope) -> Claims {
    Claims::new("notes", scope, NOW, Some(3600), Some("laptop".into())).unwrap()
}

/// A token whose MAC is valid for an arbitrary payload: what a server
/// with a bug could mint.
fn sign_raw(key: &TokenKey, payload: &[u8]) -> String {
    let signed = format!("v1.{}", URL_SAFE_NO_PAD.encode(payload));
    let mac = URL_SAFE_NO_PAD.encode(key.mac(signed.as_bytes()));
    format!("{signed}.{mac}")
}

fn parts(token: &str) -> (String, String) {
    let mut it = token.split('.');
    assert_eq!(it.next(), Some("v1"));
    (it.next().unwrap().into(), it.next().unwrap().into())
}

#[test]
fn minted_token_verifies_to_its_claims() {
    let c = claims(Scope::Write);
    let token = mint(&key(), &c);
    assert_eq!(verify(&key(), &token, "notes", Scope::Write, NOW), Ok(c));
}

#[test]
fn minted_token_has_the_documented_format() {
    let token = mint(&key(), &claims(Scope::Read));
    let (payload, mac) = parts(&token);
    let json: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(json["scope"], "read");
    assert_eq!(json["vault"], "notes");
    assert_eq!(URL_SAFE_NO_PAD.decode(mac).unwrap().len(), 32);
    assert!(token.len() < MAX_TOKEN_LEN);
}

#[test]
fn token_from_another_secret_is_refused() {
    let token = mint(
        &TokenKey::from_secret(b"other secret"),
        &claims(Scope::Read),
    );
    assert_eq!(
        verify(&key(), &token, "notes", Scope::Read, NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn token_with_a_changed_payload_character_is_refused() {
    let token = mint(&key(), &claims(Scope::Read));
    let (payload, mac) = parts(&token);
    for i in 0..payload.len() {
        let mut p = payload.clone().into_bytes();
        p[i] = if p[i] == b'A' { b'B' } else { b'A' };
        let forged = format!("v1.{}.{mac}", String::from_utf8(p).unwrap());
        assert_eq!(
            verify(&key(), &forged, "notes", Scope::Read, NOW),
            Err(TokenError::BadSignature),
            "position {i}"
        );
    }
}

#[test]
fn token_with_rewritten_claims_and_the_old_mac_is_refused() {
    let c = claims(Scope::Read);
    let (_, mac) = parts(&mint(&key(), &c));
    let escalated = Claims {
        scope: Scope::Admin,
        ..c
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&escalated).unwrap());
    let forged = format!("v1.{payload}.{mac}");
    assert_eq!(
        verify(&key(), &forged, "notes", Scope::Admin, NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn token_with_a_flipped_mac_bit_is_refused() {
    let token = mint(&key(), &claims(Scope::Read));
    let (payload, mac) = parts(&token);
    let mac = URL_SAFE_NO_PAD.decode(mac).unwrap();
    for bit in 0..mac.len() * 8 {
        let mut m = mac.clone();
        m[bit / 8] ^= 1 << (bit % 8);
        let forged = format!("v1.{payload}.{}", URL_SAFE_NO_PAD.encode(&m));
        assert_eq!(
            verify(&key(), &forged, "notes", Scope::Read, NOW),
            Err(TokenError::BadSignature),
            "bit {bit}"
        );
    }
}

#[test]
fn unauthenticated_payload_is_never_parsed() {
    let garbage = URL_SAFE_NO_PAD.encode(b"{not json");
    let mac = URL_SAFE_NO_PAD.encode([0u8; 32]);
    assert_eq!(
        verify(
            &key(),
            &format!("v1.{garbage}.{mac}"),
            "notes",
            Scope::Read,
            NOW
        ),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn authenticated_payload_that_is_not_claims_is_malformed() {
    let token = sign_raw(&key(), b"[1,2,3]");
    assert!(matches!(
        verify(&key(), &token, "notes", Scope::Read, NOW),
        Err(TokenError::Malformed(_))
    ));
}

#[test]
fn authenticated_claims_with_an_unknown_field_are_refused() {
    let mut json = serde_json::to_value(claims(Scope::Admin)).unwrap();
    json["docs"] = serde_json::json!(["index"]);
    let token = sign_raw(&key(), &serde_json::to_vec(&json).unwrap());
    assert!(matches!(
        verify(&key(), &token, "notes", Scope::Read, NOW),
        Err(TokenError::Malformed(_))
    ));
}

#[test]
fn authenticated_claims_with_an_invalid_vault_are_refused() {
    let mut c = claims(Scope::Read);
    c.vault = "../etc".into();
    let token = sign_raw(&key(), &serde_json::to_vec(&c).unwrap());
    assert!(matches!(
        verify(&key(), &token, "../etc", Scope::Read, NOW),
        Err(TokenError::BadClaims(ClaimsError::Vault(_)))
    ));
}

#[test]
fn token_is_expired_from_its_expiry_second_on() {
    let c = claims(Scope::Read);
    let exp = c.exp.unwrap();
    let token = mint(&key(), &c);
    assert!(verify(&key(), &token, "notes", Scope::Read, exp - 1).is_ok());
    assert_eq!(
        verify(&key(), &token, "notes", Scope::Read, exp),
        Err(TokenError::Expired)
    );
}

#[test]
fn token_without_expiry_never_expires() {
    let c = Claims::new("notes", Scope::Read, NOW, None, None).unwrap();
    let token = mint(&key(), &c);
    assert!(verify(&key(), &token, "notes", Scope::Read, u64::MAX).is_ok());
}

#[test]
fn token_for_one_vault_never_opens_another() {
    let token = mint(&key(), &claims(Scope::Admin));
    for other in ["notes2", "note", "other", "Notes"] {
        assert_eq!(
            verify(&key(), &token, other, Scope::Read, NOW),
            Err(TokenError::WrongVault),
            "{other}"
        );
    }
}

#[test]
fn lower_scope_never_satisfies_a_higher_one() {
    for (have, need) in [
        (Scope::Read, Scope::Write),
        (Scope::Read, Scope::Admin),
        (Scope::Write, Scope::Admin),
    ] {
        let token = mint(&key(), &claims(have));
        assert_eq!(
            verify(&key(), &token, "notes", need, NOW),
            Err(TokenError::InsufficientScope { have, need })
        );
    }
}

#[test]
fn higher_scope_satisfies_every_lower_one() {
    for have in [Scope::Read, Scope::Write, Scope::Admin] {
        let token = mint(&key(), &claims(have));
        for need in [Scope::Read, Scope::Write, Scope::Admin] {
            let result = verify(&key(), &token, "notes", need, NOW);
            assert_eq!(result.is_ok(), have >= need, "{have} for {need}");
        }
    }
}

#[test]
fn empty_token_is_missing() {
    assert_eq!(
        verify(&key(), "", "notes", Scope::Read, NOW),
        Err(TokenError::Missing)
    );
}

#[test]
fn overlong_token_is_refused_before_decoding() {
    let huge = "v1.".to_string() + &"A".repeat(10 * 1024);
    assert_eq!(
        verify(&key(), &huge, "notes", Scope::Read, NOW),
        Err(TokenError::TooLong)
    );
}

#[test]
fn unknown_token_version_is_unsupported() {
    for t in ["v2.x.y", "v10.abc.def"] {
        assert_eq!(
            verify(&key(), t, "notes", Scope::Read, NOW),
            Err(TokenError::UnsupportedVersion),
            "{t}"
        );
    }
}

#[test]
fn garbage_tokens_are_malformed() {
    let mac = URL_SAFE_NO_PAD.encode([0u8; 32]);
    for t in [
        "v1..",
        "v1",
        "v1.abc",
        "v1.a.b.c",
        "x.y.z",
        "Bearer v1.a.b",
        "....",
        "v1.abc.!!!",
        &format!("v1.abc.{}", &mac[..42]),
        &format!("v1.abc.{mac}A"),
        &format!("v1.a.b.{mac}"),
        &format!("v1..{mac}"),
    ] {
        assert!(
            matches!(
                verify(&key(), t, "notes", Scope::Read, NOW),
                Err(TokenError::Malformed(_))
            ),
            "{t:?}"
        );
    }
}

#[test]
fn revoked_token_is_refused() {
    let c = claims(Scope::Write);
    let token = mint(&key(), &c);
    let mut revoked = Revocations::default();
    assert!(authorize(&key(), &revoked, &token, "notes", Scope::Write, NOW).is_ok());
    revoked.revoke(&c.id);
    assert_eq!(
        authorize(&key(), &revoked, &token, "notes", Scope::Write, NOW),
        Err(TokenError::Revoked)
    );
}

#[test]
fn revoking_an_id_twice_reports_it_was_already_revoked() {
    let mut revoked = Revocations::default();
    assert!(revoked.revoke("ab"));
    assert!(!revoked.revoke("ab"));
    assert_eq!(revoked.len(), 1);
}

#[test]
fn revocations_serialise_as_a_sorted_array() {
    let mut revoked = Revocations::default();
    revoked.revoke("bb");
    revoked.revoke("aa");
    let json = serde_json::to_string(&revoked).unwrap();
    assert_eq!(json, r#"["aa","bb"]"#);
    assert_eq!(serde_json::from_str::<Revocations>(&json).unwrap(), revoked);
}

#[test]
fn fresh_claims_get_distinct_hex_ids() {
    let (a, b) = (claims(Scope::Read), claims(Scope::Read));
    assert_ne!(a.id, b.id);
    assert!(a.validate().is_ok());
}

#[test]
fn claims_refuse_an_invalid_vault() {
    for bad in ["", "A", "a/b", ".."] {
        assert!(matches!(
            Claims::new(bad, Scope::Read, NOW, None, None),
            Err(TokenError::BadClaims(ClaimsError::Vault(_)))
        ));
    }
}

#[test]
fn claims_refuse_a_device_label_over_64_bytes() {
    assert!(Claims::new("v", Scope::Read, NOW, None, Some("é".repeat(32))).is_ok());
    assert_eq!(
        Claims::new("v", Scope::Read, NOW, None, Some("é".repeat(33))),
        Err(ClaimsError::DeviceLabelTooLong.into())
    );
}

#[test]
fn claims_refuse_an_empty_or_control_character_device_label() {
    for bad in ["", "  ", "a\nb", "a\u{7}"] {
        assert_eq!(
            Claims::new("v", Scope::Read, NOW, None, Some(bad.into())),
            Err(ClaimsError::DeviceLabelInvalid.into())
        );
    }
}

#[test]
fn claims_refuse_a_zero_or_overflowing_lifetime() {
    assert_eq!(
        Claims::new("v", Scope::Read, NOW, Some(0), None),
        Err(ClaimsError::ZeroLifetime.into())
    );
    assert_eq!(
        Claims::new("v", Scope::Read, NOW, Some(u64::MAX), None),
        Err(ClaimsError::LifetimeTooLarge.into())
    );
}

#[test]
fn key_debug_does_not_print_key_material() {
    let k = key();
    let shown = format!("{k:?}");
    assert_eq!(shown, "TokenKey(..)");
    assert!(!shown.contains(&hex::encode(k.0)));
}

#[test]
fn errors_never_contain_the_token() {
    let token = mint(&key(), &claims(Scope::Read));
    let (payload, mac) = parts(&token);
    let mut tampered = token.clone();
    tampered.insert(5, 'x');
    for (t, vault, need, now) in [
        (&token, "other", Scope::Read, NOW),
        (&token, "notes", Scope::Admin, NOW),
        (&token, "notes", Scope::Read, u64::MAX),
        (&tampered, "notes", Scope::Read, NOW),
    ] {
        let err = verify(&key(), t, vault, need, now).unwrap_err();
        for shown in [format!("{err:?}"), err.to_string()] {
            assert!(!shown.contains(&payload[..16]) && !shown.contains(&mac[..16]));
        }
    }
}

#[test]
fn reason_codes_are_distinct_and_prefixed() {
    let errors = [
        TokenError::Missing,
        TokenError::TooLong,
        TokenError::Malformed("x"),
        TokenError::UnsupportedVersion,
        TokenError::BadSignature,
        TokenError::Expired,
        TokenError::WrongVault,
        TokenError::InsufficientScope {
            have: Scope::Read,
            need: Scope::Write,
        },
        TokenError::Revoked,
        TokenError::BadClaims(ClaimsError::Id),
    ];
    let reasons: BTreeSet<_> = errors.iter().map(TokenError::reason).collect();
    assert_eq!(reasons.len(), errors.len());
    assert!(reasons.iter().all(|r| r.starts_with("token-")));
    assert_eq!(TokenError::BadSignature.reason(), "token-bad-signature");
}

#[test]
fn scopes_parse_and_display_in_lowercase() {
    for s in [Scope::Read, Scope::Write, Scope::Admin] {
        assert_eq!(s.to_string().parse::<Scope>(), Ok(s));
        assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
    }
    assert_eq!("Admin".parse::<Scope>(), Err(ParseScopeError));
}

#[test]
fn generated_secrets_are_32_random_bytes() {
    let (a, b) = (generate_secret(), generate_secret());
    assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
    assert_ne!(a, b);
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic_verify(s in any::<String>()) {
        let _ = verify(&key(), &s, "notes", Scope::Read, NOW);
    }

    #[test]
    fn arbitrary_three_part_strings_never_verify(
        version in "v[0-9]{1,2}",
        payload in "[A-Za-z0-9_-]{0,200}",
        mac in "[A-Za-z0-9_-]{0,50}",
    ) {
        let token = format!("{version}.{payload}.{mac}");
        prop_assert!(verify(&key(), &token, "notes", Scope::Read, NOW).is_err());
    }

    #[test]
    fn arbitrary_authenticated_payloads_never_panic_verify(payload in any::<Vec<u8>>()) {
        let token = sign_raw(&key(), &payload);
        let _ = verify(&key(), &token, "notes", Scope::Read, NOW);
    }
}

#[test]
fn a_token_minted_before_paths_existed_still_verifies_and_writes_anywhere() {
    let old = format!(
        r#"{{"vault":"notes","scope":"write","iat":{NOW},"id":"0123456789abcdef0123456789abcdef"}}"#
    );
    let c = verify(
        &key(),
        &sign_raw(&key(), old.as_bytes()),
        "notes",
        Scope::Write,
        NOW,
    )
    .expect("an old token is still valid");
    assert_eq!(c.paths, None);
    assert!(c.may_write_path("anything/at/all.md"));
}

#[test]
fn a_path_limited_token_round_trips_its_prefixes() {
    let c = claims(Scope::Write)
        .with_paths(WritePaths::parse("Inbox/,Journal/").unwrap())
        .unwrap();
    let back = verify(&key(), &mint(&key(), &c), "notes", Scope::Read, NOW).unwrap();
    assert_eq!(back.paths.as_ref().map(|p| p.as_slice().len()), Some(2));
    assert!(back.may_write_path("Inbox/a.md") && !back.may_write_path("a.md"));
}

#[test]
fn only_write_tokens_can_be_limited_to_paths() {
    for scope in [Scope::Read, Scope::Admin] {
        let got = claims(scope).with_paths(WritePaths::parse("Inbox/").unwrap());
        assert_eq!(
            got,
            Err(TokenError::BadClaims(ClaimsError::PathsNeedWriteScope(
                scope
            )))
        );
    }
}

#[test]
fn a_signed_payload_with_an_empty_or_hostile_path_list_is_refused() {
    for paths in [r#"[]"#, r#"["../x/"]"#, r#"[".obsidian/"]"#] {
        let payload = format!(
            r#"{{"vault":"notes","scope":"write","iat":{NOW},"id":"0123456789abcdef0123456789abcdef","paths":{paths}}}"#
        );
        let got = verify(
            &key(),
            &sign_raw(&key(), payload.as_bytes()),
            "notes",
            Scope::Read,
            NOW,
        );
        assert!(
            matches!(got, Err(TokenError::BadClaims(ClaimsError::Paths(_)))),
            "{paths}: {got:?}"
        );
    }
}

#[test]
fn a_token_with_the_most_prefixes_allowed_stays_under_the_token_length_limit() {
    let each = MAX_PATH_PREFIX_BYTES / MAX_PATH_PREFIXES;
    let prefixes: Vec<String> = (0..MAX_PATH_PREFIXES)
        .map(|i| format!("{i:02}{}/", "x".repeat(each - 3)))
        .collect();
    let c = claims(Scope::Write)
        .with_paths(WritePaths::new(&prefixes).unwrap())
        .unwrap();
    let token = mint(&key(), &c);
    assert!(token.len() <= MAX_TOKEN_LEN, "{}", token.len());
    assert!(verify(&key(), &token, "notes", Scope::Write, NOW).is_ok());
}

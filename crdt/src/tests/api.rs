//! The door: what `admit` decides from method, path and headers alone.

use super::*;

const SECRET: &[u8] = b"api-door-test-secret-0123456789abcdef";

fn key() -> TokenKey {
    TokenKey::from_secret(SECRET)
}

fn token(vault: &str, scope: Scope, ttl: Option<u64>) -> String {
    let claims = Claims::new(vault, scope, 1_000, ttl, None).expect("claims");
    token::mint(&key(), &claims)
}

fn door(token: &str) -> Door<'_> {
    Door {
        credentials: Credentials {
            query: Some(token),
            ..Credentials::default()
        },
        ..Door::default()
    }
}

#[test]
fn every_vault_route_without_a_token_is_refused_with_401_before_anything_else() {
    let k = key();
    for (method, path) in [
        ("GET", "/v1/vaults/x/ws"),
        ("GET", "/v1/vaults/x/docs/index"),
        ("PUT", "/v1/vaults/x/blobs/ab"),
        ("GET", "/v1/vaults/x/blobs/ab"),
        ("HEAD", "/v1/vaults/x/blobs/ab"),
        ("POST", "/v1/vaults/x/tokens"),
        ("POST", "/v1/vaults/x/revoke"),
        ("GET", "/v1/vaults/x/history"),
        ("POST", "/v1/vaults/x/restore"),
        ("POST", "/v1/vaults/x"),
        ("GET", "/v1/vaults/x/files"),
        ("GET", "/v1/vaults/x/files/a.md"),
        ("PUT", "/v1/vaults/x/files/a.md"),
        ("POST", "/v1/vaults/x/files/a.md"),
        ("DELETE", "/v1/vaults/x/files/a.md"),
    ] {
        let e = admit(
            &route(method, path),
            Door {
                content_length: Some(300 << 20),
                ..Door::default()
            },
            Keys::Tokens(&k),
            100 << 20,
            2_000,
        )
        .expect_err(path);
        assert_eq!(
            (e.status, e.code),
            (401, "token-missing"),
            "{method} {path}"
        );
    }
}

#[test]
fn a_malformed_vault_id_is_refused_as_such_whatever_the_token() {
    let e = admit(
        &route("GET", "/v1/vaults/Upper-Case/ws"),
        Door::default(),
        Keys::Tokens(&key()),
        1,
        2_000,
    )
    .expect_err("bad id");
    assert_eq!((e.status, e.code), (400, "bad-vault-id"));
}

#[test]
fn the_scope_a_route_needs_is_checked_at_the_door() {
    let write = token("v", Scope::Write, None);
    let e = admit(
        &route("POST", "/v1/vaults/v/tokens"),
        door(&write),
        Keys::Tokens(&key()),
        100,
        2_000,
    )
    .expect_err("a write token cannot mint");
    assert_eq!(e.status, 403);
}

#[test]
fn an_expired_token_or_one_for_another_vault_is_refused_at_the_door() {
    let expired = token("v", Scope::Read, Some(10));
    let e = admit(
        &route("GET", "/v1/vaults/v/ws"),
        door(&expired),
        Keys::Tokens(&key()),
        100,
        2_000,
    )
    .expect_err("expired");
    assert_eq!((e.status, e.code), (401, "token-expired"));
    let other = token("w", Scope::Admin, None);
    let e = admit(
        &route("GET", "/v1/vaults/v/ws"),
        door(&other),
        Keys::Tokens(&key()),
        100,
        2_000,
    )
    .expect_err("wrong vault");
    assert_eq!(e.status, 403);
}

#[test]
fn a_declared_body_over_the_routes_limit_is_refused_before_it_is_read() {
    let admin = token("v", Scope::Admin, None);
    let e = admit(
        &route("POST", "/v1/vaults/v/tokens"),
        Door {
            content_length: Some(MAX_JSON_BODY + 1),
            ..door(&admin)
        },
        Keys::Tokens(&key()),
        100 << 20,
        2_000,
    )
    .expect_err("too big");
    assert_eq!(e.status, 413);
    let e = admit(
        &route("PUT", "/v1/vaults/v/blobs/ab"),
        Door {
            content_length: Some(101),
            ..door(&admin)
        },
        Keys::Tokens(&key()),
        100,
        2_000,
    )
    .expect_err("blob too big");
    assert_eq!((e.status, e.code), (413, "limit-exceeded"));
}

#[test]
fn admin_routes_read_small_json_and_blob_uploads_read_up_to_the_attachment_limit() {
    let admin = token("v", Scope::Admin, None);
    let ok = |m, p| {
        admit(&route(m, p), door(&admin), Keys::Tokens(&key()), 777, 2_000).expect("admitted")
    };
    assert_eq!(
        ok("POST", "/v1/vaults/v/tokens").body,
        BodyLimit::Json(MAX_JSON_BODY)
    );
    assert_eq!(
        ok("POST", "/v1/vaults/v/restore").body,
        BodyLimit::Json(MAX_JSON_BODY)
    );
    assert_eq!(
        ok("PUT", "/v1/vaults/v/blobs/ab").body,
        BodyLimit::Blob(777)
    );
    assert_eq!(ok("GET", "/v1/vaults/v/history").body, BodyLimit::None);
    assert_eq!(ok("GET", "/v1/vaults/v/ws").claims.scope, Scope::Admin);
}

#[test]
fn with_authentication_disabled_everyone_is_admin_of_a_well_formed_vault() {
    let a = admit(
        &route("POST", "/v1/vaults/v/revoke"),
        Door::default(),
        Keys::Disabled,
        1,
        2_000,
    )
    .expect("admitted");
    assert_eq!(a.claims.scope, Scope::Admin);
    assert_eq!(a.vault.as_str(), "v");
}

#[test]
fn a_socket_is_closed_when_its_token_expires_and_never_for_a_token_without_expiry() {
    let claims = Claims::new("v", Scope::Read, 1_000, Some(60), None).expect("claims");
    assert_eq!(socket_deadline(&claims, 1_010), Some(50));
    assert_eq!(socket_deadline(&claims, 5_000), Some(0));
    let forever = Claims::new("v", Scope::Read, 1_000, None, None).expect("claims");
    assert_eq!(socket_deadline(&forever, 5_000), None);
}

#[test]
fn a_read_token_reads_files_but_cannot_write_or_delete_them() {
    let read = token("v", Scope::Read, None);
    let ok = |m, p| admit(&route(m, p), door(&read), Keys::Tokens(&key()), 1, 2_000);
    assert!(ok("GET", "/v1/vaults/v/files").is_ok());
    assert!(ok("GET", "/v1/vaults/v/files/a.md").is_ok());
    for m in ["PUT", "POST", "DELETE"] {
        let e = ok(m, "/v1/vaults/v/files/a.md").expect_err(m);
        assert_eq!((e.status, e.code), (403, "token-insufficient-scope"), "{m}");
    }
}

#[test]
fn a_note_body_over_the_text_limit_is_refused_before_it_is_read() {
    let write = token("v", Scope::Write, None);
    let e = admit(
        &route("PUT", "/v1/vaults/v/files/a.md"),
        Door {
            content_length: Some(crate::files::MAX_TEXT_BODY + 1),
            ..door(&write)
        },
        Keys::Tokens(&key()),
        1,
        2_000,
    )
    .expect_err("too big");
    assert_eq!((e.status, e.code), (413, "limit-exceeded"));
}

#[test]
fn a_token_offered_as_a_websocket_subprotocol_opens_the_vault_socket() {
    let read = token("v", Scope::Read, None);
    let offered = format!("{SUBPROTOCOL}, {TOKEN_PROTOCOL_PREFIX}{read}");
    let admitted = admit(
        &route("GET", "/v1/vaults/v/ws"),
        Door {
            credentials: Credentials {
                protocols: Some(&offered),
                ..Credentials::default()
            },
            ..Door::default()
        },
        Keys::Tokens(&key()),
        100,
        2_000,
    )
    .expect("admitted");
    assert_eq!(admitted.claims.scope, Scope::Read);
}

//! Parsing file requests: paths, conditions, queries, bodies.

use super::*;

#[test]
fn an_encoded_path_is_decoded_and_may_hold_folders() {
    assert_eq!(
        decode_path("Daily/2026-12-02.md").unwrap(),
        "Daily/2026-12-02.md"
    );
    assert_eq!(decode_path("Daily%2Fa%20b.md").unwrap(), "Daily/a b.md");
    assert_eq!(decode_path("caf%C3%A9.md").unwrap(), "café.md");
}

#[test]
fn paths_the_server_policy_refuses_are_bad_path() {
    for raw in [
        "..%2Fx.md",
        "a/../x.md",
        ".obsidian/x",
        ".OBSIDIAN%2Fplugins%2Fp%2Fmain.js",
        ".trash/x.md",
        "%2Fetc%2Fpasswd",
        "a%5Cb.md",
        "a%00b.md",
        "C:%2Fx.md",
        "",
        "a%zz.md",
        "a%",
        "%FF.md",
        "con.md",
    ] {
        let e = decode_path(raw).expect_err(raw);
        assert_eq!((e.status, e.code), (400, "bad-path"), "{raw}");
    }
}

#[test]
fn if_match_takes_quoted_bare_weak_and_listed_versions() {
    assert_eq!(parse_condition(None, None).unwrap(), Condition::None);
    assert_eq!(
        parse_condition(Some("\"7\""), None).unwrap(),
        Condition::IfMatch(vec![7])
    );
    assert_eq!(
        parse_condition(Some("7, W/\"9\""), None).unwrap(),
        Condition::IfMatch(vec![7, 9])
    );
    assert_eq!(
        parse_condition(Some("*"), None).unwrap(),
        Condition::IfExists
    );
    assert_eq!(
        parse_condition(None, Some("*")).unwrap(),
        Condition::IfAbsent
    );
    assert!(parse_condition(Some("\"abc\""), None).is_err());
    assert!(parse_condition(None, Some("\"7\"")).is_err());
    assert!(parse_condition(Some("*"), Some("*")).is_err());
}

#[test]
fn a_condition_holds_only_for_the_state_it_names() {
    assert!(Condition::IfMatch(vec![3]).holds(Some(3)));
    assert!(!Condition::IfMatch(vec![3]).holds(Some(4)));
    assert!(!Condition::IfMatch(vec![3]).holds(None));
    assert!(Condition::IfAbsent.holds(None));
    assert!(!Condition::IfAbsent.holds(Some(1)));
    assert!(Condition::IfExists.holds(Some(1)));
    assert!(!Condition::IfExists.holds(None));
}

#[test]
fn the_listing_query_reads_since_and_epoch_and_ignores_the_token() {
    let q = parse_list_query(Some("token=v1.x.y&since=12&epoch=ab")).unwrap();
    assert_eq!(q.since, Some(12));
    assert_eq!(q.epoch.as_deref(), Some("ab"));
    assert_eq!(parse_list_query(None).unwrap(), ListQuery::default());
    assert!(parse_list_query(Some("since=-1")).is_err());
}

#[test]
fn a_body_that_is_not_utf8_is_bad_text() {
    assert_eq!(text_body(b"hi".to_vec()).unwrap(), "hi");
    let e = text_body(vec![b'a', 0xff]).unwrap_err();
    assert_eq!((e.status, e.code), (400, "bad-text"));
}

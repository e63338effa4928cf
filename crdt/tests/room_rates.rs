//! Rate limits in the room: a session sending too fast, or a token opening
//! too many sockets, is closed with 4429 and told when to come back; nobody
//! else notices.

use tessera_crdt::protocol::{Message, SyncMessage};
use tessera_crdt::rate::{RateLimits, Rates, RequestRate};
use tessera_crdt::room::{close, Effect, Endpoint, Room, RoomConfig, SessionId};
use tessera_crdt::token::{Claims, Scope, NO_AUTH_ID};

const NOTE: &str = "0123456789abcdef0123456789abcdef";

fn room_with(rates: Rates) -> Room {
    let config = RoomConfig {
        rates: RateLimits::from_rates(rates),
        ..RoomConfig::default()
    };
    Room::new("default", config, "epoch-1")
}

fn slow_rates() -> Rates {
    Rates {
        frames_per_sec: 10,
        bytes_per_sec: 1 << 20,
        connects_per_min: 6,
        sockets_per_token: 3,
        requests_per_sec: 1,
    }
}

fn join(room: &mut Room, id: SessionId, token: &str, now: u64) -> Vec<Effect> {
    room.join(id, Endpoint::Vault, Scope::Write, Some(token.into()), now)
}

fn closes(effects: &[Effect], to: SessionId) -> Vec<(u16, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Close {
                to: t,
                code,
                reason,
            } if *t == to => Some((*code, reason.clone())),
            _ => None,
        })
        .collect()
}

/// A state-vector request: cheap for the room, a frame all the same.
fn step1() -> Vec<u8> {
    Message::Sync(SyncMessage::Step1(&[0])).to_vault_frame(NOTE)
}

fn retry_after(reason: &str) -> u64 {
    let tail = reason
        .rsplit("retry after ")
        .next()
        .expect("reason names a retry time");
    tail.trim_end_matches(" s").parse().expect("whole seconds")
}

#[test]
fn a_session_sending_frames_faster_than_its_rate_is_closed_with_4429_and_told_when_to_retry() {
    let mut room = room_with(slow_rates());
    join(&mut room, 1, "tok-a", 0);
    let burst = RateLimits::from_rates(slow_rates()).frame_burst;
    for _ in 0..burst {
        let out = room.receive(1, &step1(), 0);
        assert!(closes(&out, 1).is_empty(), "within the burst: {out:?}");
    }
    let out = room.receive(1, &step1(), 0);
    let closed = closes(&out, 1);
    assert_eq!(closed.len(), 1, "{out:?}");
    assert_eq!(closed[0].0, close::RATE_LIMITED);
    assert!(
        closed[0].1.starts_with("rate-limited: too many frames"),
        "{}",
        closed[0].1
    );
    assert!(retry_after(&closed[0].1) >= 1);
    assert!(closed[0].1.len() <= 123, "fits a WebSocket close frame");
    assert_eq!(room.stats().sessions, 0, "the room forgot the session");
}

#[test]
fn a_session_that_keeps_to_its_rate_is_never_closed() {
    let mut room = room_with(slow_rates());
    join(&mut room, 1, "tok-a", 0);
    room.receive(1, &step1(), 0);
    room.doc_loaded(NOTE, None, 0, &[], 0);
    // 10 per second for ten minutes, after the burst is spent.
    let burst = RateLimits::from_rates(slow_rates()).frame_burst as u64;
    for _ in 0..burst {
        room.receive(1, &step1(), 0);
    }
    for i in 1..=6_000u64 {
        let out = room.receive(1, &step1(), i * 100);
        assert!(closes(&out, 1).is_empty(), "frame {i}: {out:?}");
    }
}

#[test]
fn a_session_sending_more_bytes_than_its_rate_is_closed_with_4429() {
    let mut room = room_with(Rates {
        bytes_per_sec: 1_000,
        ..slow_rates()
    });
    join(&mut room, 1, "tok-a", 0);
    // Burst is 32 000 bytes; frames of ~4 KB exhaust it in 8.
    let big = Message::Sync(SyncMessage::Step1(&[0u8; 4_000])).to_vault_frame(NOTE);
    let mut closed = Vec::new();
    for _ in 0..10 {
        let out = room.receive(1, &big, 0);
        closed.extend(closes(&out, 1));
    }
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].0, close::RATE_LIMITED);
    assert!(closed[0].1.contains("too many bytes"), "{}", closed[0].1);
}

#[test]
fn one_session_over_its_rate_does_not_slow_another_on_the_same_token() {
    let mut room = room_with(slow_rates());
    join(&mut room, 1, "tok-a", 0);
    join(&mut room, 2, "tok-a", 0);
    let burst = RateLimits::from_rates(slow_rates()).frame_burst;
    for _ in 0..=burst {
        room.receive(1, &step1(), 0);
    }
    assert_eq!(room.stats().sessions, 1);
    let out = room.receive(2, &step1(), 0);
    assert!(closes(&out, 2).is_empty(), "{out:?}");
}

#[test]
fn a_token_over_its_open_socket_cap_is_refused_with_4429_and_other_tokens_are_not() {
    let mut room = room_with(slow_rates());
    for id in 1..=3 {
        assert!(closes(&join(&mut room, id, "tok-a", 0), id).is_empty());
    }
    let out = join(&mut room, 4, "tok-a", 0);
    let closed = closes(&out, 4);
    assert_eq!(closed.len(), 1, "{out:?}");
    assert_eq!(closed[0].0, close::RATE_LIMITED);
    assert!(closed[0].1.contains("open sockets"), "{}", closed[0].1);
    assert!(closes(&join(&mut room, 5, "tok-b", 0), 5).is_empty());
    assert_eq!(room.stats().sessions, 4);
}

#[test]
fn a_socket_closing_frees_its_place_under_the_cap() {
    let mut room = room_with(slow_rates());
    for id in 1..=3 {
        join(&mut room, id, "tok-a", 0);
    }
    room.leave(2, 0);
    assert!(closes(&join(&mut room, 4, "tok-a", 0), 4).is_empty());
}

#[test]
fn a_token_reconnecting_too_fast_is_refused_until_its_retry_time() {
    let mut room = room_with(Rates {
        sockets_per_token: 0,
        ..slow_rates()
    });
    // Six connects allowed at once, then one every ten seconds.
    for id in 1..=6 {
        let out = join(&mut room, id, "tok-a", 0);
        assert!(closes(&out, id).is_empty(), "connect {id}: {out:?}");
        room.leave(id, 0);
    }
    let out = join(&mut room, 7, "tok-a", 0);
    let closed = closes(&out, 7);
    assert_eq!(closed.len(), 1, "{out:?}");
    assert!(
        closed[0].1.contains("connections for this token"),
        "{}",
        closed[0].1
    );
    let wait = retry_after(&closed[0].1);
    assert_eq!(wait, 10);
    assert!(!closes(&join(&mut room, 8, "tok-a", (wait - 1) * 1_000), 8).is_empty());
    assert!(closes(&join(&mut room, 9, "tok-a", wait * 1_000), 9).is_empty());
}

#[test]
fn sessions_without_a_token_id_are_not_counted_against_any_token() {
    let mut room = room_with(slow_rates());
    for id in 1..=50 {
        let out = room.join(id, Endpoint::Vault, Scope::Write, None, 0);
        assert!(closes(&out, id).is_empty());
    }
}

#[test]
fn without_authentication_sessions_share_no_token_and_are_not_capped_together() {
    // `--insecure-no-auth` gives every request the same claims: counting them
    // as one token would cap the whole relay at one token's sockets.
    let mut room = room_with(slow_rates());
    let claims = Claims {
        vault: "default".into(),
        scope: Scope::Admin,
        iat: 0,
        exp: None,
        id: NO_AUTH_ID.into(),
        device: None,
        paths: None,
    };
    for id in 1..=20 {
        let out = room.join_claims(id, Endpoint::Vault, &claims, 0);
        assert!(closes(&out, id).is_empty(), "session {id}: {out:?}");
    }
    let mut requests = RequestRate::new(&RateLimits::from_rates(slow_rates()));
    for _ in 0..1_000 {
        requests
            .admit(&claims, 0)
            .expect("no token, no request rate");
    }
}

#[test]
fn with_rate_limits_off_nothing_is_refused() {
    let config = RoomConfig {
        rates: RateLimits::unlimited(),
        ..RoomConfig::default()
    };
    let mut room = Room::new("default", config, "epoch-1");
    for id in 1..=2_000 {
        assert!(closes(&join(&mut room, id, "tok-a", 0), id).is_empty());
    }
    room.receive(1, &step1(), 0);
    room.doc_loaded(NOTE, None, 0, &[], 0);
    for _ in 0..50_000 {
        assert!(closes(&room.receive(1, &step1(), 0), 1).is_empty());
    }
}

//! Awareness (presence: cursors, selections, names) as the relay tracks it.
//!
//! The wire format is y-protocols' awareness update: `varUint(n)` then `n`
//! entries of `varUint(clientID) varUint(clock) varString(stateJSON)`, where
//! the state `null` means "this client left". The relay does not interpret
//! the JSON; it only remembers the newest state per client, which session
//! sent it (so a disconnect can announce the client's departure), and when it
//! was last renewed (so silent clients expire, as Yjs peers expect after 30 s).

use std::collections::HashMap;

use crate::encoding::{write_var_str, write_var_u64, DecodeError, Reader};
use crate::limits::Limits;

/// The JSON state that marks a client as gone.
pub const REMOVED: &str = "null";

/// One client's entry in an awareness update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwarenessEntry<'a> {
    /// The Yjs client id.
    pub client: u64,
    /// The client's awareness clock; newer wins.
    pub clock: u64,
    /// The state as JSON text; [`REMOVED`] when the client left.
    pub state: &'a str,
}

/// Decodes an awareness update, holding it to the limits.
pub fn decode_update<'a>(
    bytes: &'a [u8],
    limits: &Limits,
) -> Result<Vec<AwarenessEntry<'a>>, DecodeError> {
    let mut r = Reader::new(bytes);
    let n = r.read_var_u64()?;
    if n > limits.max_awareness_clients as u64 {
        return Err(DecodeError::TooLong {
            what: "awareness client list",
            len: n,
            max: limits.max_awareness_clients,
        });
    }
    let mut entries = Vec::with_capacity((n as usize).min(r.remaining()));
    for _ in 0..n {
        let client = r.read_var_u64()?;
        let clock = r.read_var_u64()?;
        let state = r.read_var_str("awareness state", limits.max_string_bytes)?;
        entries.push(AwarenessEntry {
            client,
            clock,
            state,
        });
    }
    r.finish()?;
    Ok(entries)
}

/// Encodes an awareness update.
pub fn encode_update(entries: &[AwarenessEntry<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    write_var_u64(&mut out, entries.len() as u64);
    for e in entries {
        write_var_u64(&mut out, e.client);
        write_var_u64(&mut out, e.clock);
        write_var_str(&mut out, e.state);
    }
    out
}

#[derive(Debug, Clone)]
struct ClientState<S> {
    clock: u64,
    state: String,
    owner: S,
    renewed_ms: u64,
}

/// The awareness states of one doc, and who sent them.
#[derive(Debug, Clone)]
pub struct AwarenessTable<S> {
    clients: HashMap<u64, ClientState<S>>,
}

impl<S> Default for AwarenessTable<S> {
    fn default() -> Self {
        AwarenessTable {
            clients: HashMap::new(),
        }
    }
}

impl<S: Copy + Eq> AwarenessTable<S> {
    /// Applies entries sent by `owner` at time `now_ms`, with Yjs' rule: a
    /// newer clock wins, and an equal clock wins only to remove. Returns the
    /// update to forward (only the entries that changed something), or `None`.
    pub fn apply(
        &mut self,
        owner: S,
        entries: &[AwarenessEntry<'_>],
        now_ms: u64,
    ) -> Option<Vec<u8>> {
        let mut changed = Vec::new();
        for e in entries {
            let accept = match self.clients.get(&e.client) {
                None => e.state != REMOVED,
                Some(cur) => cur.clock < e.clock || (cur.clock == e.clock && e.state == REMOVED),
            };
            if !accept {
                continue;
            }
            if e.state == REMOVED {
                self.clients.remove(&e.client);
            } else {
                self.clients.insert(
                    e.client,
                    ClientState {
                        clock: e.clock,
                        state: e.state.to_owned(),
                        owner,
                        renewed_ms: now_ms,
                    },
                );
            }
            changed.push(e.clone());
        }
        (!changed.is_empty()).then(|| encode_update(&changed))
    }

    /// Forgets every client `owner` announced (it disconnected) and returns
    /// the removal update to send to the others, or `None`.
    pub fn remove_owner(&mut self, owner: S) -> Option<Vec<u8>> {
        self.remove_where(|c| c.owner == owner)
    }

    /// Forgets clients not renewed within `timeout_ms` and returns the
    /// removal update, or `None`.
    pub fn expire(&mut self, now_ms: u64, timeout_ms: u64) -> Option<Vec<u8>> {
        self.remove_where(|c| now_ms.saturating_sub(c.renewed_ms) >= timeout_ms)
    }

    /// Every known state, for a newly joined session; `None` when empty.
    pub fn full_update(&self) -> Option<Vec<u8>> {
        if self.clients.is_empty() {
            return None;
        }
        let mut entries: Vec<_> = self
            .clients
            .iter()
            .map(|(&client, c)| AwarenessEntry {
                client,
                clock: c.clock,
                state: &c.state,
            })
            .collect();
        entries.sort_by_key(|e| e.client);
        Some(encode_update(&entries))
    }

    /// The earliest time a client would expire, if any client is known.
    pub fn next_expiry(&self, timeout_ms: u64) -> Option<u64> {
        self.clients
            .values()
            .map(|c| c.renewed_ms + timeout_ms)
            .min()
    }

    /// Number of clients with a state.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// True when no client has a state.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    fn remove_where(&mut self, gone: impl Fn(&ClientState<S>) -> bool) -> Option<Vec<u8>> {
        let mut ids: Vec<u64> = self
            .clients
            .iter()
            .filter(|(_, c)| gone(c))
            .map(|(&id, _)| id)
            .collect();
        if ids.is_empty() {
            return None;
        }
        ids.sort_unstable();
        let removed: Vec<(u64, u64)> = ids
            .into_iter()
            .filter_map(|id| self.clients.remove(&id).map(|c| (id, c.clock + 1)))
            .collect();
        let entries: Vec<_> = removed
            .iter()
            .map(|&(client, clock)| AwarenessEntry {
                client,
                clock,
                state: REMOVED,
            })
            .collect();
        Some(encode_update(&entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(client: u64, clock: u64, state: &str) -> AwarenessEntry<'_> {
        AwarenessEntry {
            client,
            clock,
            state,
        }
    }

    #[test]
    fn an_update_round_trips_through_the_codec() {
        let entries = vec![
            entry(1, 3, r#"{"user":{"name":"Ada"}}"#),
            entry(2, 1, REMOVED),
        ];
        let bytes = encode_update(&entries);
        assert_eq!(decode_update(&bytes, &Limits::default()), Ok(entries));
    }

    #[test]
    fn an_older_clock_changes_nothing_and_forwards_nothing() {
        let mut t = AwarenessTable::default();
        assert!(t.apply(1u64, &[entry(7, 5, "{}")], 0).is_some());
        assert_eq!(t.apply(1, &[entry(7, 4, r#"{"x":1}"#)], 0), None);
        assert_eq!(t.full_update(), Some(encode_update(&[entry(7, 5, "{}")])));
    }

    #[test]
    fn a_disconnected_session_s_clients_are_announced_as_removed_with_a_newer_clock() {
        let mut t = AwarenessTable::default();
        t.apply(1u64, &[entry(7, 5, "{}"), entry(8, 1, "{}")], 0);
        t.apply(2u64, &[entry(9, 2, "{}")], 0);
        let removal = t.remove_owner(1).expect("removal update");
        assert_eq!(
            decode_update(&removal, &Limits::default()).unwrap(),
            vec![entry(7, 6, REMOVED), entry(8, 2, REMOVED)]
        );
        assert_eq!(t.len(), 1);
        assert_eq!(t.remove_owner(1), None);
    }

    #[test]
    fn clients_not_renewed_within_the_timeout_expire() {
        let mut t = AwarenessTable::default();
        t.apply(1u64, &[entry(7, 1, "{}")], 1_000);
        t.apply(1u64, &[entry(8, 1, "{}")], 20_000);
        assert_eq!(t.next_expiry(30_000), Some(31_000));
        assert_eq!(t.expire(30_999, 30_000), None);
        let removed = t.expire(31_000, 30_000).expect("client 7 expired");
        assert_eq!(
            decode_update(&removed, &Limits::default()).unwrap(),
            vec![entry(7, 2, REMOVED)]
        );
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn more_clients_than_the_limit_are_refused_before_reading_them() {
        let limits = Limits {
            max_awareness_clients: 1,
            ..Limits::default()
        };
        let bytes = encode_update(&[entry(1, 1, "{}"), entry(2, 1, "{}")]);
        assert!(matches!(
            decode_update(&bytes, &limits),
            Err(DecodeError::TooLong { .. })
        ));
    }
}

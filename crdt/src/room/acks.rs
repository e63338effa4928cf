//! Durable acknowledgements, released in log order.
//!
//! A write is acknowledged only when the log holds it (and everything before
//! it) on stable storage. Writes that change nothing are acknowledged behind
//! the writes already in flight, so an ack never overtakes an earlier write
//! of the same connection.

use std::collections::{HashMap, VecDeque};

use super::SessionId;

#[derive(Debug, Clone)]
struct Pending {
    ticket: u64,
    session: SessionId,
    doc: String,
    seq: u64,
}

/// Acks waiting for the log to become durable.
#[derive(Debug, Default)]
pub(crate) struct AckQueue {
    queue: VecDeque<Pending>,
    durable_through: u64,
}

impl AckQueue {
    /// Starts with everything up to `durable_through` already durable.
    pub fn new(durable_through: u64) -> Self {
        AckQueue {
            queue: VecDeque::new(),
            durable_through,
        }
    }

    /// The highest ticket known durable.
    pub fn durable_through(&self) -> u64 {
        self.durable_through
    }

    /// Queues the ack for write `seq` of `session` on `doc`, which needs `ticket` durable.
    pub fn push(&mut self, ticket: u64, session: SessionId, doc: &str, seq: u64) {
        // Keep the queue sorted: a later write never waits for less than an earlier one.
        let ticket = self.queue.back().map_or(ticket, |p| p.ticket.max(ticket));
        self.queue.push_back(Pending {
            ticket,
            session,
            doc: doc.to_owned(),
            seq,
        });
    }

    /// Marks tickets through `ticket` durable and returns the acks now due,
    /// one per (session, doc) with the highest seq.
    pub fn release(&mut self, ticket: u64) -> Vec<(SessionId, String, u64)> {
        self.durable_through = self.durable_through.max(ticket);
        let mut due: HashMap<(SessionId, String), u64> = HashMap::new();
        let mut order = Vec::new();
        while self
            .queue
            .front()
            .is_some_and(|p| p.ticket <= self.durable_through)
        {
            let Some(p) = self.queue.pop_front() else {
                break;
            };
            let key = (p.session, p.doc);
            if !due.contains_key(&key) {
                order.push(key.clone());
            }
            let seq = due.entry(key).or_default();
            *seq = (*seq).max(p.seq);
        }
        order
            .into_iter()
            .filter_map(|key| due.get(&key).copied().map(|seq| (key.0, key.1, seq)))
            .collect()
    }

    /// Forgets a departed session's acks.
    pub fn forget(&mut self, session: SessionId) {
        self.queue.retain(|p| p.session != session);
    }

    /// Number of acks waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ack_waits_for_its_ticket_to_be_durable() {
        let mut q = AckQueue::new(0);
        q.push(1, 7, "d", 1);
        assert!(q.release(0).is_empty());
        assert_eq!(q.release(1), vec![(7, "d".to_owned(), 1)]);
    }

    #[test]
    fn a_noop_write_is_not_acked_before_an_earlier_write_in_flight() {
        let mut q = AckQueue::new(0);
        q.push(5, 7, "d", 1);
        q.push(0, 7, "d", 2); // changed nothing, but must not overtake seq 1
        assert!(q.release(4).is_empty());
        assert_eq!(q.release(5), vec![(7, "d".to_owned(), 2)]);
    }

    #[test]
    fn acks_for_one_session_and_doc_are_coalesced_to_the_highest_seq() {
        let mut q = AckQueue::new(0);
        q.push(1, 7, "a", 1);
        q.push(2, 7, "a", 2);
        q.push(3, 8, "a", 1);
        assert_eq!(
            q.release(3),
            vec![(7, "a".to_owned(), 2), (8, "a".to_owned(), 1)]
        );
        assert_eq!(q.len(), 0);
    }
}

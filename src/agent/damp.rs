//! Flapping damped: a new answer is given only once it held for `hold_polls` polls of its node
//! (`recover_polls` to go back up), and `ready` is added to `up` only right after the agent's own
//! `drain` or `maint` (HAProxy keeps an agent's drain until it hears `ready`, and `ready` would also
//! end a drain the operator set, so it is not sent at any other time).

use std::time::Instant;

use super::policy::{Class, Verdict};

/// One node's answers in one pool over time.
#[derive(Clone, Debug, Default)]
pub struct Damper {
    given: Option<Verdict>,
    /// A different answer seen, and on how many polls in a row.
    pending: Option<(Class, u32)>,
    /// The last poll counted (a verdict counts once per poll of its node).
    counted: Option<u64>,
}

impl Damper {
    /// Feeds the verdict made after poll number `poll` of the node; returns the answer to give.
    pub fn observe(&mut self, poll: u64, v: Option<Verdict>, hold: u32, recover: u32) -> Option<&Verdict> {
        let Some(v) = v else { return self.given.as_ref() };
        let Some(given) = &self.given else {
            self.given = Some(v);
            return self.given.as_ref();
        };
        if given.class == v.class {
            // Same answer: its weight and reason follow at once.
            self.given = Some(v);
            self.pending = None;
            return self.given.as_ref();
        }
        if self.counted != Some(poll) {
            self.counted = Some(poll);
            self.pending = match self.pending {
                Some((c, n)) if c == v.class => Some((c, n + 1)),
                _ => Some((v.class, 1)),
            };
        }
        let needed = if v.class == Class::Up { recover } else { hold };
        if self.pending.is_some_and(|(c, n)| c == v.class && n >= needed) {
            self.given = Some(v);
            self.pending = None;
        }
        self.given.as_ref()
    }

    /// Polls the pending answer has held so far, and what it is.
    pub fn pending(&self) -> Option<(Class, u32)> {
        self.pending
    }
}

/// Whether `ready` goes with the next `up`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// The last answer sent carried `drain` or `maint`.
    pub admin: bool,
    /// `ready` is added until then.
    pub until: Option<Instant>,
}

impl Ready {
    /// Records the class answered now; true when `ready` must go with it.
    pub fn answer(&mut self, class: Class, now: Instant, window: std::time::Duration) -> bool {
        let admin = matches!(class, Class::Drain | Class::Maint);
        if admin {
            *self = Ready { admin: true, until: None };
            return false;
        }
        if self.admin {
            *self = Ready { admin: false, until: Some(now + window) };
        }
        class == Class::Up && self.until.is_some_and(|u| now < u)
    }

    /// Still to be remembered across a restart (an admin word sent, or `ready` not yet sent long enough).
    pub fn pending(&self, now: Instant) -> bool {
        self.admin || self.until.is_some_and(|u| now < u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn v(class: Class) -> Option<Verdict> {
        Some(Verdict { class, weight: 100, reason: String::new(), kept: false })
    }

    #[test]
    fn a_new_answer_must_hold_before_it_is_given() {
        let mut d = Damper::default();
        assert_eq!(d.observe(1, v(Class::Up), 2, 3).unwrap().class, Class::Up, "the first answer at once");
        assert_eq!(d.observe(2, v(Class::Drain), 2, 3).unwrap().class, Class::Up);
        // The same poll seen again (another node's sample came) does not count twice.
        assert_eq!(d.observe(2, v(Class::Drain), 2, 3).unwrap().class, Class::Up);
        assert_eq!(d.observe(3, v(Class::Drain), 2, 3).unwrap().class, Class::Drain);
        // One good poll between bad ones: flapping, nothing given.
        assert_eq!(d.observe(4, v(Class::Up), 2, 3).unwrap().class, Class::Drain);
        assert_eq!(d.observe(5, v(Class::Drain), 2, 3).unwrap().class, Class::Drain);
        assert_eq!(d.pending(), None);
        for p in 6..8 {
            assert_eq!(d.observe(p, v(Class::Up), 2, 3).unwrap().class, Class::Drain, "poll {p}");
        }
        assert_eq!(d.observe(8, v(Class::Up), 2, 3).unwrap().class, Class::Up, "back up after 3 good polls");
        // No verdict (not polled): the last answer stands.
        assert_eq!(d.observe(9, None, 2, 3).unwrap().class, Class::Up);
    }

    #[test]
    fn ready_follows_only_the_agents_own_drain() {
        let (t0, w) = (Instant::now(), Duration::from_secs(30));
        let mut r = Ready::default();
        assert!(!r.answer(Class::Up, t0, w), "never drained: no ready");
        assert!(!r.answer(Class::Drain, t0, w));
        assert!(r.pending(t0));
        assert!(r.answer(Class::Up, t0 + Duration::from_secs(1), w));
        assert!(r.answer(Class::Up, t0 + Duration::from_secs(30), w));
        assert!(!r.answer(Class::Up, t0 + Duration::from_secs(32), w), "window over");
        assert!(!r.pending(t0 + Duration::from_secs(32)));
        assert!(!r.answer(Class::Down, t0, w), "down is not an admin word");
    }
}

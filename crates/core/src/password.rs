//! Dashboard passwords: the length rule a new password must meet and the sign-in brake that
//! stops guessing. Hashing is the server's job (argon2id); this module only decides.

use jiff::{SignedDuration, Timestamp};

use crate::refusal::{Reason, Rule};

/// Fewest characters a password may have (Unicode scalar values, as people count them).
pub const MIN_CHARS: usize = 12;

/// Most bytes (UTF-8) a password may have: bounds what one sign-in costs to hash.
pub const MAX_BYTES: usize = 1024;

/// Checks a new password against the length rule; the refusal names `password_length` and
/// says what length would do.
pub fn check_new_password(password: &str) -> Result<(), Reason> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(Reason::new(
            Rule::PasswordLength,
            format!("the password has {chars} characters, fewer than {MIN_CHARS}"),
            format!(
                "choose a password of at least {MIN_CHARS} characters (a passphrase of a few words works well)"
            ),
        ));
    }
    if password.len() > MAX_BYTES {
        return Err(Reason::new(
            Rule::PasswordLength,
            format!(
                "the password is {} bytes long, more than {MAX_BYTES}",
                password.len()
            ),
            format!("choose a password of at most {MAX_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// The sign-in brake: after `max_failures` failed password sign-ins for one user name within
/// `window`, password sign-in for that name is refused until the oldest of them leaves the
/// window. It applies to every name given, existing or not, so it reveals nothing about who
/// has an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Brake {
    /// Failures allowed within the window before sign-in is refused.
    pub max_failures: usize,
    /// How far back failures count.
    pub window: SignedDuration,
}

impl Default for Brake {
    /// 5 failures within 15 minutes.
    fn default() -> Self {
        Brake {
            max_failures: 5,
            window: SignedDuration::from_mins(15),
        }
    }
}

impl Brake {
    /// The earliest moment failures count from at `now` (older ones are forgotten).
    pub fn since(&self, now: Timestamp) -> Timestamp {
        now.checked_sub(self.window).unwrap_or(now)
    }

    /// When password sign-in may be tried again, given the times of failed attempts; `None`
    /// when it may be tried now.
    pub fn retry_at(&self, failures: &[Timestamp], now: Timestamp) -> Option<Timestamp> {
        let since = self.since(now);
        let mut recent: Vec<Timestamp> = failures
            .iter()
            .copied()
            .filter(|at| *at > since && *at <= now)
            .collect();
        if self.max_failures == 0 || recent.len() < self.max_failures {
            return None;
        }
        recent.sort_unstable();
        // Sign-in opens again when only `max_failures - 1` of them are left in the window.
        let oldest_counted = recent[recent.len() - self.max_failures];
        oldest_counted.checked_add(self.window).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn a_new_password_needs_twelve_characters_and_at_most_1024_bytes() {
        let short = check_new_password("eleven-char").unwrap_err();
        assert_eq!(short.rule, Rule::PasswordLength);
        assert!(
            short.to_string().contains("at least 12 characters"),
            "{short}"
        );
        assert!(check_new_password("twelve-chars").is_ok());
        // Characters, not bytes: 12 accented letters are 24 bytes and enough.
        assert!(check_new_password(&"é".repeat(12)).is_ok());
        assert!(check_new_password(&"é".repeat(11)).is_err());
        assert!(check_new_password(&"x".repeat(MAX_BYTES)).is_ok());
        let long = check_new_password(&"x".repeat(MAX_BYTES + 1)).unwrap_err();
        assert_eq!(long.rule, Rule::PasswordLength);
        assert!(long.to_string().contains("at most 1024 bytes"), "{long}");
    }

    #[test]
    fn the_brake_holds_after_five_failures_in_fifteen_minutes_and_opens_as_they_age() {
        let brake = Brake::default();
        let now = at("2026-12-01T18:10:00Z");
        let four: Vec<Timestamp> = (0..4)
            .map(|m| at(&format!("2026-12-01T18:0{m}:00Z")))
            .collect();
        assert_eq!(
            brake.retry_at(&four, now),
            None,
            "four failures are allowed"
        );
        let mut five = four.clone();
        five.push(at("2026-12-01T18:09:00Z"));
        assert_eq!(
            brake.retry_at(&five, now),
            Some(at("2026-12-01T18:15:00Z")),
            "open again when the oldest of the five is 15 minutes old"
        );
        assert_eq!(brake.retry_at(&five, at("2026-12-01T18:15:00Z")), None);
        let mut seven = five.clone();
        seven.extend([at("2026-12-01T18:09:30Z"), at("2026-12-01T18:09:40Z")]);
        assert_eq!(
            brake.retry_at(&seven, now),
            Some(at("2026-12-01T18:17:00Z")),
            "with seven, the third oldest must leave the window"
        );
        let old = vec![at("2026-12-01T17:00:00Z"); 10];
        assert_eq!(
            brake.retry_at(&old, now),
            None,
            "old failures are forgotten"
        );
    }
}

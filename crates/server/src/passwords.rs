//! Password hashing for dashboard sign-in: argon2id with the argon2 crate's default parameters
//! (19 MiB, 2 passes, 1 lane: OWASP's recommendation), a random salt per password from the OS,
//! stored as a PHC string. Hashing is slow and memory-hungry on purpose, so it runs on tokio's
//! blocking threads, never on the async workers, and at most [`CONCURRENT_HASHES`] run at once
//! (a flood of sign-ins queues instead of exhausting memory).

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::problem::ApiError;

/// Most hashes computed at the same time (each holds 19 MiB while it runs).
pub const CONCURRENT_HASHES: usize = 4;

static HASHING: Semaphore = Semaphore::const_new(CONCURRENT_HASHES);

/// A PHC string with the same algorithm and parameters as real ones, of a password nobody
/// knows. Sign-in verifies against it when the user does not exist or has no password, so the
/// answer takes as long as for a real user and does not reveal who has an account.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$0YX0IOv1ARbRhRfZdHpjsw$LJOnHbDBd5hR0L6hv3z/OnS+y2vrOaqWBH8+gczL/4o";

/// Hashes `password` with argon2id and a fresh random salt; the PHC string to store.
pub async fn hash(password: String) -> Result<String, ApiError> {
    blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| ApiError::Internal(format!("the password could not be hashed: {e}")))
    })
    .await?
}

/// Whether `password` matches the stored PHC string `phc`. Without one (no such user, or no
/// password), it verifies against a dummy hash all the same and answers `false`. A stored hash
/// that does not parse never matches (and is logged).
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, ApiError> {
    blocking(move || {
        let real = phc.is_some();
        let phc = phc.as_deref().unwrap_or(DUMMY);
        match Argon2::default().verify_password(password.as_bytes(), phc) {
            Ok(()) => real,
            Err(argon2::password_hash::Error::PasswordInvalid) => false,
            Err(err) => {
                tracing::error!(error = %err, "a stored password hash is unreadable");
                false
            }
        }
    })
    .await
}

/// Runs `work` on a blocking thread once a hashing permit is free.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(format!("password hashing is shut down: {e}")))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::phc::PasswordHash;
    use argon2::{Algorithm, Params};

    use super::*;

    #[tokio::test]
    async fn hashes_are_salted_argon2id_and_verify() {
        let a = hash("correct horse battery".into()).await.unwrap();
        let b = hash("correct horse battery".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(
            verify("correct horse battery".into(), Some(a.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("correct horse batterY".into(), Some(a))
                .await
                .unwrap()
        );
        assert!(!verify("x".into(), Some("not a hash".into())).await.unwrap());
    }

    #[tokio::test]
    async fn the_dummy_costs_what_a_real_hash_costs_and_never_matches() {
        let dummy = PasswordHash::new(DUMMY).unwrap();
        assert_eq!(dummy.algorithm.as_str(), Algorithm::Argon2id.as_str());
        let params = Params::try_from(&dummy).unwrap();
        let default = Params::default();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (default.m_cost(), default.t_cost(), default.p_cost()),
            "the dummy must use the parameters real hashes use"
        );
        assert!(!verify(String::new(), None).await.unwrap());
        assert!(!verify("anything at all".into(), None).await.unwrap());
    }
}

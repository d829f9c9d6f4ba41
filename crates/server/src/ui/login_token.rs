//! The sign-in form's login token, bound on the server: `<nonce>.<expiry>.<mac>` where the MAC
//! is HMAC-SHA256 over the nonce and expiry with a key every instance on the database shares
//! (`server_secrets`, loaded by [`crate::Server::start`]). A token passes only when the form
//! field and the cookie carry the same one, its MAC is right and it has not expired, so another
//! site can neither make one up nor plant an old one for ever. Comparisons are constant-time.

use std::sync::OnceLock;

use jiff::Timestamp;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The signing key; set once from the database at start, or a random per-process key (tests
/// that build the app without [`crate::Server::start`]).
static KEY: OnceLock<[u8; 32]> = OnceLock::new();

/// Installs the shared key (hex of 32 bytes); the first installed stays.
pub fn install_key(hex_key: &str) {
    let mut key = [0u8; 32];
    if hex::decode_to_slice(hex_key.trim(), &mut key).is_ok() {
        let _ = KEY.set(key);
    } else {
        tracing::error!("the stored login token key is unreadable; using a per-process key");
    }
}

fn key() -> &'static [u8; 32] {
    KEY.get_or_init(|| {
        let mut key = [0u8; 32];
        if getrandom::fill(&mut key).is_err() {
            tracing::error!("no randomness for the login token key");
        }
        key
    })
}

/// HMAC-SHA256 (RFC 2104) of `message` with `key` (32 bytes, shorter than SHA-256's block).
fn hmac(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

fn mac(nonce: &str, expires: i64) -> String {
    hex::encode(hmac(
        key(),
        format!("login_csrf|{nonce}|{expires}").as_bytes(),
    ))
}

/// A new login token valid until `expires`; `None` without randomness.
pub fn issue(expires: Timestamp) -> Option<String> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).ok()?;
    let nonce = hex::encode(nonce);
    let expires = expires.as_second();
    Some(format!("{nonce}.{expires}.{}", mac(&nonce, expires)))
}

/// Whether the form's `field` and the `cookie` hold the same token, signed here and unexpired
/// at `now`.
pub fn verify(field: &str, cookie: Option<&str>, now: Timestamp) -> bool {
    let Some(cookie) = cookie else { return false };
    if field.is_empty() || !bool::from(field.as_bytes().ct_eq(cookie.as_bytes())) {
        return false;
    }
    let mut parts = field.split('.');
    let (Some(nonce), Some(expires), Some(given), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return false;
    };
    let signed = bool::from(mac(nonce, expires).as_bytes().ct_eq(given.as_bytes()));
    signed && expires > now.as_second()
}

/// Constant-time equality of two secrets (CSRF tokens): the time taken does not say how much
/// of a guess was right.
pub fn same_secret(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn hmac_matches_rfc_4231_style_vector() {
        // HMAC-SHA256 with a 32-byte key of 0x0b, message "Hi There" (checked with Python's hmac).
        let mac = hmac(&[0x0b; 32], b"Hi There");
        assert_eq!(
            hex::encode(mac),
            "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7"
        );
    }

    #[test]
    fn only_a_signed_unexpired_pair_passes() {
        let now = at("2026-12-01T18:00:00Z");
        let token = issue(at("2026-12-01T19:00:00Z")).unwrap();
        assert!(verify(&token, Some(&token), now));
        assert!(
            !verify(&token, Some("other"), now),
            "cookie and field differ"
        );
        assert!(!verify(&token, None, now));
        assert!(
            !verify(&token, Some(&token), at("2026-12-01T19:00:01Z")),
            "expired"
        );
        // An attacker's own pair, equal but not signed here.
        let forged = "00112233445566778899aabbccddeeff.1999999999.deadbeef";
        assert!(!verify(forged, Some(forged), now));
        // A real token with its expiry pushed out.
        let mut parts = token.split('.');
        let (nonce, _, mac) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
        let stretched = format!("{nonce}.1999999999.{mac}");
        assert!(!verify(&stretched, Some(&stretched), now));
        assert!(!verify("", Some(""), now));
    }
}

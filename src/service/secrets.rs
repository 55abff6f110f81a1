//! Secrets: session and API tokens (256 random bits, handed out once, stored only as their SHA-256) and passwords
//! (argon2id PHC strings with the crate's defaults: 19 MiB, t=2, p=1).

use argon2::{Argon2, PasswordHasher, PasswordVerifier, password_hash::phc::PasswordHash};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::{AppError, AppResult};

pub const SESSION_PREFIX: &str = "ics_";
pub(super) const TOKEN_PREFIX: &str = "ict_";

/// A new random token with the given prefix: 256 bits, base64url.
fn new_token(prefix: &str) -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random session token.
pub fn new_session_token() -> AppResult<String> {
    new_token(SESSION_PREFIX)
}

/// A new random API token.
pub fn new_api_token() -> AppResult<String> {
    new_token(TOKEN_PREFIX)
}

/// A random password for the first admin: 24 base64url characters (144 bits).
pub fn random_password() -> AppResult<String> {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Checks the password policy: at least 12 characters, at most 256, no composition rules.
pub fn check_password(field: &str, password: &str) -> AppResult<()> {
    let n = password.chars().count();
    if !(12..=256).contains(&n) {
        return Err(AppError::invalid(
            field,
            "a password has 12 to 256 characters",
            "密码长度须为 12 至 256 个字符",
        ));
    }
    Ok(())
}

/// At most one password hash per core runs at a time (each takes 19 MiB): more sign-ins wait their turn instead of
/// exhausting memory.
static HASHING: std::sync::LazyLock<tokio::sync::Semaphore> =
    std::sync::LazyLock::new(|| tokio::sync::Semaphore::new(hashing_capacity()));

/// How many password hashes may run at once: one per core.
pub fn hashing_capacity() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

/// How many password hashes run now.
pub fn hashing_now() -> usize {
    hashing_capacity() - HASHING.available_permits()
}

/// The argon2id PHC string of a password. Hashing is slow on purpose: run it off the async threads.
pub async fn hash_password(password: &str) -> AppResult<String> {
    let password = password.to_owned();
    let _turn = HASHING.acquire().await.map_err(|e| AppError::Internal(e.into()))?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h: PasswordHash| h.to_string())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
}

/// Whether `password` matches the PHC string `hash`; a malformed hash never matches.
pub async fn verify_password(hash: &str, password: &str) -> bool {
    let (hash, password) = (hash.to_owned(), password.to_owned());
    let Ok(_turn) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// A hash no password matches, verified for unknown usernames so they cost as much time as known ones.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$E2WnG8Kx3DvfS5KlSUHFMeaqx5Ne7v0xJgDSHuR9sNo";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(&h, "correct horse battery").await);
        assert!(!verify_password(&h, "wrong horse battery").await);
        assert!(!verify_password(DUMMY_HASH, "anything at all").await);
        // The dummy must parse, or unknown users would be answered faster than known ones.
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password("not a hash", "anything at all").await);
    }

    #[test]
    fn tokens_are_long_and_hashed() {
        let t = new_session_token().unwrap();
        assert!(t.starts_with("ics_") && t.len() >= 4 + 43);
        assert_ne!(t, new_session_token().unwrap());
        assert_eq!(token_hash(&t).len(), 64);
    }
}

//! Secrets kept in the database (a robot's signing secret, an application's secret) are sealed with the service's
//! secret key: ChaCha20-Poly1305 with a random nonce, stored as `v1:` and the base64 of nonce and ciphertext. A
//! sealed value read from a backup is useless without the key (docs/NOTIFICATIONS.md says where it lives).

use base64::{Engine, engine::general_purpose::STANDARD};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

const PREFIX: &str = "v1:";

/// Seals and opens secrets with one 256-bit key.
#[derive(Clone)]
pub struct Sealer {
    key: std::sync::Arc<LessSafeKey>,
    id: String,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(…)")
    }
}

impl Sealer {
    /// A sealer with the given 32-byte key.
    pub fn new(key: &[u8; 32]) -> Sealer {
        use sha2::Digest;
        let id = hex::encode(&sha2::Sha256::digest(key)[..6]);
        let key = UnboundKey::new(&CHACHA20_POLY1305, key).expect("a 32-byte key");
        Sealer {
            key: std::sync::Arc::new(LessSafeKey::new(key)),
            id,
        }
    }

    /// The key's id: the first 12 hex digits of its SHA-256, so that replicas can tell they hold the same key
    /// without showing it.
    pub fn key_id(&self) -> &str {
        &self.id
    }

    /// A new random key, base64.
    pub fn new_key() -> anyhow::Result<String> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        Ok(STANDARD.encode(key))
    }

    /// A sealer from a base64 key (as `secret_key` or the key file holds it).
    pub fn from_base64(key: &str) -> anyhow::Result<Sealer> {
        let bytes = STANDARD.decode(key.trim())?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("the secret key is not 32 bytes of base64"))?;
        Ok(Sealer::new(&key))
    }

    /// The sealed form of a secret.
    pub fn seal(&self, secret: &str) -> anyhow::Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let mut data = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .map_err(|_| anyhow::anyhow!("cannot seal"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    /// The secret a sealed value holds; an error if it was sealed with another key or changed.
    pub fn open(&self, sealed: &str) -> anyhow::Result<String> {
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or_else(|| anyhow::anyhow!("not a sealed secret"))?;
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| anyhow::anyhow!("bad nonce"))?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut data)
            .map_err(|_| anyhow::anyhow!("the secret cannot be opened with this service's secret key"))?;
        Ok(String::from_utf8(plain.to_vec())?)
    }
}

#[cfg(test)]
mod tests {
    use super::Sealer;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key() {
        let a = Sealer::from_base64(&Sealer::new_key().unwrap()).unwrap();
        let b = Sealer::from_base64(&Sealer::new_key().unwrap()).unwrap();
        let sealed = a.seal("SEC0123456789abcdef").unwrap();
        assert!(!sealed.contains("SEC0123"));
        assert_ne!(
            sealed,
            a.seal("SEC0123456789abcdef").unwrap(),
            "a random nonce each time"
        );
        assert_eq!(a.open(&sealed).unwrap(), "SEC0123456789abcdef");
        assert!(b.open(&sealed).is_err());
        assert_ne!(a.key_id(), b.key_id());
        assert_eq!(a.key_id().len(), 12);
        let mut changed = sealed.clone().into_bytes();
        let at = changed.len() - 3;
        changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
        assert!(a.open(&String::from_utf8(changed).unwrap()).is_err());
    }
}

//! Signed policies: Ed25519 keys and detached signatures over a policy file's exact bytes.
//!
//! Once an embedder gives a router trusted public keys ([`crate::Router::set_trusted_keys`]), a
//! policy text loads only with a signature made by one of them
//! ([`crate::Router::load_signed_policy`]): a policy change then needs whoever holds a secret key
//! to have signed off on those exact bytes. The signature covers the file as written, byte for
//! byte (not the canonical form), so it can also be checked with any Ed25519 tool.
//!
//! File formats (text, one marker line, then lowercase hex; a trailing newline is optional and
//! uppercase hex is accepted on reading):
//!
//! ```text
//! sosroute-ed25519-public-v1        a public key: 32 bytes
//! <64 hex digits>
//!
//! sosroute-ed25519-secret-v1        a secret key (its 32-byte seed); keep it offline, mode 0600
//! <64 hex digits>
//!
//! sosroute-policy-signature-v1      a detached signature of a policy file
//! key <64 hex digits>               the signer's public key, so a refusal can say
//!                                   "unknown key" rather than only "bad signature"
//! sig <128 hex digits>              the 64-byte Ed25519 signature of the file's exact bytes
//! ```

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use thiserror::Error;

use crate::identity::{decode_hex, encode_hex};

/// First line of a public key file.
pub(crate) const PUBLIC_KEY_MARKER: &str = "sosroute-ed25519-public-v1";
/// First line of a secret key file.
pub(crate) const SECRET_KEY_MARKER: &str = "sosroute-ed25519-secret-v1";
/// First line of a signature file.
pub(crate) const SIGNATURE_MARKER: &str = "sosroute-policy-signature-v1";

/// Why a policy's signature was refused, or a key or signature file could not be read. The
/// policy in force stays in force.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The router trusts signed policies only, and the policy came without a signature.
    #[error(
        "policy refused: no signature, and this router loads only policies signed by one of its \
         {keys} trusted key(s); sign it (`sosroute sign-policy`) and load it with its signature"
    )]
    Missing {
        /// How many keys the router trusts.
        keys: usize,
    },
    /// A signature was given, but the router has no trusted keys to check it with.
    #[error(
        "policy refused: signed by key {key}, but this router has no trusted keys set; set them \
         first (set_trusted_keys / sos_router_set_trusted_keys)"
    )]
    NoTrustedKeys {
        /// The signer's public key, hex.
        key: String,
    },
    /// The signature names a key the router does not trust.
    #[error("policy refused: signed by key {key}, which is not one of this router's {keys} trusted key(s)")]
    UnknownKey {
        /// The signer's public key, hex.
        key: String,
        /// How many keys the router trusts.
        keys: usize,
    },
    /// The key is trusted, but the signature does not match the policy's bytes: the policy was
    /// changed after signing, or the signature belongs to another file.
    #[error(
        "policy refused: bad signature: key {key} did not sign these {len} bytes (the policy was \
         changed after it was signed, or the signature is another file's)"
    )]
    Bad {
        /// The signer's public key, hex.
        key: String,
        /// Length of the policy text checked.
        len: usize,
    },
    /// A key or signature file that is not in its format.
    #[error("{what}: {reason}")]
    Malformed {
        /// Which file or field: `signature`, `public key`, `keys[2]`, ...
        what: String,
        /// What is wrong with it.
        reason: String,
    },
}

fn malformed(what: &str, reason: impl Into<String>) -> SignatureError {
    SignatureError::Malformed {
        what: what.to_owned(),
        reason: reason.into(),
    }
}

/// An Ed25519 public key a router may trust. Its `Display` is 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The key of 32 raw bytes; an error if they are not a point of the curve.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, SignatureError> {
        VerifyingKey::from_bytes(bytes)
            .map(PublicKey)
            .map_err(|_| malformed("public key", "32 bytes that are not an Ed25519 public key"))
    }

    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The key as a public key file (marker line, hex line).
    pub fn to_file(&self) -> String {
        format!("{PUBLIC_KEY_MARKER}\n{self}\n")
    }

    /// Reads a public key file.
    pub fn from_file(text: &str) -> Result<PublicKey, SignatureError> {
        let hex = body(text, PUBLIC_KEY_MARKER, "public key")?;
        PublicKey::from_bytes(&fixed::<32>(hex, "public key")?)
    }

    /// Whether `signature` is this key's signature of `bytes` (strict verification: no
    /// malleable signatures, no weak keys).
    fn verifies(&self, bytes: &[u8], signature: &Signature) -> bool {
        self.0.verify_strict(bytes, signature).is_ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_hex(self.0.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

/// An Ed25519 secret key, for signing policies (`sosroute sign-policy`). Its `Debug` does not
/// show it.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// The key with this 32-byte seed. The seed must come from a good random source (the CLI's
    /// `keygen` uses the operating system's).
    pub fn from_seed(seed: &[u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(seed))
    }

    /// Its public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The key as a secret key file (marker line, hex of the seed).
    pub fn to_file(&self) -> String {
        format!("{SECRET_KEY_MARKER}\n{}\n", encode_hex(&self.0.to_bytes()))
    }

    /// Reads a secret key file.
    pub fn from_file(text: &str) -> Result<SecretKey, SignatureError> {
        let hex = body(text, SECRET_KEY_MARKER, "secret key")?;
        Ok(SecretKey::from_seed(&fixed::<32>(hex, "secret key")?))
    }

    /// The detached signature of `policy_bytes`, the exact bytes of a policy file.
    pub fn sign(&self, policy_bytes: &[u8]) -> PolicySignature {
        use ed25519_dalek::Signer;
        PolicySignature {
            key: self.public_key(),
            signature: self.0.sign(policy_bytes),
        }
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public {})", self.public_key())
    }
}

/// A detached signature of a policy file: who signed, and the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct PolicySignature {
    /// The signer's public key.
    pub key: PublicKey,
    signature: Signature,
}

impl PolicySignature {
    /// The signature as a signature file.
    pub fn to_file(&self) -> String {
        format!(
            "{SIGNATURE_MARKER}\nkey {}\nsig {}\n",
            self.key,
            encode_hex(&self.signature.to_bytes())
        )
    }

    /// Reads a signature file.
    pub fn from_file(text: &str) -> Result<PolicySignature, SignatureError> {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        match lines.next() {
            Some(SIGNATURE_MARKER) => {}
            other => {
                return Err(malformed(
                    "signature",
                    format!("first line is {other:?}; expected {SIGNATURE_MARKER:?}"),
                ))
            }
        }
        let mut field = |name: &str| {
            let line = lines.next().unwrap_or("");
            line.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(' '))
                .map(str::trim)
                .ok_or_else(|| {
                    malformed(
                        "signature",
                        format!("expected a line `{name} <hex>`, got {line:?}"),
                    )
                })
        };
        let key = PublicKey::from_bytes(&fixed::<32>(field("key")?, "signature key")?)?;
        let sig = fixed::<64>(field("sig")?, "signature sig")?;
        if let Some(extra) = lines.next() {
            return Err(malformed(
                "signature",
                format!("unexpected line {extra:?} after `sig`"),
            ));
        }
        Ok(PolicySignature {
            key,
            signature: Signature::from_bytes(&sig),
        })
    }

    /// Checks that this signs `policy_bytes` with one of `trusted`; the error says why not.
    pub fn verify(&self, policy_bytes: &[u8], trusted: &[PublicKey]) -> Result<(), SignatureError> {
        let key = self.key.to_string();
        if trusted.is_empty() {
            return Err(SignatureError::NoTrustedKeys { key });
        }
        if !trusted.contains(&self.key) {
            return Err(SignatureError::UnknownKey {
                key,
                keys: trusted.len(),
            });
        }
        if !self.key.verifies(policy_bytes, &self.signature) {
            return Err(SignatureError::Bad {
                key,
                len: policy_bytes.len(),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for PolicySignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PolicySignature(key {})", self.key)
    }
}

impl FromStr for PolicySignature {
    type Err = SignatureError;

    fn from_str(s: &str) -> Result<PolicySignature, SignatureError> {
        PolicySignature::from_file(s)
    }
}

/// The one hex line after `marker` in a key file.
fn body<'a>(text: &'a str, marker: &str, what: &str) -> Result<&'a str, SignatureError> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next();
    if first != Some(marker) {
        let hint = match first {
            Some(PUBLIC_KEY_MARKER) => " (this is a public key file)",
            Some(SECRET_KEY_MARKER) => " (this is a secret key file)",
            Some(SIGNATURE_MARKER) => " (this is a signature file)",
            _ => "",
        };
        return Err(malformed(
            what,
            format!("first line is {first:?}; expected {marker:?}{hint}"),
        ));
    }
    let hex = lines
        .next()
        .ok_or_else(|| malformed(what, "no hex line after the marker"))?;
    if let Some(extra) = lines.next() {
        return Err(malformed(what, format!("unexpected line {extra:?}")));
    }
    Ok(hex)
}

/// Exactly `N` bytes of hex.
fn fixed<const N: usize>(hex: &str, what: &str) -> Result<[u8; N], SignatureError> {
    decode_hex(hex)
        .and_then(|b| <[u8; N]>::try_from(b).ok())
        .ok_or_else(|| malformed(what, format!("expected {} hex digits, got {hex:?}", 2 * N)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SecretKey {
        SecretKey::from_seed(&[n; 32])
    }

    #[test]
    fn files_round_trip() {
        let secret = key(1);
        let public = secret.public_key();
        let again = SecretKey::from_file(&secret.to_file()).unwrap();
        assert_eq!(again.public_key(), public);
        assert_eq!(PublicKey::from_file(&public.to_file()).unwrap(), public);
        let sig = secret.sign(b"policy");
        let read: PolicySignature = sig.to_file().parse().unwrap();
        assert_eq!(read, sig);
        assert!(sig
            .to_file()
            .starts_with("sosroute-policy-signature-v1\nkey "));
    }

    #[test]
    fn verification_says_why_it_refuses() {
        let (a, b) = (key(1), key(2));
        let sig = a.sign(b"name = \"x\"");
        assert_eq!(sig.verify(b"name = \"x\"", &[a.public_key()]), Ok(()));
        assert!(matches!(
            sig.verify(b"name = \"y\"", &[a.public_key()]),
            Err(SignatureError::Bad { len: 10, .. })
        ));
        assert!(matches!(
            sig.verify(b"name = \"x\"", &[b.public_key()]),
            Err(SignatureError::UnknownKey { keys: 1, .. })
        ));
        assert!(matches!(
            sig.verify(b"name = \"x\"", &[]),
            Err(SignatureError::NoTrustedKeys { .. })
        ));
    }

    #[test]
    fn malformed_files_name_the_problem() {
        let public = key(1).public_key().to_file();
        let err = SecretKey::from_file(&public).unwrap_err().to_string();
        assert!(err.contains("this is a public key file"), "{err}");
        let err = PublicKey::from_file("sosroute-ed25519-public-v1\nabcd\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected 64 hex digits"), "{err}");
        let err = PolicySignature::from_file("sosroute-policy-signature-v1\nsig 00\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`key <hex>`"), "{err}");
    }
}

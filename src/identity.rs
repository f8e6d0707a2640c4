//! A policy's identity: SHA-256 of its canonical form.
//!
//! The version number a router gives a policy says *when* it was installed; the hash says *what*
//! was installed. Two installs of the same policy (a rollback, the same file loaded twice, the
//! TOML and the JSON of one policy) have the same hash, so an audit record, an explanation or a
//! C caller can tell which policy made a decision without trusting file names.
//!
//! The canonical form is the JSON of the [`PolicySpec`] after parsing, with every object's keys
//! sorted and no whitespace: what the policy *says*, not how its file is laid out. Comments,
//! key order, whitespace and TOML-versus-JSON do not change it; a changed value does. Optional
//! keys that were left out are left out of the canonical form too, so writing a default value
//! explicitly (`redial_backoff_s = 2.0`) gives a different hash from omitting it: the hash
//! identifies the text an operator reviewed, not the behaviour it implies.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::policy::PolicySpec;

/// SHA-256 of a policy's canonical form (see the module docs). `Display` is 64 lowercase hex
/// digits, the form used in explanations, audit records and the C API.
///
/// ```
/// use sosroute::Policy;
/// let toml = Policy::us_default();
/// let json = Policy::from_json(&serde_json::to_string(toml.spec()).unwrap()).unwrap();
/// assert_eq!(toml.hash(), json.hash());
/// assert_eq!(toml.hash().to_string().len(), 64);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyHash(pub [u8; 32]);

impl PolicyHash {
    /// The hash of `spec`'s canonical form.
    pub fn of_spec(spec: &PolicySpec) -> PolicyHash {
        let mut hasher = Sha256::new();
        hasher.update(canonical_json(spec).as_bytes());
        PolicyHash(hasher.finalize().into())
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first `n` hex digits (at most 64), for places where the whole hash is too long to
    /// read, as a short git commit id is.
    pub fn short(&self, n: usize) -> String {
        let mut s = self.to_string();
        s.truncate(n);
        s
    }
}

/// The canonical JSON of a policy spec: sorted keys, no whitespace. This is what
/// [`PolicyHash::of_spec`] hashes.
pub(crate) fn canonical_json(spec: &PolicySpec) -> String {
    // A spec is plain data (strings, numbers, bools, lists, structs): it always serializes.
    let value = serde_json::to_value(spec).expect("a PolicySpec serializes to JSON");
    let mut out = String::with_capacity(4096);
    write_canonical(&value, &mut out);
    out
}

/// Writes `value` with object keys sorted. serde_json's map is sorted unless some crate in the
/// build turns on its `preserve_order` feature, which this crate does not control: so the keys
/// are sorted here, explicitly.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        // Scalars: serde_json's own text (shortest round-trip floats, escaped strings).
        scalar => out.push_str(&scalar.to_string()),
    }
}

impl fmt::Display for PolicyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PolicyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PolicyHash({self})")
    }
}

/// Text that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a policy hash is 64 hex digits; got {0:?}")]
pub struct BadHash(pub String);

impl FromStr for PolicyHash {
    type Err = BadHash;

    fn from_str(s: &str) -> Result<PolicyHash, BadHash> {
        let bytes = decode_hex(s.trim()).ok_or_else(|| BadHash(s.to_owned()))?;
        <[u8; 32]>::try_from(bytes)
            .map(PolicyHash)
            .map_err(|_| BadHash(s.to_owned()))
    }
}

impl Serialize for PolicyHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PolicyHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PolicyHash, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Bytes of an even-length string of hex digits (either case); `None` otherwise.
pub(crate) fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;

    #[test]
    fn layout_and_format_do_not_change_the_hash_but_a_value_does() {
        let shipped = Policy::us_default();
        let relaid = format!("# a comment\n\n{}", crate::policy::US_HANDSET_TOML);
        assert_eq!(Policy::from_toml(&relaid).unwrap().hash(), shipped.hash());
        let pretty = serde_json::to_string_pretty(shipped.spec()).unwrap();
        assert_eq!(Policy::from_json(&pretty).unwrap().hash(), shipped.hash());

        let mut spec = shipped.spec().clone();
        spec.budget.total_s += 1.0;
        assert_ne!(Policy::from_spec(spec).unwrap().hash(), shipped.hash());
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let json = canonical_json(Policy::us_default().spec());
        assert!(
            json.starts_with("{\"allow_unverified\":true,\"breaker\":{\"cool_down_s\":"),
            "{json}"
        );
        assert!(!json.contains('\n') && !json.contains("\": "), "{json}");
    }

    #[test]
    fn hex_round_trips() {
        let h = Policy::us_default().hash();
        let text = h.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text.parse::<PolicyHash>().unwrap(), h);
        assert_eq!(text.to_uppercase().parse::<PolicyHash>().unwrap(), h);
        assert!("abc".parse::<PolicyHash>().is_err());
        assert!(text[..62].parse::<PolicyHash>().is_err());
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<PolicyHash>(&json).unwrap(), h);
        assert_eq!(
            decode_hex(&encode_hex(&[0, 1, 0xfe])).unwrap(),
            [0, 1, 0xfe]
        );
    }
}

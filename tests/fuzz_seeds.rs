//! The fuzz seeds mean what they say: the checked-in wire batches decode (and apply, except the
//! one built to be refused), the policy seeds parse (except the one built to be invalid), and
//! every input under `fuzz/regressions/` still runs without a panic.

use std::fs;
use std::path::Path;

use sosroute::{wire, Policy, PolicyFormat, Router};

fn files(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn wire_seeds_decode_and_apply() {
    let seeds = files("fuzz/corpus/wire_decode");
    assert!(seeds.len() >= 5);
    for (name, bytes) in seeds {
        let updates = wire::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let router = Router::new(Policy::us_default());
        let applied = wire::apply(&router, &bytes);
        if name.starts_with("refused-") {
            assert!(applied.is_err(), "{name} should be refused");
            assert_eq!(router.snapshot().epoch, 0);
        } else {
            assert_eq!(applied, Ok(1), "{name}");
            assert!(wire::encode(&updates).unwrap().len() <= bytes.len());
        }
    }
}

#[test]
fn policy_seeds_parse() {
    let seeds = files("fuzz/corpus/policy_parse");
    assert!(seeds.len() >= 3);
    for (name, bytes) in seeds {
        let format = if bytes[0] % 2 == 0 {
            PolicyFormat::Toml
        } else {
            PolicyFormat::Json
        };
        let text = std::str::from_utf8(&bytes[1..]).unwrap();
        let parsed = Policy::parse(text, format);
        if name.starts_with("invalid-") {
            assert!(parsed.is_err(), "{name} should be refused");
        } else {
            parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
    // The JSON seed is the shipped policy.
    let json = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/policy_parse/us-handset.json"),
    )
    .unwrap();
    assert_eq!(Policy::from_json(&json[1..]).unwrap(), Policy::us_default());
}

#[test]
fn wire_regressions_run() {
    for (name, bytes) in files("fuzz/regressions/wire_decode") {
        let router = Router::new(Policy::us_default());
        let before = router.snapshot();
        if let Ok(updates) = wire::decode(&bytes) {
            assert_eq!(
                wire::decode(&wire::encode(&updates).unwrap()).unwrap(),
                updates
            );
        }
        if wire::apply(&router, &bytes).is_err() {
            assert_eq!(router.snapshot(), before, "{name}");
        }
    }
}

/// The policy written back out, as TOML and as JSON, parses to an equal policy.
fn assert_round_trips(name: &str, policy: &Policy) {
    let toml_text = toml::to_string(policy.spec()).unwrap();
    assert_eq!(
        &Policy::from_toml(&toml_text).unwrap(),
        policy,
        "{name}: TOML"
    );
    let json = serde_json::to_string(policy.spec()).unwrap();
    assert_eq!(
        &Policy::from_json(&json).unwrap(),
        policy,
        "{name}: JSON\n{json}"
    );
}

#[test]
fn policy_regressions_round_trip() {
    let found = files("fuzz/regressions/policy_parse");
    assert!(!found.is_empty());
    for (name, bytes) in found {
        let format = if bytes[0] % 2 == 0 {
            PolicyFormat::Toml
        } else {
            PolicyFormat::Json
        };
        let Ok(text) = std::str::from_utf8(&bytes[1..]) else {
            continue;
        };
        if let Ok(policy) = Policy::parse(text, format) {
            assert_round_trips(&name, &policy);
        }
    }
}

/// Found by the `policy_parse` fuzz target (`fuzz/regressions/policy_parse/json-float-round-trip`):
/// `ttl.radio_s = 1.0222222222222221` written out as JSON read back one unit in the last place
/// off, so a policy exported to JSON was not the policy in force. serde_json's `float_roundtrip`
/// parser reads back exactly what it writes.
#[test]
fn policy_json_keeps_every_float_exact() {
    let text = sosroute::US_HANDSET_TOML
        .replace("radio_s = 30.0", "radio_s = 1.0222222222222221")
        .replace("cool_down_s = 60.0", "cool_down_s = 0.30000000000000004")
        .replace("total_s = 180.0", "total_s = 179.99999999999997");
    let policy = Policy::from_toml(&text).unwrap();
    assert_eq!(policy.spec().ttl.radio_s, 1.0222222222222221);
    assert_round_trips("handset with awkward floats", &policy);
}

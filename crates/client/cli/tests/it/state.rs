//! `arcanum state get --proof` and `state verify` against the running devnet of
//! `devnet_and_client_verbs`: the printed bundle verifies offline (exit 0), every edited field is
//! refused with its code (exit 1), unusable files exit 2.

use std::path::Path;

use serde_json::Value;

use super::{run, run_until_ok};

fn write(dir: &Path, name: &str, v: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, v.to_string()).expect("write bundle file");
    path.to_str().expect("utf-8 path").to_owned()
}

/// `text` with its hex digit at `i` changed.
fn flip(text: &str, i: usize) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    chars[i] = if chars[i] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

/// `state verify` on `v`: the exit code and the verdict.
fn verify(dir: &Path, d: &str, v: &Value) -> (Option<i32>, Value) {
    let file = write(dir, "bundle.json", v);
    let (out, verdict) = run(&["state", "verify", &file, "--devnet", d, "--json"]);
    (out.status.code(), verdict)
}

fn get_proof(d: &str, key: &str) -> Value {
    let (out, bundle) = run(&[
        "state",
        "get",
        "--devnet",
        d,
        "--contract",
        "asset",
        "--key",
        key,
        "--proof",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    bundle
}

/// Carol's account (`acct/carol`, balance 70) was created at block `created_block`.
pub fn state_proofs_verify_offline(dir: &Path, d: &str, created_block: u64) {
    // The peer may commit the block a moment after the management device answered.
    let (out, entry) = run_until_ok(&[
        "state",
        "get",
        "--devnet",
        d,
        "--contract",
        "asset",
        "--key",
        "acct/carol",
        "--json",
    ]);
    assert!(out.status.success(), "{entry}");
    let value_hex = entry["value_hex"].as_str().expect("value hex").to_owned();
    assert!(value_hex.ends_with(&format!("{:016x}", 70)), "{value_hex}");

    let carol = get_proof(d, "acct/carol");
    for field in [
        "contract",
        "key",
        "value_hex",
        "height",
        "state_root",
        "proof",
        "header",
        "signature",
    ] {
        assert!(!carol[field].is_null(), "{field} in {carol}");
    }
    assert_eq!(carol["contract"], "asset");
    assert_eq!(carol["key"], "acct/carol");
    assert_eq!(carol["value_hex"], value_hex.as_str());
    assert!(carol["height"].as_u64().expect("height") >= created_block);
    let (code, verdict) = verify(dir, d, &carol);
    assert_eq!(code, Some(0), "{verdict}");
    assert_eq!(verdict, serde_json::json!({"valid": true, "error": null}));

    let nobody = get_proof(d, "acct/nobody");
    assert!(nobody["value_hex"].is_null() && nobody["version_block"].is_null());
    let (code, verdict) = verify(dir, d, &nobody);
    assert_eq!(code, Some(0), "an exclusion proof verifies: {verdict}");
    assert_eq!(verdict["valid"], true);

    // Every edit of a proven field is refused, with the code of what it breaks.
    type Edit = fn(&mut Value);
    let edits: [(&str, &Value, Edit, &str); 13] = [
        (
            "value_hex",
            &carol,
            |v| {
                let s = v["value_hex"].as_str().unwrap_or_default();
                v["value_hex"] = flip(s, s.len() - 1).into();
            },
            "STATE_PROOF_INVALID",
        ),
        (
            "version_block",
            &carol,
            |v| {
                v["version_block"] = (v["version_block"].as_u64().unwrap_or_default() + 1).into();
            },
            "STATE_PROOF_INVALID",
        ),
        (
            "absence claimed",
            &carol,
            |v| {
                for f in ["value_hex", "version_block", "version_tx"] {
                    v[f] = Value::Null;
                }
            },
            "STATE_PROOF_INVALID",
        ),
        (
            "a value claimed for an absent key",
            &nobody,
            |v| {
                v["value_hex"] = "3730".into();
                v["version_block"] = 1.into();
                v["version_tx"] = 0.into();
            },
            "STATE_PROOF_INVALID",
        ),
        (
            "key",
            &carol,
            |v| v["key"] = "acct/carom".into(),
            "STATE_PROOF_INVALID",
        ),
        (
            "exclusion moved to a present key",
            &nobody,
            |v| v["key"] = "acct/carol".into(),
            "STATE_PROOF_INVALID",
        ),
        (
            "contract",
            &carol,
            |v| v["contract"] = "kv".into(),
            "STATE_PROOF_INVALID",
        ),
        (
            "height",
            &carol,
            |v| {
                v["height"] = (v["height"].as_u64().unwrap_or_default() + 1).into();
            },
            "STATE_HEIGHT_MISMATCH",
        ),
        (
            "state_root",
            &carol,
            |v| {
                v["state_root"] = flip(v["state_root"].as_str().unwrap_or_default(), 7).into();
            },
            "STATE_ROOT_MISMATCH",
        ),
        // Inside the leaf's key hash: the proof still decodes.
        (
            "proof",
            &carol,
            |v| {
                v["proof"] = flip(v["proof"].as_str().unwrap_or_default(), 10).into();
            },
            "STATE_PROOF_INVALID",
        ),
        (
            "proof of the exclusion",
            &nobody,
            |v| {
                let s = v["proof"].as_str().unwrap_or_default();
                v["proof"] = flip(s, s.len() - 3).into();
            },
            "STATE_PROOF_INVALID",
        ),
        // Inside prev_hash: the header still decodes.
        (
            "header",
            &carol,
            |v| {
                v["header"] = flip(v["header"].as_str().unwrap_or_default(), 20).into();
            },
            "BLOCK_BAD_SIGNATURE",
        ),
        (
            "signature",
            &carol,
            |v| {
                v["signature"] = flip(v["signature"].as_str().unwrap_or_default(), 30).into();
            },
            "BLOCK_BAD_SIGNATURE",
        ),
    ];
    for (what, genuine, edit, expected) in edits {
        let mut v = genuine.clone();
        edit(&mut v);
        assert_ne!(&v, genuine, "{what} changed the file");
        let (code, verdict) = verify(dir, d, &v);
        assert_eq!(code, Some(1), "{what}: {verdict}");
        assert_eq!(verdict["valid"], false, "{what}");
        assert_eq!(verdict["error"]["code"], expected, "{what}: {verdict}");
    }

    // Unusable input: exit 2.
    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, b"\x00not json at all").expect("write");
    let garbage = garbage.to_str().expect("utf-8 path");
    let (out, v) = run(&["state", "verify", garbage, "--devnet", d, "--json"]);
    assert_eq!(out.status.code(), Some(2), "{v}");
    assert_eq!(v["valid"], false);
    assert_eq!(v["error"]["code"], "MALFORMED_ENCODING");
    let mut missing = carol.clone();
    missing.as_object_mut().expect("object").remove("proof");
    let (code, v) = verify(dir, d, &missing);
    assert_eq!(
        (code, &v["error"]["code"]),
        (Some(2), &"MALFORMED_ENCODING".into()),
        "{v}"
    );
    let mut bad_hex = carol.clone();
    bad_hex["value_hex"] = "not hex".into();
    let (code, v) = verify(dir, d, &bad_hex);
    assert_eq!(
        (code, &v["error"]["code"]),
        (Some(2), &"MALFORMED_ENCODING".into()),
        "{v}"
    );
    let absent = dir.join("absent.json");
    let (out, v) = run(&[
        "state",
        "verify",
        absent.to_str().expect("utf-8"),
        "--devnet",
        d,
        "--json",
    ]);
    assert_eq!(
        (out.status.code(), &v["error"]["code"]),
        (Some(2), &"USAGE".into()),
        "{v}"
    );
    let file = write(dir, "carol.json", &carol);
    let no_devnet = dir.join("no-devnet");
    let (out, v) = run(&[
        "state",
        "verify",
        &file,
        "--devnet",
        no_devnet.to_str().expect("utf-8"),
        "--json",
    ]);
    assert_eq!(
        (out.status.code(), &v["error"]["code"]),
        (Some(2), &"USAGE".into()),
        "{v}"
    );

    // The benchmark of the same read runs against the devnet too.
    let (out, report) = run(&[
        "bench",
        "state-proof",
        "--devnet",
        d,
        "--contract",
        "asset",
        "--key",
        "acct/carol",
        "--iterations",
        "3",
        "--json",
    ]);
    assert!(out.status.success(), "{report}");
    assert_eq!(report["present"], true);
    assert!(report["proof_bytes"].as_u64().is_some_and(|b| b > 0));
}

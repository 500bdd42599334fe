//! `arcanum receipt verify`: offline verdicts on really-signed receipt files (the SDK's testkit),
//! exit codes 0 (valid), 1 (invalid, with the broken link and its code) and 2 (usage).

use arcanum_sdk::receipt::testkit::Fixture;

use super::run;

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write fixture file");
    path.to_str().expect("utf-8 path").to_owned()
}

#[test]
fn receipt_verify_judges_valid_and_tampered_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = Fixture::new();
    let policy = write(
        dir.path(),
        "policy.toml",
        &f.policy().to_toml().expect("policy toml"),
    );
    let receipt = f.receipt();
    let valid = write(dir.path(), "valid.json", &receipt.to_json().to_string());

    let (out, v) = run(&["receipt", "verify", &valid, "--policy", &policy, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["valid"], true);
    assert_eq!(v["contract_id"], f.contract_id().to_hex());
    assert_eq!(v["key_version"], 1);
    assert_eq!(v["measurement"], hex::encode(f.measurement));
    assert_eq!(v["tcb_status"], "Simulated");
    assert!(v["link"].is_null());
    assert!(v["error"].is_null());
    let keys: Vec<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "contract_id",
            "error",
            "key_version",
            "link",
            "measurement",
            "tcb_status",
            "valid"
        ]
    );

    // One output byte changed, the file re-encoded consistently: the result link breaks.
    let mut tampered = receipt.clone();
    tampered.result.result.output[0] ^= 1;
    let bad = write(dir.path(), "tampered.json", &tampered.to_json().to_string());
    let (out, v) = run(&["receipt", "verify", &bad, "--policy", &policy, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(v["valid"], false);
    assert_eq!(v["link"], "result");
    assert_eq!(v["error"]["code"], "RECEIPT_INVALID");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("result:"))
    );

    // A policy that does not allow the measurement: the measurement link, ATTESTATION_POLICY.
    let mut strict = f.policy();
    strict.attestation.allowed_measurements = vec!["00".repeat(32)];
    let strict = write(
        dir.path(),
        "strict.toml",
        &strict.to_toml().expect("policy toml"),
    );
    let (out, v) = run(&["receipt", "verify", &valid, "--policy", &strict, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(v["link"], "measurement");
    assert_eq!(v["error"]["code"], "ATTESTATION_POLICY");

    // A file that is not a receipt: the format link.
    let junk = write(dir.path(), "junk.json", "{\"format\": \"something else\"}");
    let (out, v) = run(&["receipt", "verify", &junk, "--policy", &policy, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(v["link"], "format");
    assert_eq!(v["error"]["code"], "RECEIPT_INVALID");

    // Usage errors: a missing file, a missing policy (no devnet either).
    let missing = dir.path().join("absent.json");
    let (out, v) = run(&[
        "receipt",
        "verify",
        missing.to_str().expect("utf-8"),
        "--policy",
        &policy,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{v}");
    assert_eq!(v["error"]["code"], "USAGE");
    let no_devnet = dir.path().join("no-devnet");
    let (out, v) = run(&[
        "receipt",
        "verify",
        &valid,
        "--devnet",
        no_devnet.to_str().expect("utf-8"),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{v}");
    assert_eq!(v["error"]["code"], "USAGE");
}

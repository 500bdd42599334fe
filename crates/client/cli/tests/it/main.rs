//! End-to-end tests of the `arcanum` binary: the multi-process demo (every rejection path, a peer
//! crash and restart, state agreement), the devnet with the client verbs (and verified state
//! proofs), and `policy check`.

mod receipt;
mod state;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn arcanum() -> Command {
    Command::new(env!("CARGO_BIN_EXE_arcanum"))
}

fn run(args: &[&str]) -> (Output, Value) {
    let out = arcanum().args(args).output().expect("arcanum runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (out, json)
}

#[test]
fn demo_runs_the_whole_story_across_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, report) = run(&[
        "demo",
        "--json",
        "--dir",
        dir.path().to_str().expect("utf-8 path"),
    ]);
    assert!(
        out.status.success(),
        "demo failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["ok"], true);
    assert_eq!(report["consistent"], true);
    assert_eq!(
        report["processes"].as_array().map(Vec::len),
        Some(12),
        "1 management + 2 endorsers + 4 peers + attestation + 3 TEE nodes + oracle relay"
    );
    let attestations = report["attestations"].as_array().expect("attestations");
    assert_eq!(attestations.len(), 2, "both endorsement enclaves attested");
    for a in attestations {
        assert_eq!(a["platform"], "simulated");
        assert_eq!(a["is_secure"], false);
        assert_eq!(
            a["bound_keys"].as_array().map(Vec::len),
            Some(3),
            "device key + two hosted peer keys"
        );
    }
    let expected = [
        ("unlisted client", "CLIENT_NOT_ALLOWED"),
        ("bad client signature", "BAD_CLIENT_SIGNATURE"),
        ("replayed transaction", "DUPLICATE_TX"),
        ("policy not satisfied", "POLICY_NOT_SATISFIED"),
        ("MVCC read conflict", "MVCC_READ_CONFLICT"),
        ("tampered block sent to a peer", "BLOCK_TX_ROOT_MISMATCH"),
        ("tampered receipt", "RECEIPT_INVALID"),
        ("forged oracle callback", "CALLBACK_SIGNATURE_INVALID"),
        (
            "off-chain call of an unknown contract",
            "OFFCHAIN_CONTRACT_UNKNOWN",
        ),
    ];
    let rejections = report["rejections"].as_array().expect("rejections");
    for (case, code) in expected {
        let r = rejections
            .iter()
            .find(|r| r["case"].as_str().is_some_and(|c| c.starts_with(case)))
            .unwrap_or_else(|| panic!("no rejection case {case}"));
        assert_eq!(r["got"], code, "{case}");
    }
    let roots = report["state_roots"].as_array().expect("roots");
    assert_eq!(roots.len(), 5, "management + 4 peers");
    assert!(roots.iter().all(|r| r["state_root"] == roots[0]["state_root"] && r["height"] == roots[0]["height"]));
    let steps = report["steps"].as_array().expect("steps");
    assert!(
        steps.iter().any(|s| s["step"] == "crash and restart"),
        "the crash/restart step ran"
    );
    assert!(
        steps.iter().any(|s| s["step"] == "rotate a hosted key"),
        "the key rotation step ran"
    );
    assert!(steps.iter().any(|s| {
        s["detail"]
            .as_str()
            .is_some_and(|d| d.contains("bob = 200"))
    }));
    // The off-chain chapter: the cluster formed with three members, the oracle callback carried
    // the price the enclave read over HTTPS, and the receipt verified.
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["step"] == name)
            .and_then(|s| s["detail"].as_str())
            .unwrap_or_else(|| panic!("no step {name}"))
            .to_owned()
    };
    assert!(step("off-chain cluster").contains("registered on chain at epoch 2"));
    assert!(step("oracle callback").contains("price = 12345 cents"));
    assert!(step("receipt").contains("verifies offline"));
}

/// Stops `arcanum devnet up` with SIGTERM so it stops its node processes.
struct DevnetUp(Child);

impl Drop for DevnetUp {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let _ = self.0.wait();
    }
}

fn wait_for_file(path: &Path, child: &mut Child) {
    let start = Instant::now();
    while !path.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("devnet exited early: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "devnet did not come up"
        );
        std::thread::yield_now();
        std::thread::park_timeout(Duration::from_millis(20));
    }
}

#[test]
fn devnet_and_client_verbs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let (out, layout) = run(&["devnet", "init", "--dir", d, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(layout["nodes"].as_array().map(Vec::len), Some(8));
    let child = arcanum()
        .args(["devnet", "up", "--dir", d])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut up = DevnetUp(child);
    wait_for_file(&dir.path().join("endpoints.json"), &mut up.0);

    let (out, deployed) = run(&[
        "contract",
        "deploy",
        "--devnet",
        d,
        "--as",
        "admin.org1",
        "--name",
        "asset",
        "--builtin",
        "asset",
        "--policy",
        "AND('Org1.peer','Org2.peer')",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(deployed["status"], "VALID");

    let (out, created) = run(&[
        "contract",
        "invoke",
        "--devnet",
        d,
        "--contract",
        "asset",
        "--function",
        "create",
        "--arg",
        "carol",
        "--arg",
        "70",
        "--json",
    ]);
    assert!(out.status.success());
    assert_eq!(created["status"], "VALID");
    let tx_id = created["tx_id"].as_str().expect("tx id").to_owned();

    let (_, balance) = run(&[
        "contract",
        "query",
        "--devnet",
        d,
        "--contract",
        "asset",
        "--function",
        "balance",
        "--arg",
        "carol",
        "--json",
    ]);
    assert_eq!(balance["result"], "70");

    let (_, tx) = run(&["tx", "get", &tx_id, "--devnet", d, "--json"]);
    assert_eq!(tx["status"], "VALID");
    assert_eq!(tx["block"], created["block"]);

    state::state_proofs_verify_offline(dir.path(), d, created["block"].as_u64().expect("block"));

    let (_, block) = run(&["block", "get", "1", "--devnet", d, "--json"]);
    assert_eq!(block["height"], 1);
    assert_eq!(block["txs"][0]["action"], "deploy");
    assert_eq!(block["txs"][0]["status"], "VALID");

    // Rejections keep their stable codes and exit 1.
    let (out, err) = run(&[
        "contract",
        "invoke",
        "--devnet",
        d,
        "--contract",
        "nosuch",
        "--function",
        "f",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(err["error"]["code"], "CONTRACT_NOT_FOUND");
    let (out, err) = run(&[
        "contract",
        "invoke",
        "--devnet",
        d,
        "--contract",
        "asset",
        "--function",
        "transfer",
        "--arg",
        "carol",
        "--arg",
        "x",
        "--arg",
        "500",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(err["error"]["code"], "CONTRACT_ERROR");
    let (out, err) = run(&[
        "contract",
        "invoke",
        "--devnet",
        d,
        "--as",
        "unlisted.org1",
        "--contract",
        "asset",
        "--function",
        "balance",
        "--arg",
        "carol",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(err["error"]["code"], "CLIENT_NOT_ALLOWED");
    let (out, err) = run(&["tx", "get", &"00".repeat(32), "--devnet", d, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(err["error"]["code"], "NOT_FOUND");
    let (out, err) = run(&["block", "get", "9999", "--devnet", d, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(err["error"]["code"], "NOT_FOUND");
    let (out, err) = run(&[
        "contract",
        "invoke",
        "--devnet",
        "/nonexistent",
        "--contract",
        "asset",
        "--function",
        "f",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(err["error"]["code"], "USAGE");
}

/// Retries a CLI call until it exits 0 (the cluster registers itself on chain shortly after its
/// nodes answer), for at most 60 s; returns the last answer.
fn run_until_ok(args: &[&str]) -> (Output, Value) {
    let start = Instant::now();
    loop {
        let (out, json) = run(args);
        if out.status.success() || start.elapsed() > Duration::from_secs(60) {
            return (out, json);
        }
        std::thread::park_timeout(Duration::from_millis(200));
    }
}

#[test]
fn devnet_with_a_cluster_and_the_offchain_verbs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let (out, layout) = run(&["devnet", "init", "--dir", d, "--tee-nodes", "2", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(layout["nodes"].as_array().map(Vec::len), Some(10));
    let wasm = dir.path().join("kv.wasm");
    std::fs::write(&wasm, arcanum_contracts::KV_WASM).expect("write wasm");
    let wasm = wasm.to_str().expect("utf-8 path");
    let child = arcanum()
        .args(["devnet", "up", "--dir", d])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut up = DevnetUp(child);
    wait_for_file(&dir.path().join("endpoints.json"), &mut up.0);

    // Deploy: the cluster is verified against the consortium's policy and the chain first.
    let (out, deployed) = run_until_ok(&[
        "offchain", "deploy", "--devnet", d, "--wasm", wasm, "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(deployed["key_version"], 1);
    let id = deployed["contract_id"]
        .as_str()
        .expect("contract id")
        .to_owned();

    let receipt = dir.path().join("receipt.json");
    let receipt = receipt.to_str().expect("utf-8 path");
    let (out, put) = run(&[
        "offchain",
        "invoke",
        "--devnet",
        d,
        "--contract",
        &id,
        "--function",
        "put",
        "--arg",
        "k",
        "--arg",
        "v1",
        "--receipt",
        receipt,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(put["contract_id"], id.as_str());
    let (out, get) = run(&[
        "offchain",
        "invoke",
        "--devnet",
        d,
        "--contract",
        &id,
        "--function",
        "get",
        "--arg",
        "k",
        "--json",
    ]);
    assert!(out.status.success());
    assert_eq!(get["output"], "v1");

    let (out, verdict) = run(&["receipt", "verify", receipt, "--devnet", d, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{verdict}");
    assert_eq!(verdict["valid"], true);
    assert_eq!(verdict["key_version"], 1);

    let (out, err) = run(&[
        "offchain",
        "invoke",
        "--devnet",
        d,
        "--contract",
        &"ab".repeat(32),
        "--function",
        "get",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(err["error"]["code"], "OFFCHAIN_CONTRACT_UNKNOWN");

    let (out, rotated) = run(&[
        "offchain",
        "rotate",
        "--devnet",
        d,
        "--contract",
        &id,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(rotated["key_version"], 2);
    let (out, after) = run(&[
        "offchain",
        "invoke",
        "--devnet",
        d,
        "--contract",
        &id,
        "--function",
        "get",
        "--arg",
        "k",
        "--json",
    ]);
    assert!(out.status.success());
    assert_eq!(
        after["key_version"], 2,
        "results are signed with the rotated key"
    );
}

#[test]
fn policy_check_prints_verdicts_and_stable_errors() {
    let cases = [
        (
            "AND('Org1.peer','Org2.admin')",
            "Org1.peer,Org2.admin",
            true,
        ),
        (
            "AND('Org1.peer','Org2.admin')",
            "Org1.peer,Org2.peer",
            false,
        ),
        (
            "OutOf(2, 'Org1.member', 'Org2.member', 'Org3.member')",
            "Org1.admin,Org3.client",
            true,
        ),
        ("OR('Org1.peer')", "Org1.client", false),
        (
            "AND('Org1.member','Org1.member')",
            "Org1.peer,Org1.admin",
            true,
        ),
        ("AND('Org1.member','Org1.member')", "Org1.peer", false),
    ];
    for (policy, signers, satisfied) in cases {
        let (out, v) = run(&[
            "policy",
            "check",
            "--policy",
            policy,
            "--signers",
            signers,
            "--json",
        ]);
        assert!(out.status.success(), "{policy}");
        assert_eq!(v["satisfied"], satisfied, "{policy} with {signers}");
    }
    let (out, v) = run(&[
        "policy",
        "check",
        "--policy",
        "MAJORITY Endorsement",
        "--signers",
        "Org1.peer,Org2.peer",
        "--orgs",
        "Org1,Org2,Org3",
        "--json",
    ]);
    assert!(out.status.success());
    assert_eq!(v["satisfied"], true);
    let (out, v) = run(&[
        "policy",
        "check",
        "--policy",
        "AND('Org1.peer'",
        "--signers",
        "Org1.peer",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["error"]["code"], "POLICY_PARSE_ERROR");
    let (out, v) = run(&[
        "policy",
        "check",
        "--policy",
        "OR('Org1.peer')",
        "--signers",
        "Org1",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["error"]["code"], "BAD_SIGNER");
}

fn external(path: &str) -> String {
    format!(
        "{}/../../../../shared/testdata/external/{path}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn attest_verify_prints_verdicts_with_stable_codes() {
    let dcap = |f: &str| external(&format!("sgx_tdx_dcap/dcap-qvl/{f}"));
    let (out, v) = run(&[
        "attest",
        "verify",
        "--evidence",
        &dcap("sgx_quote"),
        "--collateral",
        &dcap("sgx_quote_collateral.json"),
        "--now",
        "1752919277",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(v["valid"], true);
    assert_eq!(v["platform"], "sgx");
    assert_eq!(v["tcb_status"], "ConfigurationAndSWHardeningNeeded");
    assert_eq!(
        v["advisories"],
        serde_json::json!(["INTEL-SA-00289", "INTEL-SA-00615"])
    );
    assert_eq!(
        v["measurement"],
        "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb"
    );
    assert_eq!(v["debug"], false);
    assert!(v["error"].is_null());

    let (out, v) = run(&[
        "attest",
        "verify",
        "--evidence",
        &dcap("tdx_quote_outdated"),
        "--collateral",
        &dcap("tdx_quote_outdated_collateral.json"),
        "--now",
        "1774003274",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["valid"], false);
    assert_eq!(v["error"]["code"], "TCB_LEVEL_NOT_FOUND");

    let snp = |f: &str| external(&format!("sev_snp/go-sev-guest/{f}"));
    let policy = tempfile::NamedTempFile::new().expect("policy file");
    std::fs::write(policy.path(), r#"{"allowed_measurements":[],"min_tcb_status":"OutOfDate","allow_debug":false,"allow_simulation":false,"expected_product":null}"#).expect("write");
    let (out, v) = run(&[
        "attest",
        "verify",
        "--evidence",
        &snp("attestation.bin"),
        "--vcek",
        &snp("vcek.testcer"),
        "--chain",
        &snp("ask_ark_milan.pem"),
        "--now",
        "1700000000",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["platform"], "sev-snp");
    assert_eq!(v["debug"], true);
    let (out, v) = run(&[
        "attest",
        "verify",
        "--evidence",
        &snp("attestation.bin"),
        "--vcek",
        &snp("vcek.testcer"),
        "--chain",
        &snp("ask_ark_milan.pem"),
        "--now",
        "1700000000",
        "--policy",
        policy.path().to_str().expect("path"),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["error"]["code"], "DEBUG_NOT_ALLOWED");

    let (out, v) = run(&["attest", "verify", "--evidence", "/nonexistent", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(v["error"]["code"], "USAGE");
    let garbage = tempfile::NamedTempFile::new().expect("file");
    std::fs::write(garbage.path(), b"not evidence at all").expect("write");
    let (out, v) = run(&[
        "attest",
        "verify",
        "--evidence",
        garbage.path().to_str().expect("path"),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(v["error"]["code"].is_string());
}

//! Tidy checks of the crate layering, read from `cargo metadata` the way rust-analyzer's tidy
//! tests read the workspace:
//!
//! 1. Dependency edges point down the layers `primitives ← ledger ← tee ← node ← client`
//!    (`tests/` sits on top): a workspace crate depends (normal or build dependency, directly)
//!    only on workspace crates of its own or a lower layer. A crate's layer is the folder of its
//!    manifest. No crate under `crates/tee` depends on one under `crates/node` or
//!    `crates/client`, without exception.
//! 2. Neither enclave binary (`arcanum-enclave`, `arcanum-cluster-enclave`) links a networking,
//!    HTTP, storage or CLI crate: their resolved normal-dependency closures hold none of
//!    [`FORBIDDEN_IN_ENCLAVES`]. Dev-dependencies do not count; build dependencies do not link.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// Manifest folders, lowest layer first.
const LAYERS: &[(&str, &str)] = &[
    ("crates/primitives/", "primitives"),
    ("crates/ledger/", "ledger"),
    ("crates/tee/", "tee"),
    ("crates/node/", "node"),
    ("crates/client/", "client"),
    ("tests/", "tests"),
];

/// Edges `(from, to)` that break rule 1 and were there before this test: the TEE node and the
/// oracle relay (node layer) are clients of the chain through `arcanum-sdk` (client layer).
/// Moving them up a layer or the SDK's client down is the off-chain cluster's to do. The list
/// must stay exact: a new violation fails, and so does an entry that no longer occurs.
const KNOWN_VIOLATIONS: &[(&str, &str)] = &[
    ("arcanum-oracle", "arcanum-sdk"),
    ("arcanum-tee-node", "arcanum-sdk"),
];

/// The enclave packages and their binaries (same names).
const ENCLAVES: &[&str] = &["arcanum-enclave", "arcanum-cluster-enclave"];

/// Crates no enclave may link: networking, HTTP, storage, CLI.
const FORBIDDEN_IN_ENCLAVES: &[&str] = &["axum", "hyper", "reqwest", "redb", "clap"];

/// `cargo metadata` of the workspace, read once.
fn metadata() -> &'static Value {
    static METADATA: OnceLock<Value> = OnceLock::new();
    METADATA.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .args(["metadata", "--format-version", "1"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("running cargo metadata");
        assert!(
            out.status.success(),
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON")
    })
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("cargo metadata: no string {key:?} in {v}"))
}

fn array_of<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v[key]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("cargo metadata: no array {key:?}"))
}

/// A workspace crate: its `cargo metadata` package and the index of its layer in [`LAYERS`].
struct Member<'a> {
    package: &'a Value,
    layer: usize,
}

/// The workspace's crates by name; a crate outside every layer fails the test.
fn members(meta: &Value) -> BTreeMap<&str, Member<'_>> {
    let root = format!("{}/", str_of(meta, "workspace_root"));
    let ids: BTreeSet<&str> = array_of(meta, "workspace_members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut unplaced = Vec::new();
    let mut out = BTreeMap::new();
    for package in array_of(meta, "packages") {
        if !ids.contains(str_of(package, "id")) {
            continue;
        }
        let manifest = str_of(package, "manifest_path");
        let relative = manifest.strip_prefix(&root).unwrap_or(manifest);
        match LAYERS.iter().position(|(dir, _)| relative.starts_with(dir)) {
            Some(layer) => {
                out.insert(str_of(package, "name"), Member { package, layer });
            }
            None => unplaced.push(relative.to_owned()),
        }
    }
    assert!(
        unplaced.is_empty(),
        "workspace crates outside every layer folder (add the folder to LAYERS): {unplaced:?}"
    );
    out
}

/// Every normal or build dependency between workspace crates that points up a layer, as
/// `(from, to, description)`.
fn upward_edges(meta: &Value) -> BTreeSet<(String, String, String)> {
    let members = members(meta);
    let mut out = BTreeSet::new();
    for (name, member) in &members {
        for dep in array_of(member.package, "dependencies") {
            let kind = dep["kind"].as_str();
            // Path dependencies only: a registry crate of the same name is not ours.
            if matches!(kind, Some("dev")) || !dep["source"].is_null() {
                continue;
            }
            let Some(to) = members.get(str_of(dep, "name")) else {
                continue;
            };
            if to.layer > member.layer {
                let to_name = str_of(dep, "name");
                out.insert((
                    (*name).to_owned(),
                    to_name.to_owned(),
                    format!(
                        "{name} ({}) -> {to_name} ({}) [{}]",
                        LAYERS[member.layer].1,
                        LAYERS[to.layer].1,
                        kind.unwrap_or("normal")
                    ),
                ));
            }
        }
    }
    out
}

fn listed<'a>(edges: impl IntoIterator<Item = &'a String>) -> String {
    edges
        .into_iter()
        .map(|e| format!("\n  {e}"))
        .collect::<String>()
}

#[test]
fn no_tee_crate_depends_on_a_node_or_client_crate() {
    let tee = LAYERS
        .iter()
        .position(|(_, name)| *name == "tee")
        .expect("a tee layer");
    let members = members(metadata());
    let bad: Vec<String> = upward_edges(metadata())
        .into_iter()
        .filter(|(from, _, _)| members[from.as_str()].layer == tee)
        .map(|(_, _, edge)| edge)
        .collect();
    assert!(
        bad.is_empty(),
        "crates under crates/tee must not depend on crates/node or crates/client:{}",
        listed(&bad)
    );
}

#[test]
fn dependencies_point_down_the_layers() {
    let found = upward_edges(metadata());
    let known: BTreeSet<(&str, &str)> = KNOWN_VIOLATIONS.iter().copied().collect();
    let new: Vec<&String> = found
        .iter()
        .filter(|(from, to, _)| !known.contains(&(from.as_str(), to.as_str())))
        .map(|(_, _, edge)| edge)
        .collect();
    let fixed: Vec<&(&str, &str)> = known
        .iter()
        .filter(|(from, to)| !found.iter().any(|(f, t, _)| f == from && t == to))
        .collect();
    assert!(
        new.is_empty(),
        "dependencies must point down the layers primitives <- ledger <- tee <- node <- client \
         <- tests; these point up:{}",
        listed(new)
    );
    assert!(
        fixed.is_empty(),
        "these known violations are gone; remove them from KNOWN_VIOLATIONS: {fixed:?}"
    );
}

#[test]
fn the_enclave_binaries_link_no_networking_http_storage_or_cli_crate() {
    let meta = metadata();
    let names: BTreeMap<&str, &str> = array_of(meta, "packages")
        .iter()
        .map(|p| (str_of(p, "id"), str_of(p, "name")))
        .collect();
    let nodes: BTreeMap<&str, &Value> = array_of(&meta["resolve"], "nodes")
        .iter()
        .map(|n| (str_of(n, "id"), n))
        .collect();
    let members = members(meta);
    let mut bad = Vec::new();
    for enclave in ENCLAVES {
        let package = members
            .get(enclave)
            .unwrap_or_else(|| panic!("no workspace crate {enclave}"))
            .package;
        assert!(
            array_of(package, "targets").iter().any(|t| {
                str_of(t, "name") == *enclave
                    && array_of(t, "kind")
                        .iter()
                        .any(|k| k.as_str() == Some("bin"))
            }),
            "{enclave} has no binary named {enclave}"
        );
        // Breadth first over normal dependencies, keeping each crate's first parent for the path.
        let start = str_of(package, "id");
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(id) = queue.pop_front() {
            for dep in array_of(nodes[id], "deps") {
                let normal = array_of(dep, "dep_kinds")
                    .iter()
                    .any(|k| k["kind"].is_null());
                let to = str_of(dep, "pkg");
                if normal && to != start && !parent.contains_key(to) {
                    parent.insert(to, id);
                    queue.push_back(to);
                }
            }
        }
        for (&id, _) in parent
            .iter()
            .filter(|(id, _)| FORBIDDEN_IN_ENCLAVES.contains(&names[**id]))
        {
            let mut path = vec![names[id]];
            let mut at = id;
            while let Some(&up) = parent.get(at) {
                path.push(names[up]);
                at = up;
            }
            path.reverse();
            bad.push(path.join(" -> "));
        }
    }
    assert!(
        bad.is_empty(),
        "enclave binaries must not link {FORBIDDEN_IN_ENCLAVES:?}; they do through:{}",
        listed(&bad)
    );
}

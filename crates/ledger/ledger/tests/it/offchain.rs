//! The off-chain cluster's rules as the peers apply them (SPEC C1, C2/C3, C5): cluster
//! registration and its epochs, off-chain deployments and key rotation, and oracle callbacks,
//! forged or duplicated ones included. Every rejection is checked with its exact code and no
//! state change.
//!
//! Valid transactions carry the read/write set the shared rule computes (what an endorser
//! produces). Rejected ones carry the set an endorser *would* produce if it skipped the rule
//! (the same keys and values, unjudged), so the peers' own judgement is what rejects them.

use arcanum_crypto::hpke::HpkePublicKey;
use arcanum_crypto::{Hash, SigningKey, domain, sha256, tagged_hash};
use arcanum_ledger::offchain::{self, MAX_REPORT_BYTES};
use arcanum_ledger::{
    cluster_registration_key, offchain_deployment_key, offchain_latest_key, oracle_result_key,
};
use arcanum_storage::{LedgerStore, StateReader};
use arcanum_types::ErrorCode::{
    CallbackDuplicate, CallbackKeyRetired, CallbackSignatureInvalid, ClusterKeyMismatch,
    ClusterNotRegistered, ClusterSignatureInvalid, DeploymentInvalid, InvalidTx, MvccReadConflict,
    NotAdmin, OffchainContractUnknown, OracleRequestNotFound, PolicyNotSatisfied,
};
use arcanum_types::offchain::{
    ClusterKeys, ClusterMember, ClusterRegistration, DeploymentStatement, MAX_CLUSTER_MEMBERS,
    NodeCard, ORACLE_REQUEST_EVENT, OffchainResult, OracleCallback, OracleOrigin, OracleRequest,
    SignedDeployment, SignedRegistration, SignedResult,
};
use arcanum_types::{
    EndorsedTx, Event, KvRead, KvWrite, ProposalResponse, RwSet, TxAction, TxStatus, Vote, encode,
};

use crate::harness::{Actor, BOTH_ORGS, Net, ORG1_ORG2, rwset};

fn key(tag: &str) -> SigningKey {
    SigningKey::from_ed25519_seed(&sha256(tag.as_bytes()).0)
}

/// A cluster: its signing key and the node keys of its would-be members.
struct Cluster {
    signing: SigningKey,
    keys: ClusterKeys,
    nodes: Vec<SigningKey>,
}

impl Cluster {
    fn new(tag: &str) -> Cluster {
        let signing = key(&format!("cluster {tag}"));
        let keys = ClusterKeys {
            signing_key: signing.public_key(),
            hpke_key: HpkePublicKey(sha256(format!("hpke {tag}").as_bytes()).0),
        };
        let nodes = (0..4).map(|i| key(&format!("node {tag} {i}"))).collect();
        Cluster {
            signing,
            keys,
            nodes,
        }
    }

    fn member(&self, i: usize) -> ClusterMember {
        let card = NodeCard {
            node_key: self.nodes[i].public_key(),
            hpke_key: HpkePublicKey([i as u8; 32]),
            trust: Hash::ZERO,
        };
        ClusterMember {
            card_signature: self.nodes[i].sign(domain::NODE_CARD, &encode(&card)),
            card,
            report: format!("report of node {i}").into_bytes(),
        }
    }

    /// Epoch `epoch` with the first `members` nodes, signed by the cluster key.
    fn registration(&self, epoch: u64, members: usize) -> SignedRegistration {
        self.sign_registration(ClusterRegistration {
            keys: self.keys.clone(),
            epoch,
            members: (0..members).map(|i| self.member(i)).collect(),
        })
    }

    fn sign_registration(&self, registration: ClusterRegistration) -> SignedRegistration {
        SignedRegistration {
            signature: self
                .signing
                .sign(domain::CLUSTER_REGISTRATION, &encode(&registration)),
            registration,
        }
    }

    /// The contract key of (`contract_id`, `version`), as the enclaves would derive it.
    fn contract_key(contract_id: &Hash, version: u32) -> SigningKey {
        key(&format!("contract {contract_id} v{version}"))
    }

    fn deployment(&self, contract_id: Hash, code_hash: Hash, version: u32) -> SignedDeployment {
        self.sign_deployment(DeploymentStatement {
            contract_id,
            code_hash,
            contract_key: Cluster::contract_key(&contract_id, version).public_key(),
            key_version: version,
            cluster_key: self.keys.signing_key.clone(),
        })
    }

    fn sign_deployment(&self, statement: DeploymentStatement) -> SignedDeployment {
        SignedDeployment {
            signature: self
                .signing
                .sign(domain::DEPLOYMENT_STATEMENT, &encode(&statement)),
            statement,
        }
    }
}

fn code_hash(tag: &str) -> Hash {
    tagged_hash(domain::CODE_HASH, &[tag.as_bytes()])
}

fn contract_id(tag: &str) -> Hash {
    arcanum_types::offchain::contract_id(&code_hash(tag), &[0; 16])
}

fn store(net: &Net) -> &dyn LedgerStore {
    net.ledgers[0].store().as_ref()
}

/// A response with exactly `rwset` and nothing else (what simulating an off-chain action gives).
fn response(tx: &arcanum_types::SignedTx, rwset: RwSet) -> ProposalResponse {
    ProposalResponse {
        tx_id: tx.payload.id(),
        rwset,
        result: Vec::new(),
        events: Vec::new(),
        vote: Vote::Approve,
    }
}

/// `action` by `creator` with `rwset`, endorsed by `peers`.
fn endorsed(
    net: &Net,
    creator: &Actor,
    action: TxAction,
    rwset: RwSet,
    peers: &[usize],
) -> EndorsedTx {
    let tx = Net::sign(net.payload(creator, action), creator);
    let response = response(&tx, rwset);
    net.endorse(tx, response, peers)
}

fn version(net: &Net, key: &[u8]) -> Option<arcanum_types::Version> {
    StateReader::get(store(net), key)
        .expect("store reads")
        .map(|v| v.version)
}

fn sorted(mut rw: RwSet) -> RwSet {
    rw.reads.sort_by(|a, b| a.key.cmp(&b.key));
    rw.writes.sort_by(|a, b| a.key.cmp(&b.key));
    rw
}

// ---- cluster registration ----

/// The set an endorser would produce for `registration` without judging it.
fn unjudged_registration_rwset(net: &Net, registration: &SignedRegistration) -> RwSet {
    let key = cluster_registration_key();
    RwSet {
        reads: vec![KvRead {
            key: key.clone(),
            version: version(net, &key),
        }],
        writes: vec![KvWrite {
            key,
            value: Some(encode(registration)),
        }],
    }
}

fn register_tx(net: &Net, creator: &Actor, registration: SignedRegistration) -> EndorsedTx {
    let rwset = unjudged_registration_rwset(net, &registration);
    endorsed(
        net,
        creator,
        TxAction::RegisterCluster { registration },
        rwset,
        ORG1_ORG2,
    )
}

/// A registration endorsed with the set the shared rule computes (which must accept it).
fn judged_register_tx(net: &Net, registration: SignedRegistration) -> EndorsedTx {
    let admin = net.config.member(&net.admin.id).expect("admin is a member");
    let rwset = offchain::register_cluster(store(net), admin, &registration).expect("rule accepts");
    assert_eq!(rwset, unjudged_registration_rwset(net, &registration));
    endorsed(
        net,
        &net.admin,
        TxAction::RegisterCluster { registration },
        rwset,
        ORG1_ORG2,
    )
}

fn registered(net: &Net) -> Option<SignedRegistration> {
    offchain::cluster_registration(store(net)).expect("store reads")
}

#[test]
fn a_cluster_registers_at_epoch_0_and_grows_one_epoch_at_a_time() {
    let net = Net::new();
    let cluster = Cluster::new("a");
    let first = cluster.registration(0, 1);
    assert_eq!(
        net.commit_one(judged_register_tx(&net, first.clone())),
        TxStatus::Valid
    );
    assert_eq!(registered(&net), Some(first));
    let second = cluster.registration(1, 3);
    assert_eq!(
        net.commit_one(judged_register_tx(&net, second.clone())),
        TxStatus::Valid
    );
    assert_eq!(registered(&net), Some(second));
}

#[test]
fn registration_rejections() {
    let net = Net::new();
    let cluster = Cluster::new("a");
    // Only an admin registers.
    net.assert_rejected(
        register_tx(&net, &net.client, cluster.registration(0, 1)),
        NotAdmin,
    );
    // The first registration is epoch 0.
    net.assert_rejected(
        register_tx(&net, &net.admin, cluster.registration(1, 1)),
        ClusterNotRegistered,
    );
    // Signed by another key than the one it names.
    let mut forged = cluster.registration(0, 1);
    forged.signature = Cluster::new("b")
        .signing
        .sign(domain::CLUSTER_REGISTRATION, &encode(&forged.registration));
    net.assert_rejected(
        register_tx(&net, &net.admin, forged),
        ClusterSignatureInvalid,
    );
    // Altered after signing.
    let mut altered = cluster.registration(0, 2);
    altered.registration.members.pop();
    net.assert_rejected(
        register_tx(&net, &net.admin, altered),
        ClusterSignatureInvalid,
    );
    // A member card not signed by its node key (the registration itself is signed).
    let mut registration = cluster.registration(0, 2).registration;
    registration.members[1].card_signature =
        cluster.nodes[0].sign(domain::NODE_CARD, &encode(&registration.members[1].card));
    let bad_card = cluster.sign_registration(registration);
    net.assert_rejected(
        register_tx(&net, &net.admin, bad_card),
        ClusterSignatureInvalid,
    );
    assert_eq!(registered(&net), None);

    // Once registered: the keys stay, and epochs follow one by one.
    assert_eq!(
        net.commit_one(judged_register_tx(&net, cluster.registration(0, 1))),
        TxStatus::Valid
    );
    net.assert_rejected(
        register_tx(&net, &net.admin, Cluster::new("b").registration(1, 1)),
        ClusterKeyMismatch,
    );
    for epoch in [0, 2, u64::MAX] {
        net.assert_rejected(
            register_tx(&net, &net.admin, cluster.registration(epoch, 2)),
            ClusterNotRegistered,
        );
    }
    assert_eq!(registered(&net), Some(cluster.registration(0, 1)));
}

#[test]
fn malformed_registrations_are_invalid() {
    let net = Net::new();
    let cluster = Cluster::new("a");
    let with = |edit: &dyn Fn(&mut ClusterRegistration)| {
        let mut r = cluster.registration(0, 2).registration;
        edit(&mut r);
        cluster.sign_registration(r)
    };
    let cases = [
        with(&|r| r.members.clear()),
        with(&|r| r.members[0].report.clear()),
        with(&|r| r.members[0].report = vec![1; MAX_REPORT_BYTES + 1]),
        with(&|r| {
            let m = r.members[0].clone();
            r.members.push(m);
        }),
        with(&|r| {
            let m = r.members[0].clone();
            r.members = vec![m; MAX_CLUSTER_MEMBERS + 1];
        }),
    ];
    for registration in cases {
        net.assert_rejected(register_tx(&net, &net.admin, registration), InvalidTx);
    }
    // The largest report is fine.
    let big = with(&|r| r.members[0].report = vec![1; MAX_REPORT_BYTES]);
    assert_eq!(
        net.commit_one(judged_register_tx(&net, big)),
        TxStatus::Valid
    );
}

#[test]
fn registration_writes_events_and_policy_are_checked() {
    let net = Net::new();
    let cluster = Cluster::new("a");
    let registration = cluster.registration(0, 1);
    // Endorsed writes other than the rule's.
    let mut rw = unjudged_registration_rwset(&net, &registration);
    rw.writes[0].value = Some(encode(&cluster.registration(0, 2)));
    let tx = endorsed(
        &net,
        &net.admin,
        TxAction::RegisterCluster {
            registration: registration.clone(),
        },
        rw,
        ORG1_ORG2,
    );
    net.assert_rejected(tx, InvalidTx);
    // A missing read.
    let mut rw = unjudged_registration_rwset(&net, &registration);
    rw.reads.clear();
    let action = TxAction::RegisterCluster {
        registration: registration.clone(),
    };
    net.assert_rejected(
        endorsed(&net, &net.admin, action.clone(), rw, ORG1_ORG2),
        InvalidTx,
    );
    // An event smuggled into the response.
    let mut tx = register_tx(&net, &net.admin, registration.clone());
    tx.response.events.push(crate::harness::event("kv", "x"));
    net.reendorse(&mut tx, ORG1_ORG2);
    net.assert_rejected(tx, InvalidTx);
    // The lifecycle policy (a majority of organisations) governs registrations.
    let rw = unjudged_registration_rwset(&net, &registration);
    net.assert_rejected(
        endorsed(&net, &net.admin, action, rw, &[0, 1]),
        PolicyNotSatisfied,
    );
    assert_eq!(registered(&net), None);
}

// ---- deployments ----

/// The set an endorser would produce for `deployment` without judging it.
fn unjudged_deploy_rwset(net: &Net, deployment: &SignedDeployment) -> RwSet {
    let s = &deployment.statement;
    let cluster = cluster_registration_key();
    let latest = offchain_latest_key(&s.contract_id);
    let mut reads = vec![
        KvRead {
            version: version(net, &cluster),
            key: cluster,
        },
        KvRead {
            version: version(net, &latest),
            key: latest.clone(),
        },
    ];
    if let Some(v) = offchain::latest_key_version(store(net), &s.contract_id).expect("reads") {
        let previous = offchain_deployment_key(&s.contract_id, v);
        reads.push(KvRead {
            version: version(net, &previous),
            key: previous,
        });
    }
    sorted(RwSet {
        reads,
        writes: vec![
            KvWrite {
                key: offchain_deployment_key(&s.contract_id, s.key_version),
                value: Some(encode(deployment)),
            },
            KvWrite {
                key: latest,
                value: Some(encode(&s.key_version)),
            },
        ],
    })
}

fn deploy_tx(net: &Net, deployment: SignedDeployment) -> EndorsedTx {
    let rwset = unjudged_deploy_rwset(net, &deployment);
    endorsed(
        net,
        &net.client,
        TxAction::OffchainDeploy { deployment },
        rwset,
        ORG1_ORG2,
    )
}

fn judged_deploy_tx(net: &Net, deployment: SignedDeployment) -> EndorsedTx {
    let rwset = offchain::offchain_deploy(store(net), &deployment).expect("rule accepts");
    assert_eq!(rwset, unjudged_deploy_rwset(net, &deployment));
    endorsed(
        net,
        &net.client,
        TxAction::OffchainDeploy { deployment },
        rwset,
        ORG1_ORG2,
    )
}

fn with_cluster() -> (Net, Cluster) {
    let net = Net::new();
    let cluster = Cluster::new("a");
    assert_eq!(
        net.commit_one(judged_register_tx(&net, cluster.registration(0, 1))),
        TxStatus::Valid
    );
    (net, cluster)
}

fn deployment_of(net: &Net, id: &Hash, version: Option<u32>) -> Option<SignedDeployment> {
    offchain::offchain_deployment(store(net), id, version).expect("store reads")
}

#[test]
fn deployments_register_and_rotate() {
    let (net, cluster) = with_cluster();
    let id = contract_id("private");
    let v1 = cluster.deployment(id, code_hash("private"), 1);
    // Any allowed client may register a deployment the cluster signed.
    assert_eq!(
        net.commit_one(judged_deploy_tx(&net, v1.clone())),
        TxStatus::Valid
    );
    assert_eq!(deployment_of(&net, &id, None), Some(v1.clone()));
    assert_eq!(deployment_of(&net, &id, Some(1)), Some(v1.clone()));
    // A rotation registers the next key version of the same code.
    let v2 = cluster.deployment(id, code_hash("private"), 2);
    assert_eq!(
        net.commit_one(judged_deploy_tx(&net, v2.clone())),
        TxStatus::Valid
    );
    assert_eq!(deployment_of(&net, &id, None), Some(v2.clone()));
    assert_eq!(deployment_of(&net, &id, Some(1)), Some(v1));
    assert_eq!(deployment_of(&net, &id, Some(3)), None);
    assert_eq!(
        offchain::latest_key_version(store(&net), &id).expect("reads"),
        Some(2)
    );
    assert_ne!(
        v2.statement.contract_key,
        Cluster::contract_key(&id, 1).public_key()
    );
}

#[test]
fn deployment_rejections() {
    let net = Net::new();
    let cluster = Cluster::new("a");
    let id = contract_id("private");
    let v1 = cluster.deployment(id, code_hash("private"), 1);
    net.assert_rejected(deploy_tx(&net, v1.clone()), ClusterNotRegistered);
    assert_eq!(
        net.commit_one(judged_register_tx(&net, cluster.registration(0, 1))),
        TxStatus::Valid
    );
    // Signed by another cluster, naming its own key.
    let other = Cluster::new("b").deployment(id, code_hash("private"), 1);
    net.assert_rejected(deploy_tx(&net, other), ClusterKeyMismatch);
    // Naming the registered key, signed by another.
    let mut forged = v1.clone();
    forged.signature = Cluster::new("b")
        .signing
        .sign(domain::DEPLOYMENT_STATEMENT, &encode(&forged.statement));
    net.assert_rejected(deploy_tx(&net, forged), ClusterSignatureInvalid);
    // Altered after signing (another contract key).
    let mut altered = v1.clone();
    altered.statement.contract_key = key("attacker").public_key();
    net.assert_rejected(deploy_tx(&net, altered), ClusterSignatureInvalid);
    // A new contract starts at version 1.
    for v in [0, 2] {
        net.assert_rejected(
            deploy_tx(&net, cluster.deployment(id, code_hash("private"), v)),
            DeploymentInvalid,
        );
    }
    assert_eq!(
        net.commit_one(judged_deploy_tx(&net, v1.clone())),
        TxStatus::Valid
    );
    // Version 1 again, a skipped version, and a rotation that changes the code.
    net.assert_rejected(deploy_tx(&net, v1.clone()), DeploymentInvalid);
    net.assert_rejected(
        deploy_tx(&net, cluster.deployment(id, code_hash("private"), 3)),
        DeploymentInvalid,
    );
    net.assert_rejected(
        deploy_tx(&net, cluster.deployment(id, code_hash("other code"), 2)),
        DeploymentInvalid,
    );
    assert_eq!(deployment_of(&net, &id, None), Some(v1));
    // The lifecycle policy governs deployments.
    let v2 = cluster.deployment(id, code_hash("private"), 2);
    let rwset = unjudged_deploy_rwset(&net, &v2);
    let action = TxAction::OffchainDeploy { deployment: v2 };
    net.assert_rejected(
        endorsed(&net, &net.client, action, rwset, &[2, 3]),
        PolicyNotSatisfied,
    );
}

#[test]
fn a_deployment_endorsed_before_a_new_epoch_conflicts() {
    let (net, cluster) = with_cluster();
    let deploy = judged_deploy_tx(
        &net,
        cluster.deployment(contract_id("p"), code_hash("p"), 1),
    );
    let epoch1 = judged_register_tx(&net, cluster.registration(1, 2));
    let (_, statuses) = net.commit(vec![epoch1, deploy]);
    assert_eq!(
        statuses,
        vec![TxStatus::Valid, TxStatus::Invalid(MvccReadConflict)]
    );
}

// ---- oracle callbacks ----

/// A chain with a registered cluster, a deployed off-chain contract (key version 1), an
/// on-chain contract `dapp` and a committed invocation of it that emitted an oracle request as
/// its second event.
struct Oracle {
    net: Net,
    cluster: Cluster,
    id: Hash,
    origin: OracleOrigin,
    request: OracleRequest,
}

const DAPP: &str = "dapp";

impl Oracle {
    fn new() -> Oracle {
        let (net, cluster) = with_cluster();
        net.setup_contract(DAPP, BOTH_ORGS);
        net.setup_contract("other", BOTH_ORGS);
        let id = contract_id("private");
        let v1 = cluster.deployment(id, code_hash("private"), 1);
        assert_eq!(net.commit_one(judged_deploy_tx(&net, v1)), TxStatus::Valid);
        let request = OracleRequest {
            contract_id: id,
            function: "score".into(),
            input: b"input".to_vec(),
        };
        let origin = Oracle::emit(&net, DAPP, ORACLE_REQUEST_EVENT, encode(&request));
        Oracle {
            net,
            cluster,
            id,
            origin,
            request,
        }
    }

    /// Commits an invocation of `contract` whose second event is (`name`, `data`).
    fn emit(net: &Net, contract: &str, name: &str, data: Vec<u8>) -> OracleOrigin {
        let tx = net.invoke_tx(&net.client, contract, "ask");
        let mut response = Net::response(&tx, rwset(contract, &[], &[(b"asked", Some(b"1"))]));
        response.events = vec![
            crate::harness::event(contract, "asked"),
            Event {
                contract: contract.to_owned(),
                name: name.to_owned(),
                data,
            },
        ];
        let etx = net.endorse(tx, response, ORG1_ORG2);
        let id = etx.id();
        assert_eq!(net.commit_one(etx), TxStatus::Valid);
        OracleOrigin {
            tx: id,
            event_index: 1,
        }
    }

    /// The honest result of the request, signed by key version `version`.
    fn result(&self, version: u32, output: &[u8]) -> SignedResult {
        let result = OffchainResult {
            contract_id: self.id,
            key_version: version,
            request: self.request.invocation(self.origin).hash(),
            output: output.to_vec(),
            fetches: Vec::new(),
        };
        sign_result(&Cluster::contract_key(&self.id, version), result)
    }

    fn callback(&self, result: SignedResult) -> OracleCallback {
        OracleCallback {
            contract: DAPP.into(),
            origin: self.origin,
            request: self.request.clone(),
            result,
        }
    }

    /// The set an endorser would produce without judging.
    fn unjudged_rwset(&self, callback: &OracleCallback) -> RwSet {
        let r = &callback.result.result;
        let deployment = offchain_deployment_key(&callback.request.contract_id, r.key_version);
        let latest = offchain_latest_key(&callback.request.contract_id);
        let result = oracle_result_key(&r.request);
        sorted(RwSet {
            reads: vec![
                KvRead {
                    version: version(&self.net, &deployment),
                    key: deployment,
                },
                KvRead {
                    version: version(&self.net, &latest),
                    key: latest,
                },
                KvRead {
                    version: None,
                    key: result.clone(),
                },
            ],
            writes: vec![KvWrite {
                key: result,
                value: Some(encode(&callback.result)),
            }],
        })
    }

    fn tx(&self, callback: OracleCallback) -> EndorsedTx {
        self.tx_by(callback, ORG1_ORG2)
    }

    fn tx_by(&self, callback: OracleCallback, peers: &[usize]) -> EndorsedTx {
        let rwset = self.unjudged_rwset(&callback);
        let action = TxAction::OffchainCallback {
            callback: Box::new(callback),
        };
        endorsed(&self.net, &self.net.client, action, rwset, peers)
    }

    fn judged_tx(&self, callback: OracleCallback) -> EndorsedTx {
        let rwset = offchain::offchain_callback(store(&self.net), store(&self.net), &callback)
            .expect("rule accepts");
        assert_eq!(rwset, self.unjudged_rwset(&callback));
        let action = TxAction::OffchainCallback {
            callback: Box::new(callback),
        };
        endorsed(&self.net, &self.net.client, action, rwset, ORG1_ORG2)
    }

    fn accepted(&self) -> Option<SignedResult> {
        let hash = self.request.invocation(self.origin).hash();
        offchain::oracle_result(store(&self.net), &hash).expect("store reads")
    }
}

fn sign_result(key: &SigningKey, result: OffchainResult) -> SignedResult {
    SignedResult {
        signature: key.sign(domain::OFFCHAIN_RESULT, &encode(&result)),
        result,
    }
}

#[test]
fn a_signed_callback_is_accepted_once() {
    let o = Oracle::new();
    let result = o.result(1, b"42");
    assert_eq!(
        o.net.commit_one(o.judged_tx(o.callback(result.clone()))),
        TxStatus::Valid
    );
    assert_eq!(o.accepted(), Some(result));
    // The same answer again, or another correctly signed one, is a duplicate.
    o.net
        .assert_rejected(o.tx(o.callback(o.result(1, b"42"))), CallbackDuplicate);
    o.net
        .assert_rejected(o.tx(o.callback(o.result(1, b"43"))), CallbackDuplicate);
    assert_eq!(o.accepted(), Some(o.result(1, b"42")));
}

#[test]
fn two_callbacks_for_one_request_in_one_block() {
    let o = Oracle::new();
    let first = o.tx(o.callback(o.result(1, b"42")));
    let second = o.tx(o.callback(o.result(1, b"43")));
    let (_, statuses) = o.net.commit(vec![first, second]);
    assert_eq!(
        statuses,
        vec![TxStatus::Valid, TxStatus::Invalid(CallbackDuplicate)]
    );
    assert_eq!(o.accepted(), Some(o.result(1, b"42")));
}

#[test]
fn forged_callbacks_are_rejected() {
    let o = Oracle::new();
    let honest = o.result(1, b"42");
    // Signed by a key that is not the registered contract key (the cluster's own, an attacker's,
    // or the key of the next, unregistered version).
    for wrong in [
        key("cluster a"),
        key("attacker"),
        Cluster::contract_key(&o.id, 2),
    ] {
        let forged = sign_result(&wrong, honest.result.clone());
        o.net
            .assert_rejected(o.tx(o.callback(forged)), CallbackSignatureInvalid);
    }
    // The output altered after signing, or a fetch record added.
    let mut altered = honest.clone();
    altered.result.output = b"1000000".to_vec();
    o.net
        .assert_rejected(o.tx(o.callback(altered)), CallbackSignatureInvalid);
    let mut fetched = honest.clone();
    fetched
        .result
        .fetches
        .push(arcanum_types::offchain::FetchRecord {
            url: "https://example.test/".into(),
            body_hash: Hash::ZERO,
        });
    o.net
        .assert_rejected(o.tx(o.callback(fetched)), CallbackSignatureInvalid);
    // The request altered: the callback no longer carries what was emitted, even with a result
    // correctly signed for the altered request.
    let mut request = o.request.clone();
    request.input = b"other input".to_vec();
    let signed_for_altered = sign_result(
        &Cluster::contract_key(&o.id, 1),
        OffchainResult {
            request: request.invocation(o.origin).hash(),
            ..honest.result.clone()
        },
    );
    let mut callback = o.callback(signed_for_altered);
    callback.request = request;
    o.net.assert_rejected(o.tx(callback), OracleRequestNotFound);
    // A correctly signed result of another request (another origin, another contract id).
    let other_origin = OracleOrigin {
        event_index: 0,
        ..o.origin
    };
    for result in [
        OffchainResult {
            request: o.request.invocation(other_origin).hash(),
            ..honest.result.clone()
        },
        OffchainResult {
            contract_id: contract_id("another"),
            ..honest.result.clone()
        },
    ] {
        let signed = sign_result(&Cluster::contract_key(&o.id, 1), result);
        o.net
            .assert_rejected(o.tx(o.callback(signed)), OracleRequestNotFound);
    }
    // A key version that is not registered.
    o.net.assert_rejected(
        o.tx(o.callback(o.result(2, b"42"))),
        OffchainContractUnknown,
    );
    assert_eq!(o.accepted(), None);
    // The honest one still goes through.
    assert_eq!(o.net.commit_one(o.tx(o.callback(honest))), TxStatus::Valid);
}

#[test]
fn callbacks_must_name_a_committed_oracle_request_of_their_contract() {
    let o = Oracle::new();
    let net = &o.net;
    let with_origin = |origin: OracleOrigin, contract: &str, request: &OracleRequest| {
        let result = OffchainResult {
            contract_id: request.contract_id,
            key_version: 1,
            request: request.invocation(origin).hash(),
            output: b"42".to_vec(),
            fetches: Vec::new(),
        };
        OracleCallback {
            contract: contract.into(),
            origin,
            request: request.clone(),
            result: sign_result(&Cluster::contract_key(&o.id, 1), result),
        }
    };
    // An unknown transaction, and an event index past the end.
    let unknown = OracleOrigin {
        tx: Hash([9; 32]),
        event_index: 1,
    };
    let past = OracleOrigin {
        event_index: 2,
        ..o.origin
    };
    // The first event of the origin is not an oracle request.
    let first = OracleOrigin {
        event_index: 0,
        ..o.origin
    };
    for origin in [unknown, past, first] {
        net.assert_rejected(
            o.tx(with_origin(origin, DAPP, &o.request)),
            OracleRequestNotFound,
        );
    }
    // The right origin named by another contract (whose policy would then govern).
    net.assert_rejected(
        o.tx(with_origin(o.origin, "other", &o.request)),
        OracleRequestNotFound,
    );
    // An event named oracle_request whose data is not a request.
    let garbage = Oracle::emit(net, DAPP, ORACLE_REQUEST_EVENT, b"not a request".to_vec());
    net.assert_rejected(
        o.tx(with_origin(garbage, DAPP, &o.request)),
        OracleRequestNotFound,
    );
    // A committed but invalid origin (its policy was not satisfied).
    let tx = net.invoke_tx(&net.client, DAPP, "ask");
    let mut response = Net::response(&tx, rwset(DAPP, &[], &[]));
    response.events = vec![Event {
        contract: DAPP.into(),
        name: ORACLE_REQUEST_EVENT.into(),
        data: encode(&o.request),
    }];
    let invalid = net.endorse(tx, response, &[0]);
    let invalid_id = invalid.id();
    assert_eq!(
        net.commit_one(invalid),
        TxStatus::Invalid(PolicyNotSatisfied)
    );
    let invalid_origin = OracleOrigin {
        tx: invalid_id,
        event_index: 0,
    };
    net.assert_rejected(
        o.tx(with_origin(invalid_origin, DAPP, &o.request)),
        OracleRequestNotFound,
    );
    // An origin that is not an invocation: a deploy transaction.
    let deploy = net.deploy(&net.admin, "third", BOTH_ORGS, ORG1_ORG2);
    let deploy_origin = OracleOrigin {
        tx: deploy.id(),
        event_index: 0,
    };
    assert_eq!(net.commit_one(deploy), TxStatus::Valid);
    net.assert_rejected(
        o.tx(with_origin(deploy_origin, DAPP, &o.request)),
        OracleRequestNotFound,
    );
    // An invocation of another contract whose endorsed event claims to come from DAPP.
    let tx = net.invoke_tx(&net.client, "other", "ask");
    let mut response = Net::response(&tx, rwset("other", &[], &[]));
    response.events = vec![Event {
        contract: DAPP.into(),
        name: ORACLE_REQUEST_EVENT.into(),
        data: encode(&o.request),
    }];
    let spoofing = net.endorse(tx, response, ORG1_ORG2);
    let spoofing_origin = OracleOrigin {
        tx: spoofing.id(),
        event_index: 0,
    };
    assert_eq!(net.commit_one(spoofing), TxStatus::Valid);
    net.assert_rejected(
        o.tx(with_origin(spoofing_origin, DAPP, &o.request)),
        OracleRequestNotFound,
    );
    // A callback in the same block as its origin: the origin is not committed yet.
    let same_block = Oracle::new();
    let tx = same_block
        .net
        .invoke_tx(&same_block.net.client, DAPP, "ask");
    let mut response = Net::response(&tx, rwset(DAPP, &[], &[]));
    response.events = vec![Event {
        contract: DAPP.into(),
        name: ORACLE_REQUEST_EVENT.into(),
        data: encode(&same_block.request),
    }];
    let origin_tx = same_block.net.endorse(tx, response, ORG1_ORG2);
    let origin = OracleOrigin {
        tx: origin_tx.id(),
        event_index: 0,
    };
    let callback = same_block.tx(with_origin(origin, DAPP, &same_block.request));
    let (_, statuses) = same_block.net.commit(vec![origin_tx, callback]);
    assert_eq!(
        statuses,
        vec![TxStatus::Valid, TxStatus::Invalid(OracleRequestNotFound)]
    );
    assert_eq!(o.accepted(), None);
}

#[test]
fn callbacks_are_endorsed_under_the_requesting_contracts_policy() {
    let o = Oracle::new();
    // DAPP needs both organisations; Org1 alone is not enough.
    o.net.assert_rejected(
        o.tx_by(o.callback(o.result(1, b"42")), &[0, 1]),
        PolicyNotSatisfied,
    );
    // Endorsed writes other than the rule's (another output than the signed one).
    let callback = o.callback(o.result(1, b"42"));
    let mut rw = o.unjudged_rwset(&callback);
    rw.writes[0].value = Some(encode(&o.result(1, b"43")));
    let action = TxAction::OffchainCallback {
        callback: Box::new(callback),
    };
    o.net.assert_rejected(
        endorsed(&o.net, &o.net.client, action, rw, ORG1_ORG2),
        InvalidTx,
    );
    assert_eq!(o.accepted(), None);
}

#[test]
fn after_a_rotation_the_new_key_signs_callbacks() {
    let o = Oracle::new();
    let v2 = o.cluster.deployment(o.id, code_hash("private"), 2);
    assert_eq!(
        o.net.commit_one(judged_deploy_tx(&o.net, v2)),
        TxStatus::Valid
    );
    // A version-2 result signed by the version-1 key is forged.
    let mut wrong = o.result(2, b"42");
    wrong.signature = o.result(1, b"42").signature;
    o.net
        .assert_rejected(o.tx(o.callback(wrong)), CallbackSignatureInvalid);
    let result = o.result(2, b"42");
    assert_eq!(
        o.net.commit_one(o.judged_tx(o.callback(result.clone()))),
        TxStatus::Valid
    );
    assert_eq!(o.accepted(), Some(result));
}

#[test]
fn malformed_callbacks_are_invalid() {
    let o = Oracle::new();
    let honest = o.callback(o.result(1, b"42"));
    let edits: [&dyn Fn(&mut OracleCallback); 5] = [
        &|c| c.contract = "Not A Name".into(),
        &|c| c.request.function = String::new(),
        &|c| c.request.input = vec![0; arcanum_types::offchain::MAX_OFFCHAIN_INPUT + 1],
        &|c| c.result.result.output = vec![0; arcanum_types::offchain::MAX_OFFCHAIN_INPUT + 1],
        &|c| {
            c.result.result.fetches = vec![
                arcanum_types::offchain::FetchRecord {
                    url: "https://x/".into(),
                    body_hash: Hash::ZERO,
                };
                arcanum_types::offchain::MAX_FETCHES + 1
            ]
        },
    ];
    for edit in edits {
        let mut c = honest.clone();
        edit(&mut c);
        o.net.assert_rejected(o.tx(c), InvalidTx);
    }
}

/// A rotation retires the previous contract key: a result signed under it is refused with
/// `CALLBACK_KEY_RETIRED` (whether endorsed after the rotation or before it), and the same request
/// answered under the new key is accepted.
#[test]
fn a_rotation_retires_callbacks_under_the_old_key() {
    let o = Oracle::new();
    // Endorsed while version 1 is current, committed after the rotation: the peers re-run the
    // rule on their state and refuse it with the precise code (before its stale read would).
    let endorsed_before = o.judged_tx(o.callback(o.result(1, b"42")));
    let v2 = o.cluster.deployment(o.id, code_hash("private"), 2);
    assert_eq!(
        o.net.commit_one(judged_deploy_tx(&o.net, v2)),
        TxStatus::Valid
    );
    o.net.assert_rejected(endorsed_before, CallbackKeyRetired);
    // Judged after the rotation: the rule itself refuses it, with the precise code.
    let old = o.callback(o.result(1, b"42"));
    let judged = offchain::offchain_callback(store(&o.net), store(&o.net), &old);
    assert_eq!(judged.map_err(|e| e.code), Err(CallbackKeyRetired));
    o.net.assert_rejected(o.tx(old), CallbackKeyRetired);
    assert_eq!(o.accepted(), None);
    let fresh = o.result(2, b"42");
    assert_eq!(
        o.net.commit_one(o.judged_tx(o.callback(fresh.clone()))),
        TxStatus::Valid
    );
    assert_eq!(o.accepted(), Some(fresh));
}

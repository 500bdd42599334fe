//! The off-chain actions at the endorsement device: one accepted and one refused request per
//! action. Accepted ones carry the read/write set of the shared rule and commit valid on the
//! device's own replica; refused ones sign nothing and name the rule's error code.

use arcanum_crypto::hpke::HpkePublicKey;
use arcanum_crypto::{Hash, SigningKey, domain, sha256, tagged_hash};
use arcanum_endorser::Endorser;
use arcanum_ledger::{cluster_registration_key, offchain, oracle_result_key};
use arcanum_types::offchain::{
    ClusterKeys, ClusterMember, ClusterRegistration, DeploymentStatement, NodeCard,
    ORACLE_REQUEST_EVENT, OffchainResult, OracleCallback, OracleOrigin, OracleRequest,
    SignedDeployment, SignedRegistration, SignedResult,
};
use arcanum_types::{
    EndorsedTx, Endorsement, ErrorCode, Event, KvRead, KvWrite, ProposalResponse, RwSet, SignedTx,
    TxAction, Vote, encode,
};

use crate::endorse::{assert_valid, asset_world};
use crate::support::Net;

fn key(tag: &str) -> SigningKey {
    SigningKey::from_ed25519_seed(&sha256(tag.as_bytes()).0)
}

fn registration() -> SignedRegistration {
    let node = key("node 0");
    let card = NodeCard {
        node_key: node.public_key(),
        hpke_key: HpkePublicKey([1; 32]),
        trust: Hash::ZERO,
    };
    let registration = ClusterRegistration {
        keys: ClusterKeys {
            signing_key: key("cluster").public_key(),
            hpke_key: HpkePublicKey([2; 32]),
        },
        epoch: 0,
        members: vec![ClusterMember {
            card_signature: node.sign(domain::NODE_CARD, &encode(&card)),
            card,
            report: b"report".to_vec(),
        }],
    };
    SignedRegistration {
        signature: key("cluster").sign(domain::CLUSTER_REGISTRATION, &encode(&registration)),
        registration,
    }
}

fn contract_id() -> Hash {
    arcanum_types::offchain::contract_id(&tagged_hash(domain::CODE_HASH, &[b"private"]), &[1; 16])
}

fn deployment(version: u32) -> SignedDeployment {
    let statement = DeploymentStatement {
        contract_id: contract_id(),
        code_hash: tagged_hash(domain::CODE_HASH, &[b"private"]),
        contract_key: key(&format!("contract v{version}")).public_key(),
        key_version: version,
        cluster_key: key("cluster").public_key(),
    };
    SignedDeployment {
        signature: key("cluster").sign(domain::DEPLOYMENT_STATEMENT, &encode(&statement)),
        statement,
    }
}

/// Endorses for peers 0 and 2 (both organisations: the lifecycle policy and `asset`'s).
fn endorse(net: &Net, dev: &Endorser, tx: SignedTx) -> Result<EndorsedTx, ErrorCode> {
    match crate::support::endorse_one(dev, &tx, net.peer_ids(&[0, 2])) {
        Ok(resp) => Ok(EndorsedTx {
            tx,
            response: resp.response,
            endorsements: resp.endorsements,
        }),
        Err(e) => {
            assert_eq!(dev.simulate(&tx).unwrap_err().code, e.code);
            Err(e.code)
        }
    }
}

/// A device with `asset` deployed, the cluster registered and the off-chain contract deployed.
fn registered_world() -> (Net, Endorser) {
    let (net, dev) = asset_world();
    let reg = net.tx(
        &net.admin,
        100,
        TxAction::RegisterCluster {
            registration: registration(),
        },
    );
    let etx = endorse(&net, &dev, reg).unwrap();
    assert_valid(&net.commit(dev.ledger(), vec![etx]).receipts);
    let dep = net.tx(
        &net.client,
        101,
        TxAction::OffchainDeploy {
            deployment: deployment(1),
        },
    );
    let etx = endorse(&net, &dev, dep).unwrap();
    assert_valid(&net.commit(dev.ledger(), vec![etx]).receipts);
    (net, dev)
}

#[test]
fn register_cluster() {
    let (net, dev) = asset_world();
    let reg = net.tx(
        &net.admin,
        100,
        TxAction::RegisterCluster {
            registration: registration(),
        },
    );
    let etx = endorse(&net, &dev, reg).unwrap();
    assert_eq!(
        etx.response.rwset,
        RwSet {
            reads: vec![KvRead {
                key: cluster_registration_key(),
                version: None
            }],
            writes: vec![KvWrite {
                key: cluster_registration_key(),
                value: Some(encode(&registration()))
            }],
        }
    );
    assert!(etx.response.events.is_empty() && etx.response.result.is_empty());
    assert_eq!(etx.response.vote, Vote::Approve);
    assert_valid(&net.commit(dev.ledger(), vec![etx]).receipts);
    assert_eq!(
        offchain::cluster_registration(dev.ledger().store().as_ref()).unwrap(),
        Some(registration())
    );

    // A client may not register the cluster.
    let by_client = net.tx(
        &net.client,
        101,
        TxAction::RegisterCluster {
            registration: registration(),
        },
    );
    assert_eq!(endorse(&net, &dev, by_client), Err(ErrorCode::NotAdmin));
}

#[test]
fn offchain_deploy() {
    let (net, dev) = asset_world();
    // No cluster registered yet.
    let early = net.tx(
        &net.client,
        100,
        TxAction::OffchainDeploy {
            deployment: deployment(1),
        },
    );
    assert_eq!(
        endorse(&net, &dev, early),
        Err(ErrorCode::ClusterNotRegistered)
    );
    let (net, dev) = registered_world();
    assert_eq!(
        offchain::offchain_deployment(dev.ledger().store().as_ref(), &contract_id(), None).unwrap(),
        Some(deployment(1))
    );
    // A version that does not follow.
    let skip = net.tx(
        &net.client,
        102,
        TxAction::OffchainDeploy {
            deployment: deployment(3),
        },
    );
    assert_eq!(endorse(&net, &dev, skip), Err(ErrorCode::DeploymentInvalid));
}

#[test]
fn offchain_callback() {
    let (net, dev) = registered_world();
    // An invocation of `asset` that emitted an oracle request, committed by hand-endorsement.
    let request = OracleRequest {
        contract_id: contract_id(),
        function: "score".into(),
        input: b"in".to_vec(),
    };
    let ask = net.tx(
        &net.client,
        102,
        arcanum_types::TxAction::Invoke {
            contract: "asset".into(),
            function: "ask".into(),
            args: vec![],
        },
    );
    let mut origin_tx = EndorsedTx {
        response: ProposalResponse {
            tx_id: ask.payload.id(),
            rwset: RwSet::default(),
            result: Vec::new(),
            events: vec![Event {
                contract: "asset".into(),
                name: ORACLE_REQUEST_EVENT.into(),
                data: encode(&request),
            }],
            vote: Vote::Approve,
        },
        tx: ask,
        endorsements: Vec::new(),
    };
    origin_tx.endorsements = [0, 2]
        .iter()
        .map(|&i| Endorsement {
            endorser: net.peers[i].id,
            signature: net.peers[i]
                .key()
                .sign(domain::ENDORSEMENT, &origin_tx.endorsement_message()),
        })
        .collect();
    let origin = OracleOrigin {
        tx: origin_tx.id(),
        event_index: 0,
    };
    assert_valid(&net.commit(dev.ledger(), vec![origin_tx]).receipts);

    let result = OffchainResult {
        contract_id: contract_id(),
        key_version: 1,
        request: request.invocation(origin).hash(),
        output: b"42".to_vec(),
        fetches: Vec::new(),
    };
    let signed_by = |k: &SigningKey| SignedResult {
        signature: k.sign(domain::OFFCHAIN_RESULT, &encode(&result)),
        result: result.clone(),
    };
    let callback = |signed: SignedResult, nonce: u64| {
        net.tx(
            &net.client,
            nonce,
            TxAction::OffchainCallback {
                callback: Box::new(OracleCallback {
                    contract: "asset".into(),
                    origin,
                    request: request.clone(),
                    result: signed,
                }),
            },
        )
    };
    // Forged: not the registered contract key.
    assert_eq!(
        endorse(&net, &dev, callback(signed_by(&key("attacker")), 103)),
        Err(ErrorCode::CallbackSignatureInvalid)
    );
    let honest = signed_by(&key("contract v1"));
    let etx = endorse(&net, &dev, callback(honest.clone(), 104)).unwrap();
    assert_eq!(
        etx.response.rwset.writes,
        vec![KvWrite {
            key: oracle_result_key(&result.request),
            value: Some(encode(&honest)),
        }]
    );
    assert_valid(&net.commit(dev.ledger(), vec![etx]).receipts);
    assert_eq!(
        offchain::oracle_result(dev.ledger().store().as_ref(), &result.request).unwrap(),
        Some(honest.clone())
    );
    assert_eq!(
        endorse(&net, &dev, callback(honest, 105)),
        Err(ErrorCode::CallbackDuplicate)
    );
}

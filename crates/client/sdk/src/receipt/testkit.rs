//! Really-signed receipt material for tests (feature `testkit`): a consortium's orderer and
//! attestation service, a cluster of attested members (simulation evidence verified and turned
//! into reports by `arcanum_attestation::issue`), a deployment, a result, and the signed blocks
//! and Merkle proofs that commit them. Every key is derived from a fixed seed, so fixtures are
//! deterministic; nothing here is used outside tests.

use arcanum_attestation::sim::{SimEvidence, vendor_key};
use arcanum_attestation::{VerifyInputs, key_binding, verify_evidence};
use arcanum_crypto::hpke::HpkePrivateKey;
use arcanum_crypto::{Hash, SigningKey, domain};
use arcanum_types::offchain::{
    ClusterKeys, ClusterMember, ClusterRegistration, DeploymentStatement, InvokeRequest, NodeCard,
    OffchainResult, SignedDeployment, SignedRegistration, SignedResult, contract_id,
};
use arcanum_types::{
    Block, BlockHeader, EndorsedTx, IdentityId, ProposalResponse, RwSet, Signature, SignedTx,
    TxAction, TxPayload, TxProof, TxStatus, Vote, encode, merkle_proof,
};

use super::{RECEIPT_VERSION, Receipt};
use crate::offchain::{ClientPolicy, code_hash};

/// The registration block's time (Unix seconds) in [`Fixture::receipt`].
pub const REGISTERED_AT: u64 = 1_750_000_000;
/// Lifetime of the fixture's member reports.
pub const REPORT_TTL: u64 = 3600;

fn key(label: &str) -> SigningKey {
    SigningKey::from_ed25519_seed(&arcanum_crypto::sha256(label.as_bytes()).0)
}

/// The keys and parameters of one fixture world.
pub struct Fixture {
    pub orderer: SigningKey,
    pub issuer: SigningKey,
    pub cluster: SigningKey,
    pub cluster_hpke: HpkePrivateKey,
    pub contract: SigningKey,
    pub nodes: Vec<SigningKey>,
    /// The simulated cluster-enclave measurement.
    pub measurement: [u8; 32],
    pub wasm: Vec<u8>,
    pub salt: [u8; 16],
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

impl Fixture {
    /// A two-member cluster with one contract.
    pub fn new() -> Fixture {
        Fixture {
            orderer: key("fixture orderer"),
            issuer: key("fixture attestation service"),
            cluster: key("fixture cluster"),
            cluster_hpke: HpkePrivateKey::derive(b"fixture cluster hpke"),
            contract: key("fixture contract v1"),
            nodes: vec![key("fixture node 0"), key("fixture node 1")],
            measurement: arcanum_crypto::sha256(b"fixture cluster enclave").0,
            wasm: b"\0asm fixture contract".to_vec(),
            salt: [5; 16],
        }
    }

    /// Trusts the fixture's orderer and issuer and allows its (simulated) measurement.
    pub fn policy(&self) -> ClientPolicy {
        ClientPolicy {
            attestation_issuers: vec![self.issuer.public_key()],
            orderer_key: self.orderer.public_key(),
            attestation: arcanum_attestation::AttestationPolicy {
                allowed_measurements: vec![hex::encode(self.measurement)],
                allow_simulation: true,
                ..Default::default()
            },
        }
    }

    pub fn keys(&self) -> ClusterKeys {
        ClusterKeys {
            signing_key: self.cluster.public_key(),
            hpke_key: self.cluster_hpke.public_key(),
        }
    }

    /// Member `i`: its signed card and a report from `issuer` valid from `issued_at` for
    /// `ttl` seconds, over simulation evidence of `measurement`.
    pub fn member_with(
        &self,
        i: usize,
        issuer: &SigningKey,
        measurement: [u8; 32],
        issued_at: u64,
        ttl: u64,
    ) -> ClusterMember {
        let node = &self.nodes[i];
        let node_key = node.public_key();
        let card = NodeCard {
            node_key: node_key.clone(),
            hpke_key: HpkePrivateKey::derive(format!("fixture node hpke {i}").as_bytes())
                .public_key(),
            trust: Hash([9; 32]),
        };
        let card_signature = node.sign(domain::NODE_CARD, &encode(&card));
        // A member's report binds its node key and the cluster key its enclave holds.
        let bound = [node_key.clone(), self.cluster.public_key()];
        let binding = key_binding(&bound);
        let evidence = SimEvidence::new(measurement, binding, false).sign(&vendor_key());
        let verdict = verify_evidence(&evidence, &VerifyInputs::default(), issued_at)
            .expect("fixture evidence verifies");
        let report = arcanum_attestation::issue(
            &verdict,
            &format!("tee{i}"),
            &bound,
            issuer,
            issued_at,
            ttl,
        )
        .expect("fixture report issues");
        ClusterMember {
            card,
            card_signature,
            report: report.to_bytes(),
        }
    }

    /// Every node, attested by the fixture's issuer an hour before [`REGISTERED_AT`] for
    /// [`REPORT_TTL`] + one hour.
    pub fn members(&self) -> Vec<ClusterMember> {
        (0..self.nodes.len())
            .map(|i| {
                self.member_with(
                    i,
                    &self.issuer,
                    self.measurement,
                    REGISTERED_AT - 3600,
                    REPORT_TTL + 3600,
                )
            })
            .collect()
    }

    /// The registration of `members`, signed by `signer`.
    pub fn registration_with(
        &self,
        members: Vec<ClusterMember>,
        signer: &SigningKey,
    ) -> SignedRegistration {
        let registration = ClusterRegistration {
            keys: self.keys(),
            epoch: 0,
            members,
        };
        let signature = signer.sign(domain::CLUSTER_REGISTRATION, &encode(&registration));
        SignedRegistration {
            registration,
            signature,
        }
    }

    pub fn contract_id(&self) -> Hash {
        contract_id(&code_hash(&self.wasm), &self.salt)
    }

    /// The deployment statement at `key_version` naming `cluster_key`, signed by `signer`.
    pub fn deployment_with(&self, key_version: u32, cluster: &SigningKey) -> SignedDeployment {
        let statement = DeploymentStatement {
            contract_id: self.contract_id(),
            code_hash: code_hash(&self.wasm),
            contract_key: self.contract.public_key(),
            key_version,
            cluster_key: cluster.public_key(),
        };
        let signature = cluster.sign(domain::DEPLOYMENT_STATEMENT, &encode(&statement));
        SignedDeployment {
            statement,
            signature,
        }
    }

    pub fn request(&self) -> InvokeRequest {
        InvokeRequest {
            contract_id: self.contract_id(),
            function: "score".into(),
            input: b"{\"applicant\": 7}".to_vec(),
            nonce: [3; 16],
            origin: None,
        }
    }

    /// The contract key's signature over the result of `request` at `key_version`.
    pub fn result_for(
        &self,
        request: &InvokeRequest,
        key_version: u32,
        output: &[u8],
    ) -> SignedResult {
        let result = OffchainResult {
            contract_id: request.contract_id,
            key_version,
            request: request.hash(),
            output: output.to_vec(),
            fetches: vec![],
        };
        let signature = self
            .contract
            .sign(domain::OFFCHAIN_RESULT, &encode(&result));
        SignedResult { result, signature }
    }

    /// An endorsed transaction carrying `action` (no endorsements: receipts rely on the
    /// orderer-signed block, not on re-validating endorsements).
    pub fn tx(&self, action: TxAction, nonce: u64) -> EndorsedTx {
        let payload = TxPayload {
            channel: "fixture".into(),
            creator: IdentityId(Hash([1; 32])),
            nonce,
            action,
        };
        EndorsedTx {
            response: ProposalResponse {
                tx_id: payload.id(),
                rwset: RwSet::default(),
                result: vec![],
                events: vec![],
                vote: Vote::Approve,
            },
            tx: SignedTx {
                payload,
                signature: Signature(vec![0; 64]),
            },
            endorsements: vec![],
        }
    }

    /// A block of `txs` at `height` and `timestamp_ms`, signed by the fixture's orderer.
    pub fn block(&self, height: u64, timestamp_ms: u64, txs: Vec<EndorsedTx>) -> Block {
        let mut block = Block {
            header: BlockHeader {
                height,
                prev_hash: Hash([height as u8; 32]),
                tx_root: Hash::ZERO,
                tx_count: txs.len() as u32,
                state_root: Hash::ZERO,
                timestamp_ms,
                orderer: IdentityId(Hash([2; 32])),
            },
            txs,
            signature: Signature(vec![]),
        };
        block.header.tx_root = block.compute_tx_root();
        block.signature = self
            .orderer
            .sign(domain::BLOCK_SIGNATURE, &block.header.hash().0);
        block
    }

    /// The proof of transaction `index` of `block`.
    pub fn proof(block: &Block, index: usize, status: TxStatus) -> TxProof {
        let leaves: Vec<Vec<u8>> = block.txs.iter().map(encode).collect();
        TxProof {
            header: block.header.clone(),
            signature: block.signature.clone(),
            index: index as u32,
            path: merkle_proof(leaves.iter().map(Vec::as_slice), index).expect("index in range"),
            tx: block.txs[index].clone(),
            status,
        }
    }

    /// A receipt of these parts: the registration committed as transaction 1 of 3 in block 2 at
    /// [`REGISTERED_AT`], the deployment as transaction 3 of 5 in block 5.
    pub fn receipt_of(
        &self,
        request: InvokeRequest,
        result: SignedResult,
        deployment: SignedDeployment,
        registration: SignedRegistration,
    ) -> Receipt {
        let filler = |n: u64| {
            self.tx(
                TxAction::Invoke {
                    contract: "kv".into(),
                    function: "put".into(),
                    args: vec![n.to_le_bytes().to_vec()],
                },
                n,
            )
        };
        let reg_block = self.block(
            2,
            REGISTERED_AT * 1000,
            vec![
                filler(1),
                self.tx(
                    TxAction::RegisterCluster {
                        registration: registration.clone(),
                    },
                    2,
                ),
                filler(3),
            ],
        );
        let dep_block = self.block(
            5,
            REGISTERED_AT * 1000 + 60_000,
            vec![
                filler(4),
                filler(5),
                filler(6),
                self.tx(
                    TxAction::OffchainDeploy {
                        deployment: deployment.clone(),
                    },
                    7,
                ),
                filler(8),
            ],
        );
        Receipt {
            version: RECEIPT_VERSION,
            request,
            result,
            deployment,
            deployment_proof: Fixture::proof(&dep_block, 3, TxStatus::Valid),
            registration,
            registration_proof: Fixture::proof(&reg_block, 1, TxStatus::Valid),
        }
    }

    /// The valid receipt of the fixture's request.
    pub fn receipt(&self) -> Receipt {
        let request = self.request();
        let result = self.result_for(&request, 1, b"{\"score\": 712}");
        self.receipt_of(
            request,
            result,
            self.deployment_with(1, &self.cluster),
            self.registration_with(self.members(), &self.cluster),
        )
    }
}

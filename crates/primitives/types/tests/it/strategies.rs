//! proptest strategies for the domain types.

use arcanum_crypto::Algorithm;
use arcanum_types::{
    Block, BlockHeader, EndorsedTx, Endorsement, ErrorCode, Event, Hash, IdentityId, KvRead,
    KvWrite, ProposalResponse, PublicKey, RwSet, Signature, SignedTx, TxAction, TxPayload,
    TxReceipt, TxStatus, Version, Vote,
};
use proptest::collection::vec;
use proptest::prelude::*;

pub fn hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

pub fn identity() -> impl Strategy<Value = IdentityId> {
    hash().prop_map(IdentityId)
}

pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

/// Any Unicode text, including multi-byte characters.
pub fn text() -> impl Strategy<Value = String> {
    ".{0,12}"
}

pub fn public_key() -> impl Strategy<Value = PublicKey> {
    let algorithm = prop_oneof![
        Just(Algorithm::Ed25519),
        Just(Algorithm::P256),
        Just(Algorithm::Rsa2048)
    ];
    (algorithm, bytes(72)).prop_map(|(algorithm, bytes)| PublicKey { algorithm, bytes })
}

pub fn signature() -> impl Strategy<Value = Signature> {
    bytes(80).prop_map(Signature)
}

pub fn action() -> impl Strategy<Value = TxAction> {
    prop_oneof![
        (text(), text(), vec(bytes(16), 0..4)).prop_map(|(contract, function, args)| {
            TxAction::Invoke {
                contract,
                function,
                args,
            }
        }),
        (text(), bytes(64), text()).prop_map(|(contract, wasm, policy)| TxAction::Deploy {
            contract,
            wasm,
            policy
        }),
        (identity(), public_key())
            .prop_map(|(peer, public_key)| TxAction::RotateKey { peer, public_key }),
        (
            any::<[u8; 32]>(),
            public_key(),
            any::<u32>(),
            public_key(),
            bytes(64)
        )
            .prop_map(|(id, contract_key, key_version, cluster_key, sig)| {
                TxAction::OffchainDeploy {
                    deployment: arcanum_types::offchain::SignedDeployment {
                        statement: arcanum_types::offchain::DeploymentStatement {
                            contract_id: arcanum_crypto::Hash(id),
                            code_hash: arcanum_crypto::sha256(&id),
                            contract_key,
                            key_version,
                            cluster_key,
                        },
                        signature: arcanum_crypto::Signature(sig),
                    },
                }
            }),
    ]
}

pub fn payload() -> impl Strategy<Value = TxPayload> {
    (text(), identity(), any::<u64>(), action()).prop_map(|(channel, creator, nonce, action)| {
        TxPayload {
            channel,
            creator,
            nonce,
            action,
        }
    })
}

pub fn signed_tx() -> impl Strategy<Value = SignedTx> {
    (payload(), signature()).prop_map(|(payload, signature)| SignedTx { payload, signature })
}

pub fn version() -> impl Strategy<Value = Version> {
    (any::<u64>(), any::<u32>()).prop_map(|(block, tx)| Version { block, tx })
}

pub fn rwset() -> impl Strategy<Value = RwSet> {
    let read = (bytes(12), proptest::option::of(version()))
        .prop_map(|(key, version)| KvRead { key, version });
    let write = (bytes(12), proptest::option::of(bytes(12)))
        .prop_map(|(key, value)| KvWrite { key, value });
    (vec(read, 0..4), vec(write, 0..4)).prop_map(|(reads, writes)| RwSet { reads, writes })
}

pub fn vote() -> impl Strategy<Value = Vote> {
    prop_oneof![Just(Vote::Approve), Just(Vote::Reject)]
}

pub fn response() -> impl Strategy<Value = ProposalResponse> {
    let event = (text(), text(), bytes(8)).prop_map(|(contract, name, data)| Event {
        contract,
        name,
        data,
    });
    (hash(), rwset(), bytes(16), vec(event, 0..3), vote()).prop_map(
        |(tx_id, rwset, result, events, vote)| ProposalResponse {
            tx_id,
            rwset,
            result,
            events,
            vote,
        },
    )
}

pub fn endorsed_tx() -> impl Strategy<Value = EndorsedTx> {
    let endorsement = (identity(), signature()).prop_map(|(endorser, signature)| Endorsement {
        endorser,
        signature,
    });
    (signed_tx(), response(), vec(endorsement, 0..4)).prop_map(|(tx, response, endorsements)| {
        EndorsedTx {
            tx,
            response,
            endorsements,
        }
    })
}

pub fn header() -> impl Strategy<Value = BlockHeader> {
    (
        any::<u64>(),
        hash(),
        hash(),
        any::<u32>(),
        hash(),
        any::<u64>(),
        identity(),
    )
        .prop_map(
            |(height, prev_hash, tx_root, tx_count, state_root, timestamp_ms, orderer)| {
                BlockHeader {
                    height,
                    prev_hash,
                    tx_root,
                    tx_count,
                    state_root,
                    timestamp_ms,
                    orderer,
                }
            },
        )
}

pub fn block() -> impl Strategy<Value = Block> {
    (header(), vec(endorsed_tx(), 0..3), signature()).prop_map(|(header, txs, signature)| Block {
        header,
        txs,
        signature,
    })
}

pub fn status() -> impl Strategy<Value = TxStatus> {
    prop_oneof![
        Just(TxStatus::Valid),
        proptest::sample::select(ErrorCode::ALL).prop_map(TxStatus::Invalid),
    ]
}

pub fn receipt() -> impl Strategy<Value = TxReceipt> {
    (hash(), any::<u64>(), any::<u32>(), status()).prop_map(|(tx_id, block, index, status)| {
        TxReceipt {
            tx_id,
            block,
            index,
            status,
        }
    })
}

//! Transaction checks shared by the endorsement device, the management device and the peers, so
//! that all three judge a transaction the same way.

use std::collections::BTreeSet;

use arcanum_crypto::{PublicKey, domain};
use arcanum_policy::Signer;
use arcanum_types::{ApiError, EndorsedTx, ErrorCode, Role, SignedTx, TxAction, limits};

use crate::{ChainConfig, Member, valid_name};

/// Well-formedness: names, argument counts and sizes. Needs no state.
pub fn check_shape(tx: &SignedTx) -> Result<(), ApiError> {
    let bad = |m: String| Err(ApiError::new(ErrorCode::InvalidTx, m));
    match &tx.payload.action {
        TxAction::Invoke {
            contract,
            function,
            args,
        } => {
            if !valid_name(contract) {
                return bad(format!("invalid contract name {contract:?}"));
            }
            if function.is_empty()
                || function.len() > limits::MAX_FUNCTION_NAME
                || !function.is_ascii()
            {
                return bad("invalid function name".into());
            }
            if args.len() > limits::MAX_ARGS {
                return bad(format!(
                    "{} arguments exceed the limit of {}",
                    args.len(),
                    limits::MAX_ARGS
                ));
            }
        }
        TxAction::Deploy {
            contract,
            wasm,
            policy,
        } => {
            if !valid_name(contract) {
                return bad(format!("invalid contract name {contract:?}"));
            }
            if wasm.is_empty() {
                return bad("empty contract code".into());
            }
            if let Err(e) = arcanum_policy::Policy::parse(policy) {
                return Err(ApiError::new(ErrorCode::PolicyParseError, e.to_string()));
            }
        }
        TxAction::RotateKey { public_key, .. } => {
            if public_key.bytes.is_empty() || public_key.bytes.len() > 1024 {
                return bad("malformed public key".into());
            }
        }
        TxAction::RegisterCluster { .. }
        | TxAction::OffchainDeploy { .. }
        | TxAction::OffchainCallback { .. } => crate::offchain::check_shape(&tx.payload.action)?,
    }
    Ok(())
}

/// The creator is a known client or admin on the allow-list, on this channel, and the reference
/// signature verifies. Returns the creator.
pub fn check_client<'a>(config: &'a ChainConfig, tx: &SignedTx) -> Result<&'a Member, ApiError> {
    check_client_with(config, tx, true)
}

/// [`check_client`], with the signature check optional (for ledgers that trust the orderer).
pub(crate) fn check_client_with<'a>(
    config: &'a ChainConfig,
    tx: &SignedTx,
    verify_signature: bool,
) -> Result<&'a Member, ApiError> {
    let payload = &tx.payload;
    if payload.channel != config.channel {
        return Err(ApiError::new(
            ErrorCode::WrongChannel,
            format!(
                "transaction is for channel {:?}, this is {:?}",
                payload.channel, config.channel
            ),
        ));
    }
    let member = config
        .member(&payload.creator)
        .filter(|m| m.allowed_client && matches!(m.role, Role::Client | Role::Admin))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::ClientNotAllowed,
                format!("client {} is not on the allow-list", payload.creator),
            )
        })?;
    if verify_signature {
        member
            .public_key
            .verify(domain::TX_SIGNATURE, &payload.id().0, &tx.signature)
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::BadClientSignature,
                    "client signature does not verify",
                )
            })?;
    }
    Ok(member)
}

/// Every endorsement is by a distinct consortium peer and verifies over the transaction's
/// endorsement message. Returns the signers for policy evaluation.
pub fn verify_endorsements(
    config: &ChainConfig,
    etx: &EndorsedTx,
) -> Result<Vec<Signer>, ApiError> {
    verify_endorsements_with(config, etx, true, &|m: &Member| Ok(m.public_key.clone()))
}

/// [`verify_endorsements`] with each peer's current key from `key_of` (rotations on chain).
pub fn verify_endorsements_with_keys(
    config: &ChainConfig,
    etx: &EndorsedTx,
    key_of: &dyn Fn(&Member) -> Result<PublicKey, ApiError>,
) -> Result<Vec<Signer>, ApiError> {
    verify_endorsements_with(config, etx, true, key_of)
}

/// [`verify_endorsements`], with the signature checks optional (for ledgers that trust the
/// orderer); the endorsers must still be distinct consortium peers.
pub(crate) fn verify_endorsements_with(
    config: &ChainConfig,
    etx: &EndorsedTx,
    verify_signatures: bool,
    key_of: &dyn Fn(&Member) -> Result<PublicKey, ApiError>,
) -> Result<Vec<Signer>, ApiError> {
    let bad = |m: String| Err(ApiError::new(ErrorCode::BadEndorsement, m));
    if etx.endorsements.len() > limits::MAX_ENDORSEMENTS {
        return bad("too many endorsements".into());
    }
    let msg = if verify_signatures {
        etx.endorsement_message()
    } else {
        Vec::new()
    };
    let mut seen = BTreeSet::new();
    let mut signers = Vec::with_capacity(etx.endorsements.len());
    for e in &etx.endorsements {
        let Some(peer) = config.member(&e.endorser).filter(|m| m.role == Role::Peer) else {
            return bad(format!("endorser {} is not a consortium peer", e.endorser));
        };
        if !seen.insert(e.endorser) {
            return bad(format!("peer {} endorsed twice", peer.name));
        }
        if verify_signatures
            && key_of(peer)?
                .verify(domain::ENDORSEMENT, &msg, &e.signature)
                .is_err()
        {
            return bad(format!("endorsement by {} does not verify", peer.name));
        }
        signers.push(signer_of(peer));
    }
    Ok(signers)
}

/// Policy signers for a set of peers, as if each had endorsed.
pub fn endorsement_signers<'a>(members: impl IntoIterator<Item = &'a Member>) -> Vec<Signer> {
    members.into_iter().map(signer_of).collect()
}

fn signer_of(m: &Member) -> Signer {
    Signer {
        id: m.id,
        msp_id: m.msp_id.clone(),
        role: m.role,
    }
}

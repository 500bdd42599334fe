//! Transaction checks shared by the endorsement device, the management device and the peers, so
//! that all three judge a transaction the same way.

use std::collections::BTreeSet;

use arcanum_crypto::{PublicKey, Signature, VerifiedSet, domain};
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

/// How a check treats the signatures it meets.
#[derive(Clone, Copy, Debug)]
pub enum Signatures<'a> {
    /// Verify every one; those verified in a batch beforehand are looked up in the set.
    Verify(&'a VerifiedSet),
    /// Take them as verified, because whoever vouches for them verified exactly these under the
    /// same keys: the endorsement enclave, which verifies the client signature itself before it
    /// signs, or the management device, for the signatures its own ledger and the replicas skip
    /// ([`crate::SignatureTrust::TrustOrderer`]). Everything else is still checked.
    Trusted,
}

impl Signatures<'_> {
    fn check(&self, key: &PublicKey, domain: &str, msg: &[u8], sig: &Signature) -> bool {
        match self {
            Signatures::Verify(set) => set.verify(key, domain, msg, sig).is_ok(),
            Signatures::Trusted => true,
        }
    }
}

/// The creator is a known client or admin on the allow-list, on this channel, and the reference
/// signature verifies. Returns the creator.
pub fn check_client<'a>(config: &'a ChainConfig, tx: &SignedTx) -> Result<&'a Member, ApiError> {
    check_client_with(config, tx, Signatures::Verify(&VerifiedSet::default()))
}

/// [`check_client`], with the reference signature checked as `signatures` says.
pub fn check_client_with<'a>(
    config: &'a ChainConfig,
    tx: &SignedTx,
    signatures: Signatures<'_>,
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
    let member = client_of(config, tx)?;
    if !signatures.check(
        &member.public_key,
        domain::TX_SIGNATURE,
        &payload.id().0,
        &tx.signature,
    ) {
        return Err(ApiError::new(
            ErrorCode::BadClientSignature,
            "client signature does not verify",
        ));
    }
    Ok(member)
}

/// The transaction's creator, if it is a client or admin on the allow-list.
pub(crate) fn client_of<'a>(
    config: &'a ChainConfig,
    tx: &SignedTx,
) -> Result<&'a Member, ApiError> {
    config
        .member(&tx.payload.creator)
        .filter(|m| m.allowed_client && matches!(m.role, Role::Client | Role::Admin))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::ClientNotAllowed,
                format!("client {} is not on the allow-list", tx.payload.creator),
            )
        })
}

/// Every endorsement is by a distinct consortium peer and verifies over the transaction's
/// endorsement message under the peer's certificate key. Returns the signers for policy
/// evaluation.
pub fn verify_endorsements(
    config: &ChainConfig,
    etx: &EndorsedTx,
) -> Result<Vec<Signer>, ApiError> {
    verify_endorsements_with(
        config,
        etx,
        Signatures::Verify(&VerifiedSet::default()),
        &|m: &Member| Ok(m.public_key.clone()),
    )
}

/// [`verify_endorsements`] with each peer's current key from `key_of` (rotations on chain) and
/// the signatures checked as `signatures` says; the endorsers must be distinct consortium peers
/// either way.
pub fn verify_endorsements_with(
    config: &ChainConfig,
    etx: &EndorsedTx,
    signatures: Signatures<'_>,
    key_of: &dyn Fn(&Member) -> Result<PublicKey, ApiError>,
) -> Result<Vec<Signer>, ApiError> {
    match signatures {
        Signatures::Verify(set) => check_endorsements(config, etx, set, &|m| key_of(m).map(Some)),
        Signatures::Trusted => {
            check_endorsements(config, etx, &VerifiedSet::default(), &|_| Ok(None))
        }
    }
}

/// [`verify_endorsements_with`], deciding per endorser: `key_of` answers the key to verify its
/// signature under (looked up in `verified` first), or `None` to take it as verified.
pub(crate) fn check_endorsements(
    config: &ChainConfig,
    etx: &EndorsedTx,
    verified: &VerifiedSet,
    key_of: &dyn Fn(&Member) -> Result<Option<PublicKey>, ApiError>,
) -> Result<Vec<Signer>, ApiError> {
    let bad = |m: String| Err(ApiError::new(ErrorCode::BadEndorsement, m));
    if etx.endorsements.len() > limits::MAX_ENDORSEMENTS {
        return bad("too many endorsements".into());
    }
    // Computed on the first signature that is verified, if any.
    let mut msg = None;
    let mut seen = BTreeSet::new();
    let mut signers = Vec::with_capacity(etx.endorsements.len());
    for e in &etx.endorsements {
        let Some(peer) = config.member(&e.endorser).filter(|m| m.role == Role::Peer) else {
            return bad(format!("endorser {} is not a consortium peer", e.endorser));
        };
        if !seen.insert(e.endorser) {
            return bad(format!("peer {} endorsed twice", peer.name));
        }
        if let Some(key) = key_of(peer)? {
            let msg = msg.get_or_insert_with(|| etx.endorsement_message());
            if !Signatures::Verify(verified).check(&key, domain::ENDORSEMENT, msg, &e.signature) {
                return bad(format!("endorsement by {} does not verify", peer.name));
            }
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

//! The endorsement device's side of its enclave (SPEC L1.3, L7): the hosted keys sign inside it,
//! and the enclave decides what it signs: it verifies the client's reference signature under
//! the pinned key, the host's state reads against the headers it verified, and runs the
//! simulation itself. Endorsement reaches the enclave in batches ([`EnclaveSigner::endorse`]),
//! headers in order ([`EnclaveSigner::feed_headers`]). An [`EnclaveLink`] is the ring client of
//! `arcanum-enclave-host` (a real enclave process) or the enclave's trusted code in this process
//! (`in_process`).

use arcanum_enclave_host::{EnclaveClient, EndorsementProtocol};
use arcanum_enclave_protocol::{
    EnclaveResponse, EndorseOutcome, EndorseTask, HostRequest, MAX_ENDORSE_SIGNATURES,
    MAX_ENDORSE_TASKS, MAX_FRAME, MAX_HEADERS, SignedHeader,
};
use arcanum_types::{ApiError, Endorsement, ErrorCode, IdentityId, ProposalResponse};
use parking_lot::RwLock;

/// How requests reach the enclave: over the shared-memory rings to the `arcanum-enclave`
/// process, or to its trusted code in this process.
pub trait EnclaveLink: Send + Sync {
    /// The enclave's answer to one request; a link failure is `ENDORSER_UNAVAILABLE`.
    fn request(&self, request: &HostRequest) -> Result<EnclaveResponse, ApiError>;
}

/// The endorsement device reaches its `arcanum-enclave` process through the generic ring client.
impl EnclaveLink for EnclaveClient<EndorsementProtocol> {
    fn request(&self, request: &HostRequest) -> Result<EnclaveResponse, ApiError> {
        self.call(request)
            .map_err(|e| ApiError::new(ErrorCode::EndorserUnavailable, format!("enclave: {e}")))
    }
}

/// Maps an enclave error to the API's stable codes. The enclave's refusals of the host's own
/// state (a read or header it could not verify) are `STATE_WITNESS_INVALID` with the precise
/// cause first; the ledger's and the simulation's own codes pass through.
pub fn enclave_error(code: &str, message: &str) -> ApiError {
    let witness = matches!(
        code,
        "HEADER_BAD_SIGNATURE"
            | "HEADER_OUT_OF_ORDER"
            | "HEADER_BAD_PREV_HASH"
            | "STATE_ROOT_UNKNOWN"
            | "STATE_PROOF_INVALID"
            | "STATE_PROOF_MISSING"
            | "READ_WITNESSED_TWICE"
            | "READ_NOT_WITNESSED"
    );
    if witness {
        return ApiError::new(
            ErrorCode::StateWitnessInvalid,
            format!("{code}: enclave: {message}"),
        );
    }
    let mapped = match code {
        "PEER_NOT_HOSTED" | "PEER_NOT_ALLOWED" | "ANSWER_FULL" => ErrorCode::EndorserUnavailable,
        "KEY_FILE" | "KEY_CERT_MISMATCH" => ErrorCode::KeyFile,
        other => ErrorCode::parse(other).unwrap_or(ErrorCode::Internal),
    };
    ApiError::new(mapped, format!("enclave: {message}"))
}

/// What the enclave made of one task: the response it computed and its endorsements, or its
/// refusal (the enclave's stable code, and why).
pub type TaskOutcome = Result<(ProposalResponse, Vec<Endorsement>), (String, String)>;

/// An enclave and the peers whose keys it hosts.
pub struct EnclaveSigner {
    link: Box<dyn EnclaveLink>,
    hosted: RwLock<Vec<IdentityId>>,
}

impl EnclaveSigner {
    pub fn new(link: impl EnclaveLink + 'static, hosted: Vec<IdentityId>) -> EnclaveSigner {
        EnclaveSigner {
            link: Box::new(link),
            hosted: RwLock::new(hosted),
        }
    }

    /// One request, with enclave errors mapped to the API's codes.
    pub fn call(&self, request: &HostRequest) -> Result<EnclaveResponse, ApiError> {
        match self.link.request(request)? {
            EnclaveResponse::Error { code, message } => Err(enclave_error(&code, &message)),
            other => Ok(other),
        }
    }

    /// The peers whose keys are hosted.
    pub fn hosted(&self) -> Vec<IdentityId> {
        self.hosted.read().clone()
    }

    /// Replaces the hosted set (after an import or a key activation).
    pub fn set_hosted(&self, hosted: Vec<IdentityId>) {
        *self.hosted.write() = hosted;
    }

    /// Endorses a batch of tasks: one outcome per task, in task order. The tasks go to the
    /// enclave in as few requests as its bounds allow (one, unless the batch is over
    /// [`MAX_ENDORSE_TASKS`] tasks, [`MAX_ENDORSE_SIGNATURES`] peers or a frame's bytes); a
    /// failed request refuses each of its tasks with its error.
    pub fn endorse(&self, tasks: Vec<EndorseTask>) -> Vec<TaskOutcome> {
        let mut results = Vec::with_capacity(tasks.len());
        for chunk in chunks(tasks) {
            let n = chunk.len();
            let failed = |e: &ApiError| (e.code.as_str().to_owned(), e.message.clone());
            match self.call(&HostRequest::Endorse { tasks: chunk }) {
                Ok(EnclaveResponse::Endorsements(outcomes)) if outcomes.len() == n => {
                    results.extend(outcomes.into_iter().map(|o| match o {
                        EndorseOutcome::Signed {
                            response,
                            endorsements,
                        } => Ok((response, endorsements)),
                        EndorseOutcome::Refused { code, message } => Err((code, message)),
                    }));
                }
                Ok(other) => {
                    let e = unexpected(&other);
                    results.extend((0..n).map(|_| Err(failed(&e))));
                }
                Err(e) => results.extend((0..n).map(|_| Err(failed(&e)))),
            }
        }
        results
    }

    /// Feeds signed headers, in height order, [`MAX_HEADERS`] per request; returns the
    /// enclave's verified height.
    pub fn feed_headers(&self, headers: &[SignedHeader]) -> Result<u64, ApiError> {
        let mut height = None;
        for chunk in headers.chunks(MAX_HEADERS) {
            match self.call(&HostRequest::Headers {
                headers: chunk.to_vec(),
            })? {
                EnclaveResponse::Chain { height: h } => height = Some(h),
                other => return Err(unexpected(&other)),
            }
        }
        height.ok_or_else(|| ApiError::new(ErrorCode::Internal, "no headers to feed"))
    }
}

/// Room left in a frame for the envelope and the request's own header.
const FRAME_HEADROOM: usize = 1024;

/// Splits tasks into requests within the enclave's bounds, keeping their order.
fn chunks(tasks: Vec<EndorseTask>) -> Vec<Vec<EndorseTask>> {
    let mut out: Vec<Vec<EndorseTask>> = Vec::new();
    let (mut current, mut peers, mut bytes) = (Vec::new(), 0usize, 0usize);
    for task in tasks {
        let size = borsh::object_length(&task).unwrap_or(MAX_FRAME);
        let full = current.len() == MAX_ENDORSE_TASKS
            || peers + task.peers.len() > MAX_ENDORSE_SIGNATURES
            || bytes + size > MAX_FRAME - FRAME_HEADROOM;
        if full && !current.is_empty() {
            out.push(std::mem::take(&mut current));
            (peers, bytes) = (0, 0);
        }
        peers += task.peers.len();
        bytes += size;
        current.push(task);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// An answer of the wrong kind.
pub(crate) fn unexpected(answer: &EnclaveResponse) -> ApiError {
    ApiError::new(
        ErrorCode::Internal,
        format!("unexpected enclave answer {answer:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use arcanum_crypto::{Signature, sha256};
    use arcanum_types::{SignedTx, TxAction, TxPayload};

    fn task(arg_bytes: usize, peers: usize) -> EndorseTask {
        let payload = TxPayload {
            channel: "c".into(),
            creator: IdentityId(sha256(b"c")),
            nonce: 0,
            action: TxAction::Invoke {
                contract: "k".into(),
                function: "f".into(),
                args: vec![vec![0; arg_bytes]],
            },
        };
        EndorseTask {
            tx: SignedTx {
                payload,
                signature: Signature(vec![0; 64]),
            },
            peers: vec![IdentityId(sha256(b"p")); peers],
            height: 1,
            witnesses: Vec::new(),
            code: None,
            lifecycle_rwset: None,
        }
    }

    fn sizes(chunks: &[Vec<EndorseTask>]) -> Vec<usize> {
        chunks.iter().map(Vec::len).collect()
    }

    #[test]
    fn chunks_respect_every_enclave_bound_and_keep_order() {
        assert_eq!(sizes(&chunks(vec![task(10, 2); 3])), vec![3]);
        assert_eq!(
            sizes(&chunks(vec![task(10, 1); MAX_ENDORSE_TASKS + 5])),
            vec![MAX_ENDORSE_TASKS, 5]
        );
        // 200 peers each: 40 tasks reach 8,000 of the 8,192 signatures.
        assert_eq!(sizes(&chunks(vec![task(10, 200); 50])), vec![40, 10]);
        // Transactions of almost 2 MiB: two do not fit one frame.
        let big = task(2 * 1024 * 1024 - 256, 1);
        let c = chunks(vec![big.clone(), task(10, 1), big]);
        assert_eq!(sizes(&c), vec![2, 1]);
        for chunk in &c {
            let frame = arcanum_enclave_protocol::encode_frame(
                u64::MAX,
                &HostRequest::Endorse {
                    tasks: chunk.clone(),
                },
            );
            assert!(frame.len() <= MAX_FRAME);
        }
        assert!(chunks(Vec::new()).is_empty());
    }
}

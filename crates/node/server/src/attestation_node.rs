//! The attestation service (SPEC A2): verifies a TEE node's evidence against the consortium's
//! attestation policy and issues a signed remote attestation report binding the node's public
//! keys to its measurement, TCB status and an expiry.

use std::collections::VecDeque;
use std::sync::Arc;

use arcanum_api::{AttestRequest, AttestationVerdict, routes};
use arcanum_attestation::{AttestationPolicy, VerifyInputs};
use arcanum_crypto::SigningKey;
use arcanum_types::{ApiError, ErrorCode};
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use parking_lot::Mutex;

use arcanum_http::{Borsh, HttpResult, blocking, borsh_response};

/// Verdicts kept for display.
const LOG_LEN: usize = 256;

/// Largest attestation request body.
const ATTEST_BODY_BYTES: usize = 256 * 1024;

pub struct AttestationService {
    pub key: SigningKey,
    pub policy: AttestationPolicy,
    pub ttl_secs: u64,
    log: Mutex<VecDeque<AttestationVerdict>>,
}

impl AttestationService {
    pub fn new(key: SigningKey, policy: AttestationPolicy, ttl_secs: u64) -> AttestationService {
        AttestationService {
            key,
            policy,
            ttl_secs,
            log: Mutex::new(VecDeque::new()),
        }
    }

    fn record(&self, v: AttestationVerdict) {
        let mut log = self.log.lock();
        if log.len() >= LOG_LEN {
            log.pop_front();
        }
        log.push_back(v);
    }

    /// Verifies and, if the policy holds, issues a signed report.
    pub fn attest(
        &self,
        req: &AttestRequest,
        now: u64,
    ) -> Result<arcanum_attestation::SignedReport, ApiError> {
        let rejected = |code: ErrorCode, e: &arcanum_attestation::AttestError| {
            ApiError::new(code, format!("{}: {e}", e.code()))
        };
        let mut shown = AttestationVerdict {
            subject: req.subject.clone(),
            accepted: false,
            platform: String::new(),
            measurement: String::new(),
            tcb_status: String::new(),
            is_secure: false,
            debug: false,
            error: None,
            expires_at: None,
        };
        let outcome = (|| {
            let verdict =
                arcanum_attestation::verify_evidence(&req.evidence, &VerifyInputs::default(), now)
                    .map_err(|e| rejected(ErrorCode::EvidenceInvalid, &e))?;
            shown.platform = verdict.platform.as_str().to_owned();
            shown.measurement = hex::encode(&verdict.measurement);
            shown.tcb_status = verdict.tcb_status.clone();
            shown.is_secure = verdict.is_secure;
            shown.debug = verdict.debug;
            self.policy
                .check(&verdict)
                .map_err(|e| rejected(ErrorCode::AttestationPolicy, &e))?;
            arcanum_attestation::issue(
                &verdict,
                &req.subject,
                &req.bound_keys,
                &self.key,
                now,
                self.ttl_secs,
            )
            .map_err(|e| rejected(ErrorCode::EvidenceInvalid, &e))
        })();
        match &outcome {
            Ok(signed) => {
                shown.accepted = true;
                shown.expires_at = Some(signed.report.expires_at);
            }
            Err(e) => {
                shown.error = Some(e.message.split(':').next().unwrap_or_default().to_owned())
            }
        }
        tracing::info!(subject = %shown.subject, accepted = shown.accepted, error = ?shown.error, "attestation verdict");
        self.record(shown);
        outcome
    }
}

pub fn router(service: Arc<AttestationService>) -> Router {
    Router::new()
        .route(routes::ATTEST, post(attest))
        .route(routes::ATTESTATIONS, get(verdicts))
        .with_state(service)
}

async fn attest(
    State(s): State<Arc<AttestationService>>,
    Borsh(req): Borsh<AttestRequest, ATTEST_BODY_BYTES>,
) -> HttpResult<Response> {
    let signed = blocking(move || s.attest(&req, crate::now_unix())).await?;
    Ok(borsh_response(&signed))
}

async fn verdicts(State(s): State<Arc<AttestationService>>) -> axum::Json<Vec<AttestationVerdict>> {
    axum::Json(s.log.lock().iter().cloned().collect())
}

//! The crate's one error enum and its stable codes.

/// Longest excerpt of user text an error keeps (names, tokens, principals), so that a hostile
/// 64 KiB policy cannot produce a 64 KiB error message.
const MAX_EXCERPT: usize = 64;

/// Cuts `s` to at most [`MAX_EXCERPT`] characters, marking the cut with `…`.
pub(crate) fn excerpt(s: &str) -> String {
    match s.char_indices().nth(MAX_EXCERPT) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

/// Why a policy does not parse, is invalid, or cannot be evaluated.
///
/// Every variant except [`PolicyError::BadSigner`] means "the policy is invalid" and has the code
/// `POLICY_PARSE_ERROR`; see [`PolicyError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The policy text exceeds [`crate::MAX_POLICY_BYTES`].
    #[error("policy of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    /// Gates nest deeper than [`crate::MAX_DEPTH`].
    #[error("policy gates nest deeper than {max}")]
    TooDeep { max: usize },
    /// The text ended where more was expected (Fabric: "unexpected token EOF").
    #[error("unexpected end of policy, expected {expected}")]
    UnexpectedEof { expected: &'static str },
    /// A character or token that does not fit the grammar at this point.
    #[error("unexpected token {found:?} at byte {offset}, expected {expected}")]
    UnexpectedToken {
        offset: usize,
        found: String,
        expected: &'static str,
    },
    /// An integer literal that does not fit in 64 bits. `offset` is the literal's byte offset,
    /// or 0 when the number is a quoted `OutOf` threshold.
    #[error("number {text:?} at byte {offset} is out of range")]
    NumberOutOfRange { offset: usize, text: String },
    /// `Name(...)` where `Name` is not one of the gates `AND|And|and`, `OR|Or|or`,
    /// `OutOf|OUTOF|outof`.
    #[error("unknown gate {name:?} at byte {offset}")]
    UnknownGate { offset: usize, name: String },
    /// A bare name that is neither a gate call nor a literal (Fabric: "unknown name X").
    #[error("unknown name {name:?} at byte {offset}")]
    UnknownName { offset: usize, name: String },
    /// A quoted sub-policy that is not `'<MSPID>.<role>'` with role
    /// admin|member|client|peer|orderer.
    #[error("{text:?} is not a principal of the form '<MSPID>.<role>'")]
    BadPrincipal { text: String },
    /// A gate without any sub-policy (Fabric: "expected at least two arguments to NOutOf").
    #[error("expected at least two arguments to OutOf, given {given}")]
    TooFewArguments { given: usize },
    /// The threshold of `OutOf` is not a number or a quoted number (Fabric: "unexpected type",
    /// "expected a number").
    #[error("the threshold must be a number, got {found}")]
    BadThresholdType { found: &'static str },
    /// `t < 0` or `t > n + 1` (Fabric: "invalid t-out-of-n predicate"). `t == n + 1` is allowed
    /// and never satisfied; `t == 0` is allowed and always satisfied.
    #[error("invalid t-out-of-n predicate, t {t}, n {n}")]
    BadThreshold { t: i64, n: usize },
    /// A sub-policy that is neither a principal nor a gate, e.g. a number or `true`
    /// (Fabric: "unexpected type int").
    #[error("a sub-policy must be a principal or a gate, got {found}")]
    BadArgument { found: &'static str },
    /// The whole text is a number, a boolean or a string, not a gate
    /// (Fabric: "invalid policy string").
    #[error("the policy is a {found}, not a gate")]
    NotAPolicy { found: &'static str },
    /// An implicit-meta policy that is not exactly two space-separated tokens.
    #[error("expected two space separated tokens, but got {tokens}")]
    BadImplicitMeta { tokens: usize },
    /// An implicit-meta rule other than `ANY|ALL|MAJORITY`.
    #[error("unknown rule type '{rule}', expected ALL, ANY, or MAJORITY")]
    UnknownMetaRule { rule: String },
    /// An implicit-meta sub-policy name other than
    /// `Endorsement|Admins|Readers|Writers|Members`.
    #[error("unknown implicit-meta sub-policy {name:?}")]
    UnknownSubPolicy { name: String },
    /// A `SignedBy` index outside the identity list (a hand-built [`crate::SignaturePolicy`];
    /// the parser never produces one).
    #[error("identity index out of range, requested {index}, but identities length is {len}")]
    IdentityIndexOutOfRange { index: u32, len: usize },
    /// A negative `NOutOf` threshold in a hand-built rule.
    #[error("negative threshold {n} in rule")]
    NegativeThreshold { n: i32 },
    /// A signer string of `check` that is not `<MSPID>.<role>`.
    #[error("signer {signer:?} is not of the form '<MSPID>.<role>'")]
    BadSigner { signer: String },
}

impl PolicyError {
    /// The stable, machine-matchable code: `BAD_SIGNER` for a malformed signer string,
    /// `POLICY_PARSE_ERROR` for everything else (the policy itself is invalid).
    pub fn code(&self) -> &'static str {
        match self {
            PolicyError::BadSigner { .. } => "BAD_SIGNER",
            _ => "POLICY_PARSE_ERROR",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_long_text_on_char_boundaries() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(200);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), MAX_EXCERPT + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn codes() {
        assert_eq!(
            PolicyError::BadSigner { signer: "x".into() }.code(),
            "BAD_SIGNER"
        );
        assert_eq!(
            PolicyError::UnexpectedEof { expected: "a gate" }.code(),
            "POLICY_PARSE_ERROR"
        );
        assert_eq!(
            PolicyError::BadThreshold { t: 4, n: 2 }.code(),
            "POLICY_PARSE_ERROR"
        );
        assert_eq!(
            PolicyError::BadThreshold { t: 4, n: 2 }.to_string(),
            "invalid t-out-of-n predicate, t 4, n 2"
        );
    }
}

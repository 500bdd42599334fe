//! Endorsement policies with Hyperledger Fabric's semantics (SPEC L4): the signature-policy DSL
//! (`AND`, `OR`, `OutOf(n, …)` over `'Org.role'` principals) and implicit-meta policies
//! (`ANY|ALL|MAJORITY <SubPolicy>`).
//!
//! Key types: [`Policy`] (parse, evaluate, named MSPs), [`SignaturePolicy`] (Fabric's
//! `SignaturePolicyEnvelope`: an identity list and a [`Rule`] tree over it), [`Principal`],
//! [`Signer`] (an already authenticated signing identity), [`PolicyError`] with stable
//! [`PolicyError::code`]s, and [`check`] (the `arcanum policy check` semantics).
//!
//! Invariants:
//! - Parsing reproduces Fabric's `policydsl.FromString`: gate spellings, principal syntax,
//!   threshold rules (`0 ≤ t ≤ n + 1`) and identity numbering (nested gates first, then the
//!   gate's own principals; no de-duplication). Inputs over [`MAX_POLICY_BYTES`] or nesting
//!   deeper than [`MAX_DEPTH`] are rejected before any unbounded work, so hostile text cannot
//!   overflow the stack.
//! - Evaluation reproduces Fabric's `cauthdsl`: each signer satisfies at most one `SignedBy`
//!   leaf, evaluation is greedy and in signer order, with no short-circuit. [`Policy::evaluate`]
//!   first merges signers with the same [`IdentityId`] (as Fabric's channel policies do);
//!   [`SignaturePolicy::evaluate_with`] does not.
//! - Everything is deterministic: no clock, no randomness, no hash-map iteration.
//!
//! `docs/design/endorsement-policy.md` describes the grammar and the evaluation in full.

mod error;
mod eval;
mod parse;

use std::fmt;
use std::str::FromStr;

use arcanum_types::{Hash, IdentityId, Role};

pub use error::PolicyError;
pub use eval::{dedup_signers, principal_matches};

/// Longest policy text accepted (64 KiB).
pub const MAX_POLICY_BYTES: usize = 64 * 1024;
/// Deepest gate nesting accepted: `AND(…)` alone has depth 1.
pub const MAX_DEPTH: usize = 64;

/// An MSP role principal: `'<msp_id>.<role>'`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Principal {
    pub msp_id: String,
    pub role: Role,
}

impl Principal {
    /// Parses `<MSPID>.<role>` (without quotes) as Fabric does: the role is the last
    /// dot-separated token (admin|member|client|peer|orderer) and the MSP id, before it, is
    /// non-empty ASCII alphanumerics, dots and dashes.
    pub fn parse(text: &str) -> Result<Principal, PolicyError> {
        parse::parse_principal(text).ok_or_else(|| PolicyError::BadPrincipal {
            text: error::excerpt(text),
        })
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.msp_id, self.role)
    }
}

/// A rule over a [`SignaturePolicy`]'s identity list (Fabric's `SignaturePolicy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// A signature of an identity satisfying `identities[index]`.
    SignedBy(u32),
    /// At least `n` of the sub-rules. `AND` of k is `n = k`, `OR` is `n = 1`.
    NOutOf { n: i32, rules: Vec<Rule> },
}

/// A parsed signature policy (Fabric's `SignaturePolicyEnvelope`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignaturePolicy {
    pub identities: Vec<Principal>,
    pub rule: Rule,
}

/// The rule of an implicit-meta policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MetaRule {
    Any,
    All,
    Majority,
}

impl MetaRule {
    /// `ANY`, `ALL` or `MAJORITY`.
    pub fn as_str(self) -> &'static str {
        match self {
            MetaRule::Any => "ANY",
            MetaRule::All => "ALL",
            MetaRule::Majority => "MAJORITY",
        }
    }

    /// Parses the exact upper-case name.
    pub fn parse(s: &str) -> Option<MetaRule> {
        match s {
            "ANY" => Some(MetaRule::Any),
            "ALL" => Some(MetaRule::All),
            "MAJORITY" => Some(MetaRule::Majority),
            _ => None,
        }
    }
}

/// An endorsement policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Policy {
    /// A signature-DSL policy.
    Signature(SignaturePolicy),
    /// `ANY|ALL|MAJORITY <sub_policy>` over the consortium's organisations.
    ImplicitMeta { rule: MetaRule, sub_policy: String },
}

/// One distinct signing identity (already authenticated by the caller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signer {
    pub id: IdentityId,
    pub msp_id: String,
    pub role: Role,
}

/// Fabric's `ImplicitMetaFromString`: exactly two tokens separated by single spaces (the text is
/// split on `' '`, so a double space makes an empty token), the first `ANY|ALL|MAJORITY`. The
/// sub-policy name is not checked here; [`Policy::evaluate`] checks it.
pub fn parse_implicit_meta(text: &str) -> Result<(MetaRule, String), PolicyError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge {
            len: text.len(),
            max: MAX_POLICY_BYTES,
        });
    }
    let tokens: Vec<&str> = text.split(' ').collect();
    let [rule, sub_policy] = tokens.as_slice() else {
        return Err(PolicyError::BadImplicitMeta {
            tokens: tokens.len(),
        });
    };
    let rule = MetaRule::parse(rule).ok_or_else(|| PolicyError::UnknownMetaRule {
        rule: error::excerpt(rule),
    })?;
    Ok((rule, (*sub_policy).to_owned()))
}

impl Policy {
    /// Parses a policy. Text whose first space-separated token is `ANY`, `ALL` or `MAJORITY` is
    /// an implicit-meta policy and must be exactly two tokens; anything else is the signature
    /// DSL.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge {
                len: text.len(),
                max: MAX_POLICY_BYTES,
            });
        }
        let first = text.split(' ').next().unwrap_or_default();
        if MetaRule::parse(first).is_some() {
            let (rule, sub_policy) = parse_implicit_meta(text)?;
            return Ok(Policy::ImplicitMeta { rule, sub_policy });
        }
        SignaturePolicy::parse(text).map(Policy::Signature)
    }

    /// Whether `signers` satisfy the policy.
    ///
    /// Signature policies: signers with the same `id` are merged (first one kept), then
    /// Fabric's greedy evaluation runs with MSP role matching (a `member` principal is satisfied
    /// by any identity of that MSP; `peer`, `admin`, `client`, `orderer` only by that role).
    ///
    /// Implicit-meta policies: `orgs` are the consortium's organisations (duplicates ignored).
    /// Each one's sub-policy is `Endorsement` → `OR('<org>.peer')`, `Admins` →
    /// `OR('<org>.admin')`, `Readers|Writers|Members` → `OR('<org>.member')`; ANY needs one
    /// satisfied, ALL every one, MAJORITY ⌊m/2⌋+1, and with no organisation all three hold.
    pub fn evaluate(&self, signers: &[Signer], orgs: &[String]) -> Result<bool, PolicyError> {
        match self {
            Policy::Signature(sp) => sp.evaluate(signers),
            Policy::ImplicitMeta { rule, sub_policy } => {
                eval::evaluate_implicit_meta(*rule, sub_policy, signers, orgs)
            }
        }
    }

    /// The MSP ids the policy names (for implicit-meta: all `orgs`), sorted, deduplicated.
    pub fn msp_ids(&self, orgs: &[String]) -> Vec<String> {
        match self {
            Policy::Signature(sp) => sp.msp_ids(),
            Policy::ImplicitMeta { .. } => sorted_unique(orgs.iter().cloned()),
        }
    }
}

impl FromStr for Policy {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Policy, PolicyError> {
        Policy::parse(s)
    }
}

/// Prints the policy so that [`Policy::parse`] reads it back as an equivalent policy.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Policy::Signature(sp) => sp.fmt(f),
            Policy::ImplicitMeta { rule, sub_policy } => {
                write!(f, "{} {sub_policy}", rule.as_str())
            }
        }
    }
}

impl SignaturePolicy {
    /// Parses the signature DSL only (no implicit-meta).
    pub fn parse(text: &str) -> Result<SignaturePolicy, PolicyError> {
        parse::parse_signature_policy(text)
    }

    /// Checks a (possibly hand-built) policy: indices in range, thresholds not negative,
    /// nesting at most [`MAX_DEPTH`]. Parsed policies always pass.
    pub fn validate(&self) -> Result<(), PolicyError> {
        eval::validate(self)
    }

    /// cauthdsl-level evaluation with a caller-given matcher:
    /// `matches(principal_index, signer_index) -> bool`. Greedy, each signer used at most once,
    /// no de-duplication. An invalid policy (see [`SignaturePolicy::validate`]) is never
    /// satisfied, and `matches` is only called with in-range indices.
    pub fn evaluate_with(&self, n_signers: usize, matches: impl Fn(usize, usize) -> bool) -> bool {
        eval::evaluate_with(self, n_signers, &matches)
    }

    /// Evaluation over real signers: merge equal ids, MSP role matching, greedy (see
    /// [`Policy::evaluate`]).
    pub fn evaluate(&self, signers: &[Signer]) -> Result<bool, PolicyError> {
        eval::evaluate_signers(self, signers)
    }

    /// The MSP ids of the identities, sorted, deduplicated.
    pub fn msp_ids(&self) -> Vec<String> {
        sorted_unique(self.identities.iter().map(|p| p.msp_id.clone()))
    }
}

/// Prints the DSL: `OR(...)` for n = 1, `AND(...)` for n = number of sub-rules, `OutOf(n, ...)`
/// otherwise, principals in single quotes. A top-level `SignedBy` is printed as `OR('…')`.
/// Parsing the output gives an equivalent policy; for a parsed policy, the very same one.
impl fmt::Display for SignaturePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Rule::SignedBy(_) => {
                f.write_str("OR(")?;
                write_rule(f, &self.rule, &self.identities, 1)?;
                f.write_str(")")
            }
            rule => write_rule(f, rule, &self.identities, 0),
        }
    }
}

fn write_rule(
    f: &mut fmt::Formatter<'_>,
    rule: &Rule,
    identities: &[Principal],
    depth: usize,
) -> fmt::Result {
    match rule {
        Rule::SignedBy(i) => match usize::try_from(*i).ok().and_then(|i| identities.get(i)) {
            Some(p) => {
                let text = p.to_string().replace('\\', "\\\\").replace('\'', "\\'");
                write!(f, "'{text}'")
            }
            None => write!(f, "'<identity index {i} out of range>'"),
        },
        // A hand-built tree deeper than any parsed one: stop rather than risk the stack.
        Rule::NOutOf { .. } if depth >= MAX_DEPTH => f.write_str("…"),
        Rule::NOutOf { n, rules } => {
            if *n == 1 {
                f.write_str("OR(")?;
            } else if usize::try_from(*n).is_ok_and(|n| n == rules.len()) {
                f.write_str("AND(")?;
            } else {
                write!(f, "OutOf({n}")?;
                if !rules.is_empty() {
                    f.write_str(", ")?;
                }
            }
            for (k, sub) in rules.iter().enumerate() {
                if k > 0 {
                    f.write_str(", ")?;
                }
                write_rule(f, sub, identities, depth + 1)?;
            }
            f.write_str(")")
        }
    }
}

fn sorted_unique(ids: impl Iterator<Item = String>) -> Vec<String> {
    let set: std::collections::BTreeSet<String> = ids.collect();
    set.into_iter().collect()
}

/// The `arcanum policy check` semantics: parse `policy`, turn each signer string `"MSP.role"`
/// (the MSP may contain dots and dashes) into one *distinct* identity, and evaluate with
/// [`Policy::evaluate`]. Returns `Ok(satisfied)`; a malformed signer is
/// [`PolicyError::BadSigner`] (code `BAD_SIGNER`).
pub fn check(policy: &str, signers: &[&str], orgs: &[String]) -> Result<bool, PolicyError> {
    let policy = Policy::parse(policy)?;
    let signers = signers
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let p = parse::parse_principal(text).ok_or_else(|| PolicyError::BadSigner {
                signer: error::excerpt(text),
            })?;
            // A synthetic id per position: every signer string is its own identity.
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&(i as u64).to_be_bytes());
            Ok(Signer {
                id: IdentityId(Hash(id)),
                msp_id: p.msp_id,
                role: p.role,
            })
        })
        .collect::<Result<Vec<_>, PolicyError>>()?;
    policy.evaluate(&signers, orgs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_round_trips_parsed_policies() {
        for text in [
            "OR('A.member', AND('B.peer', 'C.admin'))",
            "OutOf(2, 'A.member', 'B.member', OutOf(0, 'C.client'))",
            "OutOf(3, 'A.member', 'B.member')",
            "AND('MSP.WITH.DOTS.orderer')",
        ] {
            let p = Policy::parse(text).expect("valid");
            let printed = p.to_string();
            assert_eq!(
                Policy::parse(&printed),
                Ok(p),
                "{text} printed as {printed}"
            );
        }
        assert_eq!(
            Policy::parse("MAJORITY Endorsement")
                .map(|p| p.to_string())
                .as_deref(),
            Ok("MAJORITY Endorsement")
        );
    }

    #[test]
    fn display_wraps_a_bare_leaf() {
        let sp = SignaturePolicy {
            identities: vec![Principal {
                msp_id: "A".into(),
                role: Role::Peer,
            }],
            rule: Rule::SignedBy(0),
        };
        assert_eq!(sp.to_string(), "OR('A.peer')");
    }

    #[test]
    fn implicit_meta_dispatch() {
        assert_eq!(
            Policy::parse("ANY Endorsement"),
            Ok(Policy::ImplicitMeta {
                rule: MetaRule::Any,
                sub_policy: "Endorsement".into()
            })
        );
        assert_eq!(
            Policy::parse("ALL  Admins"),
            Err(PolicyError::BadImplicitMeta { tokens: 3 })
        );
        assert_eq!(
            Policy::parse("MAJORITY"),
            Err(PolicyError::BadImplicitMeta { tokens: 1 })
        );
        assert!(matches!(
            Policy::parse("any Endorsement"),
            Err(PolicyError::UnknownName { .. })
        ));
    }

    #[test]
    fn msp_ids_sorted_unique() {
        let p = Policy::parse("OR('B.member', AND('A.peer', 'B.admin'))").expect("valid");
        assert_eq!(p.msp_ids(&[]), ["A", "B"]);
        let m = Policy::parse("ANY Readers").expect("valid");
        let orgs = ["Z".to_string(), "A".into(), "Z".into()];
        assert_eq!(m.msp_ids(&orgs), ["A", "Z"]);
    }
}

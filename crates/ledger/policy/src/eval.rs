//! Evaluation: Fabric's greedy `cauthdsl` algorithm, MSP role matching and implicit-meta
//! thresholds.

use std::collections::BTreeSet;

use arcanum_types::{IdentityId, Role};

use crate::{MAX_DEPTH, MetaRule, PolicyError, Principal, Rule, SignaturePolicy, Signer};

/// Checks that every `SignedBy` index is in range, no threshold is negative and gates nest at
/// most [`MAX_DEPTH`] deep. Recursion stops at depth `MAX_DEPTH + 1`.
pub(crate) fn validate(policy: &SignaturePolicy) -> Result<(), PolicyError> {
    fn walk(rule: &Rule, len: usize, depth: usize) -> Result<(), PolicyError> {
        match rule {
            Rule::SignedBy(i) => match usize::try_from(*i) {
                Ok(idx) if idx < len => Ok(()),
                _ => Err(PolicyError::IdentityIndexOutOfRange { index: *i, len }),
            },
            Rule::NOutOf { n, rules } => {
                if depth >= MAX_DEPTH {
                    return Err(PolicyError::TooDeep { max: MAX_DEPTH });
                }
                if *n < 0 {
                    return Err(PolicyError::NegativeThreshold { n: *n });
                }
                rules.iter().try_for_each(|r| walk(r, len, depth + 1))
            }
        }
    }
    walk(&policy.rule, policy.identities.len(), 0)
}

/// Fabric's `cauthdsl` evaluation of one rule. `used[s]` marks signers already consumed.
///
/// - `SignedBy(i)` takes the first unused signer that satisfies principal `i` and marks it used.
/// - `NOutOf{n, rules}` runs every sub-rule (no short-circuit) on a copy of `used`; a satisfied
///   sub-rule's copy is kept, an unsatisfied one's is thrown away. It holds if at least `n`
///   sub-rules held.
///
/// The caller has validated the rule, so recursion is bounded by [`MAX_DEPTH`].
fn eval_rule(
    rule: &Rule,
    n_identities: usize,
    used: &mut [bool],
    matches: &dyn Fn(usize, usize) -> bool,
) -> bool {
    match rule {
        Rule::SignedBy(i) => {
            let Ok(principal) = usize::try_from(*i) else {
                return false;
            };
            if principal >= n_identities {
                return false;
            }
            for (signer, slot) in used.iter_mut().enumerate() {
                if !*slot && matches(principal, signer) {
                    *slot = true;
                    return true;
                }
            }
            false
        }
        Rule::NOutOf { n, rules } => {
            let mut verified: i64 = 0;
            let mut scratch = vec![false; used.len()];
            for sub in rules {
                scratch.copy_from_slice(used);
                if eval_rule(sub, n_identities, &mut scratch, matches) {
                    verified += 1;
                    used.copy_from_slice(&scratch);
                }
            }
            verified >= i64::from(*n)
        }
    }
}

/// Evaluates a policy with a caller-given matcher; `false` if the policy is invalid.
pub(crate) fn evaluate_with(
    policy: &SignaturePolicy,
    n_signers: usize,
    matches: &dyn Fn(usize, usize) -> bool,
) -> bool {
    if validate(policy).is_err() {
        return false;
    }
    let mut used = vec![false; n_signers];
    eval_rule(&policy.rule, policy.identities.len(), &mut used, matches)
}

/// MSP role matching: a `member` principal is satisfied by any identity of its MSP; every other
/// role only by an identity of that MSP carrying that role.
pub fn principal_matches(principal: &Principal, signer: &Signer) -> bool {
    principal.msp_id == signer.msp_id
        && (principal.role == Role::Member || principal.role == signer.role)
}

/// Drops repeated identities (same [`IdentityId`]), keeping the first occurrence and the order,
/// as Fabric's `SignatureSetToValidIdentities` does before it evaluates.
pub fn dedup_signers(signers: &[Signer]) -> Vec<&Signer> {
    let mut seen: BTreeSet<IdentityId> = BTreeSet::new();
    signers.iter().filter(|s| seen.insert(s.id)).collect()
}

/// Signature-policy evaluation over real signers: validate, de-duplicate, match roles, greedy.
pub(crate) fn evaluate_signers(
    policy: &SignaturePolicy,
    signers: &[Signer],
) -> Result<bool, PolicyError> {
    validate(policy)?;
    let signers = dedup_signers(signers);
    let mut used = vec![false; signers.len()];
    let matches = |p: usize, s: usize| match (policy.identities.get(p), signers.get(s)) {
        (Some(principal), Some(signer)) => principal_matches(principal, signer),
        _ => false,
    };
    Ok(eval_rule(
        &policy.rule,
        policy.identities.len(),
        &mut used,
        &matches,
    ))
}

/// The role an implicit-meta sub-policy requires of each organisation.
pub(crate) fn sub_policy_role(name: &str) -> Result<Role, PolicyError> {
    match name {
        "Endorsement" => Ok(Role::Peer),
        "Admins" => Ok(Role::Admin),
        "Readers" | "Writers" | "Members" => Ok(Role::Member),
        _ => Err(PolicyError::UnknownSubPolicy {
            name: crate::error::excerpt(name),
        }),
    }
}

impl MetaRule {
    /// How many of `m` sub-policies must hold: ANY 1, ALL m, MAJORITY ⌊m/2⌋+1; 0 when m = 0
    /// (Fabric: "in the special case that there are no policies, consider 0 to be a majority or
    /// any").
    pub fn threshold(self, m: usize) -> usize {
        if m == 0 {
            return 0;
        }
        match self {
            MetaRule::Any => 1,
            MetaRule::All => m,
            MetaRule::Majority => m / 2 + 1,
        }
    }

    /// Whether `satisfied` of `m` sub-policies meet this rule.
    pub fn is_met(self, m: usize, satisfied: usize) -> bool {
        satisfied >= self.threshold(m)
    }
}

/// Implicit-meta evaluation: each distinct organisation's sub-policy `OR('<org>.<role>')` is
/// evaluated on its own against the whole signer set; the rule's threshold is applied to the
/// count of satisfied ones.
pub(crate) fn evaluate_implicit_meta(
    rule: MetaRule,
    sub_policy: &str,
    signers: &[Signer],
    orgs: &[String],
) -> Result<bool, PolicyError> {
    let role = sub_policy_role(sub_policy)?;
    let orgs: BTreeSet<&String> = orgs.iter().collect();
    let mut satisfied = 0usize;
    for org in &orgs {
        let sub = SignaturePolicy {
            identities: vec![Principal {
                msp_id: (*org).clone(),
                role,
            }],
            rule: Rule::NOutOf {
                n: 1,
                rules: vec![Rule::SignedBy(0)],
            },
        };
        if evaluate_signers(&sub, signers)? {
            satisfied += 1;
        }
    }
    Ok(rule.is_met(orgs.len(), satisfied))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(i: u32) -> Rule {
        Rule::SignedBy(i)
    }
    fn gate(n: i32, rules: Vec<Rule>) -> Rule {
        Rule::NOutOf { n, rules }
    }
    fn labels(n: usize) -> Vec<Principal> {
        (0..n)
            .map(|i| Principal {
                msp_id: format!("signer{i}"),
                role: Role::Member,
            })
            .collect()
    }

    /// Mock matching: signer label index equals principal index.
    fn run(rule: Rule, n_ids: usize, signers: &[usize]) -> bool {
        let sp = SignaturePolicy {
            identities: labels(n_ids),
            rule,
        };
        evaluate_with(&sp, signers.len(), &|p, s| signers[s] == p)
    }

    #[test]
    fn no_short_circuit_an_or_consumes_every_matching_signer() {
        // AND(OR(s0, s0), s0) with [s0, s0]: the OR runs both leaves and keeps both signers,
        // so the last leaf starves. Fabric's cauthdsl gives false.
        let rule = gate(2, vec![gate(1, vec![leaf(0), leaf(0)]), leaf(0)]);
        assert!(!run(rule.clone(), 1, &[0, 0]));
        assert!(run(rule, 1, &[0, 0, 0]));
    }

    #[test]
    fn failed_subrule_releases_its_signers() {
        // AND(OR(AND(s0, s1), s0), s0) with [s0, s0]: the inner AND takes s0 then fails on s1,
        // its copy is discarded, so the two s0 remain for the OR's leaf and the last leaf.
        let rule = gate(
            2,
            vec![
                gate(1, vec![gate(2, vec![leaf(0), leaf(1)]), leaf(0)]),
                leaf(0),
            ],
        );
        assert!(run(rule, 2, &[0, 0]));
    }

    #[test]
    fn thresholds_zero_and_n_plus_one() {
        assert!(run(gate(0, vec![leaf(0)]), 1, &[]));
        assert!(!run(gate(2, vec![leaf(0)]), 1, &[0, 0]));
    }

    #[test]
    fn invalid_policies_are_rejected() {
        let bad_index = SignaturePolicy {
            identities: labels(2),
            rule: gate(1, vec![leaf(2)]),
        };
        assert_eq!(
            validate(&bad_index),
            Err(PolicyError::IdentityIndexOutOfRange { index: 2, len: 2 })
        );
        assert!(!evaluate_with(&bad_index, 3, &|_, _| true));
        let negative = SignaturePolicy {
            identities: labels(1),
            rule: gate(-1, vec![leaf(0)]),
        };
        assert_eq!(
            validate(&negative),
            Err(PolicyError::NegativeThreshold { n: -1 })
        );
        assert!(!evaluate_with(&negative, 0, &|_, _| true));
    }

    #[test]
    fn depth_limit_on_hand_built_rules() {
        let mut rule = leaf(0);
        for _ in 0..MAX_DEPTH {
            rule = gate(1, vec![rule]);
        }
        let ok = SignaturePolicy {
            identities: labels(1),
            rule: rule.clone(),
        };
        assert_eq!(validate(&ok), Ok(()));
        assert!(evaluate_with(&ok, 1, &|_, _| true));
        let deep = SignaturePolicy {
            identities: labels(1),
            rule: gate(1, vec![rule]),
        };
        assert_eq!(
            validate(&deep),
            Err(PolicyError::TooDeep { max: MAX_DEPTH })
        );
    }

    #[test]
    fn meta_thresholds() {
        assert_eq!(MetaRule::Majority.threshold(10), 6);
        assert_eq!(MetaRule::Majority.threshold(3), 2);
        assert_eq!(MetaRule::Majority.threshold(4), 3);
        assert_eq!(MetaRule::Majority.threshold(0), 0);
        assert_eq!(MetaRule::All.threshold(7), 7);
        assert_eq!(MetaRule::Any.threshold(7), 1);
        assert_eq!(MetaRule::Any.threshold(0), 0);
    }
}

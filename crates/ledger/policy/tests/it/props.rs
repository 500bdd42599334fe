//! Property tests: DSL round trips with Fabric's identity numbering, evaluation never panics,
//! identity merging, and monotonicity of a flat `OutOf`.

use arcanum_policy::{MAX_DEPTH, Policy, Principal, Rule, SignaturePolicy, Signer};
use arcanum_types::{Hash, IdentityId, Role};
use proptest::prelude::*;

const MSPS: [&str; 5] = ["A", "B", "Org1MSP", "MSP.WITH.DOTS", "x-y"];
const ROLES: [Role; 5] = [
    Role::Member,
    Role::Admin,
    Role::Client,
    Role::Peer,
    Role::Orderer,
];

/// A DSL syntax tree, printed in many spellings.
#[derive(Clone, Debug)]
enum Ast {
    Principal {
        msp: usize,
        role: usize,
        double_quoted: bool,
    },
    Gate {
        kind: Kind,
        spelling: usize,
        args: Vec<Ast>,
    },
}

#[derive(Clone, Debug)]
enum Kind {
    And,
    Or,
    /// `t_seed % (n + 2)` is the threshold, so every value 0..=n+1 occurs.
    OutOf {
        t_seed: usize,
        quoted: bool,
    },
}

fn ast() -> impl Strategy<Value = Ast> {
    let leaf =
        (0..MSPS.len(), 0..ROLES.len(), any::<bool>()).prop_map(|(msp, role, double_quoted)| {
            Ast::Principal {
                msp,
                role,
                double_quoted,
            }
        });
    let gate = |inner: BoxedStrategy<Ast>| {
        (
            prop_oneof![
                Just(Kind::And),
                Just(Kind::Or),
                (any::<usize>(), any::<bool>())
                    .prop_map(|(t_seed, quoted)| Kind::OutOf { t_seed, quoted }),
            ],
            0..3usize,
            prop::collection::vec(inner, 1..5),
        )
            .prop_map(|(kind, spelling, args)| Ast::Gate {
                kind,
                spelling,
                args,
            })
    };
    let tree = leaf.prop_recursive(5, 48, 4, move |inner| gate(inner.boxed()));
    // A policy is a gate at the top.
    gate(tree.boxed())
}

fn print(ast: &Ast, ws: &str) -> String {
    match ast {
        Ast::Principal {
            msp,
            role,
            double_quoted,
        } => {
            let q = if *double_quoted { '"' } else { '\'' };
            format!("{q}{}.{}{q}", MSPS[*msp], ROLES[*role])
        }
        Ast::Gate {
            kind,
            spelling,
            args,
        } => {
            let args: Vec<String> = args.iter().map(|a| print(a, ws)).collect();
            let sep = format!(",{ws}");
            let (name, prefix) = match kind {
                Kind::And => (["AND", "And", "and"][*spelling], String::new()),
                Kind::Or => (["OR", "Or", "or"][*spelling], String::new()),
                Kind::OutOf { t_seed, quoted } => {
                    let t = t_seed % (args.len() + 2);
                    let t = if *quoted {
                        format!("'{t}'")
                    } else {
                        t.to_string()
                    };
                    (["OutOf", "OUTOF", "outof"][*spelling], format!("{t}{sep}"))
                }
            };
            format!("{name}({ws}{prefix}{}{ws})", args.join(&sep))
        }
    }
}

/// The expected parse, computed independently: a gate numbers all identities of its nested
/// gates (left to right), then its own principals.
fn expected(ast: &Ast, ids: &mut Vec<Principal>) -> Rule {
    let Ast::Gate { kind, args, .. } = ast else {
        unreachable!("only gates are numbered")
    };
    let nested: Vec<Option<Rule>> = args
        .iter()
        .map(|a| matches!(a, Ast::Gate { .. }).then(|| expected(a, ids)))
        .collect();
    let mut rules = Vec::new();
    for (arg, nested) in args.iter().zip(nested) {
        match (arg, nested) {
            (_, Some(rule)) => rules.push(rule),
            (Ast::Principal { msp, role, .. }, None) => {
                rules.push(Rule::SignedBy(ids.len() as u32));
                ids.push(Principal {
                    msp_id: MSPS[*msp].to_owned(),
                    role: ROLES[*role],
                });
            }
            (Ast::Gate { .. }, None) => unreachable!(),
        }
    }
    let n = match kind {
        Kind::And => args.len(),
        Kind::Or => 1,
        Kind::OutOf { t_seed, .. } => t_seed % (args.len() + 2),
    };
    Rule::NOutOf { n: n as i32, rules }
}

fn signers() -> impl Strategy<Value = Vec<Signer>> {
    prop::collection::vec((0u8..8, 0..MSPS.len(), 1..ROLES.len()), 0..10).prop_map(|v| {
        v.into_iter()
            .map(|(id, msp, role)| {
                let mut h = [0u8; 32];
                h[0] = id;
                Signer {
                    id: IdentityId(Hash(h)),
                    msp_id: MSPS[msp].to_owned(),
                    role: ROLES[role],
                }
            })
            .collect()
    })
}

/// Any rule tree, valid or not (indices and thresholds out of range).
fn raw_rule() -> impl Strategy<Value = Rule> {
    (0u32..6)
        .prop_map(Rule::SignedBy)
        .prop_recursive(4, 32, 4, |inner| {
            (-2i32..6, prop::collection::vec(inner, 0..5))
                .prop_map(|(n, rules)| Rule::NOutOf { n, rules })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn printed_trees_parse_back_with_fabric_numbering(ast in ast(), ws in prop_oneof![Just(""), Just(" "), Just("\n\t ")]) {
        let text = print(&ast, ws);
        let mut ids = Vec::new();
        let rule = expected(&ast, &mut ids);
        let parsed = SignaturePolicy::parse(&text);
        prop_assert_eq!(&parsed, &Ok(SignaturePolicy { identities: ids, rule }), "{}", text);
        // Display reads back as the very same policy.
        let sp = parsed.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(SignaturePolicy::parse(&sp.to_string()), Ok(sp));
    }

    #[test]
    fn evaluation_never_panics(ast in ast(), signers in signers(), orgs in prop::collection::vec(0..MSPS.len(), 0..6)) {
        let orgs: Vec<String> = orgs.into_iter().map(|i| MSPS[i].to_owned()).collect();
        let p = Policy::parse(&print(&ast, " ")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(p.evaluate(&signers, &orgs).is_ok());
        for meta in ["ANY Endorsement", "ALL Admins", "MAJORITY Readers"] {
            let m = Policy::parse(meta).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(m.evaluate(&signers, &orgs).is_ok());
        }
    }

    #[test]
    fn hand_built_rules_never_panic_and_matcher_sees_valid_indices(rule in raw_rule(), n_ids in 0usize..6, n_signers in 0usize..6) {
        let sp = SignaturePolicy {
            identities: (0..n_ids).map(|i| Principal { msp_id: format!("M{i}"), role: Role::Member }).collect(),
            rule,
        };
        let valid = sp.validate().is_ok();
        let got = sp.evaluate_with(n_signers, |p, s| {
            assert!(p < n_ids && s < n_signers, "matcher called with ({p}, {s})");
            (p + s) % 2 == 0
        });
        prop_assert!(valid || !got, "an invalid policy is never satisfied");
        prop_assert_eq!(sp.evaluate(&[]).is_ok(), valid);
    }

    #[test]
    fn appending_a_known_identity_changes_nothing(ast in ast(), signers in signers(), pick in any::<prop::sample::Index>()) {
        let p = Policy::parse(&print(&ast, " ")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let before = p.evaluate(&signers, &[]);
        let mut more = signers.clone();
        if !signers.is_empty() {
            more.push(signers[pick.index(signers.len())].clone());
        }
        prop_assert_eq!(p.evaluate(&more, &[]), before);
    }

    /// A flat `OutOf(t, principals…)` is monotone: adding identities anywhere in the signer list
    /// never turns a satisfied policy unsatisfied. (Nested gates are not; see
    /// `roles::nested_gates_are_not_monotone`.)
    #[test]
    fn flat_out_of_is_monotone(
        principals in prop::collection::vec((0..MSPS.len(), 0..ROLES.len()), 1..6),
        t_seed in any::<usize>(),
        base in prop::collection::vec((0..MSPS.len(), 1..ROLES.len()), 0..6),
        extra in prop::collection::vec((0..MSPS.len(), 1..ROLES.len(), any::<prop::sample::Index>()), 1..4),
    ) {
        let t = t_seed % (principals.len() + 2);
        let list: Vec<String> = principals.iter().map(|(m, r)| format!("'{}.{}'", MSPS[*m], ROLES[*r])).collect();
        let p = Policy::parse(&format!("OutOf({t}, {})", list.join(", "))).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mk = |n: u8, (m, r): (usize, usize)| {
            let mut h = [0u8; 32];
            h[0] = n;
            Signer { id: IdentityId(Hash(h)), msp_id: MSPS[m].to_owned(), role: ROLES[r] }
        };
        let small: Vec<Signer> = base.iter().zip(0u8..).map(|(&s, n)| mk(n, s)).collect();
        let mut large = small.clone();
        for (k, (m, r, at)) in extra.into_iter().enumerate() {
            let pos = at.index(large.len() + 1);
            large.insert(pos, mk(100 + k as u8, (m, r)));
        }
        let before = p.evaluate(&small, &[]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let after = p.evaluate(&large, &[]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(!before || after, "satisfied by {:?} but not by {:?}", small, large);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[ANDORutf()'\",\\\\. 0-9a-z-]{0,80}", any_text in any::<String>()) {
        // Errors stay short whatever the input (names and tokens are cut to an excerpt).
        for result in [
            Policy::parse(&text).map(|_| true),
            Policy::parse(&any_text).map(|_| true),
            arcanum_policy::check(&text, &[&any_text], &[]),
        ] {
            if let Err(e) = result {
                prop_assert!(e.to_string().len() < 400, "{}", e);
                prop_assert!(!e.code().is_empty());
            }
        }
    }
}

#[test]
fn max_depth_constant_matches_parser() {
    let text = format!(
        "{}'A.member'{}",
        "OR(".repeat(MAX_DEPTH),
        ")".repeat(MAX_DEPTH)
    );
    assert!(Policy::parse(&text).is_ok());
}

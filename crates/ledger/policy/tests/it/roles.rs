//! MSP role matching, identity merging, Fabric's greedy order dependence, implicit-meta
//! evaluation and the `check` entry point.

use arcanum_policy::{Policy, PolicyError, Signer, check};
use arcanum_types::{Hash, IdentityId, Role};

fn signer(id: u8, msp: &str, role: Role) -> Signer {
    let mut h = [0u8; 32];
    h[31] = id;
    Signer {
        id: IdentityId(Hash(h)),
        msp_id: msp.to_owned(),
        role,
    }
}

fn eval(policy: &str, signers: &[Signer]) -> Result<bool, PolicyError> {
    Policy::parse(policy)?.evaluate(signers, &[])
}

#[test]
fn member_matches_every_role_other_roles_only_themselves() {
    for role in [Role::Admin, Role::Client, Role::Peer, Role::Orderer] {
        assert_eq!(
            eval("OR('A.member')", &[signer(1, "A", role)]),
            Ok(true),
            "{role}"
        );
        assert_eq!(
            eval("OR('B.member')", &[signer(1, "A", role)]),
            Ok(false),
            "{role}"
        );
        for principal in ["admin", "client", "peer", "orderer"] {
            let want = principal == role.as_str();
            let policy = format!("OR('A.{principal}')");
            assert_eq!(
                eval(&policy, &[signer(1, "A", role)]),
                Ok(want),
                "{policy} by {role}"
            );
        }
    }
}

#[test]
fn msp_ids_are_compared_exactly() {
    let s = [signer(1, "Org1MSP", Role::Peer)];
    assert_eq!(eval("OR('org1msp.peer')", &s), Ok(false));
    assert_eq!(eval("OR('Org1MSP.peer')", &s), Ok(true));
    assert_eq!(eval("OR('Org1.peer')", &s), Ok(false));
}

#[test]
fn identical_identities_are_merged() {
    let same = [signer(7, "A", Role::Peer), signer(7, "A", Role::Peer)];
    assert_eq!(eval("AND('A.member', 'A.member')", &same), Ok(false));
    let distinct = [signer(7, "A", Role::Peer), signer(8, "A", Role::Peer)];
    assert_eq!(eval("AND('A.member', 'A.member')", &distinct), Ok(true));
    // The cauthdsl-level evaluation does not merge: the same signer index twice counts twice.
    let Ok(Policy::Signature(sp)) = Policy::parse("AND('A.member', 'A.member')") else {
        panic!("valid policy");
    };
    assert!(sp.evaluate_with(2, |_, _| true));
}

#[test]
fn greedy_evaluation_depends_on_signer_order() {
    // Fabric takes, for each leaf, the first unused signer that matches. 'A.member' grabs the
    // peer if it comes first, and 'A.peer' is then left without one.
    let peer = signer(1, "A", Role::Peer);
    let admin = signer(2, "A", Role::Admin);
    let policy = "AND('A.member', 'A.peer')";
    assert_eq!(eval(policy, &[admin.clone(), peer.clone()]), Ok(true));
    assert_eq!(eval(policy, &[peer, admin]), Ok(false));
}

#[test]
fn nested_gates_are_not_monotone() {
    // The satisfied inner AND keeps A and B; the outer AND's last leaf then finds no B. Without
    // A the inner AND fails, its signers are released, and the policy holds. Fabric agrees.
    let policy = "AND(OR(AND('A.member', 'B.member'), 'C.member'), 'B.member')";
    assert_eq!(check(policy, &["B.member", "C.member"], &[]), Ok(true));
    assert_eq!(
        check(policy, &["A.member", "B.member", "C.member"], &[]),
        Ok(false)
    );
}

#[test]
fn implicit_meta_uses_the_role_of_each_sub_policy() {
    let orgs: Vec<String> = ["Org1", "Org2", "Org3"].map(String::from).to_vec();
    let peers = [signer(1, "Org1", Role::Peer), signer(2, "Org2", Role::Peer)];
    let admins = [
        signer(3, "Org1", Role::Admin),
        signer(4, "Org2", Role::Admin),
        signer(5, "Org3", Role::Admin),
    ];
    let ev = |p: &str, s: &[Signer]| Policy::parse(p).and_then(|p| p.evaluate(s, &orgs));
    assert_eq!(ev("MAJORITY Endorsement", &peers), Ok(true));
    assert_eq!(ev("ALL Endorsement", &peers), Ok(false));
    assert_eq!(ev("MAJORITY Endorsement", &admins), Ok(false));
    assert_eq!(ev("ALL Admins", &admins), Ok(true));
    assert_eq!(ev("ALL Admins", &admins[..2]), Ok(false));
    assert_eq!(ev("ANY Admins", &peers), Ok(false));
    for sub in ["Readers", "Writers", "Members"] {
        assert_eq!(ev(&format!("ALL {sub}"), &admins), Ok(true), "{sub}");
        assert_eq!(ev(&format!("MAJORITY {sub}"), &peers), Ok(true), "{sub}");
        assert_eq!(ev(&format!("ALL {sub}"), &peers), Ok(false), "{sub}");
    }
    // One identity per organisation is enough; several of one organisation count once.
    let org1_twice = [signer(1, "Org1", Role::Peer), signer(9, "Org1", Role::Peer)];
    assert_eq!(ev("MAJORITY Endorsement", &org1_twice), Ok(false));
    assert_eq!(ev("ANY Endorsement", &org1_twice), Ok(true));
    assert_eq!(
        ev("ANY Endorsers", &peers),
        Err(PolicyError::UnknownSubPolicy {
            name: "Endorsers".into()
        })
    );
}

#[test]
fn implicit_meta_counts_distinct_orgs() {
    let dup: Vec<String> = ["A", "B", "A", "B", "C"].map(String::from).to_vec();
    let s = [signer(1, "A", Role::Peer), signer(2, "B", Role::Peer)];
    let p = Policy::parse("MAJORITY Endorsement").expect("valid");
    // 2 of the 3 distinct organisations: a majority (with duplicates it would be 2 of 5).
    assert_eq!(p.evaluate(&s, &dup), Ok(true));
    assert_eq!(
        p.evaluate(&[], &[]),
        Ok(true),
        "no organisations: trivially satisfied"
    );
}

#[test]
fn check_parses_signers_and_reports_bad_ones() {
    assert_eq!(
        check("OR('MSP.WITH.DOTS.peer')", &["MSP.WITH.DOTS.peer"], &[]),
        Ok(true)
    );
    assert_eq!(check("OR('a-b.admin')", &["a-b.peer"], &[]), Ok(false));
    assert_eq!(
        check("AND('A.member', 'B.peer')", &["B.peer", "A.client"], &[]),
        Ok(true)
    );
    let err = check("OR('A.member')", &["A.member", "nonsense"], &[]).expect_err("bad signer");
    assert_eq!(
        err,
        PolicyError::BadSigner {
            signer: "nonsense".into()
        }
    );
    assert_eq!(err.code(), "BAD_SIGNER");
    let err = check("OR(", &["A.member"], &[]).expect_err("bad policy");
    assert_eq!(err.code(), "POLICY_PARSE_ERROR");
    let orgs = vec!["A".to_string(), "B".to_string()];
    assert_eq!(
        check("ALL Endorsement", &["A.peer", "B.peer"], &orgs),
        Ok(true)
    );
    assert_eq!(
        check("ALL Endorsement", &["A.peer", "A.peer"], &orgs),
        Ok(false)
    );
}

#[test]
fn double_quoted_principals_are_accepted() {
    let single = Policy::parse("AND('A.member', OR('B.peer', 'C.admin'))").expect("valid");
    let double = Policy::parse(r#"AND("A.member", OR("B.peer", 'C.admin'))"#).expect("valid");
    assert_eq!(single, double);
}

#[test]
fn gate_spellings() {
    let want = Policy::parse("OutOf(1, 'A.member')").expect("valid");
    for g in ["OR", "Or", "or"] {
        assert_eq!(
            Policy::parse(&format!("{g}('A.member')")),
            Ok(want.clone()),
            "{g}"
        );
    }
    for g in ["AND", "And", "and"] {
        assert_eq!(
            Policy::parse(&format!("{g}('A.member')")),
            Ok(want.clone()),
            "{g}"
        );
    }
    for g in ["OutOf", "OUTOF", "outof"] {
        assert_eq!(
            Policy::parse(&format!("{g}(1, 'A.member')")),
            Ok(want.clone()),
            "{g}"
        );
    }
    for g in ["oR", "Outof", "OUTof", "NOutOf"] {
        assert!(
            matches!(
                Policy::parse(&format!("{g}(1, 'A.member')")),
                Err(PolicyError::UnknownGate { .. })
            ),
            "{g}"
        );
    }
}

//! Every case in `shared/testdata/external/fabric_policy/fabric_policy_cases.json`, with the
//! exact expected verdicts, identity numbering and rule shapes, and error classes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail, ensure};
use arcanum_policy::{
    MetaRule, Policy, PolicyError, Principal, Rule, SignaturePolicy, Signer, check,
    parse_implicit_meta,
};
use arcanum_types::{Hash, IdentityId, Role};
use serde_json::Value;

fn cases() -> Result<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../../shared/testdata/external/fabric_policy/fabric_policy_cases.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "the Fabric policy cases are missing: cannot read {}",
            path.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn array<'a>(v: &'a Value, key: &str) -> Result<&'a Vec<Value>> {
    v.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("missing array {key:?}"))
}

fn string<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("missing string {key:?}"))
}

fn role_of(upper: &str) -> Result<Role> {
    Role::parse(&upper.to_ascii_lowercase()).ok_or_else(|| anyhow!("unknown role {upper}"))
}

/// A JSON rule (`{"signed_by": i}` / `{"n_out_of": {"n", "rules"}}`) as a [`Rule`]. A negative
/// `signed_by` is reported as an error: `Rule::SignedBy(u32)` cannot hold it.
fn rule_of(v: &Value) -> Result<Rule> {
    if let Some(i) = v.get("signed_by") {
        let i = i
            .as_i64()
            .ok_or_else(|| anyhow!("signed_by is not an integer"))?;
        return Ok(Rule::SignedBy(
            u32::try_from(i).map_err(|_| anyhow!("negative index {i}"))?,
        ));
    }
    let g = v
        .get("n_out_of")
        .ok_or_else(|| anyhow!("neither signed_by nor n_out_of: {v}"))?;
    let n = g
        .get("n")
        .and_then(Value::as_i64)
        .ok_or_else(|| anyhow!("missing n"))?;
    let rules = array(g, "rules")?
        .iter()
        .map(rule_of)
        .collect::<Result<Vec<_>>>()?;
    Ok(Rule::NOutOf {
        n: i32::try_from(n)?,
        rules,
    })
}

fn signers_of(v: &Value) -> Result<Vec<String>> {
    array(v, "signers")?
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("signer is not a string"))
        })
        .collect()
}

type ErrorClass = fn(&PolicyError) -> bool;

/// The error class expected for each failing parse case. Fabric's messages come from its
/// expression engine, which re-parses quoted strings that are not principals as expressions;
/// we reject such a string as a bad principal, hence the three rows marked "re-parse".
fn expected_parse_errors() -> BTreeMap<&'static str, ErrorClass> {
    let mut m: BTreeMap<&'static str, ErrorClass> = BTreeMap::new();
    m.insert(
        "OR('A.member', Bmember)",
        |e| matches!(e, PolicyError::UnknownName { name, .. } if name == "Bmember"),
    );
    // re-parse: Fabric "unknown name Bmember".
    m.insert(
        "OR('A.member', 'Bmember')",
        |e| matches!(e, PolicyError::BadPrincipal { text } if text == "Bmember"),
    );
    // re-parse: Fabric "unknown name Bmember" after two rounds of unquoting.
    m.insert(
        r"OR('A.member', '\'Bmember\'')",
        |e| matches!(e, PolicyError::BadPrincipal { text } if text == "'Bmember'"),
    );
    m.insert("", |e| matches!(e, PolicyError::UnexpectedEof { .. }));
    m.insert("OutOf(1)", |e| {
        matches!(e, PolicyError::TooFewArguments { given: 1 })
    });
    m.insert("OutOf(true, 'A.member')", |e| {
        matches!(e, PolicyError::BadThresholdType { found: "bool" })
    });
    m.insert("OutOf(1, 2)", |e| {
        matches!(e, PolicyError::BadArgument { found: "int" })
    });
    // re-parse: Fabric "unexpected type bool".
    m.insert(
        "OutOf(1, 'true')",
        |e| matches!(e, PolicyError::BadPrincipal { text } if text == "true"),
    );
    m.insert(r"OutOf('\'\\\'A\\\'\'', 'B.member')", |e| {
        matches!(e, PolicyError::BadThresholdType { found: "string" })
    });
    // re-parse: Fabric "expected a principal or a policy, got int".
    m.insert(
        r"OutOf(1, '\'1\'')",
        |e| matches!(e, PolicyError::BadPrincipal { text } if text == "'1'"),
    );
    m.insert("''", |e| matches!(e, PolicyError::UnexpectedEof { .. }));
    m.insert(r"'\'\''", |e| {
        matches!(e, PolicyError::UnexpectedEof { .. })
    });
    m.insert("1", |e| {
        matches!(e, PolicyError::NotAPolicy { found: "int" })
    });
    m.insert("'1'", |e| {
        matches!(e, PolicyError::NotAPolicy { found: "int" })
    });
    m.insert(r"'\'1\''", |e| {
        matches!(e, PolicyError::NotAPolicy { found: "int" })
    });
    m.insert("OutOf(-1, 'A.member', 'B.member')", |e| {
        matches!(e, PolicyError::BadThreshold { t: -1, n: 2 })
    });
    m.insert("OutOf(4, 'A.member', 'B.member')", |e| {
        matches!(e, PolicyError::BadThreshold { t: 4, n: 2 })
    });
    m
}

#[test]
fn parse_cases() -> Result<()> {
    let all = cases()?;
    let parse_cases = array(&all, "parse_cases")?;
    ensure!(
        parse_cases.len() == 30,
        "expected 30 parse cases, found {}",
        parse_cases.len()
    );
    let errors = expected_parse_errors();
    let (mut ok_seen, mut err_seen) = (0, 0);
    for case in parse_cases {
        let text = string(case, "policy")?;
        let ok = case
            .get("ok")
            .and_then(Value::as_bool)
            .context("missing ok")?;
        let got = Policy::parse(text);
        if ok {
            ok_seen += 1;
            let Ok(Policy::Signature(sp)) = got else {
                bail!("{text:?}: expected a signature policy, got {got:?}");
            };
            assert_eq!(sp.validate(), Ok(()), "{text}");
            match (case.get("identities"), case.get("rule")) {
                (Some(ids), Some(rule)) => {
                    let want_ids = ids
                        .as_array()
                        .context("identities")?
                        .iter()
                        .map(|p| {
                            Ok(Principal {
                                msp_id: string(p, "msp_id")?.to_owned(),
                                role: role_of(string(p, "role")?)?,
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    assert_eq!(sp.identities, want_ids, "identity numbering of {text}");
                    assert_eq!(sp.rule, rule_of(rule)?, "rule of {text}");
                }
                (None, None) => {
                    // The 26-principal OutOf(15, ...) case: shape and threshold.
                    assert_eq!(sp.identities.len(), 26, "{text}");
                    let Rule::NOutOf { n, rules } = &sp.rule else {
                        bail!("{text}: not a gate")
                    };
                    assert_eq!(*n, 15);
                    let want: Vec<Rule> = (0..26).map(Rule::SignedBy).collect();
                    assert_eq!(rules, &want);
                }
                _ => bail!("{text}: identities and rule must come together"),
            }
        } else {
            err_seen += 1;
            let err = match got {
                Ok(p) => bail!("{text:?} must not parse, got {p:?}"),
                Err(e) => e,
            };
            let class = errors
                .get(text)
                .with_context(|| format!("no expected class for {text:?}"))?;
            assert!(class(&err), "{text:?}: wrong error class {err:?}");
            assert_eq!(err.code(), "POLICY_PARSE_ERROR", "{text:?}");
            // Where our class is Fabric's, so is the message.
            if let Some(want) = case.get("error_contains").and_then(Value::as_str)
                && (want.starts_with("invalid t-out-of-n") || want.starts_with("unknown name"))
                && !matches!(err, PolicyError::BadPrincipal { .. })
            {
                let shown = err.to_string();
                let want_key = want.replace("unknown name ", "");
                assert!(shown.contains(&want_key), "{text:?}: {shown:?} vs {want:?}");
            }
        }
    }
    assert_eq!((ok_seen, err_seen), (13, 17));
    assert_eq!(
        errors.len(),
        err_seen,
        "every expected class is used by a case"
    );
    Ok(())
}

#[test]
fn twenty_six_principals_need_fifteen_distinct_members() -> Result<()> {
    let all = cases()?;
    let text = array(&all, "parse_cases")?
        .iter()
        .filter_map(|c| c.get("policy").and_then(Value::as_str))
        .find(|p| p.starts_with("OutOf(15,"))
        .context("the OutOf(15, ...) case")?;
    let msps: Vec<String> = ('A'..='Z').map(|c| format!("{c}.member")).collect();
    let refs: Vec<&str> = msps.iter().map(String::as_str).collect();
    assert_eq!(check(text, &refs[..15], &[]), Ok(true));
    assert_eq!(check(text, &refs[11..], &[]), Ok(true));
    assert_eq!(check(text, &refs[..14], &[]), Ok(false));
    // Two identities of the same MSP satisfy only one of its leaves.
    let mut twice_a = refs[..14].to_vec();
    twice_a.push(refs[0]);
    assert_eq!(check(text, &twice_a, &[]), Ok(false));
    Ok(())
}

#[test]
fn evaluate_cases() -> Result<()> {
    let all = cases()?;
    let eval_cases = array(&all, "evaluate_cases")?;
    ensure!(
        eval_cases.len() == 30,
        "expected 30 evaluate cases, found {}",
        eval_cases.len()
    );
    let mut compile_errors = 0;
    for case in eval_cases {
        let signers = signers_of(case).or_else(|_| Ok::<_, anyhow::Error>(Vec::new()))?;
        if let Some(policy) = case.get("policy").and_then(Value::as_str) {
            let expected = case
                .get("expected")
                .and_then(Value::as_bool)
                .context("expected")?;
            // (1) cauthdsl mock semantics: a signer satisfies exactly the principal with its label.
            let Ok(Policy::Signature(sp)) = Policy::parse(policy) else {
                bail!("{policy} must parse");
            };
            let labels: Vec<String> = sp.identities.iter().map(ToString::to_string).collect();
            let got = sp.evaluate_with(signers.len(), |p, s| labels[p] == signers[s]);
            assert_eq!(got, expected, "mock evaluation of {policy} by {signers:?}");
            // (2) MSP role matching, each signer string a distinct identity: same verdict.
            let refs: Vec<&str> = signers.iter().map(String::as_str).collect();
            assert_eq!(
                check(policy, &refs, &[]),
                Ok(expected),
                "check {policy} by {signers:?}"
            );
        } else {
            let labels: Vec<String> = array(case, "identities")?
                .iter()
                .map(|l| l.as_str().map(str::to_owned).context("label"))
                .collect::<Result<_>>()?;
            let raw_rule = case.get("rule").context("rule")?;
            if let Some(want) = case.get("compile_error").and_then(Value::as_str) {
                compile_errors += 1;
                // A negative index cannot even be represented by `Rule::SignedBy(u32)`.
                let err = rule_of(raw_rule).expect_err("negative index must be refused");
                assert!(err.to_string().contains("negative index -1"), "{err}");
                assert!(want.starts_with("identity index out of range"));
                // The out-of-range check itself, on a representable index, matches Fabric's text.
                let sp = SignaturePolicy {
                    identities: labels
                        .iter()
                        .map(|l| Principal {
                            msp_id: l.clone(),
                            role: Role::Member,
                        })
                        .collect(),
                    rule: Rule::NOutOf {
                        n: 2,
                        rules: vec![Rule::SignedBy(2), Rule::SignedBy(0)],
                    },
                };
                let err = sp.validate().expect_err("index 2 of 2 is out of range");
                assert_eq!(
                    err.to_string(),
                    "identity index out of range, requested 2, but identities length is 2"
                );
                assert!(!sp.evaluate_with(2, |_, _| true));
                continue;
            }
            let expected = case
                .get("expected")
                .and_then(Value::as_bool)
                .context("expected")?;
            let sp = SignaturePolicy {
                identities: labels
                    .iter()
                    .map(|l| Principal {
                        msp_id: l.clone(),
                        role: Role::Member,
                    })
                    .collect(),
                rule: rule_of(raw_rule)?,
            };
            let got = sp.evaluate_with(signers.len(), |p, s| labels[p] == signers[s]);
            assert_eq!(got, expected, "{raw_rule} by {signers:?}");
            if let Some(dsl) = case.get("equivalent_dsl").and_then(Value::as_str) {
                // The labels are not principals, so Fabric's parser refuses the text as is; with
                // `.member` appended to each label it parses to the case's rule.
                assert!(matches!(
                    Policy::parse(dsl),
                    Err(PolicyError::BadPrincipal { .. })
                ));
                let dsl = labels.iter().fold(dsl.to_owned(), |d, l| {
                    d.replace(&format!("'{l}'"), &format!("'{l}.member'"))
                });
                let Ok(Policy::Signature(parsed)) = Policy::parse(&dsl) else {
                    bail!("{dsl} must parse");
                };
                assert_eq!(parsed.rule, sp.rule, "{dsl}");
            }
        }
    }
    assert_eq!(compile_errors, 1);
    Ok(())
}

/// A multiset of MSP names as `check` signer strings, in sorted order.
fn member_signers(counts: &BTreeMap<String, usize>) -> Vec<String> {
    counts
        .iter()
        .flat_map(|(m, &k)| std::iter::repeat_n(format!("{m}.member"), k))
        .collect()
}

fn contains(have: &BTreeMap<String, usize>, need: &BTreeMap<String, usize>) -> bool {
    need.iter()
        .all(|(m, k)| have.get(m).copied().unwrap_or(0) >= *k)
}

#[test]
fn satisfied_by_cases() -> Result<()> {
    let all = cases()?;
    let sb = array(&all, "satisfied_by_cases")?;
    ensure!(sb.len() == 4);
    for case in sb {
        let policy = string(case, "policy")?;
        let sets: Vec<BTreeMap<String, usize>> = array(case, "satisfied_by_msp_sets")?
            .iter()
            .map(|set| {
                let mut m = BTreeMap::new();
                for msp in set.as_array().context("set")? {
                    *m.entry(msp.as_str().context("msp")?.to_owned())
                        .or_insert(0) += 1;
                }
                Ok(m)
            })
            .collect::<Result<_>>()?;
        // Every multiset with 0..=2 identities per MSP named by the policy satisfies it exactly
        // when it contains one of Fabric's SatisfiedBy sets.
        let parsed = Policy::parse(policy).map_err(|e| anyhow!("{policy}: {e}"))?;
        let msps = parsed.msp_ids(&[]);
        let combos = 3usize.pow(u32::try_from(msps.len())?);
        for code in 0..combos {
            let mut have = BTreeMap::new();
            let mut c = code;
            for m in &msps {
                have.insert(m.clone(), c % 3);
                c /= 3;
            }
            let signers = member_signers(&have);
            let refs: Vec<&str> = signers.iter().map(String::as_str).collect();
            let want = sets.iter().any(|need| contains(&have, need));
            assert_eq!(
                check(policy, &refs, &[]),
                Ok(want),
                "{policy} by {signers:?}"
            );
        }
    }
    Ok(())
}

#[test]
fn implicit_meta_parse_cases() -> Result<()> {
    let all = cases()?;
    let cases = array(&all, "implicit_meta_parse_cases")?;
    ensure!(cases.len() == 7);
    for case in cases {
        let text = string(case, "policy")?;
        let ok = case.get("ok").and_then(Value::as_bool).context("ok")?;
        let got = parse_implicit_meta(text);
        if ok {
            let rule = MetaRule::parse(string(case, "rule")?).context("rule")?;
            let sub = string(case, "sub_policy")?.to_owned();
            assert_eq!(got, Ok((rule, sub.clone())), "{text}");
            assert_eq!(
                Policy::parse(text),
                Ok(Policy::ImplicitMeta {
                    rule,
                    sub_policy: sub
                })
            );
        } else {
            let err = got.expect_err(text);
            let want = string(case, "error_regexp")?;
            assert!(err.to_string().contains(want), "{text:?}: {err} vs {want}");
            assert!(
                matches!(
                    err,
                    PolicyError::BadImplicitMeta { .. } | PolicyError::UnknownMetaRule { .. }
                ),
                "{text:?}: {err:?}"
            );
            assert_eq!(err.code(), "POLICY_PARSE_ERROR");
        }
    }
    Ok(())
}

fn peer(org: &str, n: u8) -> Signer {
    let mut id = [0u8; 32];
    id[0] = n;
    Signer {
        id: IdentityId(Hash(id)),
        msp_id: org.to_owned(),
        role: Role::Peer,
    }
}

#[test]
fn implicit_meta_eval_cases() -> Result<()> {
    let all = cases()?;
    let cases = array(&all, "implicit_meta_eval_cases")?;
    ensure!(cases.len() == 16);
    for case in cases {
        let rule = MetaRule::parse(string(case, "rule")?).context("rule")?;
        let m = usize::try_from(
            case.get("sub_policy_count")
                .and_then(Value::as_u64)
                .context("m")?,
        )?;
        let k = usize::try_from(
            case.get("satisfied_count")
                .and_then(Value::as_u64)
                .context("k")?,
        )?;
        let expected = case
            .get("expected")
            .and_then(Value::as_bool)
            .context("expected")?;
        assert_eq!(rule.is_met(m, k), expected, "{rule:?} {k}/{m}");
        // Fabric's message names the threshold: "... requires N of the ... sub-policies".
        if let Some(msg) = case.get("error_equals").and_then(Value::as_str) {
            let n: usize = msg
                .split("requires ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .context("threshold in message")?
                .parse()?;
            assert_eq!(rule.threshold(m), n, "{msg}");
        }
        // End to end: m organisations, peers of the first k sign, `<RULE> Endorsement`.
        let orgs: Vec<String> = (0..m).map(|i| format!("Org{i}MSP")).collect();
        let signers: Vec<Signer> = orgs
            .iter()
            .take(k)
            .zip(0u8..)
            .map(|(o, i)| peer(o, i))
            .collect();
        let policy =
            Policy::parse(&format!("{} Endorsement", rule.as_str())).map_err(|e| anyhow!("{e}"))?;
        assert_eq!(
            policy.evaluate(&signers, &orgs),
            Ok(expected),
            "{rule:?} {k}/{m}"
        );
    }
    Ok(())
}

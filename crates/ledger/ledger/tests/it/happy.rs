//! The happy path: a deploy under the lifecycle policy, then invokes under the contract's policy.

use arcanum_crypto::{domain, tagged_hash};
use arcanum_ledger::{ContractDef, code_key, definition_key};
use arcanum_storage::StateReader;
use arcanum_types::{TxAction, TxStatus, Version, decode, encode};

use crate::harness::{ALL_PEERS, BOTH_ORGS, Net, ORG1_ORG2, event, rwset, statuses};

#[test]
fn deploy_then_invokes_commit_valid_on_every_peer() {
    let net = Net::new();
    assert_eq!(net.fingerprint().0, 0);

    // Block 1: the admin deploys `kv`, endorsed by one peer of each organisation (MAJORITY of 2).
    let deploy = net.deploy(&net.admin, "kv", BOTH_ORGS, ORG1_ORG2);
    let (_, st) = net.commit(vec![deploy]);
    assert_eq!(st, [TxStatus::Valid]);
    let wasm = Net::wasm("kv");
    let code_hash = tagged_hash(domain::CODE_HASH, &[&wasm]);
    for l in &net.ledgers {
        assert!(std::sync::Arc::ptr_eq(l.config(), &net.config));
        let store = l.store().as_ref();
        let def = StateReader::get(store, &definition_key("kv"))
            .expect("reads")
            .expect("definition stored");
        assert_eq!(def.version, Version { block: 1, tx: 0 });
        let def: ContractDef = decode(&def.value, 1 << 20).expect("definition decodes");
        assert_eq!(
            def,
            ContractDef {
                name: "kv".into(),
                code_hash,
                policy: BOTH_ORGS.into()
            }
        );
        let code = StateReader::get(store, &code_key(&code_hash))
            .expect("reads")
            .expect("code stored");
        assert_eq!(code.value, wasm);
        let invoke = TxAction::Invoke {
            contract: "kv".into(),
            function: "f".into(),
            args: vec![],
        };
        let policy = l
            .policy_at_tip(&invoke)
            .expect("policy of a deployed contract");
        assert_eq!(
            *policy,
            arcanum_policy::Policy::parse(BOTH_ORGS).expect("parses")
        );
    }

    // Block 2: three writes, with an event on the second; different peers of each org endorse.
    let a = net.put("kv", b"a", b"1", ORG1_ORG2);
    let mut b = net.invoke("kv", rwset("kv", &[], &[(b"b", Some(b"2"))]), &[]);
    b.response.events.push(event("kv", "stored"));
    net.reendorse(&mut b, &[1, 3]);
    let c = net.put("kv", b"c", b"3", ALL_PEERS);
    let b_id = b.id();
    let (block2, st) = net.commit(vec![a, b, c]);
    assert_eq!(st, [TxStatus::Valid; 3]);
    assert_eq!(net.version("kv", b"a"), Some(Version { block: 2, tx: 0 }));
    assert_eq!(net.version("kv", b"b"), Some(Version { block: 2, tx: 1 }));
    assert_eq!(net.version("kv", b"c"), Some(Version { block: 2, tx: 2 }));
    assert_eq!(net.value("kv", b"b").expect("b is set").value, b"2");

    // Block 3: update `a` at its current version, delete `b`.
    let a2 = net.put("kv", b"a", b"10", ORG1_ORG2);
    let del = net.invoke(
        "kv",
        rwset("kv", &[(b"b", net.version("kv", b"b"))], &[(b"b", None)]),
        ORG1_ORG2,
    );
    let summary = net
        .deliver(&net.next_block(vec![a2, del]))
        .expect("block 3 commits");
    assert_eq!(statuses(&summary), [TxStatus::Valid, TxStatus::Valid]);
    assert!(summary.events.is_empty());
    let a = net.value("kv", b"a").expect("a is set");
    assert_eq!(
        (a.value.as_slice(), a.version),
        (b"10".as_slice(), Version { block: 3, tx: 0 })
    );
    assert_eq!(net.value("kv", b"b"), None);
    assert_eq!(net.version("kv", b"c"), Some(Version { block: 2, tx: 2 }));

    // Every ledger stores the blocks verbatim and indexes the receipts.
    let (height, _, _) = net.fingerprint();
    assert_eq!(height, 3);
    for l in &net.ledgers {
        let store = l.store();
        assert_eq!(store.block(2).expect("reads"), Some(encode(&block2)));
        let receipt = store.receipt(&b_id).expect("reads").expect("indexed");
        assert_eq!(
            (receipt.block, receipt.index, receipt.status),
            (2, 1, TxStatus::Valid)
        );
        assert_eq!(
            store.receipts_in_block(3).expect("reads").map(|r| r.len()),
            Some(2)
        );
        assert!(l.contains_tx(&b_id).expect("reads"));
    }
}

#[test]
fn events_of_valid_transactions_are_reported_with_their_ids() {
    let net = Net::with_ledgers(2);
    net.setup_contract("kv", BOTH_ORGS);
    let mut ok = net.invoke("kv", rwset("kv", &[], &[(b"x", Some(b"1"))]), &[]);
    ok.response.events = vec![event("kv", "one"), event("kv", "two")];
    net.reendorse(&mut ok, ORG1_ORG2);
    let mut bad = net.invoke("kv", rwset("kv", &[], &[(b"y", Some(b"1"))]), &[]);
    bad.response.events = vec![event("kv", "lost")];
    net.reendorse(&mut bad, &[0]);
    let ok_id = ok.id();
    let summary = net
        .deliver(&net.next_block(vec![ok, bad]))
        .expect("commits");
    assert_eq!(
        statuses(&summary),
        [
            TxStatus::Valid,
            TxStatus::Invalid(arcanum_types::ErrorCode::PolicyNotSatisfied)
        ]
    );
    assert_eq!(
        summary.events,
        vec![(ok_id, event("kv", "one")), (ok_id, event("kv", "two"))]
    );
}

#[test]
fn a_contract_can_be_invoked_in_the_block_that_deploys_it() {
    let net = Net::with_ledgers(2);
    let deploy = net.deploy(&net.admin, "kv", "OR('Org2.peer')", ORG1_ORG2);
    let put = net.invoke(
        "kv",
        rwset("kv", &[(b"k", None)], &[(b"k", Some(b"v"))]),
        &[3],
    );
    let (_, st) = net.commit(vec![deploy, put]);
    assert_eq!(st, [TxStatus::Valid, TxStatus::Valid]);
    assert_eq!(net.version("kv", b"k"), Some(Version { block: 1, tx: 1 }));
}

#[test]
fn an_empty_block_commits_and_changes_no_state() {
    let net = Net::new();
    net.setup_contract("kv", BOTH_ORGS);
    let (_, _, root) = net.fingerprint();
    let (block, st) = net.commit(vec![]);
    assert!(st.is_empty());
    assert_eq!(net.fingerprint(), (2, block.header.hash(), root));
}

#[test]
fn implicit_meta_contract_policies_apply() {
    let net = Net::with_ledgers(2);
    net.setup_contract("any", "ANY Endorsement");
    net.setup_contract("all", "ALL Endorsement");
    let (_, st) = net.commit(vec![
        net.put("any", b"k", b"v", &[3]),
        net.put("all", b"k", b"v", &[1]),
        net.put("all", b"j", b"v", &[1, 2]),
    ]);
    use arcanum_types::ErrorCode::PolicyNotSatisfied;
    assert_eq!(
        st,
        [
            TxStatus::Valid,
            TxStatus::Invalid(PolicyNotSatisfied),
            TxStatus::Valid
        ]
    );
}

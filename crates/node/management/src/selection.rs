//! Which peers must endorse, and which endorsement device signs for each (SPEC L2).

use std::sync::atomic::Ordering;

use arcanum_ledger::{ChainConfig, Member, endorsement_signers};
use arcanum_policy::Policy;
use arcanum_types::{ApiError, ErrorCode, IdentityId};

use crate::{EndorserTransport, KeyMode, Management};

/// How a device is chosen in replicated-key mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// The healthy device with the fewest requests in flight.
    Load,
    /// A preset sequence of device groups, e.g. `[[0], [1, 2], [3, 4]]`; a group splits the target
    /// peers among its devices.
    RoundRobin(Vec<Vec<usize>>),
}

/// The peers asked to endorse: one peer of each organisation the policy names if that satisfies
/// it, otherwise every peer of those organisations.
pub(crate) fn target_peers(
    config: &ChainConfig,
    policy: &Policy,
) -> Result<Vec<IdentityId>, ApiError> {
    let msps = policy.msp_ids(&config.orgs);
    let satisfies = |peers: &[&Member]| {
        policy.evaluate(&endorsement_signers(peers.iter().copied()), &config.orgs) == Ok(true)
    };
    let one_each: Vec<&Member> = msps
        .iter()
        .filter_map(|msp| config.peers().find(|p| &p.msp_id == msp))
        .collect();
    if satisfies(&one_each) {
        return Ok(one_each.iter().map(|m| m.id).collect());
    }
    let all: Vec<&Member> = config
        .peers()
        .filter(|p| msps.contains(&p.msp_id))
        .collect();
    if satisfies(&all) {
        return Ok(all.iter().map(|m| m.id).collect());
    }
    Err(ApiError::new(
        ErrorCode::PolicyNotSatisfied,
        "no set of consortium peers can satisfy the endorsement policy",
    ))
}

impl<T: EndorserTransport> Management<T> {
    /// Splits the target peers into per-device tasks.
    pub(crate) fn assign(
        &self,
        targets: &[IdentityId],
    ) -> Result<Vec<(usize, Vec<IdentityId>)>, ApiError> {
        let hosting = |peer: &IdentityId| -> Vec<usize> {
            (0..self.endorsers.len())
                .filter(|&i| self.endorsers[i].info.hosts.contains(peer))
                .collect()
        };
        let mut tasks: Vec<(usize, Vec<IdentityId>)> = Vec::new();
        let mut add = |idx: usize, peer: IdentityId| match tasks.iter_mut().find(|(i, _)| *i == idx)
        {
            Some((_, peers)) => peers.push(peer),
            None => tasks.push((idx, vec![peer])),
        };
        let unavailable = |peer: &IdentityId| {
            ApiError::new(
                ErrorCode::EndorserUnavailable,
                format!("no endorsement device hosts peer {peer}"),
            )
        };
        match (&self.settings.mode, &self.settings.selection) {
            (KeyMode::Partitioned, _) => {
                for peer in targets {
                    let idx = *hosting(peer).first().ok_or_else(|| unavailable(peer))?;
                    add(idx, *peer);
                }
            }
            (KeyMode::Replicated, Selection::Load) => {
                let idx = self.least_loaded().ok_or_else(|| {
                    ApiError::new(ErrorCode::EndorserUnavailable, "no endorsement devices")
                })?;
                for peer in targets {
                    add(idx, *peer);
                }
            }
            (KeyMode::Replicated, Selection::RoundRobin(sequence)) => {
                let step = self.round_robin.fetch_add(1, Ordering::Relaxed) % sequence.len().max(1);
                let group = sequence
                    .get(step)
                    .filter(|g| !g.is_empty())
                    .cloned()
                    .unwrap_or_else(|| vec![0]);
                for (i, peer) in targets.iter().enumerate() {
                    let idx = group[i % group.len()];
                    if !hosting(peer).contains(&idx) {
                        return Err(unavailable(peer));
                    }
                    add(idx, *peer);
                }
            }
        }
        Ok(tasks)
    }

    /// The healthy device with the fewest requests in flight; ties broken in rotation.
    fn least_loaded(&self) -> Option<usize> {
        let n = self.endorsers.len();
        let start = self.round_robin.fetch_add(1, Ordering::Relaxed);
        (0..n).map(|k| (start + k) % n).min_by_key(|&i| {
            let e = &self.endorsers[i];
            (
                !e.healthy.load(Ordering::Relaxed),
                e.in_flight.load(Ordering::Relaxed),
            )
        })
    }

    /// The device to retry `peers` on after `failed`: the next one (cyclically) that hosts all of
    /// them, preferring healthy ones; `failed` itself when it is the only host.
    pub(crate) fn fallback(&self, failed: usize, peers: &[IdentityId]) -> usize {
        let n = self.endorsers.len();
        let candidates: Vec<usize> = (1..=n)
            .map(|k| (failed + k) % n)
            .filter(|&i| {
                peers
                    .iter()
                    .all(|p| self.endorsers[i].info.hosts.contains(p))
            })
            .collect();
        candidates
            .iter()
            .copied()
            .find(|&i| i != failed && self.endorsers[i].healthy.load(Ordering::Relaxed))
            .or_else(|| candidates.first().copied())
            .unwrap_or(failed)
    }
}

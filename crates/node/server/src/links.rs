//! Which outgoing connections cross a domain boundary, and the emulated delay they get
//! (consortium `[network]`; benchmarks only — a consortium without it has no delay).

use std::collections::BTreeMap;

use arcanum_api::link::LinkDelay;
use arcanum_msp::Consortium;

/// This node's view of the emulated links.
#[derive(Debug)]
pub struct Links {
    own: u32,
    /// Node URL → domain.
    by_url: BTreeMap<String, u32>,
    delay: LinkDelay,
}

impl Links {
    pub fn new(consortium: &Consortium, own_name: &str) -> Links {
        let net = consortium.network();
        let mut by_url = BTreeMap::new();
        let members = std::iter::once(consortium.management())
            .chain(consortium.endorsers().iter().map(|e| &e.member))
            .chain(consortium.peers().iter())
            .chain(consortium.attestation().map(|a| &a.member));
        for m in members {
            if let Some(url) = &m.url {
                by_url.insert(url.clone(), net.domain(&m.name));
            }
        }
        Links {
            own: net.domain(own_name),
            by_url,
            delay: LinkDelay::new(net.cross_domain_latency_ms, net.jitter_ms),
        }
    }

    /// Runs a request to the node at `base_url` as a round trip over its link.
    pub async fn round_trip<T>(
        &self,
        base_url: &str,
        request: impl std::future::Future<Output = T>,
    ) -> T {
        let crosses = self.by_url.get(base_url).is_some_and(|d| *d != self.own);
        if crosses {
            self.delay.round_trip(request).await
        } else {
            request.await
        }
    }
}

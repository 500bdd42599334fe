//! The HTTP edge: bounds, malformed bytes, unknown ids, the OpenAPI document and metrics.

use arcanum_e2e::Net;
use arcanum_msp::DevnetSpec;

async fn error_code(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.expect("json error body");
    (
        status,
        body["error"]["code"].as_str().expect("code").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_precise_codes() {
    let net = Net::start(DevnetSpec::default()).await.expect("net");
    let http = reqwest::Client::new();
    let mgmt = &net.layout.nodes[0].url;
    let peer = &net.layout.nodes.last().expect("peer").url;

    let oversized = vec![0u8; arcanum_types::limits::MAX_TX_BYTES + 1];
    let r = http
        .post(format!("{mgmt}/v1/transactions"))
        .body(oversized)
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(r).await, (413, "BODY_TOO_LARGE".into()));

    for garbage in [vec![], vec![0xff; 7], vec![1; 300]] {
        let r = http
            .post(format!("{mgmt}/v1/transactions"))
            .body(garbage)
            .send()
            .await
            .expect("send");
        assert_eq!(error_code(r).await, (400, "MALFORMED_ENCODING".into()));
    }
    let r = http
        .post(format!("{peer}/v1/blocks"))
        .body(vec![9u8; 64])
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(r).await, (400, "MALFORMED_ENCODING".into()));

    let r = http
        .get(format!("{peer}/v1/transactions/{}", "ab".repeat(32)))
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(r).await, (404, "NOT_FOUND".into()));
    let r = http
        .get(format!("{peer}/v1/transactions/not-hex"))
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(r).await, (400, "BAD_REQUEST".into()));
    let r = http
        .get(format!("{peer}/v1/blocks/42"))
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(r).await, (404, "NOT_FOUND".into()));
    let r = http
        .get(format!("{peer}/v1/state?contract=asset&key=x"))
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(r).await, (404, "NOT_FOUND".into()));
    let r = http
        .get(format!("{peer}/v1/state?contract=_lifecycle&key=x"))
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(r).await, (400, "BAD_REQUEST".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_metrics_and_health_are_served() {
    let net = Net::start(DevnetSpec::default()).await.expect("net");
    let http = reqwest::Client::new();
    let mgmt = &net.layout.nodes[0].url;
    let doc: serde_json::Value = http
        .get(format!("{mgmt}/openapi.json"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        arcanum_api::routes::TRANSACTIONS,
        arcanum_api::routes::BLOCKS,
        arcanum_api::routes::EVENTS,
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    let metrics = http
        .get(format!("{mgmt}/metrics"))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("arcanum_height{role=\"management\"} 0"),
        "{metrics}"
    );
    let health = http
        .get(format!("{mgmt}/healthz"))
        .send()
        .await
        .expect("send");
    assert!(health.status().is_success());
}

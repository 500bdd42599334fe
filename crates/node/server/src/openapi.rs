//! The OpenAPI document of the HTTP API, served at `/openapi.json`.

use arcanum_api::routes;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItemBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, ResponseBuilder,
};

/// The OpenAPI 3.1 document.
pub fn openapi_json() -> OpenApi {
    let binary = || {
        ContentBuilder::new()
            .schema(Some(
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Binary,
                    ))),
            ))
            .build()
    };
    let json = |schema: &str| {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(schema)))
            .build()
    };
    let error = || {
        ResponseBuilder::new()
            .description("Error with a stable code (docs/error-codes.md)")
            .content("application/json", json("ErrorBody"))
            .build()
    };
    let op = |summary: &str, body: Option<&str>, ok: utoipa::openapi::Response| {
        let mut b = OperationBuilder::new()
            .summary(Some(summary))
            .response("200", ok)
            .response("default", error());
        if let Some(desc) = body {
            b = b.request_body(Some(
                RequestBodyBuilder::new()
                    .description(Some(desc))
                    .content("application/octet-stream", binary())
                    .build(),
            ));
        }
        b.build()
    };
    let ok_json = |schema: &str| {
        ResponseBuilder::new()
            .description("OK")
            .content("application/json", json(schema))
            .build()
    };
    let ok_bin = |desc: &str| {
        ResponseBuilder::new()
            .description(desc)
            .content("application/octet-stream", binary())
            .build()
    };
    let paths = [
        (
            routes::TRANSACTIONS,
            HttpMethod::Post,
            op(
                "Endorse and order a transaction (management). `?wait=true` waits for its commit.",
                Some("borsh SignedTx"),
                ok_json("TxOutcome"),
            ),
        ),
        (
            routes::ENDORSE_TX,
            HttpMethod::Post,
            op(
                "Collect endorsements only (management).",
                Some("borsh SignedTx"),
                ok_bin("borsh EndorsedTx"),
            ),
        ),
        (
            routes::SUBMIT_TX,
            HttpMethod::Post,
            op(
                "Order an endorsed transaction (management).",
                Some("borsh EndorsedTx"),
                ok_json("TxOutcome"),
            ),
        ),
        (
            routes::QUERY,
            HttpMethod::Post,
            op(
                "Evaluate a transaction read-only (management).",
                Some("borsh SignedTx"),
                ok_json("QueryResult"),
            ),
        ),
        (
            routes::TX_BY_ID,
            HttpMethod::Get,
            op(
                "A transaction's receipt of commit.",
                None,
                ok_json("TxOutcome"),
            ),
        ),
        (
            routes::HEIGHT,
            HttpMethod::Get,
            op("Height and tip hash.", None, ok_json("HeightInfo")),
        ),
        (
            routes::STATE_ROOT,
            HttpMethod::Get,
            op("World-state commitment.", None, ok_json("StateRootInfo")),
        ),
        (
            routes::STATE,
            HttpMethod::Get,
            op(
                "A contract's value by key (`contract`, `key` or `key_hex`).",
                None,
                ok_json("StateEntry"),
            ),
        ),
        (
            routes::STATE_PROOF,
            HttpMethod::Get,
            op(
                "A contract key's value or absence with its state proof and the signed header of \
                 that height (`contract`, `key` or `key_hex`, optional `height`, default the tip). \
                 Check it with `StateProofBundle::verify` against the management device's key.",
                None,
                ok_json("StateProofJson"),
            ),
        ),
        (
            routes::BLOCK_BY_HEIGHT,
            HttpMethod::Get,
            op(
                "A block: borsh, or JSON with `?format=json`.",
                None,
                ok_bin("borsh Block"),
            ),
        ),
        (
            routes::BLOCKS,
            HttpMethod::Post,
            op(
                "Deliver a block (peers, endorsement devices).",
                Some("borsh Block"),
                ok_json("BlockAccepted"),
            ),
        ),
        (
            routes::EVENTS,
            HttpMethod::Get,
            op(
                "Server-sent events of committed transactions (`?from=HEIGHT`).",
                None,
                ok_json("CommitEvent"),
            ),
        ),
        (
            routes::ENDORSE,
            HttpMethod::Post,
            op(
                "Endorse a batch of transactions for hosted peers, one outcome per item (endorsement devices; peers in the Fabric flow).",
                Some("borsh EndorseBatch"),
                ok_bin("borsh Vec<EndorseOutcome>"),
            ),
        ),
        (
            routes::BLOCKS_BATCH,
            HttpMethod::Post,
            op(
                "Deliver consecutive blocks (peers, endorsement devices).",
                Some("borsh Vec of encoded blocks"),
                ok_json("BlockAccepted"),
            ),
        ),
        (
            routes::ATTESTATION,
            HttpMethod::Get,
            op(
                "The endorsement device's signed attestation report (`?format=json` to display).",
                None,
                ok_bin("borsh SignedReport"),
            ),
        ),
        (
            routes::ROTATE_KEY,
            HttpMethod::Post,
            op(
                "Generate a new key for a hosted peer in the enclave (`?peer=NAME`).",
                None,
                ResponseBuilder::new()
                    .description("the new public key")
                    .build(),
            ),
        ),
        (
            routes::ATTEST,
            HttpMethod::Post,
            op(
                "Verify TEE evidence and issue a signed attestation report (attestation service).",
                Some("borsh AttestRequest"),
                ok_bin("borsh SignedReport"),
            ),
        ),
        (
            routes::ATTESTATIONS,
            HttpMethod::Get,
            op(
                "Recent verdicts of the attestation service.",
                None,
                ok_json("AttestationVerdict"),
            ),
        ),
        (
            routes::TX_PROOF,
            HttpMethod::Get,
            op(
                "A committed transaction's inclusion proof: signed block header, Merkle path, \
                 transaction and recorded status.",
                None,
                ok_bin("borsh TxProof"),
            ),
        ),
        (
            routes::OFFCHAIN_CLUSTER,
            HttpMethod::Get,
            op(
                "The off-chain cluster's registration on chain.",
                None,
                ok_bin("borsh SignedRegistration"),
            ),
        ),
        (
            routes::OFFCHAIN_DEPLOYMENT,
            HttpMethod::Get,
            op(
                "An off-chain contract's registered deployment (`?version=N`, latest by default).",
                None,
                ok_bin("borsh SignedDeployment"),
            ),
        ),
        (
            routes::ORACLE_RESULT,
            HttpMethod::Get,
            op(
                "The oracle result accepted on chain for a request hash.",
                None,
                ok_bin("borsh SignedResult"),
            ),
        ),
        (
            routes::HEALTHZ,
            HttpMethod::Get,
            op(
                "Liveness.",
                None,
                ResponseBuilder::new().description("ok").build(),
            ),
        ),
        (
            routes::METRICS,
            HttpMethod::Get,
            op(
                "Prometheus metrics.",
                None,
                ResponseBuilder::new()
                    .description("text exposition format")
                    .build(),
            ),
        ),
    ];
    let mut builder = PathsBuilder::new();
    for (path, method, operation) in paths {
        builder = builder.path(
            path,
            PathItemBuilder::new().operation(method, operation).build(),
        );
    }
    let components = utoipa::openapi::ComponentsBuilder::new()
        .schema_from::<arcanum_api::ErrorBody>()
        .schema_from::<arcanum_api::ErrorDetail>()
        .schema_from::<arcanum_api::TxOutcome>()
        .schema_from::<arcanum_api::QueryResult>()
        .schema_from::<arcanum_api::HeightInfo>()
        .schema_from::<arcanum_api::StateRootInfo>()
        .schema_from::<arcanum_api::StateEntry>()
        .schema_from::<arcanum_api::StateProofJson>()
        .schema_from::<arcanum_api::BlockAccepted>()
        .schema_from::<arcanum_api::CommitEvent>()
        .schema_from::<arcanum_api::AttestationVerdict>()
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Arcanum node API")
                .version(env!("CARGO_PKG_VERSION"))
                .build(),
        )
        .paths(builder.build())
        .components(Some(components))
        .build()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_state_proof_route_and_its_schema_are_declared() {
        let doc = serde_json::to_value(super::openapi_json()).expect("serialises");
        let op = &doc["paths"][arcanum_api::routes::STATE_PROOF]["get"];
        assert!(op.is_object(), "{doc}");
        let schema = &doc["components"]["schemas"]["StateProofJson"];
        for field in [
            "contract",
            "value_hex",
            "height",
            "state_root",
            "proof",
            "header",
            "signature",
        ] {
            assert!(schema["properties"][field].is_object(), "{field}: {schema}");
        }
    }
}

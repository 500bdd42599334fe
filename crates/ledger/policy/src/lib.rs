//! Fabric signature-policy DSL and implicit-meta policies

//! End-to-end scenarios on an in-process network over real sockets, and the workspace's tidy
//! layering checks (from `cargo metadata`).

mod api;
mod flows;
mod layering;

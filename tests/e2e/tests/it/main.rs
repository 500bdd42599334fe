//! End-to-end scenarios on an in-process network over real sockets.

mod api;
mod flows;

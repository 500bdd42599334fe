//! Integration tests for `arcanum-tee`: the hardware backends against fake file trees holding
//! real evidence from `shared/testdata/external`, the simulation, detection and sealing.

mod detect;
mod fake;
mod gramine;
mod seal;
mod sim;
mod tsm;

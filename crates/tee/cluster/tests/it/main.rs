//! In-process tests of the cluster enclave's trusted core: lifecycle, join, key schedule across
//! nodes, deploy and invoke with the state cache, and every bad input of issue #4.

mod https;
mod invoke;
mod join;
mod keys;
mod lifecycle;
mod support;

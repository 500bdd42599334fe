//! A hostile peer rewrites offsets and data bytes of a ring while our reader and writer use it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| arcanum_ring_fuzz::run(data));

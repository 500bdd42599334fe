//! Declares the `loom` cfg so `--cfg loom` model-checking builds are not flagged as unexpected.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(loom)");
}

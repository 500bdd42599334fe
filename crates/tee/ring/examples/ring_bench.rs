//! Prints the ring benchmark as JSON: `cargo run -p arcanum-ring --release --example ring_bench [secs]`.
fn main() -> anyhow::Result<()> {
    let secs: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1.0);
    let b = arcanum_ring::bench::try_run(std::time::Duration::from_secs_f64(secs))?;
    println!("{}", serde_json::to_string_pretty(&b)?);
    Ok(())
}

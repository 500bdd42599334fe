//! Writes the seed inputs to `<dir>/<target>/<name>` (run from `fuzz/`; `dir` is the first
//! argument, `corpus` by default; the committed copy is `seeds`), after checking that the
//! resealed seed block commits with every transaction valid.

use arcanum_types::{TxStatus, encode};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut block = arcanum_fuzz::seed_block();
    arcanum_fuzz::reseal_as_first_block(&mut block);
    let summary = arcanum_fuzz::fresh_ledger().commit(&block, encode(&block))?;
    let statuses: Vec<TxStatus> = summary.receipts.iter().map(|r| r.status).collect();
    if statuses.iter().any(|s| *s != TxStatus::Valid) {
        return Err(format!("seed block does not commit cleanly: {statuses:?}").into());
    }
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "corpus".to_owned());
    for (target, name, bytes) in arcanum_fuzz::seeds() {
        let dir = std::path::Path::new(&root).join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(&name), &bytes)?;
        println!("{root}/{target}/{name}: {} bytes", bytes.len());
    }
    Ok(())
}

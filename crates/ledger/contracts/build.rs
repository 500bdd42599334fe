//! Builds the guest workspace (`<repo>/contracts`) for `wasm32-unknown-unknown` and leaves the
//! modules in `$OUT_DIR/wasm/wasm32-unknown-unknown/release/`, where `src/lib.rs` includes them.
//!
//! The nested cargo runs with a scrubbed environment: the outer build's flags, target, target
//! directory, jobserver and clippy wrapper must not leak into the guest build. The guest
//! workspace has no dependencies, so `--offline --locked` always works.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const TARGET: &str = "wasm32-unknown-unknown";
/// The contract crates (directory names; the module is `arcanum_<name with _>.wasm`).
const CONTRACTS: &[&str] = &["kv", "asset", "oracle-caller", "price-feed"];

/// Variables that would change the nested build if inherited.
const SCRUB: &[&str] = &[
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "RUSTC_WORKSPACE_WRAPPER",
    "CLIPPY_ARGS",
    "MAKEFLAGS",
    "MFLAGS",
    "TARGET",
    "HOST",
    "OUT_DIR",
    "OPT_LEVEL",
    "PROFILE",
    "DEBUG",
    "NUM_JOBS",
    "RUSTC_LINKER",
];

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Cargo shows a failing build script's stderr.
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env_var("OUT_DIR")?);
    let guest = manifest_dir
        .join("../../../contracts")
        .canonicalize()
        .map_err(|e| format!("cannot find the guest workspace `contracts/`: {e}"))?;

    for file in ["Cargo.toml", "Cargo.lock", ".cargo/config.toml"] {
        println!("cargo:rerun-if-changed={}", guest.join(file).display());
    }
    for dir in std::iter::once("sdk").chain(CONTRACTS.iter().copied()) {
        println!(
            "cargo:rerun-if-changed={}",
            guest.join(dir).join("Cargo.toml").display()
        );
        println!(
            "cargo:rerun-if-changed={}",
            guest.join(dir).join("src").display()
        );
    }

    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    check_target_installed(&rustc)?;

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = out_dir.join("wasm");
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(&guest)
        .args([
            "build",
            "--release",
            "--offline",
            "--locked",
            "--target",
            TARGET,
        ])
        .arg("--manifest-path")
        .arg(guest.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let cargo_var = key.starts_with("CARGO_") && key != "CARGO_HOME";
        if cargo_var || key.starts_with("__CARGO") || SCRUB.contains(&key) {
            cmd.env_remove(key);
        }
    }
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run `{cargo}`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the guest contracts failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }

    let release = target_dir.join(TARGET).join("release");
    for name in CONTRACTS {
        let file = release.join(format!("arcanum_{}.wasm", name.replace('-', "_")));
        if !file.is_file() {
            return Err(format!(
                "the guest build did not produce {}",
                file.display()
            ));
        }
    }
    println!("cargo:rustc-env=ARCANUM_WASM_DIR={}", release.display());
    Ok(())
}

fn env_var(key: &str) -> Result<String, String> {
    env::var(key).map_err(|_| format!("cargo did not set {key}"))
}

/// Fails with the fix if the standard library for the wasm target is not installed.
fn check_target_installed(rustc: &str) -> Result<(), String> {
    let output = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("cannot run `{rustc}`: {e}"))?;
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let lib = Path::new(&sysroot).join("lib/rustlib").join(TARGET);
    if output.status.success() && !lib.is_dir() {
        return Err(format!(
            "the Rust target {TARGET} is not installed (no {}); run `rustup target add {TARGET}`",
            lib.display()
        ));
    }
    Ok(())
}

//! The `arcanum` command-line interface: the composition root of the project. `arcanum node` runs
//! one role from a config file (through `arcanum-server`); `demo`, `devnet` and `bench` orchestrate
//! whole networks of separate node processes; every client verb (contract, tx, block, state) goes through
//! the Rust SDK. Every command takes `--json`.

mod attest;
mod bench;
mod bench_offchain;
mod client_cmds;
mod demo;
mod demo_offchain;
mod network;
mod offchain_cmds;
mod output;
mod perf_report;
mod receipt_cmd;
mod state_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "arcanum",
    version,
    about = "Arcanum: a consortium blockchain with hosted endorsement and a TEE computing layer"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a whole network of separate processes on loopback, run the story end to end, stop.
    Demo {
        #[arg(long)]
        json: bool,
        /// Keep the network's files in this directory (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Devnet: generate a consortium's keys and configs, or run it until interrupted.
    Devnet {
        #[command(subcommand)]
        action: network::DevnetCommand,
    },
    /// Run one node (management, endorser or peer) from its TOML config.
    Node {
        #[arg(long)]
        config: PathBuf,
    },
    /// Endorsement policies.
    Policy {
        #[command(subcommand)]
        action: client_cmds::PolicyCommand,
    },
    /// Deploy, invoke and query contracts.
    Contract {
        #[command(subcommand)]
        action: client_cmds::ContractCommand,
    },
    /// Peers' hosted keys.
    Peer {
        #[command(subcommand)]
        action: client_cmds::PeerCommand,
    },
    /// Transactions.
    Tx {
        #[command(subcommand)]
        action: client_cmds::TxCommand,
    },
    /// Blocks.
    Block {
        #[command(subcommand)]
        action: client_cmds::BlockCommand,
    },
    /// TEE evidence verification.
    Attest {
        #[command(subcommand)]
        action: attest::AttestCommand,
    },
    /// Off-chain contracts: encrypted deploy, invoke and key rotation on the TEE cluster.
    Offchain {
        #[command(subcommand)]
        action: offchain_cmds::OffchainCommand,
    },
    /// World state: a contract key's value, with a verified state proof (and its offline check).
    State {
        #[command(subcommand)]
        action: state_cmd::StateCommand,
    },
    /// Receipts of off-chain results: offline verification.
    Receipt {
        #[command(subcommand)]
        action: receipt_cmd::ReceiptCommand,
    },
    /// Benchmarks (load drivers that print JSON with --json).
    Bench {
        #[command(subcommand)]
        action: bench::BenchCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("ARCANUM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Demo { json, dir } => output::finish(demo::run(dir, json).await, json),
            Command::Devnet { action } => output::finish(network::devnet(action).await, false),
            Command::Node { config } => output::finish(network::run_node(&config).await, false),
            Command::Policy { action } => client_cmds::policy(action),
            Command::Contract { action } => client_cmds::contract(action).await,
            Command::Peer { action } => client_cmds::peer(action).await,
            Command::Tx { action } => client_cmds::tx(action).await,
            Command::Block { action } => client_cmds::block(action).await,
            Command::Attest { action } => attest::run(action),
            Command::Offchain { action } => offchain_cmds::run(action).await,
            Command::State { action } => state_cmd::run(action).await,
            Command::Receipt { action } => receipt_cmd::run(action),
            Command::Bench { action } => bench::run(action).await,
        }
    })
}

//! Printing results and errors, as text or JSON, with stable exit codes: 0 success, 1 a rejected
//! operation (the error carries a stable code), 2 a usage or environment error.

use std::process::ExitCode;

use arcanum_sdk::SdkError;
use serde_json::json;

/// Prints an error object `{"error": {"code", "message"}}` (JSON) or a line (text).
pub fn print_error(code: &str, message: &str, json: bool) {
    if json {
        println!(
            "{}",
            json!({ "error": { "code": code, "message": message } })
        );
    } else {
        eprintln!("error [{code}]: {message}");
    }
}

/// Exit for an SDK failure: its stable code, exit 1.
pub fn sdk_error(e: &SdkError, json: bool) -> ExitCode {
    print_error(e.code().as_str(), &e.to_string(), json);
    ExitCode::from(1)
}

/// Exit for a usage or environment failure (bad file, bad flag): exit 2.
pub fn usage_error(e: &anyhow::Error, json: bool) -> ExitCode {
    print_error("USAGE", &format!("{e:#}"), json);
    ExitCode::from(2)
}

/// Finishes a command that returns `anyhow::Result<()>` having printed its own output.
pub fn finish(r: anyhow::Result<()>, json: bool) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<SdkError>() {
            Some(sdk) => sdk_error(sdk, json),
            None => {
                print_error("FAILED", &format!("{e:#}"), json);
                ExitCode::from(1)
            }
        },
    }
}

/// Prints a serialisable value as pretty JSON.
pub fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot print JSON: {e}"),
    }
}

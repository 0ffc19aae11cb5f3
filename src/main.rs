//! The `evalh` binary: parse the command line, run, print errors, exit with the documented code.

use clap::Parser;

fn main() {
    evalh::memory::tune();
    exit_quietly_on_a_closed_pipe();
    let cli = evalh::cli::Cli::parse();
    let code = match evalh::app::main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}

/// `evalh … | head` closes standard output early, and Rust's `println!` then panics ("failed printing to stdout:
/// Broken pipe"). Exit as a Unix tool stopped by SIGPIPE does instead — status 141, no message — and never with 0: a
/// gate whose output was cut short must not read as a pass. (SIGPIPE itself stays ignored, so a closed socket is an
/// error the clients and the simulator handle, not the end of the process.) Every other panic keeps the default hook.
fn exit_quietly_on_a_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if msg.starts_with("failed printing to std") && msg.contains("(os error 32)") {
            std::process::exit(141);
        }
        default(info);
    }));
}

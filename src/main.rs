//! The `evalh` binary: parse the command line, run, print errors, exit with the documented code.

use clap::Parser;

fn main() {
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

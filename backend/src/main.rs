use clap::Parser;
use poollab::config::{Cli, Command};
use poollab::worker::affinity;
use poollab::{Application, Config};
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("poollab=info,tower_http=warn,sqlx=warn")),
        )
        .init();
    let cli = Cli::parse();
    // A worker pins itself before its runtime makes any thread, so every thread and the
    // PostgreSQL it starts inherit its cores.
    let mut cpus = Vec::new();
    if let Some(Command::Worker(w)) = &cli.command
        && let Some(list) = &w.cpus
    {
        match affinity::parse_cpus(list).and_then(|c| affinity::pin(&c).map(|()| c)) {
            Ok(c) => cpus = c,
            Err(e) => {
                eprintln!("poollab worker: --cpus {list}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("poollab: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Some(Command::Worker(config)) => runtime
            .block_on(poollab::startup::run_worker(config, cpus, poollab::shutdown::signal()))
            .map_err(|e| e.to_string()),
        None => runtime.block_on(serve(cli.serve)),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("poollab: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let app = Application::build(config).await.map_err(|e| e.to_string())?;
    let url = format!("http://{}", app.local_addr_for_humans());
    println!("Pool Lab is running: open {url}  (Ctrl-C stops it)");
    app.run_until(poollab::shutdown::signal()).await.map_err(|e| e.to_string())
}

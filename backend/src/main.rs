use clap::Parser;
use poollab::{Application, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("poollab=info,tower_http=warn,sqlx=warn")),
        )
        .init();
    let config = Config::parse();
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("poollab: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let url = format!("http://{}", app.local_addr_for_humans());
    println!("Pool Lab is running: open {url}  (Ctrl-C stops it)");
    match app.run_until(poollab::shutdown::signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("poollab: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

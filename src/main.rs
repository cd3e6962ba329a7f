//! The `switchboard` binary: parses the command line, sets up logging and runs the
//! chosen command.

use std::io::Read;

use anyhow::Context;
use clap::Parser;
use switchboard::cli::{Cli, Command, ModelCommand, SipUserCommand, TokenCommand, UserCommand};
use switchboard::config::{Config, LogFormat};
use switchboard::speech::fetch::Fetched;
use switchboard::{auth::AuthStore, server};
use tokio_util::sync::CancellationToken;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref(), &|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    init_logging(&config, cli.json_logs);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let shutdown = CancellationToken::new();
            let trigger = shutdown.clone();
            tokio::spawn(async move {
                server::shutdown_signal().await;
                tracing::info!("shutting down");
                trigger.cancel();
            });
            server::serve(config, shutdown).await?;
        }
        Command::Check => check(&config)?,
        Command::Migrate => {
            server::open_database(&config).await?;
            println!("migrations applied");
        }
        Command::User {
            command: UserCommand::Add { name, role },
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from stdin")?;
            let auth = AuthStore::new(server::open_database(&config).await?);
            let user = auth
                .add_user(&name, role, password.trim_end_matches(['\n', '\r']))
                .await?;
            println!("user {} added with role {}", user.name, user.role.as_str());
        }
        Command::SipUser {
            command: SipUserCommand::Add { name },
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from stdin")?;
            let password = password.trim_end_matches(['\n', '\r']);
            anyhow::ensure!(
                password.chars().count() >= 8,
                "the password must be at least 8 characters"
            );
            let db = server::open_database(&config).await?;
            switchboard::telephony::registrar::add_account(&db, &config.sip.realm, &name, password)
                .await?;
            println!("SIP account {name} saved (realm {})", config.sip.realm);
        }
        Command::Token {
            command: TokenCommand::Create { name, label },
        } => {
            let auth = AuthStore::new(server::open_database(&config).await?);
            println!("{}", auth.create_token(&name, &label).await?);
        }
        Command::Model {
            command: ModelCommand::Fetch { name, dir },
        } => {
            let dir = dir.unwrap_or_else(|| config.speech.models_dir(&config.data_dir));
            let done =
                tokio::task::spawn_blocking(move || switchboard::speech::fetch::fetch(&name, &dir))
                    .await??;
            match done {
                Fetched::UpToDate(path) => println!("{} is up to date", path.display()),
                Fetched::Installed(path) => println!("installed {}", path.display()),
            }
        }
    }
    Ok(())
}

/// Validates the configuration (already loaded), the dialplans and the prompts.
fn check(config: &Config) -> anyhow::Result<()> {
    let (plans, diagnostics) =
        switchboard::dialplan::load::load_dir(&config.dialplans.dir, &config.sounds.dir);
    let (prompts, prompt_problems) =
        switchboard::media::prompts::PromptCache::load(&config.sounds.dir);
    for d in &diagnostics {
        println!("{d}");
    }
    for p in &prompt_problems {
        println!("{p}");
    }
    let errors = diagnostics.iter().filter(|d| !d.warning).count() + prompt_problems.len();
    if errors > 0 {
        anyhow::bail!("{errors} problem(s) found");
    }
    println!(
        "configuration ok; {} dialplan(s), {} prompt(s)",
        plans.len(),
        prompts.len()
    );
    Ok(())
}

/// The WebRTC stack narrates every handshake at info; only its problems are ours.
const QUIET_DEPENDENCIES: &str =
    "rtc=warn,rtc_ice=warn,rtc_dtls=error,rtc_srtp=warn,rtc_interceptor=warn";

fn init_logging(config: &Config, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{QUIET_DEPENDENCIES},{}", config.log.level))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json || config.log.format == LogFormat::Json {
        builder.json().init();
    } else {
        builder.init();
    }
}

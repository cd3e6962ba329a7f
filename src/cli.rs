//! Command-line interface: `serve`, `check`, `migrate`, `user add`, `sip-user add`,
//! `token create`, `model fetch`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::auth::Role;

#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Self-hosted contact-center server"
)]
pub struct Cli {
    /// Configuration file (default: config/switchboard.toml when it exists).
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    pub json_logs: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (HTTP API, workspace, SIP, media).
    Serve,
    /// Validate the configuration; exits non-zero with `file:line:col: message` errors.
    Check,
    /// Apply pending database migrations.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage SIP accounts for agents' phones.
    SipUser {
        #[command(subcommand)]
        command: SipUserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage speech recognition models.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download, convert and verify a speech model (`base`, multilingual, or
    /// `tiny.en`) into the models folder; does nothing when it is already there.
    Fetch {
        #[arg(default_value = "base")]
        name: String,
        /// Where to put it (default: `[speech] models_dir`, else `<data_dir>/models`).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: Role,
    },
}

#[derive(Debug, Subcommand)]
pub enum SipUserCommand {
    /// Add or replace a SIP account; the password is read from standard input.
    Add { name: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token that acts as user NAME with NAME's role; printed once.
    Create {
        name: String,
        /// What the token is for, kept for audits.
        #[arg(long, default_value = "api")]
        label: String,
    },
}

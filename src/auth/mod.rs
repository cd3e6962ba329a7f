//! Users, roles and credentials: argon2 password hashes, browser sessions (cookie)
//! and bearer API tokens. Tokens and session ids are stored only as SHA-256 hashes.

pub mod role;
pub mod users;

pub use role::Role;
pub use users::{AuthError, AuthStore, User};

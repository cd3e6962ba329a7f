//! Our SIP stack (RFC 3261): the message codec (parse, print, typed headers,
//! URIs), the sans-IO transaction layer, and dialogs. The socket side lives in
//! `crate::telephony`.

pub mod cseq;
pub mod dialog;
pub mod digest;
pub mod framing;
pub mod headers;
pub mod message;
pub mod method;
pub mod name_addr;
pub mod params;
pub mod parse;
pub mod transaction;
pub mod uri;
pub mod via;

pub use message::{Message, StartLine};
pub use method::Method;

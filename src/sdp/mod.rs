//! SDP (RFC 8866) parse and print, and the RFC 3264 offer/answer we negotiate.

pub mod negotiate;
pub mod session;

pub use negotiate::{Capabilities, Codec, Direction, Negotiated, SdpError, answer};
pub use session::{Media, SessionDescription};

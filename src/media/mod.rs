//! Media: codecs and RTP handling shared by every call leg.

pub mod dtmf;
pub mod endpoint;
pub mod g711;
pub mod prompts;
pub mod recorder;
pub mod rtp;
pub mod webrtc_peer;

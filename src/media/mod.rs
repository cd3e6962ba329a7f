//! Media: codecs and RTP handling shared by every call leg.

pub mod dtmf;
pub mod endpoint;
pub mod g711;
pub mod inband_dtmf;
pub mod prompts;
pub mod quality;
pub mod recorder;
pub mod rtcp;
pub mod rtp;
pub mod webrtc_peer;

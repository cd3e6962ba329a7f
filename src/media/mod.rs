//! Media: codecs and RTP handling shared by every call leg.

pub mod g711;
pub mod rtp;

//! Telephony: the SIP socket shell that drives the sans-IO transaction layer, one
//! actor per call owning its dialog and media, the RTP port pool, and the writer
//! that puts call events into the timeline off the call path; voicemail and
//! callbacks dialled out through the trunk.

pub mod agent_leg;
pub mod bridge;
pub mod browser_bridge;
pub mod browser_relay;
pub mod call;
pub mod call_flow;
pub mod callback_store;
pub mod callbacks;
pub mod echo;
pub mod guard;
pub mod ivr_call;
pub mod ivr_media;
pub mod ivr_transfer;
pub mod lookup;
pub mod monitor;
pub mod monitor_bridge;
pub mod outbound;
pub mod recording;
pub mod registrar;
pub mod rtcp_leg;
pub mod rtp_port;
pub mod sip_server;
pub mod softphones;
pub mod tcp;
pub mod timeline_writer;
pub mod transfer;
pub mod trunk_monitor;
pub mod voicemail;
pub mod webrtc_caller;
pub mod websocket;

pub use sip_server::{CallServices, SipServer, TelephonyError};

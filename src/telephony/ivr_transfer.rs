//! A dialplan `transfer` step on a call: the caller is connected to a phone
//! registered with our registrar (an extension) or to a number through the
//! trunk, on a second dialog with the caller's codec, recorded like an agent
//! leg. When the other side does not answer, or hangs up first, the caller
//! goes back to the dialplan with the reason.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::bridge::{Dialled, Phone};
use super::call::{Call, CallInput};
use super::recording::Frame;
use crate::dialplan::vm::{Event, TransferTarget};
use crate::sdp::Negotiated;
use crate::sip::uri::Uri;
use crate::timeline::model::EventPayload;

impl Call {
    /// Transfers the caller; `Ok` with the VM's event and the caller's socket
    /// when they are back in the dialplan, `Err` with the cause when the call
    /// is over.
    pub(super) async fn transfer_caller(
        &mut self,
        to: TransferTarget,
        ring: Duration,
        caller_rtp: UdpSocket,
        caller: &Negotiated,
        recorder: Option<mpsc::Sender<Frame>>,
        rx: &mut mpsc::Receiver<CallInput>,
    ) -> Result<(Event, UdpSocket), String> {
        let (phone, label) = match self.transfer_phone(&to) {
            Ok(found) => found,
            Err(why) => return Ok((Event::TransferFailed(why.into()), caller_rtp)),
        };
        let answered = EventPayload::CallTransferred { to: label };
        match self
            .dial_and_relay(phone, ring, answered, caller_rtp, caller, recorder, rx)
            .await
        {
            Dialled::Failed(why, caller_rtp) => Ok((Event::TransferFailed(why.into()), caller_rtp)),
            Dialled::OtherLeft(caller_rtp) => Ok((Event::TransferEnded, caller_rtp)),
            Dialled::Over(cause) => Err(cause),
        }
    }

    /// Where a transfer goes, and how the timeline names it; or why it cannot.
    pub(super) fn transfer_phone(
        &self,
        to: &TransferTarget,
    ) -> Result<(Phone, String), &'static str> {
        match to {
            TransferTarget::Extension(name) => {
                let phone = self.registered_phone(name).ok_or("unreachable")?;
                Ok((phone, format!("extension {name}")))
            }
            TransferTarget::Number(number) => {
                let trunk: SocketAddr = self
                    .ctx
                    .config
                    .trunk
                    .address
                    .parse()
                    .map_err(|_| "no_trunk")?;
                let target =
                    Uri::parse(&format!("sip:{number}@{trunk}")).map_err(|_| "bad_number")?;
                let phone = Phone {
                    target,
                    dest: trunk,
                    websocket: false,
                };
                Ok((phone, format!("number {number}")))
            }
        }
    }
}

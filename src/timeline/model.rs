//! The customer timeline's data types: customers with unified identities,
//! conversations on any channel, and typed, append-only timeline events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::identity::IdentityKind;

/// One way to reach or recognise a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub kind: IdentityKind,
    pub value: String,
    #[serde(default)]
    pub verified: bool,
}

/// A person or organisation the contact center talks to, across every channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Customer {
    pub id: Uuid,
    pub name: String,
    pub language: Option<String>,
    pub tier: Option<String>,
    pub tags: Vec<String>,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub identities: Vec<Identity>,
    /// Set when this customer was merged into another; reads follow it.
    pub merged_into: Option<Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// What a new customer is created with.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    pub name: String,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub tier: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub identities: Vec<Identity>,
}

/// Fields an agent may change; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    pub name: Option<String>,
    pub language: Option<String>,
    pub tier: Option<String>,
    pub tags: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Voice,
    Chat,
    Email,
    Social,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Bot,
    Queued,
    Assigned,
    WrapUp,
    Resolved,
    Abandoned,
}

/// One contact on one channel: a call, a chat, an email thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Conversation {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub channel: Channel,
    pub status: ConversationStatus,
    pub queue: Option<String>,
    pub agent_id: Option<Uuid>,
    pub priority: i32,
    pub subject: Option<String>,
    pub disposition: Option<String>,
    pub csat: Option<i32>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub queued_at: Option<chrono::DateTime<chrono::Utc>>,
    pub first_response_at: Option<chrono::DateTime<chrono::Utc>>,
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What a new conversation is opened with.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConversation {
    pub customer_id: Uuid,
    pub channel: Channel,
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub subject: Option<String>,
    /// The customer's first message, for text channels.
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Caller,
    Agent,
    Bot,
}

/// Which SIP leg of a call a figure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallLeg {
    Caller,
    Agent,
}

/// The media quality of one SIP leg over the call (RTP counts and RTCP).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallQuality {
    pub leg: CallLeg,
    pub codec: String,
    pub packets_sent: u64,
    /// Distinct packets received (duplicates left out).
    pub packets_received: u64,
    /// Expected (RFC 3550 A.3) minus distinct packets received.
    pub packets_lost: i64,
    pub loss_percent: f64,
    /// Interarrival jitter of the peer's RTP (RFC 3550 A.8), in ms.
    pub jitter_mean_ms: f64,
    pub jitter_max_ms: f64,
    /// Round-trip time from the peer's RTCP reports, when it sent any on ours.
    #[serde(default)]
    pub rtt_mean_ms: Option<f64>,
    #[serde(default)]
    pub rtt_max_ms: Option<f64>,
    pub rtcp_sent: u64,
    pub rtcp_received: u64,
}

/// The typed content of a timeline event. The `type` tag is stored as the event kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventPayload {
    Message {
        direction: Direction,
        author: String,
        text: String,
        #[serde(default)]
        attachments: Vec<String>,
    },
    CallOffered {
        from: String,
        to: String,
    },
    IvrStep {
        step: String,
        #[serde(default)]
        #[schema(value_type = Object)]
        detail: serde_json::Value,
    },
    Dtmf {
        digits: String,
    },
    CallQueued {
        queue: String,
    },
    CallAnswered {
        agent: String,
    },
    CallTransferred {
        to: String,
    },
    /// The agent put the caller on hold (`held`) or took them off it.
    CallHold {
        held: bool,
        agent: String,
    },
    /// A supervisor started monitoring the call, or changed how (`listen`,
    /// `whisper`, `barge`).
    CallMonitored {
        supervisor: String,
        agent: String,
        mode: String,
    },
    CallEnded {
        cause: String,
        duration_ms: i64,
    },
    Transcript {
        speaker: Speaker,
        start_ms: i64,
        end_ms: i64,
        text: String,
        language: String,
        #[serde(default)]
        partial: bool,
    },
    Recording {
        path: String,
        duration_ms: i64,
    },
    /// A voicemail message the caller left (a mono WAV in the data folder).
    Voicemail {
        path: String,
        duration_ms: i64,
    },
    /// The caller asked to be called back at `number`; `callback` is the
    /// conversation that waits in `queue` for an agent.
    CallbackRequested {
        number: String,
        queue: String,
        callback: Uuid,
    },
    /// One try at calling a customer back: `answered`, `busy`, `no_answer`,
    /// `failed`, or `no_trunk` when outbound calls are not configured.
    CallbackAttempt {
        attempt: u32,
        number: String,
        outcome: String,
    },
    /// The conversation waited its queue's longest wait (`waited_seconds` since
    /// it was first queued) and left `from`: `action` `queue` into `to`, or
    /// `voicemail` / `callback` for a call taken out of the line.
    Overflowed {
        from: String,
        action: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        waited_seconds: u64,
    },
    /// Written at call end, one per SIP leg.
    CallQuality(CallQuality),
    Note {
        author: String,
        text: String,
    },
    Disposition {
        code: String,
        #[serde(default)]
        notes: String,
    },
    Csat {
        score: i32,
    },
    StatusChanged {
        status: ConversationStatus,
    },
    /// Routing rules chose the conversation's queue: the rule that matched
    /// (`default` when none did), the conditions that held, and what it asked for.
    Routed {
        rule: String,
        queue: String,
        #[serde(default)]
        priority: i32,
        #[serde(default)]
        skills: BTreeMap<String, u8>,
        #[serde(default)]
        language: Option<String>,
        #[serde(default)]
        because: Vec<String>,
    },
    IdentityMerged {
        merged_customer: Uuid,
        identities: Vec<Identity>,
    },
    /// What became of a reply sent through an external channel (e-mail):
    /// `sent`, `retrying` (with the reason; tried again later) or `failed`.
    Delivery {
        /// The seq of the reply's message event.
        message: i64,
        status: String,
        #[serde(default)]
        detail: String,
    },
}

impl EventPayload {
    /// The stored kind, equal to the serialized `type` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            EventPayload::Message { .. } => "message",
            EventPayload::CallOffered { .. } => "call_offered",
            EventPayload::IvrStep { .. } => "ivr_step",
            EventPayload::Dtmf { .. } => "dtmf",
            EventPayload::CallQueued { .. } => "call_queued",
            EventPayload::CallAnswered { .. } => "call_answered",
            EventPayload::CallTransferred { .. } => "call_transferred",
            EventPayload::CallHold { .. } => "call_hold",
            EventPayload::CallMonitored { .. } => "call_monitored",
            EventPayload::CallEnded { .. } => "call_ended",
            EventPayload::Transcript { .. } => "transcript",
            EventPayload::Recording { .. } => "recording",
            EventPayload::Voicemail { .. } => "voicemail",
            EventPayload::CallbackRequested { .. } => "callback_requested",
            EventPayload::CallbackAttempt { .. } => "callback_attempt",
            EventPayload::Overflowed { .. } => "overflowed",
            EventPayload::CallQuality(_) => "call_quality",
            EventPayload::Note { .. } => "note",
            EventPayload::Disposition { .. } => "disposition",
            EventPayload::Csat { .. } => "csat",
            EventPayload::StatusChanged { .. } => "status_changed",
            EventPayload::Routed { .. } => "routed",
            EventPayload::IdentityMerged { .. } => "identity_merged",
            EventPayload::Delivery { .. } => "delivery",
        }
    }
}

/// One entry of a customer's timeline, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelineEvent {
    /// Position in the global append order; the timeline's cursor.
    pub seq: i64,
    pub id: Uuid,
    pub customer_id: Uuid,
    pub conversation_id: Option<Uuid>,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub payload: EventPayload,
}

/// A request to append an event.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    #[serde(default)]
    pub conversation_id: Option<Uuid>,
    pub payload: EventPayload,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_matches_serialized_tag() {
        let samples = vec![
            EventPayload::Dtmf {
                digits: "12".into(),
            },
            EventPayload::CallEnded {
                cause: "normal".into(),
                duration_ms: 3,
            },
            EventPayload::StatusChanged {
                status: ConversationStatus::WrapUp,
            },
            EventPayload::Csat { score: 5 },
            EventPayload::Routed {
                rule: "refunds".into(),
                queue: "billing".into(),
                priority: 5,
                skills: BTreeMap::from([("billing".into(), 2)]),
                language: None,
                because: vec!["keyword refund".into()],
            },
            EventPayload::CallQuality(CallQuality {
                leg: CallLeg::Agent,
                codec: "PCMA".into(),
                packets_sent: 10,
                packets_received: 9,
                packets_lost: 1,
                loss_percent: 10.0,
                jitter_mean_ms: 1.5,
                jitter_max_ms: 3.0,
                rtt_mean_ms: None,
                rtt_max_ms: None,
                rtcp_sent: 2,
                rtcp_received: 0,
            }),
        ];
        for p in samples {
            let v = serde_json::to_value(&p).unwrap();
            assert_eq!(v["type"], p.kind());
        }
    }

    #[test]
    fn unknown_payload_field_is_rejected() {
        let err = serde_json::from_str::<EventPayload>(r#"{"type":"csat","score":3,"x":1}"#);
        assert!(err.is_err());
    }
}

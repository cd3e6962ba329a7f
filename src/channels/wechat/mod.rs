//! The WeChat Official Account channel: followers' messages arrive at the
//! signed callback (`inbound`, over `signature` and `xml`) and become `social`
//! conversations of the customer holding the openid; agents' replies leave
//! through the customer-service message API (`outbound`), from the outbox.

pub mod inbound;
pub mod outbound;
pub mod signature;
pub mod xml;

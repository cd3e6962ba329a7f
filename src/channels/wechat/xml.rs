//! Reading the XML messages WeChat posts to the callback: text, image, voice
//! (with WeChat's own recognition when the account has it), video, location,
//! link, and events such as subscribe. Anything malformed, with a DTD, or
//! without the sender is an error (answered 400), never a half-read message.

/// Client ids of WeChat messages start with this.
pub const CLIENT_ID_PREFIX: &str = "wx-";

/// One message from a follower.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// The follower's openid.
    pub from: String,
    /// Our account's id.
    pub to: String,
    pub create_time: i64,
    /// Absent on events.
    pub msg_id: Option<String>,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Text(String),
    Image {
        url: String,
    },
    Voice {
        recognition: Option<String>,
    },
    Video,
    Location {
        label: String,
        x: String,
        y: String,
    },
    Link {
        title: String,
        url: String,
    },
    /// `subscribe`, `unsubscribe`, `CLICK`… with its key.
    Event {
        event: String,
        key: String,
    },
    /// A type we do not know; kept by name.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("not well-formed XML: {0}")]
    Malformed(String),
    #[error("the root element is `{0}`, not `xml`")]
    Root(String),
    #[error("`{0}` is missing")]
    Missing(&'static str),
}

/// Parses one callback body.
pub fn parse(body: &str) -> Result<Inbound, XmlError> {
    let doc = roxmltree::Document::parse(body).map_err(|e| XmlError::Malformed(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "xml" {
        return Err(XmlError::Root(root.tag_name().name().into()));
    }
    let field = |name: &str| -> Option<String> {
        root.children()
            .find(|n| n.is_element() && n.tag_name().name() == name)
            .map(|n| n.text().unwrap_or("").trim().to_string())
    };
    let need = |name: &'static str| {
        field(name)
            .filter(|v| !v.is_empty())
            .ok_or(XmlError::Missing(name))
    };
    let msg_type = need("MsgType")?;
    let kind = match msg_type.as_str() {
        "text" => Kind::Text(field("Content").unwrap_or_default()),
        "image" => Kind::Image {
            url: field("PicUrl").unwrap_or_default(),
        },
        "voice" => Kind::Voice {
            recognition: field("Recognition").filter(|r| !r.is_empty()),
        },
        "video" | "shortvideo" => Kind::Video,
        "location" => Kind::Location {
            label: field("Label").unwrap_or_default(),
            x: field("Location_X").unwrap_or_default(),
            y: field("Location_Y").unwrap_or_default(),
        },
        "link" => Kind::Link {
            title: field("Title").unwrap_or_default(),
            url: field("Url").unwrap_or_default(),
        },
        "event" => Kind::Event {
            event: need("Event")?,
            key: field("EventKey").unwrap_or_default(),
        },
        other => Kind::Other(other.to_string()),
    };
    Ok(Inbound {
        from: need("FromUserName")?,
        to: field("ToUserName").unwrap_or_default(),
        create_time: field("CreateTime")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0),
        msg_id: field("MsgId").filter(|m| !m.is_empty()),
        kind,
    })
}

impl Inbound {
    /// What the agent reads in the thread (media as WeChat's link to it).
    pub fn text(&self) -> String {
        match &self.kind {
            Kind::Text(t) => t.clone(),
            Kind::Image { url } => format!("[image] {url}"),
            Kind::Voice {
                recognition: Some(r),
            } => format!("[voice] {r}"),
            Kind::Voice { recognition: None } => "[voice message]".into(),
            Kind::Video => "[video]".into(),
            Kind::Location { label, x, y } => format!("[location] {label} ({x}, {y})"),
            Kind::Link { title, url } => format!("[link] {title} {url}"),
            Kind::Event { event, key } if key.is_empty() => format!("[event] {event}"),
            Kind::Event { event, key } => format!("[event] {event} {key}"),
            Kind::Other(t) => format!("[{t}]"),
        }
    }

    /// The id a redelivery of this message carries again (WeChat retries a
    /// callback it got no answer to three times).
    pub fn dedup_id(&self) -> String {
        match &self.msg_id {
            Some(id) => format!("{CLIENT_ID_PREFIX}{id}"),
            None => format!("{CLIENT_ID_PREFIX}{}-{}", self.from, self.create_time),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: &str, extra: &str) -> String {
        format!(
            "<xml><ToUserName><![CDATA[gh_acme]]></ToUserName>\
             <FromUserName><![CDATA[oFollower1]]></FromUserName>\
             <CreateTime>1700000000</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>{extra}</xml>"
        )
    }

    #[test]
    fn reads_each_message_type() {
        let t = parse(&msg(
            "text",
            "<Content><![CDATA[我的订单到哪了？]]></Content><MsgId>6199</MsgId>",
        ))
        .unwrap();
        assert_eq!(t.from, "oFollower1");
        assert_eq!(t.to, "gh_acme");
        assert_eq!(t.create_time, 1_700_000_000);
        assert_eq!(t.kind, Kind::Text("我的订单到哪了？".into()));
        assert_eq!(t.dedup_id(), "wx-6199");
        let i = parse(&msg(
            "image",
            "<PicUrl><![CDATA[http://mmbiz/x.jpg]]></PicUrl><MediaId>m</MediaId><MsgId>1</MsgId>",
        ))
        .unwrap();
        assert_eq!(i.text(), "[image] http://mmbiz/x.jpg");
        let v = parse(&msg(
            "voice",
            "<Format>amr</Format><Recognition><![CDATA[退款]]></Recognition><MsgId>2</MsgId>",
        ))
        .unwrap();
        assert_eq!(v.text(), "[voice] 退款");
        let l = parse(&msg("location", "<Location_X>23.13</Location_X><Location_Y>113.26</Location_Y><Scale>20</Scale><Label><![CDATA[广州]]></Label><MsgId>3</MsgId>")).unwrap();
        assert_eq!(l.text(), "[location] 广州 (23.13, 113.26)");
        let k = parse(&msg("link", "<Title>Order</Title><Description>d</Description><Url>https://x/o</Url><MsgId>4</MsgId>")).unwrap();
        assert_eq!(k.text(), "[link] Order https://x/o");
        let e = parse(&msg("event", "<Event><![CDATA[subscribe]]></Event>")).unwrap();
        assert_eq!(
            e.kind,
            Kind::Event {
                event: "subscribe".into(),
                key: String::new()
            }
        );
        assert_eq!(e.dedup_id(), "wx-oFollower1-1700000000");
        assert!(matches!(
            parse(&msg("shortvideo", "")).unwrap().kind,
            Kind::Video
        ));
        assert_eq!(
            parse(&msg("miniprogrampage", "")).unwrap().text(),
            "[miniprogrampage]"
        );
    }

    #[test]
    fn refuses_what_is_not_a_message() {
        assert!(matches!(
            parse("<xml><MsgType>text"),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(parse("<root/>"), Err(XmlError::Root(_))));
        assert_eq!(
            parse("<xml><MsgType>text</MsgType></xml>"),
            Err(XmlError::Missing("FromUserName"))
        );
        assert_eq!(
            parse("<xml><FromUserName>a</FromUserName></xml>"),
            Err(XmlError::Missing("MsgType"))
        );
        let dtd = "<!DOCTYPE xml [<!ENTITY a \"aaaa\">]><xml><FromUserName>&a;</FromUserName><MsgType>text</MsgType></xml>";
        assert!(matches!(parse(dtd), Err(XmlError::Malformed(_))));
        assert_eq!(parse(&msg("event", "")), Err(XmlError::Missing("Event")));
    }
}

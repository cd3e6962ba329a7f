//! The RFC 4475 torture messages (`tests/sip_torture/*.sip`) through our SIP
//! parser: the valid ones parse and their typed values are the RFC's, print
//! back stably, and the invalid ones fail with the status the RFC asks of a
//! UAS, or are dropped where it says so. What the running server then does
//! with each one is `tests/sip_torture.rs`.

use bytes::Bytes;
use switchboard::sip::message::StartLine;
use switchboard::sip::parse::{bad_request, parse};
use switchboard::sip::uri::Scheme;
use switchboard::sip::{Message, Method};

/// What the parser makes of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Parses (a valid message, or one whose trouble is for the layers above).
    Parses,
    /// Fails, and a request answered with this status.
    Refused(u16),
    /// Fails and gets no answer (a response, or a request without the headers
    /// an answer is built from).
    Dropped,
}

use Expect::{Dropped, Parses, Refused};

/// Every message of RFC 4475, with what the parser does and the RFC's word
/// for it.
const CASES: &[(&str, Expect, &str)] = &[
    // §3.1.1: valid messages, every one to be accepted.
    ("wsinv", Parses, "3.1.1.1 short tortuous INVITE"),
    ("intmeth", Parses, "3.1.1.2 wide range of valid characters"),
    ("esc01", Parses, "3.1.1.3 valid use of % escaping"),
    ("escnull", Parses, "3.1.1.4 escaped nulls in URIs"),
    ("esc02", Parses, "3.1.1.5 % that is not an escape"),
    (
        "lwsdisp",
        Parses,
        "3.1.1.6 no LWS between display name and <",
    ),
    ("longreq", Parses, "3.1.1.7 long values in header fields"),
    (
        "dblreq",
        Parses,
        "3.1.1.8 extra trailing octets in a datagram",
    ),
    ("semiuri", Parses, "3.1.1.9 semicolons in a URI user part"),
    (
        "transports",
        Parses,
        "3.1.1.10 varied and unknown transports",
    ),
    ("mpart01", Parses, "3.1.1.11 multipart MIME body"),
    ("unreason", Parses, "3.1.1.12 unusual reason phrase"),
    ("noreason", Parses, "3.1.1.13 empty reason phrase"),
    // §3.1.2: invalid messages.
    ("badinv01", Refused(400), "3.1.2.1 should respond 400"),
    ("clerr", Refused(400), "3.1.2.2 over UDP should respond 400"),
    ("ncl", Refused(400), "3.1.2.3 should respond with an error"),
    (
        "scalar02",
        Refused(400),
        "3.1.2.4 should respond 400 (CSeq)",
    ),
    ("scalarlg", Dropped, "3.1.2.5 a response: discard it"),
    ("quotbal", Refused(400), "3.1.2.6 should return 400"),
    (
        "ltgtruri",
        Refused(400),
        "3.1.2.7 reasonable always to reject 400",
    ),
    ("lwsruri", Refused(400), "3.1.2.8 should respond 400"),
    ("lwsstart", Refused(400), "3.1.2.9 acceptable to reject"),
    ("trws", Refused(400), "3.1.2.10 acceptable to reject"),
    ("escruri", Refused(400), "3.1.2.11 acceptable to reject 400"),
    (
        "baddate",
        Parses,
        "3.1.2.12 may ignore the bad Date; we never read it",
    ),
    (
        "regbadct",
        Refused(400),
        "3.1.2.13 reasonable to respond 400",
    ),
    (
        "badaspec",
        Refused(400),
        "3.1.2.14 reasonable to reject 400",
    ),
    (
        "baddn",
        Refused(400),
        "3.1.2.15 reasonable always to reject 400",
    ),
    ("badvers", Refused(505), "3.1.2.16 should respond 505"),
    ("mismatch01", Refused(400), "3.1.2.17 will respond 400"),
    ("mismatch02", Refused(501), "3.1.2.18 501, better than 400"),
    ("bigcode", Dropped, "3.1.2.19 a response: drop it"),
    // §3.2: transaction layer.
    ("badbranch", Parses, "3.2.1 fall back to RFC 2543 matching"),
    // §3.3: application layer.
    (
        "insuf",
        Refused(400),
        "3.3.1 must not break; ideally 400, from its Via and CSeq",
    ),
    ("unkscm", Refused(416), "3.3.2 will reject with 416"),
    (
        "novelsc",
        Refused(416),
        "3.3.3 a scheme never accepted: 416",
    ),
    ("unksm2", Refused(400), "3.3.4 a registrar answers 400"),
    ("bext01", Parses, "3.3.5 420 is the UAS's answer"),
    ("invut", Parses, "3.3.6 415 is the UAS's answer"),
    ("regaut01", Parses, "3.3.7 the registrar's answer"),
    ("multi01", Refused(400), "3.3.8 would respond 400"),
    ("mcl01", Refused(400), "3.3.9 should respond with an error"),
    ("bcast", Parses, "3.3.10 a stray response, discarded above"),
    (
        "zeromf",
        Parses,
        "3.3.11 processed as though Max-Forwards were positive",
    ),
    ("cparam01", Parses, "3.3.12 contact parameter"),
    ("cparam02", Parses, "3.3.13 URI parameter"),
    ("regescrt", Parses, "3.3.14 escaped header in a Contact URI"),
    ("sdp01", Parses, "3.3.15 406 is the UAS's answer"),
    // §3.4: backward compatibility.
    ("inv2543", Parses, "3.4.1 RFC 2543 syntax, to be accepted"),
];

fn fixture(name: &str) -> Bytes {
    let path = format!(
        "{}/tests/sip_torture/{name}.sip",
        env!("CARGO_MANIFEST_DIR")
    );
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn valid(name: &str) -> Message {
    parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_fixture_has_a_case() {
    let dir = format!("{}/tests/sip_torture", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".sip").map(String::from)
        })
        .collect();
    files.sort();
    let mut cases: Vec<String> = CASES.iter().map(|c| c.0.to_string()).collect();
    cases.sort();
    assert_eq!(files, cases);
    assert_eq!(cases.len(), 49, "RFC 4475 has 49 messages");
}

#[test]
fn each_message_parses_or_fails_as_the_rfc_says() {
    for &(name, expect, rfc) in CASES {
        let data = fixture(name);
        let got = match parse(&data) {
            Ok(_) => Parses,
            Err(e) => match bad_request(&data, &e) {
                Some(answer) => {
                    assert_eq!(answer.status(), Some(e.status()), "{name}");
                    Refused(e.status())
                }
                None => Dropped,
            },
        };
        assert_eq!(got, expect, "{name} ({rfc})");
    }
}

#[test]
fn valid_messages_print_back_stably() {
    for &(name, expect, _) in CASES {
        if expect != Parses {
            continue;
        }
        let m = valid(name);
        let printed = m.to_bytes();
        let again = parse(&printed).unwrap_or_else(|e| panic!("{name} printed: {e}"));
        assert_eq!(again.start, m.start, "{name}");
        assert_eq!(again.body, m.body, "{name}");
        assert_eq!(again.to_bytes(), printed, "{name}");
    }
}

#[test]
fn wsinv_values_survive_the_whitespace() {
    let m = valid("wsinv");
    let uri = m.request_uri().unwrap();
    assert_eq!(uri.user.as_deref(), Some("vivekg"));
    assert_eq!(uri.host, "chair-dnrc.example.com");
    assert_eq!(uri.param("unknownparam"), Some(""));
    assert_eq!(m.call_id(), Some("wsinv.ndaksdj@192.0.2.1"));
    let cseq = m.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
    assert_eq!(m.max_forwards(), Some(68));
    let to = m.to().unwrap();
    assert_eq!(to.tag(), Some("1918181833n"));
    assert_eq!(to.uri.user.as_deref(), Some("vivekg"));
    let from = m.from().unwrap();
    assert_eq!(from.display.as_deref(), Some(r#"J Rosenberg \""#));
    assert_eq!(from.tag(), Some("98asjd8"));
    let via = m.top_via().unwrap();
    assert_eq!(
        (via.transport.as_str(), via.host.as_str()),
        ("UDP", "192.0.2.2")
    );
    assert_eq!(via.branch(), Some("390skdjuw"));
    assert!(!via.has_rfc3261_branch());
    let vias = m.headers.get_all("Via");
    assert_eq!(vias.len(), 3, "{vias:?}");
    let second = switchboard::sip::via::Via::parse(vias[1]).unwrap();
    assert_eq!(
        (
            second.transport.as_str(),
            second.host.as_str(),
            second.branch()
        ),
        ("TCP", "spindle.example.com", Some("z9hG4bK9ikj8"))
    );
    let third = switchboard::sip::via::Via::parse(vias[2]).unwrap();
    assert_eq!(
        (third.host.as_str(), third.branch()),
        ("192.168.255.111", Some("z9hG4bK30239"))
    );
    assert_eq!(m.headers.get("Content-Length"), Some("150"));
    assert_eq!(m.body.len(), 150);
    assert_eq!(m.content_type(), Some("application/sdp"));
    assert_eq!(
        m.headers.get("NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(
        m.headers.get("UnknownHeaderWithUnusualValue"),
        Some(";;,,;;,;")
    );
    assert_eq!(m.headers.get("Subject"), Some(""));
    let contact = m.contact().unwrap();
    assert_eq!(contact.display.as_deref(), Some(r#"Quoted string """#));
    assert_eq!(contact.params.get("newparam"), Some("newvalue"));
    assert_eq!(contact.params.get("secondparam"), Some(""));
    assert_eq!(contact.params.get("q"), Some("0.33"));
    let route = m.headers.get("Route").unwrap();
    assert!(
        route.starts_with("<sip:services.example.com;lr;"),
        "{route}"
    );
}

#[test]
fn intmeth_keeps_every_unusual_character() {
    let m = valid("intmeth");
    let method = "!interesting-Method0123456789_*+`.%indeed'~";
    assert_eq!(m.method(), Some(Method::Other(method.into())));
    assert_eq!(m.cseq().unwrap().method, Method::Other(method.into()));
    assert_eq!(m.cseq().unwrap().seq, 139122385);
    let uri = m.request_uri().unwrap();
    assert_eq!(
        uri.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        uri.password.as_deref(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    assert_eq!(
        (uri.host.as_str(), uri.headers.as_deref()),
        ("example.com", None)
    );
    let to = m.to().unwrap();
    assert_eq!(
        to.display.as_deref(),
        Some("BEL:\u{7} NUL:\u{0} DEL:\u{7f}")
    );
    assert_eq!(to.uri.user, uri.user);
    let from = m.from().unwrap();
    assert_eq!(
        from.display.as_deref(),
        Some("token1~` token2'+_ token3*%!.-")
    );
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    assert_eq!(
        from.params.get("fromParam''~+*_!.-%"),
        Some("\"работающий\"")
    );
    assert_eq!(
        m.call_id(),
        Some("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
    );
    assert_eq!(m.max_forwards(), Some(255));
    assert_eq!(m.top_via().unwrap().branch(), Some("z9hG4bK-.!%66*_+`'~"));
    assert_eq!(
        m.headers.get("extensionHeader-!.%*+_`'~"),
        Some("\u{feff}大停電")
    );
}

#[test]
fn escapes_are_decoded_where_they_are_escapes() {
    let m = valid("esc01");
    let uri = m.request_uri().unwrap();
    assert_eq!(uri.user.as_deref(), Some("sips:user@example.com"));
    assert_eq!(
        (uri.scheme.clone(), uri.host.as_str()),
        (Scheme::Sip, "example.net")
    );
    assert_eq!(m.to().unwrap().uri.user.as_deref(), Some("user"));
    assert_eq!(m.from().unwrap().uri.user.as_deref(), Some("I have spaces"));
    assert_eq!(m.call_id(), Some("esc01.239409asdfakjkn23onasd0-3234"));
    assert_eq!(m.content_type(), Some("application/sdp"));
    let contact = m.contact().unwrap().uri;
    assert_eq!(contact.user.as_deref(), Some("caller"));
    assert_eq!(contact.param("lr"), Some(""));
    assert_eq!(contact.param("name"), Some("value%41"), "decoded once only");

    let nul = valid("escnull");
    assert_eq!(nul.to().unwrap().uri.user.as_deref(), Some("null-\0-null"));
    let contacts: Vec<Option<String>> = nul
        .headers
        .get_all("Contact")
        .into_iter()
        .map(|c| {
            switchboard::sip::name_addr::NameAddr::parse(c)
                .unwrap()
                .uri
                .user
        })
        .collect();
    assert_eq!(contacts, [Some("\0".into()), Some("\0\0".into())]);

    // §3.1.1.5: the % in the method, the display names and the branch are no
    // escapes; `C%6Fntact` is an unknown header, not a third Contact.
    let m = valid("esc02");
    assert_eq!(m.method(), Some(Method::Other("RE%47IST%45R".into())));
    assert_eq!(m.to().unwrap().display.as_deref(), Some("%Z%45"));
    assert_eq!(m.from().unwrap().display.as_deref(), Some("%Z%45"));
    assert_eq!(m.top_via().unwrap().branch(), Some("z9hG4bK209%fzsnel234"));
    assert_eq!(m.headers.get_all("Contact").len(), 2);

    let semi = valid("semiuri");
    let uri = semi.request_uri().unwrap();
    assert_eq!(uri.user.as_deref(), Some("user;par=u@example.net"));
    assert_eq!(uri.host, "example.com");
    assert_eq!(semi.headers.get_all("Accept").len(), 6);
}

#[test]
fn lwsdisp_and_longreq_and_transports() {
    let m = valid("lwsdisp");
    let from = m.from().unwrap();
    assert_eq!(from.display.as_deref(), Some("caller"));
    assert_eq!(from.tag(), Some("323"));

    let m = valid("longreq");
    assert_eq!(m.headers.get_all("Via").len(), 34);
    let top = m.top_via().unwrap();
    assert_eq!(
        (top.host.as_str(), top.branch()),
        ("sip33.example.com", None)
    );
    assert_eq!(m.from().unwrap().tag().map(str::len), Some(2 + 150 + 3));
    assert_eq!(m.to().unwrap().uri.port, Some(6000));
    assert_eq!(m.body.len(), 150);
    assert!(m.call_id().unwrap().ends_with("reallylongcallid"));

    let m = valid("transports");
    let transports: Vec<String> = m
        .headers
        .get_all("Via")
        .into_iter()
        .map(|v| switchboard::sip::via::Via::parse(v).unwrap().transport)
        .collect();
    assert_eq!(transports, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
    assert_eq!(m.call_id(), Some("transports.kijh4akdnaqjkwendsasfdj"));
}

#[test]
fn framing_by_content_length() {
    // §3.1.1.8: a REGISTER with no body; the INVITE after it is noise.
    let m = valid("dblreq");
    assert_eq!(m.method(), Some(Method::Register));
    assert!(m.body.is_empty());
    assert_eq!(m.call_id(), Some("dblreq.0ha0isndaksdj99sdfafnl3lk233412"));

    // §3.1.1.11: a binary part with NULs, framed by its Content-Length.
    let m = valid("mpart01");
    assert_eq!(m.method(), Some(Method::Message));
    assert_eq!(m.body.len(), 553);
    assert!(m.body.contains(&0));
    assert!(m.body.ends_with(b"--7a9cbec02ceef655--\r\n"));

    // §3.4.1: no Content-Length over UDP: the body is the rest of the datagram.
    let m = valid("inv2543");
    assert!(m.headers.get("Content-Length").is_none());
    assert_eq!(m.body.len(), 105);
    assert!(m.top_via().unwrap().branch().is_none());
    assert!(m.from().unwrap().tag().is_none());
    assert_eq!(m.max_forwards(), None);
}

#[test]
fn responses_with_odd_reasons_parse() {
    let m = valid("unreason");
    let StartLine::Response { code, reason } = &m.start else {
        panic!("a response");
    };
    assert_eq!(*code, 200);
    assert_eq!(reason, "= 2**3 * 5**2 но сто девяносто девять - простое");
    assert_eq!(m.body.len(), 154);

    let m = valid("noreason");
    assert_eq!(
        m.start,
        StartLine::Response {
            code: 100,
            reason: String::new()
        }
    );
}

#[test]
fn what_the_layers_above_decide_is_kept_for_them() {
    let bare = valid("badbranch");
    let via = bare.top_via().unwrap();
    assert_eq!(via.branch(), Some("z9hG4bK"));
    assert!(
        !via.has_rfc3261_branch(),
        "the cookie alone is no RFC 3261 branch"
    );

    let m = valid("bext01");
    assert_eq!(
        m.require(),
        ["nothingSupportsThis", "nothingSupportsThisEither"]
    );
    assert_eq!(
        valid("invut").content_type(),
        Some("application/unknownformat")
    );
    assert_eq!(
        valid("sdp01").headers.get("Accept"),
        Some("text/nobodyKnowsThis")
    );
    assert_eq!(valid("zeromf").max_forwards(), Some(0));
    assert_eq!(
        valid("baddate").headers.get("Date"),
        Some("Fri, 01 Jan 2010 16:00:00 EST")
    );
    assert_eq!(
        valid("regaut01").headers.get("Authorization"),
        Some("NoOneKnowsThisScheme opaque-data=here")
    );

    // §3.3.12/13: `unknownparam` is a contact parameter in one, a URI
    // parameter in the other.
    let c1 = valid("cparam01").contact().unwrap();
    assert_eq!(c1.params.get("unknownparam"), Some(""));
    assert_eq!(c1.uri.param("unknownparam"), None);
    let c2 = valid("cparam02").contact().unwrap();
    assert_eq!(c2.params.get("unknownparam"), None);
    assert_eq!(c2.uri.param("unknownparam"), Some(""));

    // §3.3.14: the escaped header stays in the Contact URI.
    let c = valid("regescrt").contact().unwrap();
    assert_eq!(
        c.uri.headers.as_deref(),
        Some("Route=%3Csip:sip.example.com%3E")
    );

    let b = valid("bcast");
    assert_eq!(b.status(), Some(200));
    assert_eq!(b.headers.get_all("Via").len(), 2);
}

#[test]
fn refusals_copy_what_the_client_matches_them_by() {
    let data = fixture("badvers");
    let err = parse(&data).unwrap_err();
    let answer = bad_request(&data, &err).unwrap();
    assert_eq!(answer.status(), Some(505));
    assert_eq!(answer.call_id(), Some("badvers.31417@c.example.com"));
    assert_eq!(
        answer.headers.get("Via"),
        Some("SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw")
    );
    assert_eq!(answer.headers.get("CSeq"), Some("1 OPTIONS"));

    let data = fixture("unkscm");
    let err = parse(&data).unwrap_err();
    assert_eq!(err.status(), 416);
    let answer = bad_request(&data, &err).unwrap();
    assert_eq!(answer.cseq().unwrap().seq, 3923423);
}

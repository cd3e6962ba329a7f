//! No input panics the SIP or SDP parser: random bytes and random mutations of
//! valid messages either parse or give an error (and a 400 when answerable).

use bytes::Bytes;
use proptest::prelude::*;
use switchboard::sdp::SessionDescription;
use switchboard::sip::parse::{bad_request, parse};

const INVITE: &str = "INVITE sip:4000@127.0.0.1:5060;transport=udp SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;rport\r\n\
From: \"Li \\\"Lei\\\"\" <sip:+8613800138000@127.0.0.1:5061>;tag=1\r\n\
To: <sip:4000@127.0.0.1:5060>\r\n\
Call-ID: 1-1@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:sipp@127.0.0.1:5061>, \"x\" <sips:[2001:db8::1]:5061>\r\n\
Max-Forwards: 70\r\n\
Route: <sip:a.example;lr>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 129\r\n\r\n\
v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n";

fn exercise(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    match parse(&bytes) {
        Ok(m) => {
            let _ = (
                m.top_via(),
                m.from(),
                m.to(),
                m.contact(),
                m.cseq(),
                m.max_forwards(),
                m.require(),
            );
            let printed = m.to_bytes();
            let again = parse(&printed).expect("a printed message parses again");
            assert_eq!(again.to_bytes(), printed, "printing is stable");
            if let Ok(text) = std::str::from_utf8(&m.body) {
                let _ = SessionDescription::parse(text);
            }
        }
        Err(e) => {
            let _ = bad_request(&bytes, &e);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise(&data);
        let _ = SessionDescription::parse(&String::from_utf8_lossy(&data));
    }

    #[test]
    fn mutated_messages_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..12)) {
        let mut data = INVITE.as_bytes().to_vec();
        for (at, byte, op) in edits {
            if data.is_empty() { break; }
            let i = at.index(data.len());
            match op {
                0 => data[i] = byte,
                1 => data.insert(i, byte),
                _ => { data.remove(i); }
            }
        }
        exercise(&data);
    }
}

#[test]
fn the_reference_invite_parses() {
    let m = parse(&Bytes::from_static(INVITE.as_bytes())).unwrap();
    assert_eq!(m.from().unwrap().display.as_deref(), Some("Li \"Lei\""));
    assert_eq!(m.headers.get_all("Contact").len(), 2);
    assert_eq!(m.body.len(), 129);
}

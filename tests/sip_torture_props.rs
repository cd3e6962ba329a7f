//! Property tests on the RFC 4475 messages: random bit flips, truncations,
//! duplicated, dropped and swapped lines, and random bytes never make the SIP
//! parser panic; whatever parses prints back and parses again to the same
//! bytes, and whatever fails gets an error response that is itself a message.

use bytes::Bytes;
use proptest::prelude::*;
use switchboard::sip::parse::{bad_request, parse, parse_structure};

const NAMES: &[&str] = &[
    "wsinv",
    "intmeth",
    "esc01",
    "escnull",
    "esc02",
    "lwsdisp",
    "longreq",
    "dblreq",
    "semiuri",
    "transports",
    "mpart01",
    "unreason",
    "noreason",
    "badinv01",
    "clerr",
    "ncl",
    "scalar02",
    "scalarlg",
    "quotbal",
    "ltgtruri",
    "lwsruri",
    "lwsstart",
    "trws",
    "escruri",
    "baddate",
    "regbadct",
    "badaspec",
    "baddn",
    "badvers",
    "mismatch01",
    "mismatch02",
    "bigcode",
    "badbranch",
    "insuf",
    "unkscm",
    "novelsc",
    "unksm2",
    "bext01",
    "invut",
    "regaut01",
    "multi01",
    "mcl01",
    "bcast",
    "zeromf",
    "cparam01",
    "cparam02",
    "regescrt",
    "sdp01",
    "inv2543",
];

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/sip_torture/{name}.sip",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Parses `data` and everything that can be asked of the result.
fn exercise(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    match parse(&bytes) {
        Ok(m) => {
            let _ = (m.top_via(), m.from(), m.to(), m.contact(), m.cseq());
            let _ = (m.max_forwards(), m.require(), m.request_uri());
            let printed = m.to_bytes();
            let again = parse(&printed).expect("a printed message parses again");
            assert_eq!(again.start, m.start);
            assert_eq!(again.to_bytes(), printed, "printing is stable");
        }
        Err(e) => {
            if let Some(answer) = bad_request(&bytes, &e) {
                assert_eq!(answer.status(), Some(e.status()));
                parse_structure(&answer.to_bytes()).expect("an error response is a message");
            }
        }
    }
}

/// One way to damage a message.
#[derive(Debug, Clone)]
enum Damage {
    FlipBit(prop::sample::Index, u8),
    Truncate(prop::sample::Index),
    DuplicateLine(prop::sample::Index),
    DropLine(prop::sample::Index),
    SwapLines(prop::sample::Index, prop::sample::Index),
    InsertByte(prop::sample::Index, u8),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<prop::sample::Index>(), 0u8..8).prop_map(|(i, b)| Damage::FlipBit(i, b)),
        any::<prop::sample::Index>().prop_map(Damage::Truncate),
        any::<prop::sample::Index>().prop_map(Damage::DuplicateLine),
        any::<prop::sample::Index>().prop_map(Damage::DropLine),
        (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(a, b)| Damage::SwapLines(a, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Damage::InsertByte(i, b)),
    ]
}

/// The message cut into lines that keep their line ends.
fn lines(data: &[u8]) -> Vec<Vec<u8>> {
    data.split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn apply(data: &mut Vec<u8>, d: &Damage) {
    if data.is_empty() {
        return;
    }
    match d {
        Damage::FlipBit(i, bit) => {
            let at = i.index(data.len());
            data[at] ^= 1 << bit;
        }
        Damage::Truncate(i) => data.truncate(i.index(data.len())),
        Damage::InsertByte(i, b) => data.insert(i.index(data.len()), *b),
        Damage::DuplicateLine(i) | Damage::DropLine(i) | Damage::SwapLines(i, _) => {
            let mut ls = lines(data);
            let at = i.index(ls.len());
            match d {
                Damage::DuplicateLine(_) => ls.insert(at, ls[at].clone()),
                Damage::DropLine(_) => {
                    ls.remove(at);
                }
                Damage::SwapLines(_, j) => {
                    let other = j.index(ls.len());
                    ls.swap(at, other);
                }
                _ => {}
            }
            *data = ls.concat();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn damaged_torture_messages_never_panic(
        which in any::<prop::sample::Index>(),
        damages in proptest::collection::vec(damage(), 1..6),
    ) {
        let mut data = fixture(NAMES[which.index(NAMES.len())]);
        for d in &damages {
            apply(&mut data, d);
        }
        exercise(&data);
    }

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..800)) {
        exercise(&data);
    }

    #[test]
    fn random_lines_after_a_request_line_never_panic(
        lines in proptest::collection::vec("[ -~]{0,60}", 0..12),
    ) {
        let text = format!("INVITE sip:a@b SIP/2.0\r\n{}\r\n\r\n", lines.join("\r\n"));
        exercise(text.as_bytes());
    }
}

#[test]
fn every_fixture_is_exercised() {
    let count = std::fs::read_dir(format!("{}/tests/sip_torture", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".sip"))
        })
        .count();
    assert_eq!(count, NAMES.len());
    for name in NAMES {
        exercise(&fixture(name));
    }
}

//! The media task of a call in the IVR or a queue: plays prompts and music on hold
//! as RTP paced at 20 ms, and turns received RFC 4733 telephone-events into keys.
//! Barge-in stops the prompt here at once, without a round trip to the call.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::recording::Side;
use super::rtcp_leg::QualityTap;
use crate::media::dtmf::Rfc4733Receiver;
use crate::media::endpoint::{Endpoint, Endpointer};
use crate::media::g711::{self, Law};
use crate::media::inband_dtmf::InbandDtmf;
use crate::media::prompts::PromptCache;
use crate::media::rtp;

/// What the call asks of its media.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaCommand {
    Play {
        files: Vec<PathBuf>,
        barge_in: bool,
    },
    /// Loop one file until told otherwise (music on hold).
    Loop(PathBuf),
    Stop,
    /// Find the caller's next utterance (see `media::endpoint`).
    Listen {
        timeout: Duration,
        max: Duration,
    },
    /// Copy the caller's audio to a voicemail message from now on (`None`: stop).
    Keep(Option<KeepTap>),
    /// A key the caller signalled out of band (SIP INFO): handled like a key
    /// heard in the media, barge-in included.
    Key(char),
}

/// Where a voicemail message's frames go.
#[derive(Debug, Clone)]
pub struct KeepTap(pub mpsc::Sender<[i16; 160]>);

impl PartialEq for KeepTap {
    fn eq(&self, other: &Self) -> bool {
        self.0.same_channel(&other.0)
    }
}

/// What the media tells its call.
#[derive(Debug, Clone, PartialEq)]
pub enum IvrMediaEvent {
    Digit(char),
    PlaybackDone,
    /// After `Listen`: what the caller said, 8 kHz (empty: nothing before the timeout).
    Utterance(Vec<i16>),
    Timeout,
}

pub struct IvrMediaParams {
    /// Where the caller's audio is copied for the recording, if recorded.
    pub recorder: Option<mpsc::Sender<super::recording::Frame>>,
    pub remote: SocketAddr,
    pub payload_type: u8,
    pub dtmf_payload_type: Option<u8>,
    pub symmetric: bool,
    pub timeout: Duration,
    /// The caller leg's RTCP statistics.
    pub quality: Option<QualityTap>,
}

struct Playback {
    clips: Vec<Arc<[i16]>>,
    index: usize,
    offset: usize,
    barge_in: bool,
    looping: bool,
}

impl Playback {
    /// Fills `out` with the next 20 ms; false when the playback has ended.
    fn next_frame(&mut self, out: &mut [i16; 160]) -> bool {
        let mut filled = 0;
        while filled < 160 {
            let Some(clip) = self.clips.get(self.index) else {
                if self.looping && !self.clips.is_empty() {
                    self.index = 0;
                    continue;
                }
                out[filled..].fill(0);
                return filled > 0;
            };
            let take = (clip.len() - self.offset).min(160 - filled);
            out[filled..filled + take].copy_from_slice(&clip[self.offset..self.offset + take]);
            filled += take;
            self.offset += take;
            if self.offset >= clip.len() {
                self.index += 1;
                self.offset = 0;
            }
        }
        true
    }
}

/// Runs until `stop` fires or the media times out; gives the socket back so the
/// call can bridge it to an agent.
pub async fn run(
    socket: UdpSocket,
    p: IvrMediaParams,
    prompts: Arc<PromptCache>,
    mut commands: mpsc::Receiver<MediaCommand>,
    events: mpsc::Sender<IvrMediaEvent>,
    stop: CancellationToken,
) -> UdpSocket {
    let law = Law::from_payload_type(p.payload_type).unwrap_or(Law::Ulaw);
    let ssrc = p
        .quality
        .as_ref()
        .map_or_else(rand::random, QualityTap::ssrc);
    let (mut seq, mut ts): (u16, u32) = (rand::random(), rand::random());
    let mut remote = p.remote;
    let mut playing: Option<Playback> = None;
    let mut dtmf = Rfc4733Receiver::default();
    // Without telephone-event, keys come as tones in the audio.
    let mut inband = p.dtmf_payload_type.is_none().then(InbandDtmf::new);
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let (mut pcm, mut packet, mut buf) = ([0i16; 160], [0u8; 172], [0u8; 1500]);
    let mut last_rx = Instant::now();
    let mut marker = true;
    let mut tap = RecordTap::default();
    let mut listening: Option<Endpointer> = None;
    let mut keep: Option<KeepTap> = None;
    let mut frames: Vec<[i16; 160]> = Vec::with_capacity(4);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep_until(last_rx + p.timeout) => {
                let _ = events.send(IvrMediaEvent::Timeout).await;
                break;
            }
            cmd = commands.recv() => match cmd {
                // RFC 3551 §4.1: the marker marks the first packet of each prompt.
                Some(MediaCommand::Play { files, barge_in }) => {
                    playing = Some(playback(&prompts, &files, barge_in, false));
                    marker = true;
                }
                Some(MediaCommand::Loop(file)) => {
                    playing = Some(playback(&prompts, &[file], false, true));
                    marker = true;
                }
                Some(MediaCommand::Stop) => playing = None,
                Some(MediaCommand::Listen { timeout, max }) => listening = Some(Endpointer::new(timeout, max)),
                Some(MediaCommand::Keep(tap)) => keep = tap,
                Some(MediaCommand::Key(key)) => pressed(key, &mut playing, &events),
                None => break,
            },
            _ = ticker.tick() => {
                tap.tick(Instant::now(), &mut frames);
                let key = hear(&mut frames, &mut tap, &p, (&mut listening, &keep, &mut inband), &events);
                if let Some(key) = key {
                    pressed(key, &mut playing, &events);
                }
                let active = playing.as_mut().is_some_and(|pb| pb.next_frame(&mut pcm));
                if !active {
                    if playing.take().is_some() {
                        let _ = events.try_send(IvrMediaEvent::PlaybackDone);
                    }
                    pcm.fill(0);
                }
                rtp::write_header(&mut packet, marker, p.payload_type, seq, ts, ssrc);
                g711::encode(law, &pcm, &mut packet[12..]);
                marker = false;
                if socket.send_to(&packet, remote).await.is_ok()
                    && let Some(q) = &p.quality
                {
                    q.sent(ts, 160);
                }
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(160);
            }
            r = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = r else { continue };
                let Ok(h) = rtp::parse(&buf[..n]) else { continue };
                if !p.symmetric && from != remote {
                    continue;
                }
                last_rx = Instant::now();
                remote = from;
                if let Some(q) = &p.quality {
                    q.received(&h, from);
                }
                if h.payload_type == p.payload_type {
                    let payload = &buf[h.payload_offset..h.payload_offset + h.payload_len];
                    tap.cut(law, payload, last_rx, &mut frames);
                    let key = hear(&mut frames, &mut tap, &p, (&mut listening, &keep, &mut inband), &events);
                if let Some(key) = key {
                    pressed(key, &mut playing, &events);
                }
                } else if Some(h.payload_type) == p.dtmf_payload_type {
                    let payload = &buf[h.payload_offset..h.payload_offset + h.payload_len];
                    if let Some(key) = dtmf.receive(h.timestamp, payload) {
                        pressed(key, &mut playing, &events);
                    }
                }
            }
        }
    }
    socket
}

/// A key from the caller: a barge-in prompt stops, the call hears of it.
fn pressed(key: char, playing: &mut Option<Playback>, events: &mpsc::Sender<IvrMediaEvent>) {
    if playing.as_ref().is_some_and(|pb| pb.barge_in) {
        *playing = None;
    }
    if events.try_send(IvrMediaEvent::Digit(key)).is_err() {
        tracing::warn!("call not reading its keys; one was dropped");
    }
}

/// Hands the caller's new frames to the recorder, to a voicemail message being
/// kept, to the in-band key detector, and to the endpointer while listening;
/// tells the call when an utterance (or silence) is decided. Returns a key
/// heard in the audio.
fn hear(
    frames: &mut Vec<[i16; 160]>,
    tap: &mut RecordTap,
    p: &IvrMediaParams,
    (listening, keep, inband): (
        &mut Option<Endpointer>,
        &Option<KeepTap>,
        &mut Option<InbandDtmf>,
    ),
    events: &mpsc::Sender<IvrMediaEvent>,
) -> Option<char> {
    let mut key = None;
    for f in frames.drain(..) {
        if let Some(k) = inband.as_mut().and_then(|d| d.push(&f)) {
            key = Some(k);
        }
        if let Some(rec) = &p.recorder {
            tap.send(&f, rec);
        }
        if let Some(KeepTap(message)) = keep
            && message.try_send(f).is_err()
        {
            tracing::warn!("voicemail writer behind; a frame was dropped");
        }
        let decided = match listening.as_mut().map(|l| l.push(&f)) {
            None | Some(Endpoint::Pending) => continue,
            Some(Endpoint::Silence) => Vec::new(),
            Some(Endpoint::Utterance(audio)) => audio,
        };
        *listening = None;
        if events.try_send(IvrMediaEvent::Utterance(decided)).is_err() {
            tracing::warn!("call not reading its media events; an utterance was dropped");
        }
    }
    key
}

/// Cuts one side's audio (any packet size) into 20 ms frames for the recorder
/// (and, in the IVR, for listening). Where a 20 ms clock drives it (`tick`), a
/// side that sends no packets is heard as silence, so a pause in the caller's
/// RTP still counts as time.
pub(super) struct RecordTap {
    side: Side,
    frame: [i16; 160],
    filled: usize,
    dropped: u64,
    /// Time up to which this side's audio has been accounted for.
    heard_until: Option<Instant>,
}

/// Missing audio older than this counts as silence.
const GAP: Duration = Duration::from_millis(60);

impl Default for RecordTap {
    fn default() -> Self {
        RecordTap::new(Side::Caller)
    }
}

impl RecordTap {
    pub(super) fn new(side: Side) -> RecordTap {
        RecordTap {
            side,
            frame: [0; 160],
            filled: 0,
            dropped: 0,
            heard_until: None,
        }
    }

    /// Cuts `payload` and sends the complete frames to the recorder.
    pub(super) fn push(
        &mut self,
        law: Law,
        payload: &[u8],
        rec: &mpsc::Sender<super::recording::Frame>,
    ) {
        let mut frames = Vec::new();
        self.cut(law, payload, Instant::now(), &mut frames);
        for f in &frames {
            self.send(f, rec);
        }
    }

    /// Appends the frames `payload` completes to `out`.
    fn cut(&mut self, law: Law, payload: &[u8], now: Instant, out: &mut Vec<[i16; 160]>) {
        self.heard_until = Some(now);
        for &code in payload {
            self.frame[self.filled] = g711::decode_sample(law, code);
            self.filled += 1;
            if self.filled == 160 {
                self.filled = 0;
                out.push(self.frame);
            }
        }
    }

    /// On the 20 ms tick: a silent frame for audio that has not come.
    fn tick(&mut self, now: Instant, out: &mut Vec<[i16; 160]>) {
        let until = *self.heard_until.get_or_insert(now);
        if now.saturating_duration_since(until) >= GAP {
            self.heard_until = Some(until + Duration::from_millis(20));
            self.filled = 0;
            out.push([0; 160]);
        }
    }

    fn send(&mut self, samples: &[i16; 160], rec: &mpsc::Sender<super::recording::Frame>) {
        let frame = super::recording::Frame {
            side: self.side,
            samples: *samples,
        };
        if rec.try_send(frame).is_err() {
            self.dropped += 1;
        }
    }
}

fn playback(prompts: &PromptCache, files: &[PathBuf], barge_in: bool, looping: bool) -> Playback {
    let clips = files
        .iter()
        .filter_map(|f| {
            let clip = prompts.get(f);
            if clip.is_none() {
                tracing::error!(file = %f.display(), "prompt missing at play time");
            }
            clip
        })
        .collect();
    Playback {
        clips,
        index: 0,
        offset: 0,
        barge_in,
        looping,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playback_frames_cover_clips_then_end() {
        let a: Arc<[i16]> = Arc::from(vec![1i16; 200]);
        let b: Arc<[i16]> = Arc::from(vec![2i16; 100]);
        let mut pb = Playback {
            clips: vec![a, b],
            index: 0,
            offset: 0,
            barge_in: true,
            looping: false,
        };
        let mut f = [0i16; 160];
        assert!(pb.next_frame(&mut f));
        assert!(f.iter().all(|s| *s == 1));
        assert!(pb.next_frame(&mut f));
        assert_eq!((f[39], f[40], f[139], f[140]), (1, 2, 2, 0));
        assert!(!pb.next_frame(&mut f));
        let mut looped = Playback {
            clips: vec![Arc::from(vec![3i16; 100])],
            index: 0,
            offset: 0,
            barge_in: false,
            looping: true,
        };
        for _ in 0..10 {
            assert!(looped.next_frame(&mut f));
            assert!(f.iter().all(|s| *s == 3));
        }
    }

    #[tokio::test]
    async fn marker_on_the_first_packet_of_each_prompt() {
        let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let params = IvrMediaParams {
            recorder: None,
            remote: phone.local_addr().unwrap(),
            payload_type: 0,
            dtmf_payload_type: None,
            symmetric: false,
            timeout: Duration::from_secs(5),
            quality: None,
        };
        let (commands, commands_rx) = mpsc::channel(4);
        let (events, _events_rx) = mpsc::channel(4);
        let stop = CancellationToken::new();
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let prompts = Arc::new(PromptCache::default());
        tokio::spawn(run(
            socket,
            params,
            prompts,
            commands_rx,
            events,
            stop.clone(),
        ));
        let mut buf = [0u8; 1500];
        let mut marker = async || {
            let n = phone.recv(&mut buf).await.unwrap();
            rtp::parse(&buf[..n]).unwrap().marker
        };
        assert_eq!(
            (marker().await, marker().await, marker().await),
            (true, false, false)
        );
        let play = MediaCommand::Play {
            files: Vec::new(),
            barge_in: false,
        };
        commands.send(play).await.unwrap();
        let mut seen = Vec::new();
        while seen.len() < 5 && !seen.contains(&true) {
            seen.push(marker().await);
        }
        assert!(seen.contains(&true), "no marker after Play: {seen:?}");
        assert!(!marker().await);
        stop.cancel();
    }
}

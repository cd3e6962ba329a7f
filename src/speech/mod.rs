//! Speech recognition on this machine (whisper.cpp through whisper-rs, no cloud):
//! the model file and its checks (`model`), audio preparation (`audio`: recordings
//! to 16 kHz, utterances cut by energy), the recogniser (`recognizer`), and the
//! service that transcribes finished call recordings into the timeline, each
//! channel as its speaker (`service`), and live recognition of one utterance for
//! the IVR's `listen` step (`live`).

pub mod audio;
pub mod live;
pub mod model;
pub mod recognizer;
pub mod service;

pub use service::SpeechService;

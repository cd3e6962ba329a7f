//! Speech recognition on this machine (whisper.cpp through whisper-rs, no cloud):
//! the model file and its checks (`model`), getting it (`fetch`), Chinese output
//! in simplified characters (`chinese`), audio preparation (`audio`: recordings
//! to 16 kHz, utterances cut by energy), the recogniser (`recognizer`), and the
//! service that transcribes finished call recordings into the timeline, each
//! channel as its speaker (`service`), and live recognition of one utterance for
//! the IVR's `listen` step (`live`); during a call, each side is cut into
//! utterances as it is recorded (`segmenter`) and transcribed while the call goes
//! on.

pub mod audio;
pub mod chinese;
pub mod fetch;
pub mod live;
pub mod model;
pub mod recognizer;
pub mod segmenter;
pub mod service;

pub use service::SpeechService;

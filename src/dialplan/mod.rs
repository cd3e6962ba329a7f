//! Dialplans: admin-edited YAML call flows (`schema`), their validation (`load`),
//! business hours (`hours`), matching speech to intents (`intent`), the set in
//! force with atomic reload (`registry`), editing through the API with checks and
//! atomic saves (`edit`) and the history of saved texts (`history`), and the sans-IO
//! interpreter one call runs (`vm`).

pub mod edit;
pub mod flow;
pub mod history;
pub mod hours;
pub mod intent;
pub mod load;
pub mod registry;
pub mod say;
pub mod schema;
pub mod vm;

pub use load::{Diagnostic, Dialplan};

//! Django's observable behaviour, topic by topic, as a library a Rust service can use.
//!
//! Each module names the Django source it follows. Nothing here knows about HTTP servers or the
//! conformance harness: callers pass the clock (`now`, Unix seconds) and the [`Settings`].

pub mod cookies;
mod pyint;
pub mod pyjson;
pub mod pytext;
pub mod sessions;
pub mod settings;
pub mod signing;

pub use pytext::PyText;
pub use settings::{DjangoVersion, Settings};

//! The Django settings the reference implementation reads (see CONTRACT.md, "Settings profiles").

use serde_json::Value;

/// The settings that change observable behaviour, with the contract's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub secret_key: String,
    pub secret_key_fallbacks: Vec<String>,
    pub signed_cookie_legacy_salt_fallback: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    #[error("unsupported setting {0:?}: this app supports SECRET_KEY, SECRET_KEY_FALLBACKS, SIGNED_COOKIE_LEGACY_SALT_FALLBACK")]
    Unsupported(String),
    #[error("setting {name} must be {expected}")]
    WrongType { name: String, expected: &'static str },
    #[error("settings overrides must be a JSON object")]
    NotAnObject,
}

impl Default for Settings {
    fn default() -> Self {
        todo!()
    }
}

impl Settings {
    /// The defaults overridden by a JSON object of Django setting names (the `DJC_SETTINGS`
    /// environment variable of the contract).
    pub fn with_overrides(overrides: &Value) -> Result<Settings, SettingsError> {
        let _ = overrides;
        todo!()
    }

    /// The effective values, as `GET /__djc__/health` reports them.
    pub fn to_json(&self) -> Value {
        todo!()
    }
}

//! The Django settings the reference implementation reads (see CONTRACT.md, "Settings profiles").

use serde_json::{Map, Value};

/// The settings that change observable behaviour, with the contract's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub secret_key: String,
    pub secret_key_fallbacks: Vec<String>,
    pub signed_cookie_legacy_salt_fallback: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    #[error(
        "unsupported setting {0:?}: this app supports SECRET_KEY, SECRET_KEY_FALLBACKS, SIGNED_COOKIE_LEGACY_SALT_FALLBACK"
    )]
    Unsupported(String),
    #[error("setting {name} must be {expected}")]
    WrongType {
        name: String,
        expected: &'static str,
    },
    #[error("settings overrides must be a JSON object")]
    NotAnObject,
}

/// The contract's default `SECRET_KEY`.
pub const DEFAULT_SECRET_KEY: &str = "test-secret-key-for-catalog";

const SECRET_KEY: &str = "SECRET_KEY";
const SECRET_KEY_FALLBACKS: &str = "SECRET_KEY_FALLBACKS";
const LEGACY_SALT_FALLBACK: &str = "SIGNED_COOKIE_LEGACY_SALT_FALLBACK";

impl Default for Settings {
    fn default() -> Self {
        Settings {
            secret_key: DEFAULT_SECRET_KEY.to_owned(),
            secret_key_fallbacks: Vec::new(),
            // The 5.2.15+ default (6.1 flips it to false).
            signed_cookie_legacy_salt_fallback: true,
        }
    }
}

impl Settings {
    /// The defaults overridden by a JSON object of Django setting names (the `DJC_SETTINGS`
    /// environment variable of the contract).
    ///
    /// Keys are applied in the object's order; the first unsupported name or wrongly typed value
    /// is the error. An empty `SECRET_KEY` is accepted, as Django only complains when it is read.
    pub fn with_overrides(overrides: &Value) -> Result<Settings, SettingsError> {
        let object = overrides.as_object().ok_or(SettingsError::NotAnObject)?;
        let mut settings = Settings::default();
        for (name, value) in object {
            settings.apply(name, value)?;
        }
        Ok(settings)
    }

    fn apply(&mut self, name: &str, value: &Value) -> Result<(), SettingsError> {
        let wrong_type = |expected| SettingsError::WrongType {
            name: name.to_owned(),
            expected,
        };
        match name {
            SECRET_KEY => {
                let key = value.as_str().ok_or_else(|| wrong_type("a string"))?;
                self.secret_key = key.to_owned();
            }
            SECRET_KEY_FALLBACKS => {
                self.secret_key_fallbacks =
                    string_list(value).ok_or_else(|| wrong_type("a list of strings"))?;
            }
            LEGACY_SALT_FALLBACK => {
                self.signed_cookie_legacy_salt_fallback =
                    value.as_bool().ok_or_else(|| wrong_type("a boolean"))?;
            }
            _ => return Err(SettingsError::Unsupported(name.to_owned())),
        }
        Ok(())
    }

    /// The effective values, as `GET /__djc__/health` reports them.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert(SECRET_KEY.into(), Value::from(self.secret_key.clone()));
        object.insert(
            SECRET_KEY_FALLBACKS.into(),
            Value::from(self.secret_key_fallbacks.clone()),
        );
        object.insert(
            LEGACY_SALT_FALLBACK.into(),
            Value::from(self.signed_cookie_legacy_salt_fallback),
        );
        Value::Object(object)
    }
}

fn string_list(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_the_contract_profile() {
        let settings = Settings::default();
        assert_eq!(settings.secret_key, "test-secret-key-for-catalog");
        assert!(settings.secret_key_fallbacks.is_empty());
        assert!(settings.signed_cookie_legacy_salt_fallback);
    }

    #[test]
    fn empty_overrides_give_the_defaults() {
        assert_eq!(
            Settings::with_overrides(&json!({})).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn every_supported_setting_is_applied() {
        let settings = Settings::with_overrides(&json!({
            "SIGNED_COOKIE_LEGACY_SALT_FALLBACK": false,
            "SECRET_KEY": "new",
            "SECRET_KEY_FALLBACKS": ["old1", "old2"],
        }))
        .unwrap();
        assert_eq!(
            settings,
            Settings {
                secret_key: "new".into(),
                secret_key_fallbacks: vec!["old1".into(), "old2".into()],
                signed_cookie_legacy_salt_fallback: false,
            }
        );
    }

    #[test]
    fn unknown_settings_are_refused_by_name() {
        let err = Settings::with_overrides(&json!({"SECRET_KEY": "k", "DEBUG": true})).unwrap_err();
        assert_eq!(err, SettingsError::Unsupported("DEBUG".into()));
        assert!(err.to_string().contains("\"DEBUG\""));
    }

    #[test]
    fn wrongly_typed_values_are_refused() {
        let cases = [
            (json!({"SECRET_KEY": 1}), "SECRET_KEY", "a string"),
            (
                json!({"SECRET_KEY_FALLBACKS": "k"}),
                "SECRET_KEY_FALLBACKS",
                "a list of strings",
            ),
            (
                json!({"SECRET_KEY_FALLBACKS": ["k", 2]}),
                "SECRET_KEY_FALLBACKS",
                "a list of strings",
            ),
            (
                json!({"SIGNED_COOKIE_LEGACY_SALT_FALLBACK": "yes"}),
                "SIGNED_COOKIE_LEGACY_SALT_FALLBACK",
                "a boolean",
            ),
        ];
        for (overrides, name, expected) in cases {
            assert_eq!(
                Settings::with_overrides(&overrides).unwrap_err(),
                SettingsError::WrongType {
                    name: name.into(),
                    expected
                },
                "{overrides}"
            );
        }
    }

    #[test]
    fn overrides_must_be_an_object() {
        for value in [json!([]), json!(null), json!("SECRET_KEY")] {
            assert_eq!(
                Settings::with_overrides(&value).unwrap_err(),
                SettingsError::NotAnObject
            );
        }
    }

    #[test]
    fn to_json_lists_the_three_settings_in_contract_order() {
        let settings = Settings::with_overrides(&json!({"SECRET_KEY_FALLBACKS": ["a"]})).unwrap();
        assert_eq!(
            serde_json::to_string(&settings.to_json()).unwrap(),
            r#"{"SECRET_KEY":"test-secret-key-for-catalog","SECRET_KEY_FALLBACKS":["a"],"SIGNED_COOKIE_LEGACY_SALT_FALLBACK":true}"#
        );
    }
}

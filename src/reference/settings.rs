//! The Django settings the reference implementation reads (see CONTRACT.md, "Settings profiles").

use serde_json::{Map, Value};

use crate::reference::pytext::PyText;

/// The Django release whose behaviour the reference implements: a service picks the one it
/// shares traffic with. Where 5.2 and 6.1 differ (a default, a rule), the code follows this.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DjangoVersion {
    /// Django 5.2 LTS (5.2.19).
    #[default]
    V5_2,
    /// Django 6.1 (6.1.3).
    V6_1,
}

impl DjangoVersion {
    /// Every version, oldest first.
    pub const ALL: [DjangoVersion; 2] = [DjangoVersion::V5_2, DjangoVersion::V6_1];

    /// `5.2`, `6.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            DjangoVersion::V5_2 => "5.2",
            DjangoVersion::V6_1 => "6.1",
        }
    }

    /// The exact release whose behaviour is implemented: `5.2.19`, `6.1.3`.
    pub fn release(self) -> &'static str {
        match self {
            DjangoVersion::V5_2 => "5.2.19",
            DjangoVersion::V6_1 => "6.1.3",
        }
    }

    /// `5.2` or `6.1`, or a full release of either series (`5.2.19`).
    ///
    /// ```
    /// use django_conformance::reference::settings::DjangoVersion;
    /// assert_eq!(DjangoVersion::parse("6.1.3"), Some(DjangoVersion::V6_1));
    /// assert_eq!(DjangoVersion::parse("6.0"), None);
    /// ```
    pub fn parse(text: &str) -> Option<DjangoVersion> {
        DjangoVersion::ALL.into_iter().find(|version| {
            text == version.as_str()
                || text
                    .strip_prefix(version.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    }
}

impl std::fmt::Display for DjangoVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The settings that change observable behaviour, with the contract's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Which Django's rules apply (default 5.2); [`Settings::for_version`] takes its defaults.
    pub django_version: DjangoVersion,
    /// A `str` or `bytes` key, as Django takes either.
    pub secret_key: PyText,
    pub secret_key_fallbacks: Vec<PyText>,
    pub signed_cookie_legacy_salt_fallback: bool,
}

/// Why a settings profile cannot be applied.
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
    /// The contract's settings on Django 5.2.
    fn default() -> Self {
        Settings::for_version(DjangoVersion::default())
    }
}

impl Settings {
    /// The contract's settings with `version`'s defaults.
    pub fn for_version(version: DjangoVersion) -> Settings {
        Settings {
            django_version: version,
            secret_key: PyText::from(DEFAULT_SECRET_KEY),
            secret_key_fallbacks: Vec::new(),
            // True from 5.2.15 and 6.0.6; 6.1 turns the fallback off by default.
            signed_cookie_legacy_salt_fallback: version < DjangoVersion::V6_1,
        }
    }

    /// The defaults overridden by a JSON object of Django setting names (the `DJC_SETTINGS`
    /// environment variable of the contract).
    ///
    /// Keys are applied in the object's order; the first unsupported name or wrongly typed value
    /// is the error. An empty `SECRET_KEY` is accepted, as Django only complains when it is read.
    ///
    /// ```
    /// use django_conformance::reference::{PyText, Settings};
    /// let settings = Settings::with_overrides(&serde_json::json!({
    ///     "SECRET_KEY": {"bytes": "\u{e7}"},
    ///     "SECRET_KEY_FALLBACKS": ["old"],
    /// }))
    /// .unwrap();
    /// assert_eq!(settings.secret_key, PyText::Bytes(vec![0xe7]));
    /// assert!(Settings::with_overrides(&serde_json::json!({"DEBUG": true})).is_err());
    /// ```
    pub fn with_overrides(overrides: &Value) -> Result<Settings, SettingsError> {
        Settings::with_overrides_for(DjangoVersion::default(), overrides)
    }

    /// [`Settings::with_overrides`] on `version`'s defaults.
    ///
    /// ```
    /// use django_conformance::reference::Settings;
    /// use django_conformance::reference::settings::DjangoVersion;
    /// let settings = Settings::with_overrides_for(DjangoVersion::V6_1, &serde_json::json!({})).unwrap();
    /// assert!(!settings.signed_cookie_legacy_salt_fallback, "off by default in 6.1");
    /// ```
    pub fn with_overrides_for(
        version: DjangoVersion,
        overrides: &Value,
    ) -> Result<Settings, SettingsError> {
        let object = overrides.as_object().ok_or(SettingsError::NotAnObject)?;
        let mut settings = Settings::for_version(version);
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
                self.secret_key = text_of(value).ok_or_else(|| wrong_type(TEXT))?;
            }
            SECRET_KEY_FALLBACKS => {
                let keys = value.as_array().ok_or_else(|| wrong_type(TEXT_LIST))?;
                self.secret_key_fallbacks = keys
                    .iter()
                    .map(text_of)
                    .collect::<Option<_>>()
                    .ok_or_else(|| wrong_type(TEXT_LIST))?;
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
        object.insert(SECRET_KEY.into(), text_json(&self.secret_key));
        object.insert(
            SECRET_KEY_FALLBACKS.into(),
            self.secret_key_fallbacks.iter().map(text_json).collect(),
        );
        object.insert(
            LEGACY_SALT_FALLBACK.into(),
            Value::from(self.signed_cookie_legacy_salt_fallback),
        );
        Value::Object(object)
    }
}

const TEXT: &str = "a string or {\"bytes\": string}";
const TEXT_LIST: &str = "a list of strings or {\"bytes\": string}";

/// A `str` setting, or `bytes` in the contract's one JSON form for them: `{"bytes": s}` where
/// each character of `s`, U+0000 to U+00FF, is one byte.
pub fn text_of(value: &Value) -> Option<PyText> {
    match value {
        Value::String(text) => Some(PyText::from(text.as_str())),
        Value::Object(object) if object.len() == 1 => {
            let text = object.get("bytes")?.as_str()?;
            text.chars()
                .map(|c| u8::try_from(c).ok())
                .collect::<Option<Vec<u8>>>()
                .map(PyText::Bytes)
        }
        _ => None,
    }
}

/// A `str` as a JSON string, `bytes` as `{"bytes": s}`.
pub fn text_json(text: &PyText) -> Value {
    match text {
        PyText::Str(text) => Value::from(text.as_str()),
        PyText::Bytes(bytes) => {
            let latin1: String = bytes.iter().map(|&b| char::from(b)).collect();
            serde_json::json!({ "bytes": latin1 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_the_contract_profile() {
        let settings = Settings::default();
        assert_eq!(
            settings.secret_key,
            PyText::from("test-secret-key-for-catalog")
        );
        assert!(settings.secret_key_fallbacks.is_empty());
        assert!(settings.signed_cookie_legacy_salt_fallback);
    }

    #[test]
    fn each_version_has_its_own_legacy_salt_default() {
        assert!(Settings::for_version(DjangoVersion::V5_2).signed_cookie_legacy_salt_fallback);
        assert!(!Settings::for_version(DjangoVersion::V6_1).signed_cookie_legacy_salt_fallback);
        let turned_on = Settings::with_overrides_for(
            DjangoVersion::V6_1,
            &json!({"SIGNED_COOKIE_LEGACY_SALT_FALLBACK": true}),
        )
        .unwrap();
        assert!(turned_on.signed_cookie_legacy_salt_fallback);
        assert_eq!(turned_on.django_version, DjangoVersion::V6_1);
    }

    #[test]
    fn versions_parse_from_series_and_releases_only() {
        assert_eq!(DjangoVersion::parse("5.2"), Some(DjangoVersion::V5_2));
        assert_eq!(DjangoVersion::parse("5.2.19"), Some(DjangoVersion::V5_2));
        assert_eq!(DjangoVersion::parse("6.1"), Some(DjangoVersion::V6_1));
        for other in ["5.20", "6", "6.10.1", "", "5.2x"] {
            assert_eq!(DjangoVersion::parse(other), None, "{other}");
        }
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
                django_version: DjangoVersion::V5_2,
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
            (json!({"SECRET_KEY": 1}), "SECRET_KEY", TEXT),
            (
                json!({"SECRET_KEY": {"bytes": "\u{100}"}}),
                "SECRET_KEY",
                TEXT,
            ),
            (
                json!({"SECRET_KEY_FALLBACKS": "k"}),
                "SECRET_KEY_FALLBACKS",
                TEXT_LIST,
            ),
            (
                json!({"SECRET_KEY_FALLBACKS": ["k", 2]}),
                "SECRET_KEY_FALLBACKS",
                TEXT_LIST,
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

    #[test]
    fn keys_may_be_bytes_and_are_reported_as_given() {
        let overrides = json!({
            "SECRET_KEY": {"bytes": "\u{ff}k"},
            "SECRET_KEY_FALLBACKS": ["old", {"bytes": "\u{fe}"}],
        });
        let settings = Settings::with_overrides(&overrides).unwrap();
        assert_eq!(settings.secret_key, PyText::Bytes(b"\xffk".to_vec()));
        assert_eq!(settings.secret_key_fallbacks[1], PyText::Bytes(vec![0xfe]));
        let reported = settings.to_json();
        assert_eq!(reported["SECRET_KEY"], overrides["SECRET_KEY"]);
        assert_eq!(
            reported["SECRET_KEY_FALLBACKS"],
            overrides["SECRET_KEY_FALLBACKS"]
        );
    }
}

//! `django.contrib.sessions` (Django 5.2.19; 6.1.3 is the same here): the session key rules and
//! how a session's data is signed and read back, by the stores (`SessionBase.encode` and
//! `decode`) and by the signed-cookie engine, which keeps the data in the key itself. The
//! engines and the middleware build on these.

use serde_json::{Map, Value};

use crate::reference::Settings;
use crate::reference::signing::{self, SigningError};

/// `VALID_KEY_CHARS`: lower-case ASCII letters and digits, since some stores keep keys on
/// case-insensitive file systems. A new key is 32 of them (`get_random_string(32, …)`).
pub const VALID_KEY_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

/// The length of a key Django makes.
pub const SESSION_KEY_LENGTH: usize = 32;

/// The salt `SessionBase.encode` and `decode` sign with: `"django.contrib.sessions."` and the
/// store class's `__qualname__`, which is `SessionStore` in every engine Django ships.
pub const STORE_SALT: &str = "django.contrib.sessions.SessionStore";

/// The salt of the signed-cookie engine, whose key is the signed data.
pub const SIGNED_COOKIES_SALT: &str = "django.contrib.sessions.backends.signed_cookies";

/// `SessionBase._validate_session_key`: a key is used only when it has at least 8 characters;
/// a shorter one (or none) counts as no key. The characters themselves are not checked here:
/// each engine refuses what it cannot look up.
///
/// ```
/// use django_conformance::reference::sessions::is_valid_session_key;
/// assert!(is_valid_session_key("abcdefgh"));
/// assert!(!is_valid_session_key("abcdefg"));
/// assert!(is_valid_session_key("é-é-é-é-"), "characters, not bytes");
/// ```
pub fn is_valid_session_key(key: &str) -> bool {
    key.chars().count() >= 8
}

/// `SessionBase.encode(session_dict)`: `signing.dumps(session_dict, salt=STORE_SALT,
/// compress=True)` with the `SECRET_KEY`, at `now`. What the db, file and cache engines store.
pub fn encode(
    session: &Map<String, Value>,
    settings: &Settings,
    now: f64,
) -> Result<String, SigningError> {
    signing::dumps(
        &Value::Object(session.clone()),
        settings.secret_key.force_bytes(),
        STORE_SALT,
        true,
        now,
    )
}

/// What reading stored session data gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// The data, as JSON decoded it (Django keeps whatever it was, a dict or not).
    Data(Value),
    /// The signature did not match: Django logs "Session data corrupted" (logger
    /// `django.security.SuspiciousSession`, level warning) and the session is empty.
    Corrupted,
    /// Any other failure (a payload that is not base64, zlib or JSON): an empty session, silently.
    Unreadable,
}

impl Decoded {
    /// The session Django goes on with: the data, or an empty session.
    pub fn into_session(self) -> Value {
        match self {
            Decoded::Data(data) => data,
            Decoded::Corrupted | Decoded::Unreadable => Value::Object(Map::new()),
        }
    }
}

/// `SessionBase.decode(session_data)`: `signing.loads(session_data, salt=STORE_SALT)`, verified
/// with the `SECRET_KEY` and then each of `SECRET_KEY_FALLBACKS`, with no age limit.
pub fn decode(session_data: &str, settings: &Settings, now: f64) -> Decoded {
    let fallbacks: Vec<Vec<u8>> = settings
        .secret_key_fallbacks
        .iter()
        .map(|key| key.force_bytes().to_vec())
        .collect();
    match signing::loads(
        session_data,
        settings.secret_key.force_bytes(),
        &fallbacks,
        STORE_SALT,
        None,
        now,
    ) {
        Ok(data) => Decoded::Data(data),
        Err(error) if error.is_bad_signature() => Decoded::Corrupted,
        Err(_) => Decoded::Unreadable,
    }
}

#[cfg(test)]
mod tests {
    //! Vectors from Django 5.2.19 on CPython 3.11.2, `time.time` frozen at T, with the contract's
    //! `SECRET_KEY`: `SessionStore().encode(...)` of `django.contrib.sessions.backends.db`.
    use super::*;
    use serde_json::json;

    const T: f64 = 1_700_000_000.0;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("an object literal"),
        }
    }

    #[test]
    fn the_key_alphabet_is_lower_case_letters_and_digits() {
        assert_eq!(VALID_KEY_CHARS.len(), 36);
        assert!(
            VALID_KEY_CHARS
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        assert!(!is_valid_session_key(""));
    }

    #[test]
    fn encode_matches_django() {
        let settings = Settings::default();
        for (session, encoded) in [
            (json!({}), ENCODED_EMPTY),
            (json!({"a": 1}), ENCODED_A1),
            (
                json!({"k": "x".repeat(100), "é": [1, 2.5, null]}),
                ENCODED_LONG,
            ),
        ] {
            assert_eq!(encode(&object(session), &settings, T).unwrap(), encoded);
        }
    }

    #[test]
    fn decode_reads_what_django_wrote_and_empties_what_it_cannot() {
        let settings = Settings::default();
        assert_eq!(
            decode(ENCODED_LONG, &settings, T + 1e6),
            Decoded::Data(json!({"k": "x".repeat(100), "é": [1, 2.5, null]})),
            "no age limit"
        );
        let tampered = ENCODED_A1.replace("eyJh", "eyJi");
        assert_eq!(decode(&tampered, &settings, T), Decoded::Corrupted);
        assert_eq!(decode("no colon", &settings, T), Decoded::Corrupted);
        assert_eq!(Decoded::Corrupted.into_session(), json!({}));
        let rotated = Settings {
            secret_key: "new".into(),
            secret_key_fallbacks: vec![settings.secret_key.clone()],
            ..Settings::default()
        };
        assert_eq!(
            decode(ENCODED_A1, &rotated, T),
            Decoded::Data(json!({"a": 1})),
            "an old key in SECRET_KEY_FALLBACKS still reads"
        );
    }

    #[test]
    fn a_validly_signed_payload_that_cannot_be_read_is_an_empty_session_without_a_warning() {
        let settings = Settings::default();
        let signer = signing::TimestampSigner::new(signing::Signer {
            salt: Some(STORE_SALT.into()),
            ..signing::Signer::new(settings.secret_key.force_bytes())
        });
        let not_base64 = signer.sign("!!!", T).unwrap();
        assert_eq!(decode(&not_base64, &settings, T), Decoded::Unreadable);
        assert_eq!(Decoded::Unreadable.into_session(), json!({}));
    }

    const ENCODED_EMPTY: &str = "e30:1r31eq:rZyRchfNa6a21IkGMy_AV0HdcAwoVvaAAhjR1rA57aY";
    const ENCODED_A1: &str = "eyJhIjoxfQ:1r31eq:89M6yJCHqeuMin1Xjr3EcPqRlFnzmJVX0udw26NSpNQ";
    /// Compressed: the JSON is long enough for zlib to pay.
    const ENCODED_LONG: &str = ".eJyrVspWslKqoANQ0lGKKTUwSLVUsoo21DHSM9XJK83Jia0FALIENxA:1r31eq:\
                                k-d3swhw6UujjpActruZHivgiI4XQ5nA4WMZdjC2IZc";
}

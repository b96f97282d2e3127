//! `django/core/signing.py` and `django/utils/crypto.py::salted_hmac` (Django 5.2.19).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SigningError {
    /// `signing.BadSignature`; the text is Django's message.
    #[error("{0}")]
    BadSignature(String),
    /// `signing.SignatureExpired` (a `BadSignature` subclass in Django).
    #[error("{0}")]
    SignatureExpired(String),
    /// An algorithm name `hashlib` does not know (Django raises `ValueError`).
    #[error("unsupported hash algorithm {0:?}")]
    UnknownAlgorithm(String),
}

impl SigningError {
    /// Django's exception class name, as the contract reports it.
    pub fn class_name(&self) -> &'static str {
        todo!()
    }
}

/// `salted_hmac(key_salt, value, secret, algorithm=…)`: the raw digest.
pub fn salted_hmac(
    key_salt: &str,
    value: &str,
    secret: &str,
    algorithm: &str,
) -> Result<Vec<u8>, SigningError> {
    let _ = (key_salt, value, secret, algorithm);
    todo!()
}

pub fn b62_encode(n: i64) -> String {
    let _ = n;
    todo!()
}

pub fn b62_decode(s: &str) -> i64 {
    let _ = s;
    todo!()
}

/// `signing.Signer(key=…, sep=…, salt=…, algorithm=…, fallback_keys=…)`.
#[derive(Debug, Clone)]
pub struct Signer {
    pub key: String,
    pub fallback_keys: Vec<String>,
    pub sep: String,
    /// `None` means Django's default, `"<module>.<class name>"` of the signer.
    pub salt: Option<String>,
    pub algorithm: String,
}

impl Signer {
    /// A signer with Django's defaults for everything but the key.
    pub fn new(key: &str) -> Signer {
        let _ = key;
        todo!()
    }

    pub fn sign(&self, value: &str) -> Result<String, SigningError> {
        let _ = value;
        todo!()
    }

    pub fn unsign(&self, signed: &str) -> Result<String, SigningError> {
        let _ = signed;
        todo!()
    }
}

/// `signing.TimestampSigner`: `Signer` plus a base62 timestamp taken from `now`.
#[derive(Debug, Clone)]
pub struct TimestampSigner {
    pub signer: Signer,
}

impl TimestampSigner {
    pub fn new(signer: Signer) -> TimestampSigner {
        let _ = signer;
        todo!()
    }

    pub fn sign(&self, value: &str, now: f64) -> Result<String, SigningError> {
        let _ = (value, now);
        todo!()
    }

    /// `max_age` in seconds (`timedelta` callers pass `total_seconds()`).
    pub fn unsign(&self, signed: &str, max_age: Option<f64>, now: f64) -> Result<String, SigningError> {
        let _ = (signed, max_age, now);
        todo!()
    }
}

/// `signing.dumps(obj, key, salt, compress)`, signed with a `TimestampSigner` at `now`.
pub fn dumps(
    obj: &Value,
    key: &str,
    salt: &str,
    compress: bool,
    now: f64,
) -> Result<String, SigningError> {
    let _ = (obj, key, salt, compress, now);
    todo!()
}

/// `signing.loads(s, key, salt, max_age, fallback_keys)`.
pub fn loads(
    signed: &str,
    key: &str,
    fallback_keys: &[String],
    salt: &str,
    max_age: Option<f64>,
    now: f64,
) -> Result<Value, SigningError> {
    let _ = (signed, key, fallback_keys, salt, max_age, now);
    todo!()
}

/// `signing.get_cookie_signer(salt)`: key `"django.http.cookies" + SECRET_KEY`, the fallback keys
/// likewise prefixed, and the given salt as it is.
pub fn get_cookie_signer(settings: &crate::reference::Settings, salt: &str) -> TimestampSigner {
    let _ = (settings, salt);
    todo!()
}

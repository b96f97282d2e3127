//! `django/core/signing.py` and `django/utils/crypto.py::salted_hmac` (Django 5.2.19).
//!
//! Where Django reads settings (`key=None` means `SECRET_KEY`, `fallback_keys=None` means
//! `SECRET_KEY_FALLBACKS`), callers pass the values; [`Signer::from_settings`] does it for them.
//! Empty `salt` and `algorithm` fall back to Django's defaults exactly as Django's `or` does.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use hmac::{EagerHash, Hmac, KeyInit, Mac};
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

use crate::reference::Settings;
use crate::reference::pyint;
use crate::reference::pyjson::{self, LoadsError};
use crate::reference::pytext::PyText;

/// What `django.core.signing` raises, and where the Rust types cannot follow Python.
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
    /// `ValueError` from `Signer(sep=…)`: a separator that is empty or only `A-z0-9-_=`.
    #[error("Unsafe Signer separator: {0:?} (cannot be empty or consist of only A-z0-9-_=)")]
    UnsafeSeparator(String),
    /// Another exception Django lets escape from a validly signed but malformed value (a
    /// timestamp that is not base62, bad base64, zlib or JSON): Python's class name and message.
    #[error("{class}: {message}")]
    Malformed {
        class: &'static str,
        message: String,
    },
    /// Django returns a value that a [`Value`] cannot hold (see [`pyjson`]): a limit of this
    /// implementation, not a Django exception.
    #[error("not representable in the reference implementation: {0}")]
    Unrepresentable(String),
    /// [`loads_within`]: the payload decompresses to more than the caller's limit (in bytes).
    /// Django has no such limit.
    #[error("the payload decompresses to more than {0} bytes")]
    DecompressedTooLarge(usize),
    /// Python's `TypeError`: `bytes` where Django needs a `str` (a salt, a separator, a signed
    /// value) or the reverse; the text is Python's message.
    #[error("TypeError: {0}")]
    Type(String),
}

impl SigningError {
    /// Django's exception class name, as the contract reports it. `UnknownAlgorithm` is
    /// `InvalidAlgorithm` (`django.utils.crypto`, a `ValueError`); `Unrepresentable` and
    /// `DecompressedTooLarge` have no Django counterpart and are named as they are.
    pub fn class_name(&self) -> &'static str {
        match self {
            SigningError::BadSignature(_) => "BadSignature",
            SigningError::SignatureExpired(_) => "SignatureExpired",
            SigningError::UnknownAlgorithm(_) => "InvalidAlgorithm",
            SigningError::UnsafeSeparator(_) => "ValueError",
            SigningError::Malformed { class, .. } => class,
            SigningError::Unrepresentable(_) => "Unrepresentable",
            SigningError::DecompressedTooLarge(_) => "DecompressedTooLarge",
            SigningError::Type(_) => "TypeError",
        }
    }

    /// Whether Django's `except BadSignature` catches it (`SignatureExpired` included). Only
    /// these become `{"error": …}` in the contract or let `get_signed_cookie` return its default;
    /// every other error is a 500.
    pub fn is_bad_signature(&self) -> bool {
        matches!(
            self,
            SigningError::BadSignature(_) | SigningError::SignatureExpired(_)
        )
    }

    fn malformed(class: &'static str, message: impl Into<String>) -> SigningError {
        SigningError::Malformed {
            class,
            message: message.into(),
        }
    }
}

/// The `hashlib` constructors `salted_hmac` accepts by name (`getattr(hashlib, algorithm)`):
/// every fixed-size hash `hashlib` guarantees. `blake2b`/`blake2s` are their default 64 and
/// 32-byte digests.
pub const ALGORITHMS: [&str; 12] = [
    "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_224", "sha3_256", "sha3_384",
    "sha3_512", "blake2b", "blake2s",
];

/// `salted_hmac(key_salt, value, secret, algorithm=…)`: the raw digest. Each of `key_salt`,
/// `value` and `secret` is `force_bytes` of Django's argument ([`PyText::force_bytes`]); an
/// algorithm given as `bytes` is [`algorithm_name`]'s `TypeError`.
///
/// ```
/// use django_conformance::reference::signing::salted_hmac;
/// let digest = salted_hmac(b"a", b"v", b"k", "sha1").unwrap();
/// let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
/// assert_eq!(hex, "4523e0be1e0eacaaac0ccf83a50d83ce0888eebf");
/// ```
pub fn salted_hmac(
    key_salt: impl AsRef<[u8]>,
    value: impl AsRef<[u8]>,
    secret: impl AsRef<[u8]>,
    algorithm: &str,
) -> Result<Vec<u8>, SigningError> {
    // Django derives the HMAC key as H(key_salt + secret), always.
    let key_material = [key_salt.as_ref(), secret.as_ref()].concat();
    let message = value.as_ref();
    match algorithm {
        "md5" => Ok(derived_hmac::<md5::Md5>(&key_material, message)),
        "sha1" => Ok(derived_hmac::<Sha1>(&key_material, message)),
        "sha224" => Ok(derived_hmac::<Sha224>(&key_material, message)),
        "sha256" => Ok(derived_hmac::<Sha256>(&key_material, message)),
        "sha384" => Ok(derived_hmac::<Sha384>(&key_material, message)),
        "sha512" => Ok(derived_hmac::<Sha512>(&key_material, message)),
        "sha3_224" => Ok(derived_hmac::<sha3::Sha3_224>(&key_material, message)),
        "sha3_256" => Ok(derived_hmac::<sha3::Sha3_256>(&key_material, message)),
        "sha3_384" => Ok(derived_hmac::<sha3::Sha3_384>(&key_material, message)),
        "sha3_512" => Ok(derived_hmac::<sha3::Sha3_512>(&key_material, message)),
        "blake2b" => Ok(derived_simple_hmac::<blake2::Blake2b512>(
            &key_material,
            message,
        )),
        "blake2s" => Ok(derived_simple_hmac::<blake2::Blake2s256>(
            &key_material,
            message,
        )),
        _ => Err(SigningError::UnknownAlgorithm(algorithm.to_owned())),
    }
}

fn derived_hmac<D>(key_material: &[u8], message: &[u8]) -> Vec<u8>
where
    D: Digest + EagerHash,
    Hmac<D>: KeyInit + Mac,
{
    let key = D::digest(key_material);
    let mut mac = <Hmac<D> as KeyInit>::new_from_slice(&key).expect("HMAC accepts any key length");
    Mac::update(&mut mac, message);
    mac.finalize().into_bytes().to_vec()
}

/// As [`derived_hmac`], for hashes with a lazy block buffer (BLAKE2), which `Hmac` does not take.
fn derived_simple_hmac<D>(key_material: &[u8], message: &[u8]) -> Vec<u8>
where
    D: Digest + hmac::digest::block_api::BlockSizeUser + Clone,
{
    let key = D::digest(key_material);
    let mut mac = <hmac::SimpleHmac<D> as KeyInit>::new_from_slice(&key)
        .expect("HMAC accepts any key length");
    Mac::update(&mut mac, message);
    mac.finalize().into_bytes().to_vec()
}

/// The name `getattr(hashlib, algorithm)` looks up: `bytes` are its `TypeError`.
pub fn algorithm_name(algorithm: &PyText) -> Result<&str, SigningError> {
    algorithm
        .require_str("attribute name must be string, not 'bytes'")
        .map_err(SigningError::Type)
}

/// `base64_hmac(salt, value, key, algorithm)`: the salted HMAC as unpadded URL-safe base64.
/// (Django's own default algorithm for it is `sha1`; `Signer` passes `sha256`.)
///
/// ```
/// use django_conformance::reference::signing::base64_hmac;
/// assert_eq!(base64_hmac(b"a", b"v", b"k", "sha1").unwrap(), "RSPgvh4OrKqsDM-DpQ2DzgiI7r8");
/// ```
pub fn base64_hmac(
    salt: impl AsRef<[u8]>,
    value: impl AsRef<[u8]>,
    key: impl AsRef<[u8]>,
    algorithm: &str,
) -> Result<String, SigningError> {
    Ok(URL_SAFE_NO_PAD.encode(salted_hmac(salt, value, key, algorithm)?))
}

/// `constant_time_compare(val1, val2)`: `secrets.compare_digest` of `force_bytes` of each.
pub fn constant_time_compare(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// `b64_encode(s)`: URL-safe base64 without its `=` padding (bytes in, bytes out).
pub fn b64_encode(bytes: &[u8]) -> Vec<u8> {
    URL_SAFE_NO_PAD.encode(bytes).into_bytes()
}

const BASE62_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `b62_encode(s)`: `s` in base 62, `-` first when negative (Python's ints are unbounded; this
/// takes every `i128`).
///
/// ```
/// use django_conformance::reference::signing::{b62_decode, b62_encode};
/// assert_eq!(b62_encode(1620378259), "1lewPD");
/// assert_eq!(b62_decode("-1c"), -100);
/// ```
pub fn b62_encode(n: i128) -> String {
    pyint::int_to_radix(n, BASE62_ALPHABET)
}

/// `b62_decode(s)` of a Django argument: `bytes` are its `TypeError` (Python indexes them as
/// ints), an empty one included.
pub fn b62_decode_text(s: &PyText) -> Result<i128, SigningError> {
    match s {
        PyText::Str(text) => try_b62_decode(text),
        PyText::Bytes(bytes) if bytes.is_empty() => {
            Err(SigningError::malformed("IndexError", "index out of range"))
        }
        PyText::Bytes(_) => Err(SigningError::Type("must be str, not int".into())),
    }
}

/// `b62_decode`. Panics where Django raises (an empty string, a character outside the
/// alphabet) or where the result leaves `i128`; [`try_b62_decode`] reports those instead.
pub fn b62_decode(s: &str) -> i128 {
    try_b62_decode(s).unwrap_or_else(|err| panic!("b62_decode({s:?}): {err}"))
}

/// `b62_decode` with Django's exceptions as errors (`IndexError` for `""`, `ValueError` for a
/// character outside the alphabet) and [`SigningError::Unrepresentable`] beyond `i128`.
pub fn try_b62_decode(s: &str) -> Result<i128, SigningError> {
    let (negative, digits) = b62_digits(s)?;
    let beyond = || SigningError::Unrepresentable(format!("b62 {s:?} exceeds i128"));
    // Accumulating negatively reaches i128::MIN, which has no positive counterpart.
    let negated = digits.iter().try_fold(0i128, |acc, &d| {
        acc.checked_mul(62)?.checked_sub(i128::from(d))
    });
    match negated {
        Some(value) if negative => Ok(value),
        Some(value) => value.checked_neg().ok_or_else(beyond),
        None => Err(beyond()),
    }
}

/// The sign and digit values of a base62 string, as Django's `b62_decode` reads it: one
/// optional leading `-`, then alphabet characters (none at all is 0).
fn b62_digits(s: &str) -> Result<(bool, Vec<u8>), SigningError> {
    if s.is_empty() {
        return Err(SigningError::malformed(
            "IndexError",
            "string index out of range",
        ));
    }
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let digits = body
        .bytes()
        .map(|b| {
            BASE62_ALPHABET
                .iter()
                .position(|&a| a == b)
                .map(|p| p as u8)
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| SigningError::malformed("ValueError", "substring not found"))?;
    Ok((negative, digits))
}

/// `float(b62_decode(s))`, as `time.time() - timestamp` converts it. Exact up to i128; beyond
/// that (22+ digits) accumulated in floating point, which can differ from Python in the last bit.
fn b62_decode_as_float(s: &str) -> Result<f64, SigningError> {
    let (negative, digits) = b62_digits(s)?;
    let exact = digits.iter().try_fold(0i128, |acc, &d| {
        acc.checked_mul(62)?.checked_add(i128::from(d))
    });
    let magnitude = match exact {
        Some(n) => n as f64,
        None => digits.iter().fold(0.0, |acc, &d| acc * 62.0 + f64::from(d)),
    };
    if magnitude.is_infinite() {
        return Err(SigningError::malformed(
            "OverflowError",
            "int too large to convert to float",
        ));
    }
    Ok(if negative { -magnitude } else { magnitude })
}

const SIGNER_SALT: &str = "django.core.signing.Signer";
const TIMESTAMP_SIGNER_SALT: &str = "django.core.signing.TimestampSigner";

/// `signing.Signer(key=…, sep=…, salt=…, algorithm=…, fallback_keys=…)`.
///
/// Keys are `force_bytes` of Django's: a `str` key as UTF-8, a `bytes` key as it is. Where Django
/// reads settings (`key=None` or empty means `SECRET_KEY`, `fallback_keys=None` means
/// `SECRET_KEY_FALLBACKS`), the caller passes them: [`Signer::from_settings`] does.
///
/// ```
/// use django_conformance::reference::signing::Signer;
/// let signer = Signer::new(b"k");
/// let signed = signer.sign("v").unwrap();
/// assert_eq!(signed, "v:k4enFurzlQROEtUd-hRryEVuIseVMeDQ1XZiY5F3juM");
/// assert_eq!(signer.unsign(signed).unwrap(), "v");
/// // bytes are written as Python's str() writes them, and signed as they are.
/// let bytes = signer.sign(&b"v"[..]).unwrap();
/// assert_eq!(bytes, "b'v':k4enFurzlQROEtUd-hRryEVuIseVMeDQ1XZiY5F3juM");
/// ```
#[derive(Debug, Clone)]
pub struct Signer {
    pub key: Vec<u8>,
    /// An empty entry stands for `key`, as Django's `key or self.key` makes it.
    pub fallback_keys: Vec<Vec<u8>>,
    /// A `bytes` separator is Django's `TypeError` (its safety check is a `str` regex).
    pub sep: PyText,
    /// `None` or empty means Django's default, `"<module>.<class name>"` of the signer; a
    /// non-empty `bytes` salt is the `TypeError` of `salt + "signer"`.
    pub salt: Option<PyText>,
    /// Empty means `sha256`.
    pub algorithm: PyText,
}

impl Signer {
    /// A signer with Django's defaults for everything but the key (and no fallback keys: use
    /// [`Signer::from_settings`] for Django's `fallback_keys=None`).
    pub fn new(key: impl AsRef<[u8]>) -> Signer {
        Signer {
            key: key.as_ref().to_vec(),
            fallback_keys: Vec::new(),
            sep: PyText::from(":"),
            salt: None,
            algorithm: PyText::from("sha256"),
        }
    }

    /// `Signer()` with no arguments: `SECRET_KEY` and `SECRET_KEY_FALLBACKS`.
    pub fn from_settings(settings: &Settings) -> Signer {
        Signer {
            fallback_keys: settings
                .secret_key_fallbacks
                .iter()
                .map(|key| key.force_bytes().to_vec())
                .collect(),
            ..Signer::new(settings.secret_key.force_bytes())
        }
    }

    /// `sign(value)`: `"%s%s%s" % (value, sep, signature(value))`.
    pub fn sign(&self, value: impl Into<PyText>) -> Result<String, SigningError> {
        self.sign_as(&value.into(), SIGNER_SALT)
    }

    /// `unsign(signed_value)`.
    pub fn unsign(&self, signed: impl Into<PyText>) -> Result<String, SigningError> {
        self.unsign_as(&signed.into(), SIGNER_SALT)
    }

    /// `Signer.signature(value, key=…)`: `None` (or an empty key, as Django's `or` does) means
    /// the signer's own key.
    pub fn signature(
        &self,
        value: impl Into<PyText>,
        key: Option<&[u8]>,
    ) -> Result<String, SigningError> {
        self.signature_as(value.into().force_bytes(), key, SIGNER_SALT)
    }

    /// `sign_object(obj, compress=…)` with the JSON serializer.
    pub fn sign_object(&self, obj: &Value, compress: bool) -> Result<String, SigningError> {
        self.sign(PyText::Str(encode_object(obj, compress)))
    }

    /// `unsign_object(signed_obj)` with the JSON serializer.
    pub fn unsign_object(&self, signed: impl Into<PyText>) -> Result<Value, SigningError> {
        decode_object(&self.unsign(signed)?, None)
    }

    /// The separator, checked as `Signer.__init__` checks it. Its regex `^[A-z0-9-_=]*$` takes
    /// the range `A-z`, so `[\]^_` and backtick count as unsafe too, and `$` also matches before
    /// one trailing newline, so `"\n"` and `"a\n"` are unsafe as well.
    fn checked_sep(&self) -> Result<&str, SigningError> {
        let sep = self
            .sep
            .require_str("cannot use a string pattern on a bytes-like object")
            .map_err(SigningError::Type)?;
        let body = sep.strip_suffix('\n').unwrap_or(sep);
        let unsafe_sep = body
            .chars()
            .all(|c| matches!(c, 'A'..='z' | '0'..='9' | '-' | '='));
        if unsafe_sep {
            Err(SigningError::UnsafeSeparator(sep.to_owned()))
        } else {
            Ok(sep)
        }
    }

    /// `self.salt + "signer"`, with `self.salt = salt or default`.
    fn salted(&self, default_salt: &str) -> Result<String, SigningError> {
        let salt = match &self.salt {
            Some(salt) if !salt.is_empty() => salt
                .require_str("can't concat str to bytes")
                .map_err(SigningError::Type)?,
            _ => default_salt,
        };
        Ok(format!("{salt}signer"))
    }

    /// `algorithm or "sha256"`: an empty name of either type falls back before it is looked up.
    fn algorithm(&self) -> Result<&str, SigningError> {
        if self.algorithm.is_empty() {
            return Ok("sha256");
        }
        algorithm_name(&self.algorithm)
    }

    fn signature_as(
        &self,
        value: &[u8],
        key: Option<&[u8]>,
        default_salt: &str,
    ) -> Result<String, SigningError> {
        let key = key.filter(|k| !k.is_empty()).unwrap_or(&self.key);
        let salt = self.salted(default_salt)?;
        base64_hmac(salt.as_bytes(), value, key, self.algorithm()?)
    }

    fn sign_as(&self, value: &PyText, default_salt: &str) -> Result<String, SigningError> {
        let sep = self.checked_sep()?;
        let signature = self.signature_as(value.force_bytes(), None, default_salt)?;
        Ok(format!("{}{sep}{signature}", value.py_str()))
    }

    fn unsign_as(&self, signed: &PyText, default_salt: &str) -> Result<String, SigningError> {
        let sep = self.checked_sep()?;
        // `sep in signed_value` with a `bytes` signed value.
        let signed = signed
            .require_str("a bytes-like object is required, not 'str'")
            .map_err(SigningError::Type)?;
        let Some((value, sig)) = signed.rsplit_once(sep) else {
            return Err(SigningError::BadSignature(format!(
                "No \"{sep}\" found in value"
            )));
        };
        let keys = std::iter::once(&self.key).chain(&self.fallback_keys);
        for key in keys {
            let expected = self.signature_as(value.as_bytes(), Some(key), default_salt)?;
            if constant_time_compare(sig.as_bytes(), expected.as_bytes()) {
                return Ok(value.to_owned());
            }
        }
        Err(SigningError::BadSignature(format!(
            "Signature \"{sig}\" does not match"
        )))
    }
}

/// `signing.TimestampSigner`: `Signer` plus a base62 timestamp taken from `now`.
#[derive(Debug, Clone)]
pub struct TimestampSigner {
    pub signer: Signer,
}

impl TimestampSigner {
    /// `TimestampSigner(...)` with the arguments of `signer`.
    ///
    /// ```
    /// use django_conformance::reference::signing::{Signer, TimestampSigner};
    /// let signer = TimestampSigner::new(Signer::new("k"));
    /// let signed = signer.sign("v", 1_700_000_000.0).unwrap();
    /// assert!(signed.starts_with("v:1r31eq:"));
    /// assert_eq!(signer.unsign(signed.as_str(), Some(10.0), 1_700_000_010.0).unwrap(), "v");
    /// let late = signer.unsign(signed.as_str(), Some(10.0), 1_700_000_011.0);
    /// assert_eq!(late.unwrap_err().class_name(), "SignatureExpired");
    /// ```
    pub fn new(signer: Signer) -> TimestampSigner {
        TimestampSigner { signer }
    }

    /// `timestamp()`: `b62_encode(int(time.time()))` with `time.time()` = `now`.
    pub fn timestamp(&self, now: f64) -> Result<String, SigningError> {
        timestamp(now)
    }

    /// `TimestampSigner.sign(value)` with `time.time()` = `now`: `value:b62(int(now)):sig`. The
    /// value is made text first, so `bytes` round-trip as their `b'…'` form.
    pub fn sign(&self, value: impl Into<PyText>, now: f64) -> Result<String, SigningError> {
        let sep = self.signer.checked_sep()?;
        let timestamp = timestamp(now)?;
        let value = PyText::Str(format!("{}{sep}{timestamp}", value.into().py_str()));
        self.signer.sign_as(&value, TIMESTAMP_SIGNER_SALT)
    }

    /// `max_age` in seconds (`timedelta` callers pass `total_seconds()`). Expired means
    /// `now - timestamp > max_age`, so an age equal to `max_age` is still valid.
    pub fn unsign(
        &self,
        signed: impl Into<PyText>,
        max_age: Option<f64>,
        now: f64,
    ) -> Result<String, SigningError> {
        let result = self
            .signer
            .unsign_as(&signed.into(), TIMESTAMP_SIGNER_SALT)?;
        let sep = self.signer.checked_sep()?;
        let Some((value, timestamp)) = result.rsplit_once(sep) else {
            // `value, timestamp = result.rsplit(sep, 1)` on a value signed without a timestamp.
            return Err(SigningError::malformed(
                "ValueError",
                "not enough values to unpack (expected 2, got 1)",
            ));
        };
        let timestamp = b62_decode_as_float(timestamp)?;
        if let Some(max_age) = max_age {
            let age = now - timestamp;
            if age > max_age {
                return Err(SigningError::SignatureExpired(format!(
                    "Signature age {} > {} seconds",
                    pyjson::float_repr(age),
                    number_text(max_age)
                )));
            }
        }
        Ok(value.to_owned())
    }

    /// `sign_object(obj, compress=…)` with the JSON serializer, at `now`.
    pub fn sign_object(
        &self,
        obj: &Value,
        compress: bool,
        now: f64,
    ) -> Result<String, SigningError> {
        self.sign(PyText::Str(encode_object(obj, compress)), now)
    }

    /// `unsign_object(signed_obj, max_age=…)` with the JSON serializer.
    pub fn unsign_object(
        &self,
        signed: impl Into<PyText>,
        max_age: Option<f64>,
        now: f64,
    ) -> Result<Value, SigningError> {
        decode_object(&self.unsign(signed, max_age, now)?, None)
    }
}

/// `b62_encode(int(time.time()))`: truncation toward zero, any magnitude.
fn timestamp(now: f64) -> Result<String, SigningError> {
    pyint::trunc_to_radix(now, BASE62_ALPHABET)
        .ok_or_else(|| SigningError::malformed("ValueError", "cannot convert float to integer"))
}

/// A number in a message as Python prints it, assuming integral values were ints (the usual
/// `max_age=10`; a `timedelta` would print `10.0`).
fn number_text(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e16 {
        format!("{}", value as i64)
    } else {
        pyjson::float_repr(value)
    }
}

/// `signing.dumps(obj, key=…, salt=…, compress=…)`: `TimestampSigner(key=key,
/// salt=salt).sign_object(obj, compress=compress)` at `now`. `key` is `force_bytes` of the key
/// (the caller passes `SECRET_KEY` where Django's `key` is `None` or empty); an empty `salt` is
/// the class default, `django.core.signing.TimestampSigner`, as Django's `or` makes it.
///
/// ```
/// use django_conformance::reference::signing::{dumps, loads};
/// use serde_json::json;
/// let signed = dumps(&json!("v"), "k", "django.core.signing", false, 1_700_000_000.0).unwrap();
/// assert_eq!(signed, "InYi:1r31eq:WWlzTpqo7AeQmU729sJ6KLjFqEaNxDy2EFOwMmQuMnM");
/// let back = loads(signed, "k", &[], "django.core.signing", None, 1_700_000_000.0);
/// assert_eq!(back, Ok(json!("v")));
/// ```
pub fn dumps(
    obj: &Value,
    key: impl AsRef<[u8]>,
    salt: impl Into<PyText>,
    compress: bool,
    now: f64,
) -> Result<String, SigningError> {
    let signer = TimestampSigner::new(Signer {
        salt: Some(salt.into()),
        ..Signer::new(key)
    });
    signer.sign_object(obj, compress, now)
}

/// The payload `sign_object` signs: base64 of the compact JSON, or `.` + base64 of its zlib
/// compression when that is at least two bytes shorter.
fn encode_object(obj: &Value, compress: bool) -> String {
    // ensure_ascii output, so the latin-1 encoding Django applies is the identity.
    let data = pyjson::dumps_compact(obj).into_bytes();
    if compress {
        let compressed = zlib_compress(&data);
        if compressed.len() + 1 < data.len() {
            return format!(".{}", URL_SAFE_NO_PAD.encode(compressed));
        }
    }
    URL_SAFE_NO_PAD.encode(data)
}

/// `zlib.compress(data)`: level 6, 15-bit window, memLevel 8, one `Z_FINISH` call, through the
/// system zlib CPython also links (other deflate implementations emit different bytes).
fn zlib_compress(data: &[u8]) -> Vec<u8> {
    let mut compressor = Compress::new(Compression::new(6), true);
    let mut out = Vec::with_capacity(data.len() + data.len() / 1000 + 64);
    loop {
        let consumed = compressor.total_in() as usize;
        let status = compressor
            .compress_vec(&data[consumed..], &mut out, FlushCompress::Finish)
            .expect("deflate on memory cannot fail");
        if status == Status::StreamEnd {
            return out;
        }
        out.reserve(out.capacity().max(64));
    }
}

/// `zlib.decompress(data)`: a complete zlib stream; bytes after its end are ignored. With
/// `limit`, output beyond that many bytes is refused rather than produced.
fn zlib_decompress(data: &[u8], limit: Option<usize>) -> Result<Vec<u8>, SigningError> {
    let mut decompressor = Decompress::new(true);
    let mut out = Vec::with_capacity((data.len() * 4 + 64).min(limit.unwrap_or(usize::MAX)));
    loop {
        if let Some(limit) = limit
            && out.len() > limit
        {
            return Err(SigningError::DecompressedTooLarge(limit));
        }
        let consumed = decompressor.total_in() as usize;
        let before = (consumed, decompressor.total_out());
        let status = decompressor
            .decompress_vec(&data[consumed..], &mut out, FlushDecompress::None)
            .map_err(|err| {
                SigningError::malformed(
                    "zlib.error",
                    format!("Error -3 while decompressing data: {err}"),
                )
            })?;
        if status == Status::StreamEnd {
            return Ok(out);
        }
        let progressed = before != (decompressor.total_in() as usize, decompressor.total_out());
        if !progressed && out.len() < out.capacity() {
            return Err(SigningError::malformed(
                "zlib.error",
                "Error -5 while decompressing data: incomplete or truncated stream",
            ));
        }
        if out.len() == out.capacity() {
            // One byte past the limit is enough to know it is exceeded.
            let room = limit.map_or(usize::MAX, |limit| limit + 1 - out.len().min(limit));
            out.reserve(out.capacity().min(room).max(1));
        }
    }
}

/// `base64.urlsafe_b64decode(s + padding)` as Django's `b64_decode` calls it: CPython's lenient
/// `binascii.a2b_base64`, which skips characters outside the alphabet (both the URL-safe and
/// the standard `+/` count), stops at complete padding, and fails on a dangling quad.
pub fn b64_decode(input: &[u8]) -> Result<Vec<u8>, SigningError> {
    let padding = (4 - input.len() % 4) % 4;
    let padded = input
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'=', padding));
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let (mut quad_pos, mut pads, mut left) = (0u8, 0u8, 0u8);
    for byte in padded {
        if byte == b'=' {
            // Padding only counts after two data characters of a quad; enough of it ends input.
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    return Ok(out);
                }
            }
            continue;
        }
        let Some(sextet) = b64_sextet(byte) else {
            continue;
        };
        pads = 0;
        // The same state machine as binascii.c, so leftover bits are dropped the same way.
        match quad_pos {
            0 => left = sextet,
            1 => {
                out.push((left << 2) | (sextet >> 4));
                left = sextet & 0x0F;
            }
            2 => {
                out.push((left << 4) | (sextet >> 2));
                left = sextet & 0x03;
            }
            _ => {
                out.push((left << 6) | sextet);
                left = 0;
            }
        }
        quad_pos = (quad_pos + 1) % 4;
    }
    match quad_pos {
        0 => Ok(out),
        1 => Err(SigningError::malformed(
            "binascii.Error",
            format!(
                "Invalid base64-encoded string: number of data characters ({}) cannot be 1 more than a multiple of 4",
                out.len() / 3 * 4 + 1
            ),
        )),
        _ => Err(SigningError::malformed(
            "binascii.Error",
            "Incorrect padding",
        )),
    }
}

fn b64_sextet(byte: u8) -> Option<u8> {
    let value = match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    };
    Some(value)
}

/// `unsign_object`'s decoding of an unsigned payload: `.` means zlib, then base64, then
/// `json.loads` of the latin-1 text.
fn decode_object(payload: &str, limit: Option<usize>) -> Result<Value, SigningError> {
    let bytes = payload.as_bytes();
    let (compressed, encoded) = match bytes.strip_prefix(b".") {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    let mut data = b64_decode(encoded)?;
    if compressed {
        data = zlib_decompress(&data, limit)?;
    }
    let text: String = data.iter().map(|&b| char::from(b)).collect();
    pyjson::loads(&text).map_err(|err| match err {
        LoadsError::Invalid { message, position } => {
            SigningError::malformed("JSONDecodeError", format!("{message}: char {position}"))
        }
        LoadsError::Unrepresentable(what) => SigningError::Unrepresentable(what.to_owned()),
    })
}

/// `signing.loads(s, key=…, salt=…, max_age=…, fallback_keys=…)`. Like Django, it decompresses
/// whatever a validly signed value holds: a few hundred kilobytes can become gigabytes. Where the
/// signed value comes from outside (a cookie), use [`loads_within`].
pub fn loads(
    signed: impl Into<PyText>,
    key: impl AsRef<[u8]>,
    fallback_keys: &[Vec<u8>],
    salt: impl Into<PyText>,
    max_age: Option<f64>,
    now: f64,
) -> Result<Value, SigningError> {
    let (signed, salt) = (signed.into(), salt.into());
    loads_limited(
        &signed,
        key.as_ref(),
        fallback_keys,
        &salt,
        max_age,
        now,
        None,
    )
}

/// [`loads`], refusing a compressed payload that decompresses to more than `max_decompressed`
/// bytes ([`SigningError::DecompressedTooLarge`]) before it takes that memory.
pub fn loads_within(
    signed: impl Into<PyText>,
    key: impl AsRef<[u8]>,
    fallback_keys: &[Vec<u8>],
    salt: impl Into<PyText>,
    max_age: Option<f64>,
    now: f64,
    max_decompressed: usize,
) -> Result<Value, SigningError> {
    loads_limited(
        &signed.into(),
        key.as_ref(),
        fallback_keys,
        &salt.into(),
        max_age,
        now,
        Some(max_decompressed),
    )
}

fn loads_limited(
    signed: &PyText,
    key: &[u8],
    fallback_keys: &[Vec<u8>],
    salt: &PyText,
    max_age: Option<f64>,
    now: f64,
    limit: Option<usize>,
) -> Result<Value, SigningError> {
    let signer = TimestampSigner::new(Signer {
        fallback_keys: fallback_keys.to_vec(),
        salt: Some(salt.clone()),
        ..Signer::new(key)
    });
    decode_object(&signer.unsign(signed, max_age, now)?, limit)
}

/// `signing.get_cookie_signer(salt)`: key `b"django.http.cookies" + force_bytes(SECRET_KEY)`, the
/// fallback keys likewise prefixed, and the given salt as it is.
pub fn get_cookie_signer(
    settings: &crate::reference::Settings,
    salt: impl Into<PyText>,
) -> TimestampSigner {
    let cookie_key = |key: &PyText| [&b"django.http.cookies"[..], key.force_bytes()].concat();
    TimestampSigner::new(Signer {
        fallback_keys: settings
            .secret_key_fallbacks
            .iter()
            .map(cookie_key)
            .collect(),
        salt: Some(salt.into()),
        ..Signer::new(cookie_key(&settings.secret_key))
    })
}

/// `_cookie_signer_salt`: `f"django.http.cookies.v2:{len(salt)}:{salt}{cookie_name}"`. The
/// prefix keeps (name, salt) pairs from colliding; `bytes` are written as `b'…'`, their length
/// in bytes.
pub fn cookie_signer_salt(cookie_name: impl Into<PyText>, salt: impl Into<PyText>) -> PyText {
    let (cookie_name, salt) = (cookie_name.into(), salt.into());
    PyText::Str(format!(
        "django.http.cookies.v2:{}:{}{}",
        salt.len(),
        salt.py_str(),
        cookie_name.py_str()
    ))
}

/// `_cookie_signer_legacy_salt`: the pre-5.2.15 `cookie_name + salt` (`bytes` with `bytes`
/// concatenate; `str` with `bytes` is a `TypeError`).
pub fn cookie_signer_legacy_salt(
    cookie_name: impl Into<PyText>,
    salt: impl Into<PyText>,
) -> Result<PyText, SigningError> {
    match (cookie_name.into(), salt.into()) {
        (PyText::Str(name), PyText::Str(salt)) => Ok(PyText::Str(format!("{name}{salt}"))),
        (PyText::Bytes(name), PyText::Bytes(salt)) => {
            Ok(PyText::Bytes([name.as_slice(), &salt].concat()))
        }
        (PyText::Str(_), PyText::Bytes(_)) => Err(SigningError::Type(
            "can only concatenate str (not \"bytes\") to str".into(),
        )),
        (PyText::Bytes(_), PyText::Str(_)) => {
            Err(SigningError::Type("can't concat str to bytes".into()))
        }
    }
}

/// `_unsign_cookie`: the v2 salt, then, when `SIGNED_COOKIE_LEGACY_SALT_FALLBACK` is on and the
/// failure was a `BadSignature` other than expiry, the legacy salt (whose error then wins).
pub fn unsign_cookie(
    settings: &Settings,
    signed: impl Into<PyText>,
    cookie_name: impl Into<PyText>,
    salt: impl Into<PyText>,
    max_age: Option<f64>,
    now: f64,
) -> Result<String, SigningError> {
    let (signed, cookie_name, salt) = (signed.into(), cookie_name.into(), salt.into());
    let v2 = get_cookie_signer(settings, cookie_signer_salt(&cookie_name, &salt));
    match v2.unsign(&signed, max_age, now) {
        Err(SigningError::BadSignature(_)) if settings.signed_cookie_legacy_salt_fallback => {
            let legacy = cookie_signer_legacy_salt(&cookie_name, &salt)?;
            get_cookie_signer(settings, legacy).unsign(&signed, max_age, now)
        }
        result => result,
    }
}

#[cfg(test)]
mod tests {
    //! Vectors from Django 5.2.19 on CPython 3.11.7 with `time.time` frozen (unittest.mock).
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const SECRET: &str = "test-secret-key-for-catalog";
    const T: f64 = 1_700_000_000.0;

    fn signer(key: &str) -> Signer {
        Signer::new(key)
    }

    fn timestamp_signer(key: &str) -> TimestampSigner {
        TimestampSigner::new(Signer::new(key))
    }

    /// `Signer(key=SECRET, salt="django.core.signing.TimestampSigner").sign(value)`: a value
    /// validly signed for a `TimestampSigner` whatever its timestamp part looks like.
    fn sign_for_timestamp_signer(value: &str) -> String {
        Signer {
            salt: Some(TIMESTAMP_SIGNER_SALT.into()),
            ..signer(SECRET)
        }
        .sign(value)
        .unwrap()
    }

    /// A payload validly signed for `signing.loads` (default salt) at `T`.
    fn signed_payload(payload: &str) -> String {
        Signer {
            salt: Some("django.core.signing".into()),
            ..signer(SECRET)
        }
        .sign(format!("{payload}:1r31eq"))
        .unwrap()
    }

    #[test]
    fn salted_hmac_every_algorithm() {
        // salted_hmac("ks", "v", secret=SECRET, algorithm=alg).hexdigest()
        let cases = [
            ("sha1", "4adf34d0637eec229e97a95f70511914fc9296e3"),
            (
                "sha224",
                "747189b3aec47434454ea5516ddaeef1befc1f699032a5b1a032e6bc",
            ),
            (
                "sha256",
                "1ab8f2d38d8d92c178087f848ea347f526cc258ce3ed65e8a1b998b1b2610431",
            ),
            (
                "sha384",
                "64611891b8222028a8f90cb8354370495a9ace0bb7c63a8b214f4f8a77de00633d0697e74a8cedfe3cf1c62baad2149f",
            ),
            (
                "sha512",
                "99f6556eb8d8ea4dbcb91f88d25ea134d6dff835b78a7c05681f00d997dc0154fe3d368607e66ca752edbb4a9955f39d48f84f12c2a00703f73f92fc4aca6fa7",
            ),
        ];
        for (algorithm, expected) in cases {
            let digest = salted_hmac("ks", "v", SECRET, algorithm).unwrap();
            assert_eq!(hex(&digest), expected, "{algorithm}");
        }
        // salted_hmac("django.contrib.sessions", "value").hexdigest() (sha1, SECRET_KEY)
        assert_eq!(
            hex(&salted_hmac("django.contrib.sessions", "value", SECRET, "sha1").unwrap()),
            "b72576b74ed5af46205d00ff7b102e95401897a9"
        );
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn every_hashlib_algorithm_matches_django() {
        // `salted_hmac("salt", "value", secret="secret", algorithm=…).hexdigest()` in Django 5.2.19.
        let cases = [
            ("md5", "94d99eb4c58dd561afb508fa651ad83d"),
            (
                "sha3_224",
                "441890d8bbfc0a77a1743c933ac5277bf5562692caf2f4ab0f4e92d1",
            ),
            (
                "sha3_256",
                "d128fc8172c05e37a2ab178e742fc40fb62c53fb3053622a415c786281888620",
            ),
            (
                "sha3_384",
                "b33e7af697cd2ed048e599893c8269c23a21c11a4e4a6cd6e7c392e9a72faf8b69244e169d27f8ff5d7f57735df624e8",
            ),
            (
                "sha3_512",
                "0a07af39729402553cc24b0c1b30c3c016e89ea1b1127d58b8958dc82aa34d0ffeaa02cd4ad6341b65b7f1518e43ad66da080ed46beeab2d4a6ea7462eb54919",
            ),
            (
                "blake2b",
                "73e544c3cb6e49cf6e04bd6559377877c1244024203b0835513fc608addc021a715e92564c7c39f6be99f9536b353822b982411265a45026fce5860a7a125ddd",
            ),
            (
                "blake2s",
                "02311f75965f0ca32a8024783c7b6564ca1978099de4b3c0ccb14f2c1696c952",
            ),
        ];
        for (algorithm, expected) in cases {
            assert_eq!(
                hex(&salted_hmac("salt", "value", "secret", algorithm).unwrap()),
                expected,
                "{algorithm}"
            );
        }
    }

    #[test]
    fn unknown_algorithms_are_invalid_algorithm() {
        for name in ["whatever", "", "SHA256", "shake_128"] {
            let err = salted_hmac("a", "b", "c", name).unwrap_err();
            assert_eq!(err, SigningError::UnknownAlgorithm(name.into()));
            assert_eq!(err.class_name(), "InvalidAlgorithm");
            assert!(!err.is_bad_signature());
        }
    }

    #[test]
    fn b62_vectors() {
        let cases = [
            (0, "0"),
            (1, "1"),
            (61, "z"),
            (62, "10"),
            (-62, "-10"),
            (1_700_000_000, "1r31eq"),
            (i64::MAX.into(), "AzL8n0Y58m7"),
            (i64::MIN.into(), "-AzL8n0Y58m8"),
            (u64::MAX.into(), "LygHa16AHYF"),
            // From Django: b62_encode(2**127 - 1) and b62_encode(-2**127).
            (i128::MAX, "3tX16dB2jpss4tZORYcqo3"),
            (i128::MIN, "-3tX16dB2jpss4tZORYcqo4"),
        ];
        for (n, text) in cases {
            assert_eq!(b62_encode(n), text);
            assert_eq!(b62_decode(text), n);
        }
        // Django's b62_decode accepts a lone "-" as 0 and leading zeros.
        assert_eq!(b62_decode("-"), 0);
        assert_eq!(b62_decode("007"), 7);
    }

    #[test]
    fn b62_decode_errors_are_django_exceptions() {
        let class = |s: &str| try_b62_decode(s).unwrap_err().class_name();
        assert_eq!(class(""), "IndexError");
        assert_eq!(class("!"), "ValueError");
        assert_eq!(class("--1"), "ValueError");
        assert_eq!(class("3tX16dB2jpss4tZORYcqo4"), "Unrepresentable");
        assert_eq!(class(&"z".repeat(22)), "Unrepresentable");
    }

    #[test]
    #[should_panic(expected = "b62_decode")]
    fn b62_decode_panics_where_django_raises() {
        b62_decode("not base62!");
    }

    #[test]
    fn signer_vectors() {
        assert_eq!(
            signer(SECRET).sign("hello").unwrap(),
            "hello:ZmU0fXP_Dr2jllPy7kzhsYhOGVqiOFFW3tt0kaBAE_g"
        );
        let salted = Signer {
            salt: Some("salt".into()),
            ..signer("k")
        };
        assert_eq!(
            salted.sign("value").unwrap(),
            "value:Tc5SRN2CIAyTnWgieVMSfvIwslq1c1wkjorcaGRgdEI"
        );
        assert_eq!(
            signer(SECRET).sign("héllo € 😀").unwrap(),
            "héllo € 😀:WuGpAAt1lyp1kbufneo1KM1Htm65Suca5Q8eBGCEzVY"
        );
    }

    #[test]
    fn empty_salt_and_algorithm_mean_the_defaults() {
        let default = signer(SECRET).sign("hello").unwrap();
        let empty = Signer {
            salt: Some(PyText::from("")),
            algorithm: PyText::from(""),
            ..signer(SECRET)
        };
        assert_eq!(empty.sign("hello").unwrap(), default);
    }

    #[test]
    fn signer_algorithms() {
        let cases = [
            ("sha1", "hello:jsNYDwCppqR-Uh2DLTpadnKPoxA"),
            ("sha224", "hello:mXtXzYpQKauVp8rmqr-rDtiODg6cIG2wS4-Gpw"),
            (
                "sha384",
                "hello:9QnaaCVLBnX61lQnEC2TzlYSz88brh2ku4XTS94Mg36WQcjlST41Xa2mKlMT13ej",
            ),
            (
                "sha512",
                "hello:mwAN1miYS8O10TtXlrl_GfMl22u1ho66aKVFODS8TjE472nHT9za6lTIzSaq2cteTKqBUKbp5B8izVML5yHl-A",
            ),
        ];
        for (algorithm, expected) in cases {
            let s = Signer {
                algorithm: algorithm.into(),
                ..signer(SECRET)
            };
            assert_eq!(s.sign("hello").unwrap(), expected);
            assert_eq!(s.unsign(expected).unwrap(), "hello");
        }
    }

    #[test]
    fn safe_separators_sign_like_django() {
        let signature = "b8bSz84-21akEdGh3IQqS2rVWrg65oJH4Pmwdp-kWJA";
        for sep in ["/", "::", "é", "a:", "\n:", ".", "!"] {
            let s = Signer {
                sep: sep.into(),
                ..signer(SECRET)
            };
            let signed = s.sign("v").unwrap();
            assert_eq!(signed, format!("v{sep}{signature}"));
            assert_eq!(s.unsign(&signed).unwrap(), "v");
        }
    }

    #[test]
    fn unsafe_separators_are_value_errors() {
        // Each raises ValueError in Signer.__init__ (the regex's A-z range and `$` before "\n").
        for sep in [
            "", "a", "-", "=", "_", "[", "\\", "^", "`", "z", "9", "\n", "a\n", "abc", "A-z",
        ] {
            let s = Signer {
                sep: sep.into(),
                ..signer(SECRET)
            };
            let err = s.sign("v").unwrap_err();
            assert_eq!(err, SigningError::UnsafeSeparator(sep.into()));
            assert_eq!(err.class_name(), "ValueError");
            assert!(matches!(
                s.unsign("v:x"),
                Err(SigningError::UnsafeSeparator(_))
            ));
            assert!(matches!(
                TimestampSigner::new(s).sign("v", T),
                Err(SigningError::UnsafeSeparator(_))
            ));
        }
    }

    #[test]
    fn unsign_failures_carry_django_messages() {
        assert_eq!(
            signer(SECRET).unsign("hello").unwrap_err(),
            SigningError::BadSignature("No \":\" found in value".into())
        );
        let slash = Signer {
            sep: "/".into(),
            ..signer(SECRET)
        };
        assert_eq!(
            slash.unsign("hello:x").unwrap_err(),
            SigningError::BadSignature("No \"/\" found in value".into())
        );
        assert_eq!(
            timestamp_signer(SECRET)
                .unsign("hello:1r31eq:bad", None, T)
                .unwrap_err(),
            SigningError::BadSignature("Signature \"bad\" does not match".into())
        );
        let err = signer("new")
            .unsign(signer("old").sign("v").unwrap())
            .unwrap_err();
        assert_eq!(
            err,
            SigningError::BadSignature(
                "Signature \"HGvBMRY14Ikf5V0I1VH6H95oz3brD37xm2wJve5aJbU\" does not match".into()
            )
        );
        assert_eq!(err.class_name(), "BadSignature");
        assert!(err.is_bad_signature());
    }

    #[test]
    fn fallback_keys_verify_but_never_sign() {
        let rotated = Signer {
            fallback_keys: vec!["old".into()],
            ..signer("new")
        };
        let old_signed = signer("old").sign("v").unwrap();
        assert_eq!(rotated.unsign(&old_signed).unwrap(), "v");
        assert_eq!(rotated.sign("v").unwrap(), signer("new").sign("v").unwrap());
        // An empty fallback key means the signer's own key (`key or self.key`).
        let empty_fallback = Signer {
            fallback_keys: vec![Vec::new()],
            ..signer("new")
        };
        assert!(empty_fallback.unsign(&old_signed).is_err());
        assert_eq!(
            empty_fallback.signature("v", Some(&b""[..])).unwrap(),
            signer("new").signature("v", None).unwrap()
        );
    }

    #[test]
    fn from_settings_uses_secret_key_and_fallbacks() {
        let settings = Settings {
            secret_key: "new".into(),
            secret_key_fallbacks: vec!["old".into()],
            ..Settings::default()
        };
        let s = Signer::from_settings(&settings);
        assert_eq!(s.unsign(signer("old").sign("v").unwrap()).unwrap(), "v");
        assert_eq!(s.sign("v").unwrap(), signer("new").sign("v").unwrap());
    }

    #[test]
    fn timestamp_signer_vectors() {
        assert_eq!(
            timestamp_signer(SECRET).sign("hello", T).unwrap(),
            "hello:1r31eq:Ek7QDpZVPKJETllOKwNQcfQl1X7VqwXtWUZkCkNwlZc"
        );
        let salted = TimestampSigner::new(Signer {
            salt: Some("s".into()),
            ..signer(SECRET)
        });
        assert_eq!(
            salted.sign("hello", T).unwrap(),
            "hello:1r31eq:YtpMhXvwNWYplU3rXwCyk1MkftlKczEw_gyWGvw8HM8"
        );
    }

    #[test]
    fn timestamps_truncate_toward_zero_at_any_size() {
        let ts = timestamp_signer(SECRET);
        assert_eq!(
            ts.sign("x", T + 0.9).unwrap(),
            "x:1r31eq:36tZOmB5rmfETnqngme55K1DfVpDU0H-A-DV6Gf8ACA"
        );
        assert_eq!(
            ts.sign("x", -1.5).unwrap(),
            "x:-1:GGORigxIrrFKGQAW3sHe4Bcl962UtJO51R0MpeYKRv4"
        );
        assert_eq!(
            ts.sign("x", 1e20).unwrap(),
            "x:1v973mBjywOu:RxQKL6LbeYmzei_GdYZpp30R-iql5VTXuO8Btyb4nhg"
        );
    }

    #[test]
    fn max_age_expires_only_when_strictly_older() {
        let ts = timestamp_signer(SECRET);
        let signed = ts.sign("hello", T).unwrap();
        assert_eq!(ts.unsign(&signed, Some(10.0), T + 10.0).unwrap(), "hello");
        assert_eq!(
            ts.unsign(&signed, Some(10.0), T + 10.5).unwrap_err(),
            SigningError::SignatureExpired("Signature age 10.5 > 10 seconds".into())
        );
        let expired = ts.unsign(&signed, Some(-1.0), T).unwrap_err();
        assert_eq!(expired.class_name(), "SignatureExpired");
        assert!(expired.is_bad_signature());
        // No max_age: any age is fine.
        assert_eq!(ts.unsign(&signed, None, 1e10).unwrap(), "hello");
    }

    #[test]
    fn malformed_timestamps_escape_as_python_errors() {
        let ts = timestamp_signer(SECRET);
        let class = |value: &str, max_age| {
            ts.unsign(sign_for_timestamp_signer(value), max_age, T)
                .unwrap_err()
                .class_name()
        };
        // Django: ValueError (no timestamp), ValueError (not base62), IndexError (empty).
        assert_eq!(class("hello", None), "ValueError");
        assert_eq!(class("hello:!!", None), "ValueError");
        assert_eq!(class("hello:", None), "IndexError");
        // "-" decodes to 0: 1700000000 seconds old.
        assert_eq!(class("hello:-", Some(5.0)), "SignatureExpired");
        // Huge timestamps are Python ints: far future is fine, far past has expired.
        let future = sign_for_timestamp_signer(&format!("hello:{}", "z".repeat(30)));
        assert_eq!(ts.unsign(&future, Some(5.0), T).unwrap(), "hello");
        assert_eq!(
            class(&format!("hello:-{}", "z".repeat(30)), Some(5.0)),
            "SignatureExpired"
        );
    }

    #[test]
    fn dumps_vectors() {
        let cases = [
            (
                json!("hello"),
                false,
                "ImhlbGxvIg:1r31eq:cTruiEBY_cFCV1LlNUq5VL9i_ItdBm0tawTAoxWpNmg",
            ),
            (
                json!({"a": 1}),
                true,
                "eyJhIjoxfQ:1r31eq:uyhb5h39Ev74g0eSQCKsOp6fege25Ox72s_I6TtnvvE",
            ),
            (
                json!({"a": "x".repeat(100)}),
                true,
                ".eJyrVkpUslKqoANQqgUAPCcw_A:1r31eq:zZCxUFCjf87u6DOPPr3lG3e_ffId5MWy61eYZKpqTFg",
            ),
            (
                json!((1..20).collect::<Vec<i32>>()),
                true,
                ".eJwFwcERACAIwLCF-rCiILN47r-GyZVJsNgkxaFxoDgxcOHGxMKD_T7vhAml:1r31eq:sdpkMIatxsKRvPDq-bAd1EanykUOp_kzTXXtuHj_aD0",
            ),
            (
                json!({"é": ["€", 1.5, null, true, 1e16]}),
                false,
                "eyJcdTAwZTkiOlsiXHUyMGFjIiwxLjUsbnVsbCx0cnVlLDFlKzE2XX0:1r31eq:MaL2XXAsFXjSPUz04sc8f6whGdHeQKMdSKvSUjFrVY4",
            ),
        ];
        for (obj, compress, expected) in cases {
            assert_eq!(
                dumps(&obj, SECRET, "django.core.signing", compress, T).unwrap(),
                expected
            );
            assert_eq!(
                loads(expected, SECRET, &[], "django.core.signing", None, T).unwrap(),
                obj
            );
        }
    }

    #[test]
    fn loads_within_refuses_a_payload_that_decompresses_beyond_the_limit() {
        // 8 MiB of one letter compresses to a few kilobytes: a small cookie, a large allocation.
        let big = Value::from("a".repeat(8 << 20));
        let signed = dumps(&big, SECRET, "django.core.signing", true, T).unwrap();
        assert!(signed.len() < 20_000, "{}", signed.len());
        let salt = "django.core.signing";
        assert_eq!(
            loads_within(&signed, SECRET, &[], salt, None, T, 1 << 20),
            Err(SigningError::DecompressedTooLarge(1 << 20))
        );
        assert_eq!(
            loads_within(&signed, SECRET, &[], salt, None, T, 9 << 20).as_ref(),
            Ok(&big)
        );
        assert_eq!(loads(&signed, SECRET, &[], salt, None, T), Ok(big));
    }

    #[test]
    fn dumps_key_and_salt() {
        // dumps("hello", salt="") uses TimestampSigner's default salt.
        assert_eq!(
            dumps(&json!("hello"), SECRET, "", false, T).unwrap(),
            "ImhlbGxvIg:1r31eq:yQTstvcfIWkxLXsIH2J-UrSPZ19oRQWCsY1uqr9xcpU"
        );
        assert_eq!(
            dumps(&json!("hello"), "other", "my.salt", false, T).unwrap(),
            "ImhlbGxvIg:1r31eq:H6M-0x8DjG6LwseKA_yfzZ4jVCQn-S_lGiX9h-o5XyE"
        );
        assert_eq!(
            dumps(&json!({"a": "x".repeat(100)}), "k", "s", true, T).unwrap(),
            ".eJyrVkpUslKqoANQqgUAPCcw_A:1r31eq:XrifWA2ePGtMnS6SSKeUymvkKDieQmzDGvG-LGBdq4U"
        );
    }

    #[test]
    fn loads_with_max_age_and_fallbacks() {
        let signed = dumps(
            &json!({"a": "x".repeat(100)}),
            SECRET,
            "django.core.signing",
            true,
            T,
        )
        .unwrap();
        let err = loads(
            &signed,
            SECRET,
            &[],
            "django.core.signing",
            Some(5.0),
            T + 6.0,
        )
        .unwrap_err();
        assert_eq!(
            err,
            SigningError::SignatureExpired("Signature age 6.0 > 5 seconds".into())
        );
        // old-dumps: signing.dumps({"k": "v"}, key="old") at T
        let old = "eyJrIjoidiJ9:1r31eq:pycYLfXzNtspB7awp9AfDPr7fEUUBFBQIpo4Qe7Vq5g";
        assert_eq!(
            loads(old, "new", &["old".into()], "django.core.signing", None, T).unwrap(),
            json!({"k": "v"})
        );
        assert!(
            loads(old, "new", &[], "django.core.signing", None, T)
                .unwrap_err()
                .is_bad_signature()
        );
    }

    #[test]
    fn loads_decodes_payloads_like_python() {
        // signing.loads of a validly signed "<payload>:1r31eq", re-dumped with json.dumps.
        let cases = [
            ("e30", "{}"),
            ("bnVsbA", "null"),
            ("LTA", "0"),
            ("IsOpIg", r#""\u00c3\u00a9""#), // b'"\xc3\xa9"' read as latin-1
            ("eyJhIjoxLCJhIjoyfQ", r#"{"a": 2}"#),
            ("e30=garbage", "{}"), // decoding stops at complete padding
            (".eJxTqlACAAF7AL1qdW5r", r#""x""#), // bytes after the zlib stream are ignored
        ];
        for (payload, expected) in cases {
            let value = loads(
                signed_payload(payload),
                SECRET,
                &[],
                "django.core.signing",
                None,
                T,
            );
            assert_eq!(pyjson::dumps(&value.unwrap()), expected, "{payload}");
        }
    }

    #[test]
    fn loads_errors_are_python_exceptions() {
        let cases = [
            ("!!!", "JSONDecodeError"),
            (".e30", "zlib.error"),
            (".eJyrVkpUslKqoANQqgUAPCcw", "zlib.error"),
            ("Imhl!bGxvIg", "binascii.Error"),
            ("a", "binascii.Error"),
            ("TmFO", "Unrepresentable"),        // NaN
            ("WzFlNDAwXQ", "Unrepresentable"),  // [1e400] is [inf] to Python
            ("Ilx1ZDgwMCI", "Unrepresentable"), // "\ud800"
        ];
        for (payload, class) in cases {
            let err = loads(
                signed_payload(payload),
                SECRET,
                &[],
                "django.core.signing",
                None,
                T,
            )
            .unwrap_err();
            assert_eq!(err.class_name(), class, "{payload}: {err}");
            assert!(!err.is_bad_signature());
        }
    }

    #[test]
    fn b64_decode_matches_binascii_leniency() {
        // django.core.signing.b64_decode(s) in CPython 3.11.7
        let ok: [(&[u8], &[u8]); 9] = [
            (b"ImhlbGxvIg", b"\"hello\""),
            (b"Imhl+bGxv/g", b"\"he\xf9\xb1\xb1\xbf\xf8"),
            (b"ab", b"i"),
            (b"abc", b"i\xb7"),
            (b"ab==cd", b"i"),
            (b"abc=defg", b"i\xb7"),
            (b"", b""),
            (b"abcd=", b"i\xb7\x1d"),
            (b"abcd===", b"i\xb7\x1d"),
        ];
        for (input, expected) in ok {
            assert_eq!(
                b64_decode(input).unwrap(),
                expected,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        let errors: [(&[u8], &str); 7] = [
            (b"Imhl!bGxvIg", "Incorrect padding"),
            (
                b"a",
                "number of data characters (1) cannot be 1 more than a multiple of 4",
            ),
            (
                b"abcde",
                "number of data characters (5) cannot be 1 more than a multiple of 4",
            ),
            (b"ab=c", "Incorrect padding"),
            (b"a=bc", "Incorrect padding"),
            (b"=abc", "Incorrect padding"),
            ("ab\u{e9}".as_bytes(), "Incorrect padding"),
        ];
        for (input, message) in errors {
            let err = b64_decode(input).unwrap_err();
            assert!(err.to_string().contains(message), "{err}");
        }
    }

    #[test]
    fn compression_is_used_only_when_two_bytes_shorter() {
        // len(json) vs len(zlib.compress(json)) in CPython: "abab…" (6×) 14 vs 13 -> plain;
        // "x"×12: 14 vs 12 -> compressed; {"a":1} 7 vs 15 -> plain.
        assert_eq!(
            encode_object(&json!("ab".repeat(6)), true),
            URL_SAFE_NO_PAD.encode(format!("\"{}\"", "ab".repeat(6)))
        );
        assert!(encode_object(&json!("x".repeat(12)), true).starts_with('.'));
        assert!(!encode_object(&json!({"a": 1}), true).starts_with('.'));
        assert_eq!(zlib_compress(b"\"xxxxxxxxxxxx\"").len(), 12);
        assert_eq!(
            zlib_compress(b"x"),
            [0x78, 0x9c, 0xab, 0x00, 0x00, 0x00, 0x79, 0x00, 0x79]
        );
    }

    #[test]
    fn cookie_signer_matches_set_signed_cookie() {
        let settings = Settings::default();
        // signing.get_cookie_signer(salt="s").sign("v") at T
        assert_eq!(
            get_cookie_signer(&settings, "s").sign("v", T).unwrap(),
            "v:1r31eq:ASi4tASMRLGxUuXHrBh6iDyxQeY0fm1B1XnpUMJ8LRQ"
        );
        // With an empty salt the signer falls back to TimestampSigner's default salt.
        assert_eq!(
            get_cookie_signer(&settings, "").sign("v", T).unwrap(),
            "v:1r31eq:iIiiiaaVylshLx7qZoC-1OVt7QWPAVglpW3iuWp4FXo"
        );
        assert_eq!(
            cookie_signer_salt("c", ""),
            PyText::from("django.http.cookies.v2:0:c")
        );
        assert_eq!(
            cookie_signer_salt("c", "s1"),
            PyText::from("django.http.cookies.v2:2:s1c")
        );
        assert_eq!(
            cookie_signer_salt("c", "é€"),
            PyText::from("django.http.cookies.v2:2:é€c")
        );
        assert_eq!(
            cookie_signer_legacy_salt("a", "bc"),
            Ok(PyText::from("abc"))
        );
    }

    #[test]
    fn cookie_signer_prefixes_fallback_keys() {
        let old = Settings {
            secret_key: "old".into(),
            ..Settings::default()
        };
        let rotated = Settings {
            secret_key: "new".into(),
            secret_key_fallbacks: vec!["old".into()],
            ..Settings::default()
        };
        let signed = get_cookie_signer(&old, "s").sign("v", T).unwrap();
        assert_eq!(
            get_cookie_signer(&rotated, "s")
                .unsign(&signed, None, T)
                .unwrap(),
            "v"
        );
        // The prefix is part of the key: a plain signer with the same key does not verify it.
        let plain = TimestampSigner::new(Signer {
            salt: Some("s".into()),
            ..signer("old")
        });
        assert!(plain.unsign(&signed, None, T).is_err());
    }

    proptest! {
        #[test]
        fn b62_round_trips(n in any::<i128>()) {
            prop_assert_eq!(b62_decode(&b62_encode(n)), n);
        }

        #[test]
        fn sign_unsign_round_trip(value in any::<String>(), sep in "[:./!~;,]{1,3}", key in ".{0,20}") {
            let s = Signer { sep: PyText::from(sep), ..signer(&key) };
            let signed = s.sign(&value).unwrap();
            prop_assert_eq!(s.unsign(&signed).unwrap(), value.clone());
            let other = Signer { key: format!("{key}x").into_bytes(), ..s.clone() };
            prop_assert!(other.unsign(&signed).unwrap_err().is_bad_signature());
        }

        #[test]
        fn timestamp_sign_unsign_round_trip(value in any::<String>(), now in 0.0..4e9f64, age in 0.0..1e6f64) {
            let ts = timestamp_signer(SECRET);
            let signed = ts.sign(&value, now).unwrap();
            let elapsed = (now + age) - now.trunc();
            prop_assert_eq!(ts.unsign(&signed, Some(elapsed), now + age).unwrap(), value.clone());
            let expired = ts.unsign(&signed, Some(elapsed - 1.0), now + age).unwrap_err();
            prop_assert_eq!(expired.class_name(), "SignatureExpired");
        }

        #[test]
        fn loads_inverts_dumps(value in crate::reference::pyjson::tests::json_value(), compress in any::<bool>()) {
            let signed = dumps(&value, SECRET, "salt", compress, T).unwrap();
            prop_assert_eq!(loads(&signed, SECRET, &[], "salt", None, T).unwrap(), value);
        }
    }
}

//! Cookies: `HttpResponseBase.set_cookie / set_signed_cookie / delete_cookie` rendered as Python's
//! `Morsel.OutputString()`, and `django/http/cookie.py::parse_cookie` plus
//! `HttpRequest.get_signed_cookie` on the request side (Django 5.2.19, CPython 3.11).

use indexmap::IndexMap;
use time::OffsetDateTime;

use crate::reference::pyint;
use crate::reference::pytext::PyText;
use crate::reference::signing::{self, SigningError};
use crate::reference::{DjangoVersion, Settings};

/// `expires=` as Django accepts it.
#[derive(Debug, Clone, PartialEq)]
pub enum Expires {
    /// A string, emitted as it is (`bytes` as Python's `str()` writes them).
    Text(PyText),
    /// A `datetime`: Unix seconds and whether it was naive (naive means UTC, as in Django).
    DateTime { unix: f64, naive: bool },
}

/// The keyword arguments of `set_cookie`; `Default` is Django's defaults (`path="/"`).
#[derive(Debug, Clone, PartialEq)]
pub struct CookieOptions {
    /// Seconds; a `timedelta` is passed as its `total_seconds()`.
    pub max_age: Option<f64>,
    pub expires: Option<Expires>,
    /// `path` and `domain` as `str` or `bytes` (rendered as `str()` writes them).
    pub path: Option<PyText>,
    pub domain: Option<PyText>,
    pub secure: bool,
    pub httponly: bool,
    /// A `bytes` samesite is never one of Django's three (its `ValueError`).
    pub samesite: Option<PyText>,
}

impl Default for CookieOptions {
    fn default() -> Self {
        CookieOptions {
            max_age: None,
            expires: None,
            path: Some(PyText::from("/")),
            domain: None,
            secure: false,
            httponly: false,
            samesite: None,
        }
    }
}

/// What Django raises from the cookie API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CookieError {
    /// `http.cookies.CookieError: Illegal key`.
    #[error("Illegal key {0:?}")]
    IllegalKey(String),
    /// `http.cookies.CookieError: Attempt to set a reserved key`: a key that is an attribute
    /// name in any case (`expires`, `Path`, `max-age`, `comment`, `version`, …).
    #[error("Attempt to set a reserved key {0:?}")]
    ReservedKey(String),
    /// `http.cookies.CookieError: Control characters are not allowed in cookies`: a key, value
    /// or attribute with a character in U+0000–U+001F or U+007F. CPython's 2025 security fix
    /// (in 3.11.2-6+deb12u8 on Debian); older Pythons escaped such values instead.
    #[error("Control characters are not allowed in cookies {0:?}")]
    ControlCharacter(String),
    /// `ValueError` for a `samesite` outside lax/none/strict.
    #[error("samesite must be \"lax\", \"none\", or \"strict\".")]
    InvalidSameSite,
    /// `ValueError`: a datetime `expires` together with `max_age`.
    #[error("'expires' and 'max_age' can't be used together.")]
    ExpiresWithMaxAge,
    /// A `max_age` Python cannot make an `int` of (NaN, infinity), or an `expires` date outside
    /// years 1 to 9999: Python's exception class and message.
    #[error("{class}: {message}")]
    ValueOutOfRange {
        class: &'static str,
        message: String,
    },
    /// Python's `TypeError`: `bytes` where the cookie API needs a `str` (a key).
    #[error("TypeError: {0}")]
    Type(String),
    #[error(transparent)]
    Signing(#[from] SigningError),
}

impl CookieError {
    fn out_of_range(class: &'static str, message: impl Into<String>) -> CookieError {
        CookieError::ValueOutOfRange {
            class,
            message: message.into(),
        }
    }
}

/// `response.cookies`: an ordered set of morsels where setting a key again replaces its morsel in
/// place, so the `Set-Cookie` order is the order keys were first set.
///
/// As in Django, setting a key again reuses its morsel: attributes the new call does not set
/// (`domain`, `secure`, `httponly`, `samesite`, `max_age`, and `path` when `None`) keep their
/// earlier values. A call that fails leaves what it had already changed, as Django does.
#[derive(Debug, Clone, Default)]
pub struct ResponseCookies {
    morsels: IndexMap<String, Morsel>,
}

/// One `http.cookies.Morsel` with the attributes Django sets; an empty string is an unset
/// attribute, as `OutputString` skips `""`.
#[derive(Debug, Clone, PartialEq, Default)]
struct Morsel {
    coded_value: String,
    domain: String,
    expires: String,
    httponly: bool,
    /// `int(max_age)` in decimal (Python ints are unbounded).
    max_age: Option<String>,
    path: String,
    samesite: String,
    secure: bool,
}

impl Morsel {
    /// `Morsel.OutputString()`: `key=value`, then the attributes sorted by lower-case name.
    fn output_string(&self, key: &str) -> String {
        let mut parts = vec![format!("{key}={}", self.coded_value)];
        if !self.domain.is_empty() {
            parts.push(format!("Domain={}", self.domain));
        }
        if !self.expires.is_empty() {
            parts.push(format!("expires={}", self.expires));
        }
        if self.httponly {
            parts.push("HttpOnly".to_owned());
        }
        if let Some(max_age) = &self.max_age {
            parts.push(format!("Max-Age={max_age}"));
        }
        if !self.path.is_empty() {
            parts.push(format!("Path={}", self.path));
        }
        if !self.samesite.is_empty() {
            parts.push(format!("SameSite={}", self.samesite));
        }
        if self.secure {
            parts.push("Secure".to_owned());
        }
        parts.join("; ")
    }
}

impl ResponseCookies {
    /// `response.set_cookie(key, value, **options)` with `time.time()` = `now`. The value is
    /// `str(value)`: `bytes` become `b'…'`; a `bytes` key is `http.cookies`' `TypeError`.
    ///
    /// ```
    /// use django_conformance::reference::cookies::{CookieOptions, ResponseCookies};
    /// let mut cookies = ResponseCookies::default();
    /// let options = CookieOptions { max_age: Some(10.0), ..CookieOptions::default() };
    /// cookies.set_cookie("a", "b c", &options, 1_700_000_000.0).unwrap();
    /// cookies.set_cookie("v", &b"x"[..], &CookieOptions::default(), 0.0).unwrap();
    /// assert_eq!(
    ///     cookies.header_values(),
    ///     [
    ///         "a=\"b c\"; expires=Tue, 14 Nov 2023 22:13:30 GMT; Max-Age=10; Path=/",
    ///         "v=b'x'; Path=/",
    ///     ]
    /// );
    /// ```
    pub fn set_cookie(
        &mut self,
        key: impl Into<PyText>,
        value: impl Into<PyText>,
        options: &CookieOptions,
        now: f64,
    ) -> Result<(), CookieError> {
        let (key, value) = (key.into(), value.into());
        let key = key
            .require_str("cannot use a string pattern on a bytes-like object")
            .map_err(CookieError::Type)?;
        let morsel = self.morsel_for(key, &value.py_str())?;
        let mut max_age = options.max_age;
        // Django's local `expires` after the first step: only a string survives it.
        let mut expires_text: Option<&PyText> = None;
        match &options.expires {
            Some(Expires::DateTime { unix, .. }) => {
                let from_datetime = datetime_max_age(*unix, now)?;
                if max_age.is_some() {
                    return Err(CookieError::ExpiresWithMaxAge);
                }
                max_age = Some(from_datetime as f64);
            }
            Some(Expires::Text(text)) => {
                morsel.expires = refuse_control_characters(&text.py_str())?.to_owned();
                expires_text = Some(text);
            }
            None => morsel.expires.clear(),
        }
        if let Some(seconds) = max_age {
            morsel.max_age = Some(python_int(seconds)?);
            // "IE requires expires": computed unless a non-empty string was given.
            if expires_text.is_none_or(PyText::is_empty) {
                morsel.expires = http_date(now + seconds)?;
            }
        }
        if let Some(path) = &options.path {
            morsel.path = refuse_control_characters(&path.py_str())?.to_owned();
        }
        if let Some(domain) = &options.domain {
            morsel.domain = refuse_control_characters(&domain.py_str())?.to_owned();
        }
        if options.secure {
            morsel.secure = true;
        }
        if options.httponly {
            morsel.httponly = true;
        }
        if let Some(samesite) = options.samesite.as_ref().filter(|s| !s.is_empty()) {
            // `samesite.lower() not in ("lax", "none", "strict")`: bytes are never in it.
            let valid = samesite.require_str("").is_ok_and(|samesite| {
                matches!(samesite.to_lowercase().as_str(), "lax" | "none" | "strict")
            });
            if !valid {
                return Err(CookieError::InvalidSameSite);
            }
            morsel.samesite = refuse_control_characters(&samesite.py_str())?.to_owned();
        }
        Ok(())
    }

    /// `self.cookies[key] = value`: validates the key, then reuses the key's morsel (keeping its
    /// position and attributes) or appends a new one.
    fn morsel_for(&mut self, key: &str, value: &str) -> Result<&mut Morsel, CookieError> {
        if RESERVED_KEYS.contains(&key.to_lowercase().as_str()) {
            return Err(CookieError::ReservedKey(key.to_owned()));
        }
        if key.is_empty() || !key.chars().all(is_legal_char) {
            return Err(CookieError::IllegalKey(key.to_owned()));
        }
        refuse_control_characters(value)?;
        let morsel = self.morsels.entry(key.to_owned()).or_default();
        morsel.coded_value = quote(value);
        Ok(morsel)
    }

    /// `response.set_signed_cookie(key, value, salt=salt, **options)`: the value signed by
    /// `get_cookie_signer` with the v2 salt, at `now`.
    pub fn set_signed_cookie(
        &mut self,
        key: impl Into<PyText>,
        value: impl Into<PyText>,
        salt: impl Into<PyText>,
        options: &CookieOptions,
        settings: &Settings,
        now: f64,
    ) -> Result<(), CookieError> {
        let key = key.into();
        let signer = signing::get_cookie_signer(settings, signing::cookie_signer_salt(&key, salt));
        let signed = signer.sign(value, now)?;
        self.set_cookie(key, signed, options, now)
    }

    /// `response.delete_cookie(key, path=…, domain=…, samesite=…)`. `None` is Python's `None`:
    /// pass `Some("/")` for Django's default `path`. `Secure` is added for `__Secure-`/`__Host-`
    /// keys and for `samesite` "none" in any case; `HttpOnly` only survives from an earlier
    /// `set_cookie` of the same key in this response.
    pub fn delete_cookie(
        &mut self,
        key: impl Into<PyText>,
        path: Option<PyText>,
        domain: Option<PyText>,
        samesite: Option<PyText>,
    ) -> Result<(), CookieError> {
        let key = key.into();
        // `key.startswith(("__Secure-", "__Host-"))`: a `TypeError` for `bytes`.
        let text_key = key
            .require_str("a bytes-like object is required, not 'str'")
            .map_err(CookieError::Type)?;
        let secure = text_key.starts_with("__Secure-")
            || text_key.starts_with("__Host-")
            || samesite
                .as_ref()
                .is_some_and(|s| s.require_str("").is_ok_and(|s| s.to_lowercase() == "none"));
        let options = CookieOptions {
            max_age: Some(0.0),
            expires: Some(Expires::Text(PyText::from("Thu, 01 Jan 1970 00:00:00 GMT"))),
            path,
            domain,
            secure,
            httponly: false,
            samesite,
        };
        // The clock is not read: `expires` is a non-empty string.
        self.set_cookie(key, "", &options, 0.0)
    }

    /// One `Set-Cookie` header value per cookie, in order (6.x bytes: no leading space).
    pub fn header_values(&self) -> Vec<String> {
        self.morsels
            .iter()
            .map(|(key, morsel)| morsel.output_string(key))
            .collect()
    }
}

/// `http.cookies._has_control_character`: every key, value and attribute a morsel takes is
/// checked (the key needs no check here: a legal key has none).
fn refuse_control_characters(text: &str) -> Result<&str, CookieError> {
    match text.chars().any(|c| c <= '\u{1f}' || c == '\u{7f}') {
        true => Err(CookieError::ControlCharacter(text.to_owned())),
        false => Ok(text),
    }
}

/// `Morsel._reserved`: attribute names, refused as cookie keys in any case.
const RESERVED_KEYS: [&str; 9] = [
    "expires", "path", "comment", "domain", "max-age", "secure", "httponly", "version", "samesite",
];

/// `http.cookies._LegalChars`: ASCII letters, digits and ``!#$%&'*+-.^_`|~:``.
fn is_legal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~:".contains(c)
}

/// `http.cookies._quote`: as is when made only of legal characters, otherwise double-quoted
/// with `"` and `\` backslash-escaped and the other characters up to U+00FF that are not legal
/// or one of ` ()/<=>?@[]{}` as three-digit octal. Characters above U+00FF stay raw.
pub fn quote(value: &str) -> String {
    if !value.is_empty() && value.chars().all(is_legal_char) {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_legal_char(c) || " ()/<=>?@[]{}".contains(c) || u32::from(c) > 0xFF => {
                out.push(c);
            }
            c => out.push_str(&format!("\\{:03o}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// `int(max_age)` in decimal: truncation toward zero, exact at any size.
fn python_int(seconds: f64) -> Result<String, CookieError> {
    pyint::trunc_to_radix(seconds, pyint::DECIMAL).ok_or_else(|| {
        if seconds.is_nan() {
            CookieError::out_of_range("ValueError", "cannot convert float NaN to integer")
        } else {
            CookieError::out_of_range("OverflowError", "cannot convert float infinity to integer")
        }
    })
}

/// CPython's float timestamp → (seconds, microseconds) for `datetime.fromtimestamp`: the
/// fraction is rounded half-even to microseconds first, so `x.9999997` reaches the next second.
fn split_timestamp(t: f64) -> Result<(i64, i64), CookieError> {
    if t.is_nan() {
        return Err(CookieError::out_of_range(
            "ValueError",
            "Invalid value NaN (not a number)",
        ));
    }
    let mut seconds = t.trunc();
    let mut micros = (t.fract() * 1e6).round_ties_even();
    if micros >= 1e6 {
        micros -= 1e6;
        seconds += 1.0;
    } else if micros < 0.0 {
        micros += 1e6;
        seconds -= 1.0;
    }
    // time_t is i64; 2^63 itself does not fit.
    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&seconds) {
        return Err(CookieError::out_of_range(
            "OverflowError",
            "timestamp out of range for platform time_t",
        ));
    }
    Ok((seconds as i64, micros as i64))
}

/// `django.utils.http.http_date(t)` (`email.utils.formatdate(t, usegmt=True)`):
/// `Wdy, DD Mon YYYY HH:MM:SS GMT`, for years 1 to 9999 as `datetime` allows.
pub fn http_date(t: f64) -> Result<String, CookieError> {
    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (seconds, _) = split_timestamp(t)?;
    let date = OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .filter(|date| date.year() >= 1)
        .ok_or_else(|| CookieError::out_of_range("ValueError", "year is out of range"))?;
    Ok(format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[usize::from(date.weekday().number_days_from_monday())],
        date.day(),
        MONTHS[usize::from(u8::from(date.month())) - 1],
        date.year(),
        date.hour(),
        date.minute(),
        date.second(),
    ))
}

/// Django's conversion of a datetime `expires` to `max_age`: whole seconds (floored) of
/// `expires - now + 1s`, at least 0. Both instants are taken at microsecond precision as
/// `datetime` holds them.
fn datetime_max_age(expires_unix: f64, now: f64) -> Result<i64, CookieError> {
    let micros = |t| -> Result<i128, CookieError> {
        let (seconds, micros) = split_timestamp(t)?;
        Ok(i128::from(seconds) * 1_000_000 + i128::from(micros))
    };
    let delta = micros(expires_unix)? - micros(now)? + 1_000_000;
    let seconds = delta.div_euclid(1_000_000).max(0);
    i64::try_from(seconds)
        .map_err(|_| CookieError::out_of_range("OverflowError", "date value out of range"))
}

/// `django.http.cookie.parse_cookie`: split on `;`, split each chunk at its first `=` (no `=`
/// means the empty name), strip both sides, skip chunks that are empty on both sides, unquote
/// the value. A repeated name keeps its first position and takes the last value.
///
/// ```
/// use django_conformance::reference::cookies::parse_cookie;
/// let cookies = parse_cookie(r#"a=1; b="x\073y"; a=2; c"#);
/// assert_eq!(cookies["a"], "2");
/// assert_eq!(cookies["b"], "x;y");
/// assert_eq!(cookies[""], "c");
/// ```
pub fn parse_cookie(header: &str) -> IndexMap<String, String> {
    let mut cookies = IndexMap::new();
    for chunk in header.split(';') {
        let (key, value) = chunk.split_once('=').unwrap_or(("", chunk));
        let (key, value) = (py_strip(key), py_strip(value));
        if !key.is_empty() || !value.is_empty() {
            cookies.insert(key.to_owned(), unquote(value));
        }
    }
    cookies
}

/// Python's `str.strip()`: the characters `str.isspace()` accepts, which include the
/// separators U+001C..U+001F that Rust's `char::is_whitespace` does not.
fn py_strip(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// `http.cookies._unquote`: only a value wrapped in double quotes changes; inside it `\ooo`
/// (first digit 0-3) is that code point and `\` before any other character except a newline is
/// that character.
pub fn unquote(value: &str) -> String {
    let Some(inner) = value
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return value.to_owned();
    };
    let chars: Vec<char> = inner.chars().collect();
    let mut out = String::with_capacity(inner.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' {
            if let Some(code) = octal_escape(&chars[i + 1..]) {
                out.push(code);
                i += 4;
                continue;
            }
            if let Some(&next) = chars.get(i + 1).filter(|&&next| next != '\n') {
                out.push(next);
                i += 2;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// The code point of `[0-3][0-7][0-7]` at the start of `rest`.
fn octal_escape(rest: &[char]) -> Option<char> {
    let digits = rest.get(..3)?;
    let valid =
        matches!(digits[0], '0'..='3') && digits[1..].iter().all(|d| matches!(d, '0'..='7'));
    if !valid {
        return None;
    }
    let code = digits
        .iter()
        .fold(0, |acc, d| acc * 8 + d.to_digit(8).expect("octal digit"));
    char::from_u32(code)
}

/// The `Cookie` header as Django's WSGI handler hands it to `parse_cookie`: the raw bytes (which
/// the server decoded as latin-1) decoded as UTF-8 with U+FFFD replacements.
pub fn decode_cookie_header(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

/// `request.META["HTTP_COOKIE"]` under Django's ASGI handler (`ASGIRequest.__init__`), which
/// `parse_cookie` reads as it is: each `Cookie` line decoded as latin-1 (no UTF-8 step). 5.2
/// joins several lines with `,`, as any repeated header, so the second cookie lands in the first
/// one's value; 6.0 and later strip `;` and spaces from the end of each line and join them with
/// `; `. `None` without a `Cookie` line.
///
/// ```
/// use django_conformance::reference::DjangoVersion;
/// use django_conformance::reference::cookies::asgi_cookie_header;
/// let lines: [&[u8]; 2] = [b"a=1; ", b"b=\xe9"];
/// assert_eq!(asgi_cookie_header(DjangoVersion::V5_2, &lines).unwrap(), "a=1; ,b=\u{e9}");
/// assert_eq!(asgi_cookie_header(DjangoVersion::V6_1, &lines).unwrap(), "a=1; b=\u{e9}");
/// ```
pub fn asgi_cookie_header(version: DjangoVersion, lines: &[&[u8]]) -> Option<String> {
    if lines.is_empty() {
        return None;
    }
    let latin1 = |line: &[u8]| line.iter().copied().map(char::from).collect::<String>();
    let decoded = lines.iter().map(|line| latin1(line));
    Some(match version {
        DjangoVersion::V5_2 => decoded.collect::<Vec<_>>().join(","),
        DjangoVersion::V6_1 => decoded
            .map(|line| line.trim_end_matches([';', ' ']).to_owned())
            .collect::<Vec<_>>()
            .join("; "),
    })
}

/// Why `get_signed_cookie` raised (without a default).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SignedCookieError {
    /// `KeyError(key)`.
    #[error("KeyError: {0:?}")]
    Missing(String),
    #[error(transparent)]
    Signing(#[from] SigningError),
}

impl SignedCookieError {
    /// Whether Django would return the caller's `default` instead of raising: a missing cookie
    /// or a `BadSignature` (expiry included). Other signing errors escape even with a default.
    pub fn default_applies(&self) -> bool {
        match self {
            SignedCookieError::Missing(_) => true,
            SignedCookieError::Signing(err) => err.is_bad_signature(),
        }
    }
}

/// `request.get_signed_cookie(key, salt=…, max_age=…)` without a default: the caller substitutes
/// its default on `Err` where [`SignedCookieError::default_applies`], as Django does.
///
/// ```
/// use django_conformance::reference::cookies::{get_signed_cookie, parse_cookie};
/// use django_conformance::reference::Settings;
/// let settings = Settings::default();
/// // Set by Django 5.2 at 1700000000 with SECRET_KEY "test-secret-key-for-catalog".
/// let jar = parse_cookie("c=hello:1r31eq:ibGXs9hYGUvdzes8OUPYia_OxcCfU-hW5C_VDi5ERj8");
/// let read = |max_age| get_signed_cookie(&jar, "c", "", max_age, &settings, 1_700_000_100.0);
/// assert_eq!(read(None).unwrap(), "hello");
/// assert!(read(Some(99.0)).unwrap_err().default_applies(), "expired: the default applies");
/// ```
pub fn get_signed_cookie(
    cookies: &IndexMap<String, String>,
    key: impl Into<PyText>,
    salt: impl Into<PyText>,
    max_age: Option<f64>,
    settings: &Settings,
    now: f64,
) -> Result<String, SignedCookieError> {
    let key = key.into();
    // `request.COOKIES[key]`: its keys are `str`, so a `bytes` key is never there.
    let signed = match &key {
        PyText::Str(name) => cookies.get(name),
        PyText::Bytes(_) => None,
    }
    .ok_or_else(|| SignedCookieError::Missing(key.py_str().into_owned()))?;
    Ok(signing::unsign_cookie(
        settings,
        signed.as_str(),
        key,
        salt,
        max_age,
        now,
    )?)
}

#[cfg(test)]
mod tests {
    //! Vectors from Django 5.2.19 on CPython 3.11.7, clock frozen at T (`time.time` and
    //! `datetime.now` patched), rendered with `Morsel.OutputString()`.
    use super::*;
    use proptest::prelude::*;

    const T: f64 = 1_700_000_000.0;

    fn opts() -> CookieOptions {
        CookieOptions::default()
    }

    fn set(key: &str, value: &str, options: CookieOptions) -> Result<Vec<String>, CookieError> {
        let mut cookies = ResponseCookies::default();
        cookies.set_cookie(key, value, &options, T)?;
        Ok(cookies.header_values())
    }

    fn one(key: &str, value: &str, options: CookieOptions) -> String {
        let mut values = set(key, value, options).unwrap();
        assert_eq!(values.len(), 1);
        values.remove(0)
    }

    fn aware(unix: f64) -> Option<Expires> {
        Some(Expires::DateTime { unix, naive: false })
    }

    #[test]
    fn default_options_are_djangos() {
        assert_eq!(
            opts(),
            CookieOptions {
                max_age: None,
                expires: None,
                path: Some("/".into()),
                domain: None,
                secure: false,
                httponly: false,
                samesite: None,
            }
        );
    }

    #[test]
    fn value_quoting_table() {
        let cases = [
            ("b", "a=b; Path=/"),
            ("", r#"a=""; Path=/"#),
            ("hello world", r#"a="hello world"; Path=/"#),
            ("x\"y", r#"a="x\"y"; Path=/"#),
            ("a;b", r#"a="a\073b"; Path=/"#),
            ("a,b", r#"a="a\054b"; Path=/"#),
            ("é", r#"a="\351"; Path=/"#),
            ("€", "a=\"€\"; Path=/"),
            ("a\\b", r#"a="a\\b"; Path=/"#),
            ("a=b", r#"a="a=b"; Path=/"#),
            ("a:b/c?d@e[f]", r#"a="a:b/c?d@e[f]"; Path=/"#),
            ("{}", r#"a="{}"; Path=/"#),
            ("~!#$%&'*+-.^_:", "a=~!#$%&'*+-.^_:; Path=/"),
            ("`|", "a=`|; Path=/"),
            ("\u{80}\u{a0}\u{ff}", r#"a="\200\240\377"; Path=/"#),
            (" ()/<=>?@[]{}", r#"a=" ()/<=>?@[]{}"; Path=/"#),
            ("123", "a=123; Path=/"),
        ];
        for (value, expected) in cases {
            assert_eq!(one("a", value, opts()), expected, "{value:?}");
        }
    }

    #[test]
    fn max_age_sets_expires_from_the_clock() {
        let with_max_age = |max_age| CookieOptions {
            max_age: Some(max_age),
            ..opts()
        };
        let cases = [
            (
                10.0,
                "a=b; expires=Tue, 14 Nov 2023 22:13:30 GMT; Max-Age=10; Path=/",
            ),
            (
                10.7,
                "a=b; expires=Tue, 14 Nov 2023 22:13:30 GMT; Max-Age=10; Path=/",
            ),
            (
                90.9,
                "a=b; expires=Tue, 14 Nov 2023 22:14:50 GMT; Max-Age=90; Path=/",
            ),
            (
                0.0,
                "a=b; expires=Tue, 14 Nov 2023 22:13:20 GMT; Max-Age=0; Path=/",
            ),
            (
                -5.0,
                "a=b; expires=Tue, 14 Nov 2023 22:13:15 GMT; Max-Age=-5; Path=/",
            ),
            // Python rounds the timestamp to microseconds before taking the second.
            (
                10.9999997,
                "a=b; expires=Tue, 14 Nov 2023 22:13:31 GMT; Max-Age=10; Path=/",
            ),
            (
                -5.5,
                "a=b; expires=Tue, 14 Nov 2023 22:13:14 GMT; Max-Age=-5; Path=/",
            ),
            (
                -62_135_596_800.0 - T,
                "a=b; expires=Mon, 01 Jan 0001 00:00:00 GMT; Max-Age=-63835596800; Path=/",
            ),
        ];
        for (max_age, expected) in cases {
            assert_eq!(one("a", "b", with_max_age(max_age)), expected, "{max_age}");
        }
    }

    #[test]
    fn expires_outside_datetime_years_is_an_error() {
        for max_age in [-62_135_596_801.0 - T, 253_402_300_800.0 - T, 1e20, -1e19] {
            let err = set(
                "a",
                "b",
                CookieOptions {
                    max_age: Some(max_age),
                    ..opts()
                },
            )
            .unwrap_err();
            assert!(
                matches!(err, CookieError::ValueOutOfRange { .. }),
                "{max_age}: {err}"
            );
        }
        let nan = set(
            "a",
            "b",
            CookieOptions {
                max_age: Some(f64::NAN),
                ..opts()
            },
        )
        .unwrap_err();
        assert_eq!(
            nan,
            CookieError::ValueOutOfRange {
                class: "ValueError",
                message: "cannot convert float NaN to integer".into()
            }
        );
    }

    #[test]
    fn text_expires_is_passed_through() {
        let text = |s: &str| Some(Expires::Text(s.into()));
        let date = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(
            one(
                "a",
                "b",
                CookieOptions {
                    expires: text(date),
                    ..opts()
                }
            ),
            "a=b; expires=Wed, 21 Oct 2015 07:28:00 GMT; Path=/"
        );
        assert_eq!(
            one(
                "a",
                "b",
                CookieOptions {
                    expires: text("garbage"),
                    ..opts()
                }
            ),
            "a=b; expires=garbage; Path=/"
        );
        // With max_age: both, the string kept.
        assert_eq!(
            one(
                "a",
                "b",
                CookieOptions {
                    expires: text(date),
                    max_age: Some(10.0),
                    ..opts()
                }
            ),
            "a=b; expires=Wed, 21 Oct 2015 07:28:00 GMT; Max-Age=10; Path=/"
        );
        // An empty string is falsy: omitted alone, recomputed with max_age.
        assert_eq!(
            one(
                "a",
                "b",
                CookieOptions {
                    expires: text(""),
                    ..opts()
                }
            ),
            "a=b; Path=/"
        );
        assert_eq!(
            one(
                "a",
                "b",
                CookieOptions {
                    expires: text(""),
                    max_age: Some(5.0),
                    ..opts()
                }
            ),
            "a=b; expires=Tue, 14 Nov 2023 22:13:25 GMT; Max-Age=5; Path=/"
        );
        // int(1e20) is printed in full; no date is computed.
        assert_eq!(
            one(
                "a",
                "b",
                CookieOptions {
                    expires: text("x"),
                    max_age: Some(1e20),
                    ..opts()
                }
            ),
            "a=b; expires=x; Max-Age=100000000000000000000; Path=/"
        );
    }

    #[test]
    fn datetime_expires_becomes_max_age_plus_one_second() {
        // With a frozen clock Django's +1 s compensation shows: now+100 s gives Max-Age=101.
        let cases = [
            (
                T + 100.0,
                "a=b; expires=Tue, 14 Nov 2023 22:15:01 GMT; Max-Age=101; Path=/",
            ),
            (
                T + 100.5,
                "a=b; expires=Tue, 14 Nov 2023 22:15:01 GMT; Max-Age=101; Path=/",
            ),
            (
                T + 0.999999,
                "a=b; expires=Tue, 14 Nov 2023 22:13:21 GMT; Max-Age=1; Path=/",
            ),
            (
                T + 3600.0,
                "a=b; expires=Tue, 14 Nov 2023 23:13:21 GMT; Max-Age=3601; Path=/",
            ),
            (
                T - 100.0,
                "a=b; expires=Tue, 14 Nov 2023 22:13:20 GMT; Max-Age=0; Path=/",
            ),
            (
                T - 0.5,
                "a=b; expires=Tue, 14 Nov 2023 22:13:20 GMT; Max-Age=0; Path=/",
            ),
            (
                T - 1.5,
                "a=b; expires=Tue, 14 Nov 2023 22:13:20 GMT; Max-Age=0; Path=/",
            ),
        ];
        for (unix, expected) in cases {
            assert_eq!(
                one(
                    "a",
                    "b",
                    CookieOptions {
                        expires: aware(unix),
                        ..opts()
                    }
                ),
                expected,
                "{unix}"
            );
        }
        let naive = Some(Expires::DateTime {
            unix: T + 100.0,
            naive: true,
        });
        assert_eq!(
            one(
                "a",
                "b",
                CookieOptions {
                    expires: naive,
                    ..opts()
                }
            ),
            "a=b; expires=Tue, 14 Nov 2023 22:15:01 GMT; Max-Age=101; Path=/"
        );
    }

    #[test]
    fn datetime_expires_with_max_age_is_refused() {
        let options = CookieOptions {
            expires: aware(T + 100.0),
            max_age: Some(5.0),
            ..opts()
        };
        assert_eq!(
            set("a", "b", options).unwrap_err(),
            CookieError::ExpiresWithMaxAge
        );
    }

    #[test]
    fn attributes_render_sorted_by_lower_case_name() {
        assert_eq!(
            one(
                "a",
                "b",
                CookieOptions {
                    path: None,
                    ..opts()
                }
            ),
            "a=b"
        );
        assert_eq!(
            one(
                "a",
                "b",
                CookieOptions {
                    path: Some(PyText::from("")),
                    ..opts()
                }
            ),
            "a=b"
        );
        assert_eq!(
            one(
                "a",
                "b",
                CookieOptions {
                    domain: Some(".example.com".into()),
                    ..opts()
                }
            ),
            "a=b; Domain=.example.com; Path=/"
        );
        assert_eq!(
            one(
                "a",
                "b",
                CookieOptions {
                    secure: true,
                    httponly: true,
                    ..opts()
                }
            ),
            "a=b; HttpOnly; Path=/; Secure"
        );
        let all = CookieOptions {
            max_age: Some(10.0),
            path: Some("/p".into()),
            domain: Some("d.com".into()),
            secure: true,
            httponly: true,
            samesite: Some("Strict".into()),
            expires: None,
        };
        assert_eq!(
            one("a", "b", all),
            "a=b; Domain=d.com; expires=Tue, 14 Nov 2023 22:13:30 GMT; HttpOnly; Max-Age=10; Path=/p; SameSite=Strict; Secure"
        );
    }

    #[test]
    fn samesite_keeps_case_and_is_validated() {
        for value in ["lax", "Lax", "None", "STRICT"] {
            assert_eq!(
                one(
                    "a",
                    "b",
                    CookieOptions {
                        samesite: Some(value.into()),
                        ..opts()
                    }
                ),
                format!("a=b; Path=/; SameSite={value}")
            );
        }
        assert_eq!(
            one(
                "a",
                "b",
                CookieOptions {
                    samesite: Some(PyText::from("")),
                    ..opts()
                }
            ),
            "a=b; Path=/"
        );
        assert_eq!(
            set(
                "a",
                "b",
                CookieOptions {
                    samesite: Some("Bogus".into()),
                    ..opts()
                }
            )
            .unwrap_err(),
            CookieError::InvalidSameSite
        );
    }

    #[test]
    fn key_legality() {
        for key in ["a b", "a;b", "a=b", "a,b", "é", "a\tb", ""] {
            assert_eq!(
                set(key, "v", opts()).unwrap_err(),
                CookieError::IllegalKey(key.into())
            );
        }
        for key in [
            "expires", "Max-Age", "PATH", "comment", "Version", "SameSite", "httponly",
        ] {
            assert_eq!(
                set(key, "v", opts()).unwrap_err(),
                CookieError::ReservedKey(key.into())
            );
        }
        assert_eq!(one("$a", "v", opts()), "$a=v; Path=/");
        assert_eq!(one("a:b", "v", opts()), "a:b=v; Path=/");
    }

    #[test]
    fn setting_again_keeps_position_and_earlier_attributes() {
        let mut cookies = ResponseCookies::default();
        for (key, value) in [("z", "1"), ("a", "2"), ("z", "3")] {
            cookies.set_cookie(key, value, &opts(), T).unwrap();
        }
        assert_eq!(cookies.header_values(), ["z=3; Path=/", "a=2; Path=/"]);

        let mut cookies = ResponseCookies::default();
        let first = CookieOptions {
            domain: Some("x.com".into()),
            max_age: Some(10.0),
            secure: true,
            httponly: true,
            samesite: Some("Lax".into()),
            ..opts()
        };
        cookies.set_cookie("a", "b", &first, T).unwrap();
        cookies.set_cookie("a", "c", &opts(), T).unwrap();
        // Django reuses the morsel: only expires is reset; the rest survives.
        assert_eq!(
            cookies.header_values(),
            ["a=c; Domain=x.com; HttpOnly; Max-Age=10; Path=/; SameSite=Lax; Secure"]
        );

        let mut cookies = ResponseCookies::default();
        cookies
            .set_cookie(
                "a",
                "b",
                &CookieOptions {
                    path: Some("/p".into()),
                    ..opts()
                },
                T,
            )
            .unwrap();
        cookies
            .set_cookie(
                "a",
                "c",
                &CookieOptions {
                    path: None,
                    ..opts()
                },
                T,
            )
            .unwrap();
        assert_eq!(cookies.header_values(), ["a=c; Path=/p"]);
    }

    #[test]
    fn delete_cookie_variants() {
        let delete =
            |key: &str, path: Option<&str>, domain: Option<&str>, samesite: Option<&str>| {
                let mut cookies = ResponseCookies::default();
                cookies
                    .delete_cookie(
                        key,
                        path.map(PyText::from),
                        domain.map(PyText::from),
                        samesite.map(PyText::from),
                    )
                    .unwrap();
                cookies.header_values().remove(0)
            };
        let gone = "expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0";
        assert_eq!(
            delete("a", Some("/"), None, None),
            format!("a=\"\"; {gone}; Path=/")
        );
        assert_eq!(
            delete("__Host-x", Some("/"), None, None),
            format!("__Host-x=\"\"; {gone}; Path=/; Secure")
        );
        assert_eq!(
            delete("__Secure-x", Some("/"), None, None),
            format!("__Secure-x=\"\"; {gone}; Path=/; Secure")
        );
        assert_eq!(
            delete("a", Some("/"), None, Some("none")),
            format!("a=\"\"; {gone}; Path=/; SameSite=none; Secure")
        );
        assert_eq!(
            delete("a", Some("/"), None, Some("NoNe")),
            format!("a=\"\"; {gone}; Path=/; SameSite=NoNe; Secure")
        );
        assert_eq!(
            delete("a", Some("/"), None, Some("Lax")),
            format!("a=\"\"; {gone}; Path=/; SameSite=Lax")
        );
        assert_eq!(
            delete("a", Some("/p"), Some("d.com"), None),
            format!("a=\"\"; Domain=d.com; {gone}; Path=/p")
        );
        assert_eq!(delete("a", None, None, None), format!("a=\"\"; {gone}"));
    }

    #[test]
    fn delete_after_set_keeps_httponly() {
        let mut cookies = ResponseCookies::default();
        let options = CookieOptions {
            httponly: true,
            max_age: Some(100.0),
            ..opts()
        };
        cookies.set_cookie("s", "v", &options, T).unwrap();
        cookies
            .delete_cookie("s", Some(PyText::from("/")), None, None)
            .unwrap();
        assert_eq!(
            cookies.header_values(),
            ["s=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Max-Age=0; Path=/"]
        );
    }

    #[test]
    fn signed_cookies_use_the_v2_salt() {
        let settings = Settings::default();
        let signed = |key: &str, value: &str, salt: &str, options: CookieOptions| {
            let mut cookies = ResponseCookies::default();
            cookies.set_signed_cookie(key, value, salt, &options, &settings, T)?;
            Ok::<_, CookieError>(cookies.header_values().remove(0))
        };
        let cases = [
            (
                "hello",
                "",
                "c=hello:1r31eq:ibGXs9hYGUvdzes8OUPYia_OxcCfU-hW5C_VDi5ERj8; Path=/",
            ),
            (
                "hello",
                "s1",
                "c=hello:1r31eq:kWRWOcwLcpXQhK438ZmvZp3Rwf25WDsmg-15nav_Fdo; Path=/",
            ),
            (
                "a:b",
                "",
                "c=a:b:1r31eq:PMEfZnuuWZpNuL6E7LeKQ3WQCA4Ba-_dOJmjRfx6BPY; Path=/",
            ),
            (
                "v",
                "é€",
                "c=v:1r31eq:FlKy_sskI6aBiNy2l2VmAWx5pK_tj9uQpP4jOKSKup4; Path=/",
            ),
        ];
        for (value, salt, expected) in cases {
            assert_eq!(signed("c", value, salt, opts()).unwrap(), expected);
        }
        let options = CookieOptions {
            max_age: Some(60.0),
            httponly: true,
            ..opts()
        };
        assert_eq!(
            signed("c", "v", "", options).unwrap(),
            "c=v:1r31eq:GYOD8ZaDxed9KyAnl_KADujyGkMqX55KEZ0QyAv2_B4; expires=Tue, 14 Nov 2023 22:14:20 GMT; HttpOnly; Max-Age=60; Path=/"
        );
        assert_eq!(
            signed("a b", "v", "", opts()).unwrap_err(),
            CookieError::IllegalKey("a b".into())
        );
    }

    #[test]
    fn parse_cookie_table() {
        let cases: [(&str, &[(&str, &str)]); 33] = [
            ("a=b; c=d", &[("a", "b"), ("c", "d")]),
            ("a=b;c=d", &[("a", "b"), ("c", "d")]),
            (" a = b ; c = d ", &[("a", "b"), ("c", "d")]),
            ("a=\"b c\"", &[("a", "b c")]),
            (r#"a="b\"c""#, &[("a", "b\"c")]),
            (r#"a="\073""#, &[("a", ";")]),
            ("a", &[("", "a")]),
            ("=b", &[("", "b")]),
            ("a=b=c", &[("a", "b=c")]),
            ("a=b; a=c", &[("a", "c")]),
            ("x=1, y=2", &[("x", "1, y=2")]),
            ("a=b; $Version=1", &[("a", "b"), ("$Version", "1")]),
            ("a=%20b", &[("a", "%20b")]),
            ("a=\"unterminated", &[("a", "\"unterminated")]),
            ("=", &[]),
            (" = ", &[]),
            (";", &[]),
            ("", &[]),
            ("foo=bar; foo", &[("foo", "bar"), ("", "foo")]),
            ("a=\"x\" y", &[("a", "\"x\" y")]),
            (r#"a="\303\251""#, &[("a", "Ã©")]),
            (r#"a="\400""#, &[("a", "400")]),
            ("a=\"\\\n\"", &[("a", "\\\n")]),
            (r#"a="\\\073""#, &[("a", "\\;")]),
            (r#"a="\x""#, &[("a", "x")]),
            ("a=\"", &[("a", "\"")]),
            ("a=\"\"", &[("a", "")]),
            ("\u{1c}a\u{1f}=\u{85}b\u{a0}", &[("a", "b")]),
            ("b=1; a=2; b=3", &[("b", "3"), ("a", "2")]),
            (r#"a="\0""#, &[("a", "0")]),
            (r#"a="\777""#, &[("a", "777")]),
            (r#"a="\12""#, &[("a", "12")]),
            ("a=\u{2003}b\u{3000}", &[("a", "b")]),
        ];
        for (header, expected) in cases {
            let parsed = parse_cookie(header);
            let pairs: Vec<(&str, &str)> = parsed
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(pairs, expected, "{header:?}");
        }
    }

    #[test]
    fn py_strip_is_str_isspace() {
        // [hex(c) for c in range(0x110000) if chr(c).isspace()] in CPython 3.11
        let python: Vec<u32> = [
            0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
        ]
        .into_iter()
        .chain(0x2000..=0x200a)
        .chain([0x2028, 0x2029, 0x202f, 0x205f, 0x3000])
        .collect();
        let ours: Vec<u32> = (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|&c| py_strip(&c.to_string()).is_empty())
            .map(u32::from)
            .collect();
        assert_eq!(ours, python);
    }

    #[test]
    fn the_asgi_cookie_header_is_latin1_and_joined_by_each_versions_rule() {
        assert_eq!(asgi_cookie_header(DjangoVersion::V5_2, &[]), None);
        let one: [&[u8]; 1] = [b"a=\xc3\xa9"];
        for version in DjangoVersion::ALL {
            assert_eq!(
                asgi_cookie_header(version, &one).unwrap(),
                "a=\u{c3}\u{a9}",
                "{version}: no UTF-8 decoding under ASGI"
            );
        }
        let lines: [&[u8]; 3] = [b"a=1;; ", b"b=2", b" ;c=3 ;"];
        assert_eq!(
            asgi_cookie_header(DjangoVersion::V5_2, &lines).unwrap(),
            "a=1;; ,b=2, ;c=3 ;"
        );
        assert_eq!(
            asgi_cookie_header(DjangoVersion::V6_1, &lines).unwrap(),
            "a=1; b=2;  ;c=3",
            "only the end of each line is stripped"
        );
        let parsed = parse_cookie(&asgi_cookie_header(DjangoVersion::V6_1, &lines).unwrap());
        assert_eq!(parsed.get("b").map(String::as_str), Some("2"));
    }

    #[test]
    fn decode_cookie_header_replaces_invalid_utf8() {
        assert_eq!(decode_cookie_header(b"a=\xe9"), "a=\u{fffd}");
        assert_eq!(decode_cookie_header(b"a=\xc3\xa9"), "a=é");
    }

    fn request_cookies(pairs: &[(&str, &str)]) -> IndexMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const V2_C: &str = "hello:1r31eq:ibGXs9hYGUvdzes8OUPYia_OxcCfU-hW5C_VDi5ERj8";
    const LEGACY_C: &str = "hello:1r31eq:9PNMcoBJ8SOhu7RXiOqU_IUqNIngWjz-5QdWpQ7OJA4";
    const LEGACY_A_BC: &str = "v:1r31eq:5KP-I4D3uvDSC7GEDEIqZmQmhKzlOT8_JonnoLI85FA";
    const V2_A_BC: &str = "v:1r31eq:Zdzdy9i4LrmYWo8P5hxB9P5HuF-j9lUyzYzMffnIjGw";

    #[test]
    fn get_signed_cookie_v2_and_missing() {
        let settings = Settings::default();
        let cookies = request_cookies(&[("c", V2_C)]);
        assert_eq!(
            get_signed_cookie(&cookies, "c", "", None, &settings, T).unwrap(),
            "hello"
        );
        let missing = get_signed_cookie(&cookies, "d", "", None, &settings, T).unwrap_err();
        assert_eq!(missing, SignedCookieError::Missing("d".into()));
        assert!(missing.default_applies());
        // Copied to another name: the name is part of the salt.
        let copied = request_cookies(&[("d", V2_C)]);
        let err = get_signed_cookie(&copied, "d", "", None, &settings, T).unwrap_err();
        assert_eq!(
            err,
            SignedCookieError::Signing(SigningError::BadSignature(
                "Signature \"ibGXs9hYGUvdzes8OUPYia_OxcCfU-hW5C_VDi5ERj8\" does not match".into()
            ))
        );
        assert!(err.default_applies());
    }

    #[test]
    fn get_signed_cookie_legacy_salt_fallback() {
        let on = Settings::default();
        let off = Settings {
            signed_cookie_legacy_salt_fallback: false,
            ..Settings::default()
        };
        let legacy = request_cookies(&[("c", LEGACY_C)]);
        assert_eq!(
            get_signed_cookie(&legacy, "c", "", None, &on, T).unwrap(),
            "hello"
        );
        assert!(get_signed_cookie(&legacy, "c", "", None, &off, T).is_err());
        let v2 = request_cookies(&[("c", V2_C)]);
        assert_eq!(
            get_signed_cookie(&v2, "c", "", None, &off, T).unwrap(),
            "hello"
        );
        // Legacy a/bc and ab/c both salt "abc"; v2 keeps them apart.
        let legacy_ab = request_cookies(&[("ab", LEGACY_A_BC)]);
        assert_eq!(
            get_signed_cookie(&legacy_ab, "ab", "c", None, &on, T).unwrap(),
            "v"
        );
        let v2_ab = request_cookies(&[("ab", V2_A_BC)]);
        assert!(get_signed_cookie(&v2_ab, "ab", "c", None, &on, T).is_err());
        let v2_a = request_cookies(&[("a", V2_A_BC)]);
        assert_eq!(
            get_signed_cookie(&v2_a, "a", "bc", None, &on, T).unwrap(),
            "v"
        );
    }

    #[test]
    fn get_signed_cookie_expiry() {
        let settings = Settings::default();
        let expired = |value: &str, now: f64| {
            let cookies = request_cookies(&[("c", value)]);
            get_signed_cookie(&cookies, "c", "", Some(10.0), &settings, now)
        };
        for value in [V2_C, LEGACY_C] {
            assert_eq!(expired(value, T + 10.0).unwrap(), "hello");
            let err = expired(value, T + 11.0).unwrap_err();
            assert!(matches!(
                err,
                SignedCookieError::Signing(SigningError::SignatureExpired(_))
            ));
            assert!(err.default_applies());
        }
    }

    #[test]
    fn get_signed_cookie_tampered_and_rotated_keys() {
        let settings = Settings::default();
        let tampered = format!("{}x", &V2_C[..V2_C.len() - 1]);
        let cookies = request_cookies(&[("c", tampered.as_str())]);
        assert!(get_signed_cookie(&cookies, "c", "", None, &settings, T).is_err());
        let unsigned = request_cookies(&[("c", "hello")]);
        assert_eq!(
            get_signed_cookie(&unsigned, "c", "", None, &settings, T).unwrap_err(),
            SignedCookieError::Signing(SigningError::BadSignature(
                "No \":\" found in value".into()
            ))
        );
        let rotated = Settings {
            secret_key: "new".into(),
            secret_key_fallbacks: vec!["test-secret-key-for-catalog".into()],
            ..Settings::default()
        };
        for value in [V2_C, LEGACY_C] {
            let cookies = request_cookies(&[("c", value)]);
            assert_eq!(
                get_signed_cookie(&cookies, "c", "", None, &rotated, T).unwrap(),
                "hello"
            );
        }
    }

    #[test]
    fn malformed_signed_cookie_escapes_even_with_a_default() {
        // A value validly signed with the v2 salt but without a timestamp: Django's
        // TimestampSigner raises ValueError, which get_signed_cookie does not catch.
        let settings = Settings::default();
        let plain = Signer {
            salt: Some(signing::cookie_signer_salt("c", "")),
            ..Signer::new("django.http.cookiestest-secret-key-for-catalog")
        };
        let cookies = request_cookies(&[("c", &plain.sign("hello").unwrap())]);
        let err = get_signed_cookie(&cookies, "c", "", None, &settings, T).unwrap_err();
        assert!(!err.default_applies(), "{err}");
    }

    use crate::reference::signing::Signer;

    proptest! {
        #[test]
        fn parse_cookie_reads_back_any_rendered_value(value in "[^\\x00-\\x1f\\x7f]*") {
            let rendered = one("k", &value, opts());
            let parsed = parse_cookie(&rendered);
            prop_assert_eq!(parsed.get("k"), Some(&value));
        }

        #[test]
        fn quoted_latin1_values_are_ascii(value in "[\\x00-\\xff]*") {
            let quoted = quote(&value);
            prop_assert!(quoted.is_ascii());
            prop_assert_eq!(unquote(&quoted), value);
        }

        #[test]
        fn values_with_a_control_character_are_refused(
            before in "[a-z]{0,4}", control in "[\\x00-\\x1f\\x7f]", after in "[a-z]{0,4}",
        ) {
            let value = format!("{before}{control}{after}");
            prop_assert_eq!(set("k", &value, opts()), Err(CookieError::ControlCharacter(value.clone())));
            let as_path = CookieOptions { path: Some(PyText::from(value.clone())), ..opts() };
            prop_assert_eq!(set("k", "v", as_path), Err(CookieError::ControlCharacter(value)));
        }

        #[test]
        fn signed_cookies_read_back(value in "[^\\x00-\\x1f\\x7f]*", salt in ".{0,8}", key in "[a-z]{1,8}") {
            let settings = Settings::default();
            let mut cookies = ResponseCookies::default();
            cookies.set_signed_cookie(&key, &value, &salt, &opts(), &settings, T).unwrap();
            let header = cookies.header_values().remove(0);
            let parsed = parse_cookie(&header);
            prop_assert_eq!(get_signed_cookie(&parsed, &key, &salt, None, &settings, T).unwrap(), value);
        }
    }
}

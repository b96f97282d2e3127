//! Cookies: `HttpResponseBase.set_cookie / set_signed_cookie / delete_cookie` rendered as Python's
//! `Morsel.OutputString()`, and `django/http/cookie.py::parse_cookie` plus
//! `HttpRequest.get_signed_cookie` on the request side (Django 5.2.19).

use indexmap::IndexMap;

use crate::reference::Settings;
use crate::reference::signing::SigningError;

/// `expires=` as Django accepts it.
#[derive(Debug, Clone, PartialEq)]
pub enum Expires {
    /// A string, emitted as it is.
    Text(String),
    /// A `datetime`: Unix seconds and whether it was naive (naive means UTC, as in Django).
    DateTime { unix: f64, naive: bool },
}

/// The keyword arguments of `set_cookie`; `Default` is Django's defaults (`path="/"`).
#[derive(Debug, Clone, PartialEq)]
pub struct CookieOptions {
    /// Seconds; a `timedelta` is passed as its `total_seconds()`.
    pub max_age: Option<f64>,
    pub expires: Option<Expires>,
    pub path: Option<String>,
    pub domain: Option<String>,
    pub secure: bool,
    pub httponly: bool,
    pub samesite: Option<String>,
}

impl Default for CookieOptions {
    fn default() -> Self {
        todo!()
    }
}

/// What Django raises from the cookie API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CookieError {
    /// `http.cookies.CookieError: Illegal key`.
    #[error("Illegal key {0:?}")]
    IllegalKey(String),
    /// `ValueError` for a `samesite` outside lax/none/strict.
    #[error("samesite must be \"lax\", \"none\", or \"strict\".")]
    InvalidSameSite,
    /// `ValueError`: a datetime `expires` together with `max_age`.
    #[error("'expires' and 'max_age' can't be used together.")]
    ExpiresWithMaxAge,
    #[error(transparent)]
    Signing(#[from] SigningError),
}

/// `response.cookies`: an ordered set of morsels where setting a key again replaces its morsel in
/// place, so the `Set-Cookie` order is the order keys were first set.
#[derive(Debug, Clone, Default)]
pub struct ResponseCookies {
    morsels: IndexMap<String, Morsel>,
}

#[derive(Debug, Clone, PartialEq)]
struct Morsel {
    value: String,
    attributes: Vec<(&'static str, String)>,
}

impl ResponseCookies {
    pub fn set_cookie(
        &mut self,
        key: &str,
        value: &str,
        options: &CookieOptions,
        now: f64,
    ) -> Result<(), CookieError> {
        let _ = (key, value, options, now, &self.morsels);
        todo!()
    }

    pub fn set_signed_cookie(
        &mut self,
        key: &str,
        value: &str,
        salt: &str,
        options: &CookieOptions,
        settings: &Settings,
        now: f64,
    ) -> Result<(), CookieError> {
        let _ = (key, value, salt, options, settings, now);
        todo!()
    }

    pub fn delete_cookie(
        &mut self,
        key: &str,
        path: Option<&str>,
        domain: Option<&str>,
        samesite: Option<&str>,
    ) -> Result<(), CookieError> {
        let _ = (key, path, domain, samesite);
        todo!()
    }

    /// One `Set-Cookie` header value per cookie, in order (6.x bytes: no leading space).
    pub fn header_values(&self) -> Vec<String> {
        todo!()
    }
}

/// `django.http.cookie.parse_cookie`.
pub fn parse_cookie(header: &str) -> IndexMap<String, String> {
    let _ = header;
    todo!()
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

/// `request.get_signed_cookie(key, salt=…, max_age=…)` without a default: the caller substitutes
/// its default on `Err`, as Django does.
pub fn get_signed_cookie(
    cookies: &IndexMap<String, String>,
    key: &str,
    salt: &str,
    max_age: Option<f64>,
    settings: &Settings,
    now: f64,
) -> Result<String, SignedCookieError> {
    let _ = (cookies, key, salt, max_age, settings, now);
    todo!()
}

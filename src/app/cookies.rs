//! The cookies topic (`django_reference/cookies/` on the Django side): each op is one call of
//! [`crate::reference::cookies`] or [`crate::reference::signing`], made with the arguments the
//! Django view passes. Whatever Django raises becomes its 500 page.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, State};
use axum::http::header::COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::any;
use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use super::contract::{Args, Clock, JsonBody, ViewError, json_response, py_repr, read_ops};
use crate::reference::Settings;
use crate::reference::cookies::{
    CookieOptions, ResponseCookies, decode_cookie_header, get_signed_cookie, parse_cookie,
};
use crate::reference::signing::{self, Signer, SigningError, TimestampSigner};

/// `cookies/urls.py`. Any method is served, as the Django views accept any.
pub fn routes() -> Router<Arc<Settings>> {
    Router::new()
        .route("/cookies/set", any(set_cookies))
        .route("/cookies/read", any(read_cookies))
        .route("/cookies/signing", any(signing_ops))
}

// --- POST /cookies/set ------------------------------------------------------------------------

const COOKIE_ARGS: [&str; 9] = [
    "key", "value", "max_age", "expires", "path", "domain", "secure", "httponly", "samesite",
];

/// One response method call.
enum CookieOp {
    Set {
        key: String,
        value: String,
        options: CookieOptions,
    },
    SetSigned {
        key: String,
        value: String,
        salt: String,
        options: CookieOptions,
    },
    Delete {
        key: String,
        path: Option<String>,
        domain: Option<String>,
        samesite: Option<String>,
    },
}

impl CookieOp {
    const NAMES: [&str; 3] = ["set_cookie", "set_signed_cookie", "delete_cookie"];

    fn read(name: &str, op: &Args) -> Result<CookieOp, ViewError> {
        match name {
            "set_cookie" => {
                let op = op.allowing(&COOKIE_ARGS)?;
                Ok(CookieOp::Set {
                    key: op.required_string("key")?,
                    value: op.text("value")?.unwrap_or_default(),
                    options: cookie_options(&op)?,
                })
            }
            "set_signed_cookie" => {
                let op = op.allowing(&[&COOKIE_ARGS[..], &["salt"]].concat())?;
                Ok(CookieOp::SetSigned {
                    key: op.required_string("key")?,
                    value: op.required_text("value")?,
                    salt: op.string("salt")?.unwrap_or_default(),
                    options: cookie_options(&op)?,
                })
            }
            "delete_cookie" => {
                let op = op.allowing(&["key", "path", "domain", "samesite"])?;
                Ok(CookieOp::Delete {
                    key: op.required_string("key")?,
                    path: nullable_or(op.nullable_string("path")?, Some("/".to_owned())),
                    domain: nullable_or(op.nullable_string("domain")?, None),
                    samesite: nullable_or(op.nullable_string("samesite")?, None),
                })
            }
            _ => unreachable!("read_ops passes only the names in NAMES"),
        }
    }

    fn apply(
        &self,
        cookies: &mut ResponseCookies,
        settings: &Settings,
        now: f64,
    ) -> Result<(), ViewError> {
        let result = match self {
            CookieOp::Set {
                key,
                value,
                options,
            } => cookies.set_cookie(key, value, options, now),
            CookieOp::SetSigned {
                key,
                value,
                salt,
                options,
            } => cookies.set_signed_cookie(key, value, salt, options, settings, now),
            CookieOp::Delete {
                key,
                path,
                domain,
                samesite,
            } => {
                cookies.delete_cookie(key, path.as_deref(), domain.as_deref(), samesite.as_deref())
            }
        };
        result.map_err(|_| ViewError::Uncaught)
    }
}

/// `set_cookie`'s keyword arguments other than key and value.
fn cookie_options(op: &Args) -> Result<CookieOptions, ViewError> {
    let defaults = CookieOptions::default();
    Ok(CookieOptions {
        max_age: op.duration("max_age")?,
        expires: op.expires("expires")?,
        path: nullable_or(op.nullable_string("path")?, defaults.path),
        domain: nullable_or(op.nullable_string("domain")?, defaults.domain),
        secure: op.boolean("secure")?.unwrap_or(defaults.secure),
        httponly: op.boolean("httponly")?.unwrap_or(defaults.httponly),
        samesite: nullable_or(op.nullable_string("samesite")?, defaults.samesite),
    })
}

/// A "string or null" argument: absent gives Django's `default`, null gives `None`.
fn nullable_or(argument: Option<Option<String>>, default: Option<String>) -> Option<String> {
    argument.unwrap_or(default)
}

/// `response = JsonResponse({"applied": N})`, then one response method per op, in order.
async fn set_cookies(
    State(settings): State<Arc<Settings>>,
    Extension(Clock(now)): Extension<Clock>,
    JsonBody(body): JsonBody,
) -> Result<Response, ViewError> {
    let ops = read_ops(&body, &CookieOp::NAMES, CookieOp::read)?;
    let mut cookies = ResponseCookies::default();
    for op in &ops {
        op.apply(&mut cookies, &settings, now)?;
    }
    let mut response = json_response(StatusCode::OK, &json!({ "applied": ops.len() }));
    response.extensions_mut().insert(cookies);
    Ok(response)
}

// --- GET|POST /cookies/read -------------------------------------------------------------------

/// `request.get_signed_cookie(key, default=…, salt=…, max_age=…)`.
struct SignedLookup {
    key: String,
    salt: String,
    max_age: Option<f64>,
    /// `None`: no default, so a missing or bad cookie raises.
    default: Option<Value>,
}

impl SignedLookup {
    fn read(lookup: &Map<String, Value>) -> Result<SignedLookup, ViewError> {
        let lookup = Args::new(lookup, &["key", "salt", "max_age", "default"])?;
        Ok(SignedLookup {
            key: lookup.required_string("key")?,
            salt: lookup.string("salt")?.unwrap_or_default(),
            max_age: lookup.duration("max_age")?,
            default: lookup.any("default").cloned(),
        })
    }

    fn run(
        &self,
        cookies: &IndexMap<String, String>,
        settings: &Settings,
        now: f64,
    ) -> Result<Value, ViewError> {
        match get_signed_cookie(cookies, &self.key, &self.salt, self.max_age, settings, now) {
            Ok(value) => Ok(Value::String(value)),
            Err(error) => match &self.default {
                Some(default) if error.default_applies() => Ok(default.clone()),
                _ => Err(ViewError::Uncaught),
            },
        }
    }
}

/// `{"cookie_header": …, "cookies": request.COOKIES, "signed": [...]}`.
async fn read_cookies(
    State(settings): State<Arc<Settings>>,
    Extension(Clock(now)): Extension<Clock>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ViewError> {
    let body = Args::new(&body, &["signed"]).map_err(|e| e.within("body"))?;
    let lookups = body.objects("signed")?.unwrap_or_default();
    let lookups: Vec<SignedLookup> = lookups
        .into_iter()
        .enumerate()
        .map(|(index, lookup)| {
            SignedLookup::read(lookup).map_err(|e| e.within(&format!("signed[{index}]")))
        })
        .collect::<Result<_, _>>()?;
    let header = wsgi_cookie_header(&headers);
    let cookies = parse_cookies(header.as_deref());
    let signed: Vec<Value> = lookups
        .iter()
        .map(|lookup| lookup.run(&cookies, &settings, now))
        .collect::<Result<_, _>>()?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            // `request.META["HTTP_COOKIE"]`: the server decoded the bytes as latin-1.
            "cookie_header": header.as_deref().map(latin1),
            "cookies": cookies,
            "signed": signed,
        }),
    ))
}

/// The `Cookie` header bytes as gunicorn puts them in the WSGI environ: repeated lines joined
/// with `,` (which `parse_cookie` then reads as part of a value, as Django does).
fn wsgi_cookie_header(headers: &HeaderMap) -> Option<Vec<u8>> {
    let mut lines = headers.get_all(COOKIE).iter().map(|line| line.as_bytes());
    let first = lines.next()?;
    Some(lines.fold(first.to_vec(), |mut joined, line| {
        joined.push(b',');
        joined.extend_from_slice(line);
        joined
    }))
}

/// `request.COOKIES`.
fn parse_cookies(header: Option<&[u8]>) -> IndexMap<String, String> {
    parse_cookie(&decode_cookie_header(header.unwrap_or_default()))
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().copied().map(char::from).collect()
}

// --- POST /cookies/signing --------------------------------------------------------------------

const SIGNER_ARGS: [&str; 6] = ["signer", "key", "salt", "sep", "algorithm", "fallback_keys"];

/// `get_cookie_signer`'s own default salt.
const COOKIE_SIGNER_SALT: &str = "django.core.signing.get_cookie_signer";

/// The default salt of `signing.dumps` and `signing.loads`.
const OBJECT_SALT: &str = "django.core.signing";

#[derive(Debug, Clone, Copy, PartialEq)]
enum SignerKind {
    Plain,
    Timestamp,
    Cookie,
}

/// The signer an op names and the arguments it is built with (`None`: Django's default).
struct SignerArgs {
    kind: SignerKind,
    key: Option<String>,
    salt: Option<String>,
    sep: Option<String>,
    algorithm: Option<String>,
    fallback_keys: Option<Vec<String>>,
}

impl SignerArgs {
    fn read(op: &Args) -> Result<SignerArgs, ViewError> {
        let kind = match op.string("signer")?.as_deref() {
            None | Some("signer") => SignerKind::Plain,
            Some("timestamp") => SignerKind::Timestamp,
            Some("cookie") => SignerKind::Cookie,
            Some(other) => {
                return Err(ViewError::contract(format!(
                    "unknown signer {}",
                    py_repr(other)
                )));
            }
        };
        if kind == SignerKind::Cookie {
            // `get_cookie_signer(salt=…)` takes nothing else.
            if let Some(name) = ["key", "sep", "algorithm", "fallback_keys"]
                .into_iter()
                .find(|name| op.any(name).is_some())
            {
                return Err(ViewError::contract(format!(
                    "argument {} is not allowed with signer 'cookie'",
                    py_repr(name)
                )));
            }
        }
        Ok(SignerArgs {
            kind,
            key: op.string("key")?,
            salt: op.string("salt")?,
            sep: op.string("sep")?,
            algorithm: op.string("algorithm")?,
            fallback_keys: op.strings("fallback_keys")?,
        })
    }

    fn build(&self, settings: &Settings) -> AnySigner {
        match self.kind {
            SignerKind::Plain => AnySigner::Plain(self.signer(settings)),
            SignerKind::Timestamp => {
                AnySigner::Timestamp(TimestampSigner::new(self.signer(settings)))
            }
            SignerKind::Cookie => {
                let salt = self.salt.as_deref().unwrap_or(COOKIE_SIGNER_SALT);
                AnySigner::Timestamp(signing::get_cookie_signer(settings, salt))
            }
        }
    }

    /// `Signer(key=…, sep=…, salt=…, algorithm=…, fallback_keys=…)` with the given arguments.
    fn signer(&self, settings: &Settings) -> Signer {
        let mut signer = Signer::from_settings(settings);
        signer.key = key_or_secret(self.key.as_deref(), settings);
        if let Some(fallback_keys) = &self.fallback_keys {
            signer.fallback_keys.clone_from(fallback_keys);
        }
        if let Some(sep) = &self.sep {
            signer.sep.clone_from(sep);
        }
        signer.salt.clone_from(&self.salt);
        if let Some(algorithm) = &self.algorithm {
            signer.algorithm.clone_from(algorithm);
        }
        signer
    }
}

/// Django's `key or settings.SECRET_KEY`: an empty key means the secret key too.
fn key_or_secret(key: Option<&str>, settings: &Settings) -> String {
    key.filter(|key| !key.is_empty())
        .unwrap_or(&settings.secret_key)
        .to_owned()
}

enum AnySigner {
    Plain(Signer),
    Timestamp(TimestampSigner),
}

impl AnySigner {
    fn sign(&self, value: &str, now: f64) -> Result<String, SigningError> {
        match self {
            AnySigner::Plain(signer) => signer.sign(value),
            AnySigner::Timestamp(signer) => signer.sign(value, now),
        }
    }

    /// `max_age` is only ever given to a timestamp signer (the contract refuses it otherwise).
    fn unsign(&self, value: &str, max_age: Option<f64>, now: f64) -> Result<String, SigningError> {
        match self {
            AnySigner::Plain(signer) => signer.unsign(value),
            AnySigner::Timestamp(signer) => signer.unsign(value, max_age, now),
        }
    }
}

enum SigningOp {
    Sign {
        signer: SignerArgs,
        value: String,
    },
    Unsign {
        signer: SignerArgs,
        value: String,
        max_age: Option<f64>,
    },
    Dumps {
        obj: Value,
        key: Option<String>,
        salt: Option<String>,
        compress: bool,
    },
    Loads {
        value: String,
        key: Option<String>,
        salt: Option<String>,
        max_age: Option<f64>,
        fallback_keys: Option<Vec<String>>,
    },
    SaltedHmac {
        key_salt: String,
        value: String,
        secret: Option<String>,
        algorithm: Option<String>,
    },
}

impl SigningOp {
    const NAMES: [&str; 5] = ["sign", "unsign", "dumps", "loads", "salted_hmac"];

    fn read(name: &str, op: &Args) -> Result<SigningOp, ViewError> {
        match name {
            "sign" => {
                let op = op.allowing(&[&["value"][..], &SIGNER_ARGS].concat())?;
                Ok(SigningOp::Sign {
                    value: op.required_string("value")?,
                    signer: SignerArgs::read(&op)?,
                })
            }
            "unsign" => {
                let op = op.allowing(&[&["value", "max_age"][..], &SIGNER_ARGS].concat())?;
                let value = op.required_string("value")?;
                let max_age = op.duration("max_age")?;
                let signer = SignerArgs::read(&op)?;
                if max_age.is_some() && signer.kind == SignerKind::Plain {
                    return Err(ViewError::contract(
                        "argument 'max_age' needs signer 'timestamp' or 'cookie'",
                    ));
                }
                Ok(SigningOp::Unsign {
                    signer,
                    value,
                    max_age,
                })
            }
            "dumps" => {
                let op = op.allowing(&["obj", "key", "salt", "compress"])?;
                Ok(SigningOp::Dumps {
                    obj: op.required_any("obj")?.clone(),
                    key: op.string("key")?,
                    salt: op.string("salt")?,
                    compress: op.boolean("compress")?.unwrap_or(false),
                })
            }
            "loads" => {
                let op = op.allowing(&["value", "key", "salt", "max_age", "fallback_keys"])?;
                Ok(SigningOp::Loads {
                    value: op.required_string("value")?,
                    key: op.string("key")?,
                    salt: op.string("salt")?,
                    max_age: op.duration("max_age")?,
                    fallback_keys: op.strings("fallback_keys")?,
                })
            }
            "salted_hmac" => {
                let op = op.allowing(&["key_salt", "value", "secret", "algorithm"])?;
                Ok(SigningOp::SaltedHmac {
                    key_salt: op.required_string("key_salt")?,
                    value: op.required_string("value")?,
                    secret: op.string("secret")?,
                    algorithm: op.string("algorithm")?,
                })
            }
            _ => unreachable!("read_ops passes only the names in NAMES"),
        }
    }

    /// The op's Django call.
    fn call(&self, settings: &Settings, now: f64) -> Result<Value, SigningError> {
        match self {
            SigningOp::Sign { signer, value } => {
                signer.build(settings).sign(value, now).map(Value::from)
            }
            SigningOp::Unsign {
                signer,
                value,
                max_age,
            } => signer
                .build(settings)
                .unsign(value, *max_age, now)
                .map(Value::from),
            SigningOp::Dumps {
                obj,
                key,
                salt,
                compress,
            } => {
                let key = key_or_secret(key.as_deref(), settings);
                let salt = salt.as_deref().unwrap_or(OBJECT_SALT);
                signing::dumps(obj, &key, salt, *compress, now).map(Value::from)
            }
            SigningOp::Loads {
                value,
                key,
                salt,
                max_age,
                fallback_keys,
            } => {
                let key = key_or_secret(key.as_deref(), settings);
                let fallback_keys = fallback_keys
                    .as_ref()
                    .unwrap_or(&settings.secret_key_fallbacks);
                let salt = salt.as_deref().unwrap_or(OBJECT_SALT);
                signing::loads(value, &key, fallback_keys, salt, *max_age, now)
            }
            SigningOp::SaltedHmac {
                key_salt,
                value,
                secret,
                algorithm,
            } => {
                let secret = secret.as_deref().unwrap_or(&settings.secret_key);
                let algorithm = algorithm.as_deref().unwrap_or("sha1");
                signing::salted_hmac(key_salt, value, secret, algorithm)
                    .map(|digest| Value::from(hex(&digest)))
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The view's `_result`: `{"value": …}`, or `{"error": …}` for the `BadSignature` family. Any
/// other exception escapes, except that a value the reference cannot represent is reported as
/// such, so the harness shows it as a divergence rather than as a Django 500.
fn outcome(result: Result<Value, SigningError>) -> Result<Value, ViewError> {
    match result {
        Ok(value) => Ok(json!({ "value": value })),
        Err(error)
            if error.is_bad_signature() || matches!(error, SigningError::Unrepresentable(_)) =>
        {
            Ok(json!({ "error": error.class_name() }))
        }
        Err(_) => Err(ViewError::Uncaught),
    }
}

/// `JsonResponse({"results": [...]})`, one result per op, in order.
async fn signing_ops(
    State(settings): State<Arc<Settings>>,
    Extension(Clock(now)): Extension<Clock>,
    JsonBody(body): JsonBody,
) -> Result<Response, ViewError> {
    let ops = read_ops(&body, &SigningOp::NAMES, SigningOp::read)?;
    let results: Vec<Value> = ops
        .iter()
        .map(|op| outcome(op.call(&settings, now)))
        .collect::<Result<_, _>>()?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "results": results }),
    ))
}

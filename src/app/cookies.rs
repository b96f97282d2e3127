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

use super::Server;
use super::contract::{
    Args, Clock, JsonBody, ViewError, json_response, missing, py_repr, read_ops,
};
use crate::reference::cookies::{
    CookieOptions, ResponseCookies, asgi_cookie_header, decode_cookie_header, get_signed_cookie,
    parse_cookie,
};
use crate::reference::settings::text_json;
use crate::reference::signing::{self, Signer, SigningError, TimestampSigner};
use crate::reference::{PyText, Settings};

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
        key: PyText,
        value: PyText,
        options: CookieOptions,
    },
    SetSigned {
        key: PyText,
        value: PyText,
        salt: PyText,
        options: CookieOptions,
    },
    Delete {
        key: PyText,
        path: Option<PyText>,
        domain: Option<PyText>,
        samesite: Option<PyText>,
    },
}

/// The ops of `POST /cookies/set`.
pub const COOKIE_OPS: [&str; 3] = ["set_cookie", "set_signed_cookie", "delete_cookie"];

impl CookieOp {
    fn read(name: &str, op: &Args) -> Result<CookieOp, ViewError> {
        match name {
            "set_cookie" => {
                let op = op.allowing(&COOKIE_ARGS)?;
                Ok(CookieOp::Set {
                    key: op.required_text("key")?,
                    value: op.text_or_scalar("value")?.unwrap_or(PyText::from("")),
                    options: cookie_options(&op)?,
                })
            }
            "set_signed_cookie" => {
                let op = op.allowing(&[&COOKIE_ARGS[..], &["salt"]].concat())?;
                Ok(CookieOp::SetSigned {
                    key: op.required_text("key")?,
                    value: op
                        .text_or_scalar("value")?
                        .ok_or_else(|| missing("value"))?,
                    salt: op.text("salt")?.unwrap_or(PyText::from("")),
                    options: cookie_options(&op)?,
                })
            }
            "delete_cookie" => {
                let op = op.allowing(&["key", "path", "domain", "samesite"])?;
                Ok(CookieOp::Delete {
                    key: op.required_text("key")?,
                    path: op.nullable_text("path")?.unwrap_or(Some(PyText::from("/"))),
                    domain: op.nullable_text("domain")?.flatten(),
                    samesite: op.nullable_text("samesite")?.flatten(),
                })
            }
            _ => unreachable!("read_ops passes only the op names it is given"),
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
            } => cookies.delete_cookie(key, path.clone(), domain.clone(), samesite.clone()),
        };
        result.map_err(|_| ViewError::Uncaught)
    }
}

/// `set_cookie`'s keyword arguments other than key and value: absent gives Django's default,
/// null gives `None`.
fn cookie_options(op: &Args) -> Result<CookieOptions, ViewError> {
    let defaults = CookieOptions::default();
    Ok(CookieOptions {
        max_age: op.duration("max_age")?,
        expires: op.expires("expires")?,
        path: op.nullable_text("path")?.unwrap_or(defaults.path),
        domain: op.nullable_text("domain")?.unwrap_or(defaults.domain),
        secure: op.boolean("secure")?.unwrap_or(defaults.secure),
        httponly: op.boolean("httponly")?.unwrap_or(defaults.httponly),
        samesite: op.nullable_text("samesite")?.unwrap_or(defaults.samesite),
    })
}

/// `response = JsonResponse({"applied": N})`, then one response method per op, in order.
async fn set_cookies(
    State(settings): State<Arc<Settings>>,
    Extension(Clock(now)): Extension<Clock>,
    JsonBody(body): JsonBody,
) -> Result<Response, ViewError> {
    let ops = read_ops(&body, &COOKIE_OPS, CookieOp::read)?;
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
    key: PyText,
    salt: PyText,
    max_age: Option<f64>,
    /// `None`: no default, so a missing or bad cookie raises.
    default: Option<Value>,
}

impl SignedLookup {
    fn read(lookup: &Map<String, Value>) -> Result<SignedLookup, ViewError> {
        let lookup = Args::new(lookup, &["key", "salt", "max_age", "default"])?;
        Ok(SignedLookup {
            key: lookup.required_text("key")?,
            salt: lookup.text("salt")?.unwrap_or(PyText::from("")),
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
    Extension(server): Extension<Server>,
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
    let (cookie_header, cookies) = request_cookies(&headers, &settings, server);
    let signed: Vec<Value> = lookups
        .iter()
        .map(|lookup| lookup.run(&cookies, &settings, now))
        .collect::<Result<_, _>>()?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "cookie_header": cookie_header,
            "cookies": cookies,
            "signed": signed,
        }),
    ))
}

/// `request.META["HTTP_COOKIE"]` (a latin-1 view of the bytes, either way) and
/// `request.COOKIES`, as the server and Django's handler of `server` make them.
fn request_cookies(
    headers: &HeaderMap,
    settings: &Settings,
    server: Server,
) -> (Option<String>, IndexMap<String, String>) {
    let lines: Vec<&[u8]> = headers
        .get_all(COOKIE)
        .iter()
        .map(|line| line.as_bytes())
        .collect();
    match server {
        Server::Gunicorn => {
            let header = wsgi_cookie_header(&lines);
            let cookies =
                parse_cookie(&decode_cookie_header(header.as_deref().unwrap_or_default()));
            (header.as_deref().map(latin1), cookies)
        }
        Server::Uvicorn => {
            let header = asgi_cookie_header(settings.django_version, &lines);
            let cookies = parse_cookie(header.as_deref().unwrap_or_default());
            (header, cookies)
        }
    }
}

/// The `Cookie` header bytes as gunicorn puts them in the WSGI environ: repeated lines joined
/// with `,` (which `parse_cookie` then reads as part of a value, as Django does).
fn wsgi_cookie_header(lines: &[&[u8]]) -> Option<Vec<u8>> {
    let (first, rest) = lines.split_first()?;
    Some(rest.iter().fold(first.to_vec(), |mut joined, line| {
        joined.push(b',');
        joined.extend_from_slice(line);
        joined
    }))
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

/// The default algorithm of `base64_hmac` and `salted_hmac`.
const HMAC_ALGORITHM: &str = "sha1";

#[derive(Debug, Clone, Copy, PartialEq)]
enum SignerKind {
    Plain,
    Timestamp,
    Cookie,
}

/// The signer an op names and the arguments it is built with (`None`: absent or null, which
/// Django's defaults treat alike).
struct SignerArgs {
    kind: SignerKind,
    key: Option<PyText>,
    salt: Option<PyText>,
    sep: Option<PyText>,
    algorithm: Option<PyText>,
    fallback_keys: Option<Vec<PyText>>,
}

impl SignerArgs {
    fn kind(op: &Args) -> Result<SignerKind, ViewError> {
        match op.string("signer")?.as_deref() {
            None | Some("signer") => Ok(SignerKind::Plain),
            Some("timestamp") => Ok(SignerKind::Timestamp),
            Some("cookie") => Ok(SignerKind::Cookie),
            Some(other) => Err(ViewError::contract(format!(
                "unknown signer {}",
                py_repr(other)
            ))),
        }
    }

    fn read(op: &Args) -> Result<SignerArgs, ViewError> {
        let kind = SignerArgs::kind(op)?;
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
            return Ok(SignerArgs {
                kind,
                key: None,
                salt: op.text("salt")?,
                sep: None,
                algorithm: None,
                fallback_keys: None,
            });
        }
        Ok(SignerArgs {
            kind,
            key: op.nullable_text("key")?.flatten(),
            salt: op.nullable_text("salt")?.flatten(),
            sep: op.text("sep")?,
            algorithm: op.nullable_text("algorithm")?.flatten(),
            fallback_keys: op.nullable_texts("fallback_keys")?.flatten(),
        })
    }

    fn build(&self, settings: &Settings) -> AnySigner {
        match self.kind {
            SignerKind::Plain => AnySigner::Plain(self.signer(settings)),
            SignerKind::Timestamp => {
                AnySigner::Timestamp(TimestampSigner::new(self.signer(settings)))
            }
            SignerKind::Cookie => {
                let salt = self
                    .salt
                    .clone()
                    .unwrap_or(PyText::from(COOKIE_SIGNER_SALT));
                AnySigner::Timestamp(signing::get_cookie_signer(settings, salt))
            }
        }
    }

    /// `Signer(key=…, sep=…, salt=…, algorithm=…, fallback_keys=…)` with the given arguments.
    fn signer(&self, settings: &Settings) -> Signer {
        let mut signer = Signer::from_settings(settings);
        signer.key = key_or_secret(self.key.as_ref(), settings);
        if let Some(fallback_keys) = &self.fallback_keys {
            signer.fallback_keys = fallback_keys
                .iter()
                .map(|key| key.force_bytes().to_vec())
                .collect();
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

/// Django's `key or settings.SECRET_KEY`, as bytes: an empty key means the secret key too.
fn key_or_secret(key: Option<&PyText>, settings: &Settings) -> Vec<u8> {
    key.filter(|key| !key.is_empty())
        .unwrap_or(&settings.secret_key)
        .force_bytes()
        .to_vec()
}

enum AnySigner {
    Plain(Signer),
    Timestamp(TimestampSigner),
}

impl AnySigner {
    fn plain(&self) -> &Signer {
        match self {
            AnySigner::Plain(signer) => signer,
            AnySigner::Timestamp(signer) => &signer.signer,
        }
    }

    fn sign(&self, value: &PyText, now: f64) -> Result<String, SigningError> {
        match self {
            AnySigner::Plain(signer) => signer.sign(value),
            AnySigner::Timestamp(signer) => signer.sign(value, now),
        }
    }

    /// `max_age` is only ever given to a timestamp signer (the contract refuses it otherwise).
    fn unsign(
        &self,
        value: &PyText,
        max_age: Option<f64>,
        now: f64,
    ) -> Result<String, SigningError> {
        match self {
            AnySigner::Plain(signer) => signer.unsign(value),
            AnySigner::Timestamp(signer) => signer.unsign(value, max_age, now),
        }
    }

    fn sign_object(&self, obj: &Value, compress: bool, now: f64) -> Result<String, SigningError> {
        match self {
            AnySigner::Plain(signer) => signer.sign_object(obj, compress),
            AnySigner::Timestamp(signer) => signer.sign_object(obj, compress, now),
        }
    }

    fn unsign_object(
        &self,
        value: &PyText,
        max_age: Option<f64>,
        now: f64,
    ) -> Result<Value, SigningError> {
        match self {
            AnySigner::Plain(signer) => signer.unsign_object(value),
            AnySigner::Timestamp(signer) => signer.unsign_object(value, max_age, now),
        }
    }
}

/// One `django.core.signing` call (and `salted_hmac`, `constant_time_compare` of
/// `django.utils.crypto`, which it uses).
enum SigningOp {
    Sign {
        signer: SignerArgs,
        value: PyText,
    },
    Unsign {
        signer: SignerArgs,
        value: PyText,
        max_age: Option<f64>,
    },
    Signature {
        signer: SignerArgs,
        value: PyText,
        key: Option<PyText>,
    },
    SignObject {
        signer: SignerArgs,
        obj: Value,
        compress: bool,
    },
    UnsignObject {
        signer: SignerArgs,
        value: PyText,
        max_age: Option<f64>,
    },
    Timestamp {
        signer: SignerArgs,
    },
    Dumps {
        obj: Value,
        key: Option<PyText>,
        /// Absent: `"django.core.signing"`; null: `None`, the signer's own default.
        salt: Option<Option<PyText>>,
        compress: bool,
    },
    Loads {
        value: PyText,
        key: Option<PyText>,
        salt: Option<Option<PyText>>,
        max_age: Option<f64>,
        fallback_keys: Option<Vec<PyText>>,
    },
    B62Encode(Value),
    B62Decode(PyText),
    B64Encode(PyText),
    B64Decode(PyText),
    Base64Hmac {
        salt: PyText,
        value: PyText,
        key: PyText,
        algorithm: Option<PyText>,
    },
    SaltedHmac {
        key_salt: PyText,
        value: PyText,
        secret: Option<PyText>,
        algorithm: Option<PyText>,
    },
    ConstantTimeCompare(PyText, PyText),
}

/// `max_age` for a method of the op's signer: only a `TimestampSigner`'s methods take it.
fn timestamp_max_age(op: &Args) -> Result<Option<f64>, ViewError> {
    let max_age = op.duration("max_age")?;
    if max_age.is_some() && SignerArgs::kind(op)? == SignerKind::Plain {
        return Err(ViewError::contract(
            "argument 'max_age' needs signer 'timestamp' or 'cookie'",
        ));
    }
    Ok(max_age)
}

/// `serializer`: JSONSerializer is Django's only one (a serializer of one's own is Python code,
/// which the contract cannot carry).
fn check_serializer(op: &Args) -> Result<(), ViewError> {
    match op.string("serializer")?.as_deref() {
        None | Some("JSONSerializer") => Ok(()),
        Some(_) => Err(ViewError::contract(
            "argument 'serializer' must be 'JSONSerializer', Django's only serializer",
        )),
    }
}

/// The ops of `POST /cookies/signing`.
pub const SIGNING_OPS: [&str; 15] = [
    "sign",
    "unsign",
    "signature",
    "sign_object",
    "unsign_object",
    "timestamp",
    "dumps",
    "loads",
    "b62_encode",
    "b62_decode",
    "b64_encode",
    "b64_decode",
    "base64_hmac",
    "salted_hmac",
    "constant_time_compare",
];

impl SigningOp {
    fn read(name: &str, op: &Args) -> Result<SigningOp, ViewError> {
        let with_signer = |own: &[&'static str]| [own, &SIGNER_ARGS[..]].concat();
        match name {
            "sign" => {
                let op = op.allowing(&with_signer(&["value"]))?;
                Ok(SigningOp::Sign {
                    value: op.required_scalar("value")?,
                    signer: SignerArgs::read(&op)?,
                })
            }
            "unsign" => {
                let op = op.allowing(&with_signer(&["value", "max_age"]))?;
                let value = op.required_text("value")?;
                let max_age = timestamp_max_age(&op)?;
                Ok(SigningOp::Unsign {
                    signer: SignerArgs::read(&op)?,
                    value,
                    max_age,
                })
            }
            "signature" => {
                let op = op.allowing(&with_signer(&["value", "signature_key"]))?;
                Ok(SigningOp::Signature {
                    value: op.required_scalar("value")?,
                    key: op.nullable_text("signature_key")?.flatten(),
                    signer: SignerArgs::read(&op)?,
                })
            }
            "sign_object" => {
                let op = op.allowing(&with_signer(&["obj", "serializer", "compress"]))?;
                let obj = op.required_any("obj")?.clone();
                let compress = op.boolean("compress")?.unwrap_or(false);
                check_serializer(&op)?;
                Ok(SigningOp::SignObject {
                    obj,
                    compress,
                    signer: SignerArgs::read(&op)?,
                })
            }
            "unsign_object" => {
                let op = op.allowing(&with_signer(&["value", "serializer", "max_age"]))?;
                let value = op.required_text("value")?;
                check_serializer(&op)?;
                let max_age = timestamp_max_age(&op)?;
                Ok(SigningOp::UnsignObject {
                    signer: SignerArgs::read(&op)?,
                    value,
                    max_age,
                })
            }
            "timestamp" => {
                let op = op.allowing(&SIGNER_ARGS)?;
                if SignerArgs::kind(&op)? == SignerKind::Plain {
                    return Err(ViewError::contract(
                        "op 'timestamp' needs signer 'timestamp' or 'cookie'",
                    ));
                }
                Ok(SigningOp::Timestamp {
                    signer: SignerArgs::read(&op)?,
                })
            }
            "dumps" => {
                let op = op.allowing(&["obj", "key", "salt", "serializer", "compress"])?;
                let obj = op.required_any("obj")?.clone();
                let key = op.nullable_text("key")?.flatten();
                let salt = op.nullable_text("salt")?;
                let compress = op.boolean("compress")?.unwrap_or(false);
                check_serializer(&op)?;
                Ok(SigningOp::Dumps {
                    obj,
                    key,
                    salt,
                    compress,
                })
            }
            "loads" => {
                let op = op.allowing(&[
                    "value",
                    "key",
                    "salt",
                    "serializer",
                    "max_age",
                    "fallback_keys",
                ])?;
                let value = op.required_text("value")?;
                let key = op.nullable_text("key")?.flatten();
                let salt = op.nullable_text("salt")?;
                let max_age = op.duration("max_age")?;
                let fallback_keys = op.nullable_texts("fallback_keys")?.flatten();
                check_serializer(&op)?;
                Ok(SigningOp::Loads {
                    value,
                    key,
                    salt,
                    max_age,
                    fallback_keys,
                })
            }
            "b62_encode" => {
                let op = op.allowing(&["value"])?;
                Ok(SigningOp::B62Encode(op.required_integer("value")?.clone()))
            }
            "b62_decode" | "b64_encode" | "b64_decode" => {
                let op = op.allowing(&["value"])?;
                let value = op.required_text("value")?;
                Ok(match name {
                    "b62_decode" => SigningOp::B62Decode(value),
                    "b64_encode" => SigningOp::B64Encode(value),
                    _ => SigningOp::B64Decode(value),
                })
            }
            "base64_hmac" => {
                let op = op.allowing(&["salt", "value", "key", "algorithm"])?;
                Ok(SigningOp::Base64Hmac {
                    salt: op.required_scalar("salt")?,
                    value: op.required_scalar("value")?,
                    key: op.required_scalar("key")?,
                    algorithm: op.text("algorithm")?,
                })
            }
            "salted_hmac" => {
                let op = op.allowing(&["key_salt", "value", "secret", "algorithm"])?;
                Ok(SigningOp::SaltedHmac {
                    key_salt: op.required_scalar("key_salt")?,
                    value: op.required_scalar("value")?,
                    secret: op.nullable_text("secret")?.flatten(),
                    algorithm: op.text("algorithm")?,
                })
            }
            "constant_time_compare" => {
                let op = op.allowing(&["val1", "val2"])?;
                Ok(SigningOp::ConstantTimeCompare(
                    op.required_scalar("val1")?,
                    op.required_scalar("val2")?,
                ))
            }
            _ => unreachable!("read_ops passes only the op names it is given"),
        }
    }

    /// The op's Django call.
    fn call(&self, settings: &Settings, now: f64) -> Result<Value, SigningError> {
        let text = |result: Result<String, SigningError>| result.map(Value::from);
        match self {
            SigningOp::Sign { signer, value } => text(signer.build(settings).sign(value, now)),
            SigningOp::Unsign {
                signer,
                value,
                max_age,
            } => text(signer.build(settings).unsign(value, *max_age, now)),
            SigningOp::Signature { signer, value, key } => text(
                signer
                    .build(settings)
                    .plain()
                    .signature(value, key.as_ref().map(PyText::force_bytes)),
            ),
            SigningOp::SignObject {
                signer,
                obj,
                compress,
            } => text(signer.build(settings).sign_object(obj, *compress, now)),
            SigningOp::UnsignObject {
                signer,
                value,
                max_age,
            } => signer.build(settings).unsign_object(value, *max_age, now),
            SigningOp::Timestamp { signer } => match signer.build(settings) {
                AnySigner::Timestamp(signer) => text(signer.timestamp(now)),
                AnySigner::Plain(_) => unreachable!("the contract refuses a plain signer"),
            },
            SigningOp::Dumps {
                obj,
                key,
                salt,
                compress,
            } => {
                let key = key_or_secret(key.as_ref(), settings);
                text(signing::dumps(obj, key, object_salt(salt), *compress, now))
            }
            SigningOp::Loads {
                value,
                key,
                salt,
                max_age,
                fallback_keys,
            } => {
                let key = key_or_secret(key.as_ref(), settings);
                let fallback_keys: Vec<Vec<u8>> = fallback_keys
                    .as_ref()
                    .unwrap_or(&settings.secret_key_fallbacks)
                    .iter()
                    .map(|key| key.force_bytes().to_vec())
                    .collect();
                signing::loads(value, key, &fallback_keys, object_salt(salt), *max_age, now)
            }
            SigningOp::B62Encode(number) => {
                let n = number.as_i64().map(i128::from);
                let n = n.or_else(|| number.as_u64().map(i128::from));
                Ok(Value::from(signing::b62_encode(n.expect(
                    "the contract reads b62_encode's value as an i64 or u64",
                ))))
            }
            SigningOp::B62Decode(value) => {
                let n = signing::b62_decode_text(value)?;
                i64::try_from(n)
                    .map(Value::from)
                    .or_else(|_| u64::try_from(n).map(Value::from))
                    .map_err(|_| {
                        SigningError::Unrepresentable(format!(
                            "b62_decode gives {n}, beyond the i64/u64 the app's JSON carries"
                        ))
                    })
            }
            // `base64.urlsafe_b64encode(s)`: a `TypeError` for a str.
            SigningOp::B64Encode(value) => {
                bytes_only(value).map(|bytes| text_json(&PyText::Bytes(signing::b64_encode(bytes))))
            }
            // `s + b"=" * pad`: a `TypeError` for a str.
            SigningOp::B64Decode(value) => bytes_only(value)
                .and_then(signing::b64_decode)
                .map(|bytes| text_json(&PyText::Bytes(bytes))),
            SigningOp::Base64Hmac {
                salt,
                value,
                key,
                algorithm,
            } => text(signing::base64_hmac(
                salt.force_bytes(),
                value.force_bytes(),
                key.force_bytes(),
                hmac_algorithm(algorithm.as_ref())?,
            )),
            SigningOp::SaltedHmac {
                key_salt,
                value,
                secret,
                algorithm,
            } => {
                // `secret=None` means SECRET_KEY; an empty secret is an empty key.
                let secret = secret.as_ref().unwrap_or(&settings.secret_key);
                signing::salted_hmac(
                    key_salt.force_bytes(),
                    value.force_bytes(),
                    secret.force_bytes(),
                    hmac_algorithm(algorithm.as_ref())?,
                )
                .map(|digest| Value::from(hex(&digest)))
            }
            SigningOp::ConstantTimeCompare(a, b) => Ok(Value::from(
                signing::constant_time_compare(a.force_bytes(), b.force_bytes()),
            )),
        }
    }
}

/// The salt of `dumps`/`loads`: absent is their default, null is `None` (the signer's own).
fn object_salt(salt: &Option<Option<PyText>>) -> PyText {
    match salt {
        None => PyText::from(OBJECT_SALT),
        Some(salt) => salt.clone().unwrap_or(PyText::from("")),
    }
}

fn hmac_algorithm(algorithm: Option<&PyText>) -> Result<&str, SigningError> {
    match algorithm {
        None => Ok(HMAC_ALGORITHM),
        Some(algorithm) => signing::algorithm_name(algorithm),
    }
}

/// A bytes argument where Python's `base64` needs bytes.
fn bytes_only(value: &PyText) -> Result<&[u8], SigningError> {
    match value {
        PyText::Bytes(bytes) => Ok(bytes),
        PyText::Str(_) => Err(SigningError::Type(
            "a bytes-like object is required, not 'str'".into(),
        )),
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
    let ops = read_ops(&body, &SIGNING_OPS, SigningOp::read)?;
    let results: Vec<Value> = ops
        .iter()
        .map(|op| outcome(op.call(&settings, now)))
        .collect::<Result<_, _>>()?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "results": results }),
    ))
}

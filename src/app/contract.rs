//! The contract's own machinery (`django_reference/contract/` on the Django side): the virtual
//! clock, the health endpoint, JSON bodies and their typed arguments, contract errors, Django's
//! default 404 and 500 pages, and `JsonResponse` bytes.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Extension, FromRequest, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::Server;
use super::isoformat;
use crate::reference::cookies::Expires;
use crate::reference::pyjson::{self, LoadsError};
use crate::reference::settings::text_of;
use crate::reference::{PyText, Settings};

const CONTRACT_ERROR: HeaderName = HeaderName::from_static("x-djc-contract-error");
const CLOCK: HeaderName = HeaderName::from_static("x-djc-clock");

/// `django.views.defaults.page_not_found` without a template (DEBUG = False): 179 bytes.
const NOT_FOUND_PAGE: &str = "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n";

/// `django.views.defaults.server_error` without a template: 145 bytes.
const SERVER_ERROR_PAGE: &str = "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Server Error (500)</title>\n</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n";

const HTML: &str = "text/html; charset=utf-8";

/// The instant every clock read of this request sees, in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock(pub f64);

impl Clock {
    /// `X-Djc-Clock` as the Django app accepts it (`[0-9]+(\.[0-9]+)?`), else the real clock.
    fn from_headers(headers: &HeaderMap) -> Result<Clock, ViewError> {
        let Some(value) = headers.get(CLOCK) else {
            return Ok(Clock::real());
        };
        let text = value.to_str().ok().filter(|text| is_unix_seconds(text));
        match text.and_then(|text| text.parse().ok()) {
            Some(seconds) => Ok(Clock(seconds)),
            None => Err(ViewError::contract(format!(
                "X-Djc-Clock: not Unix seconds: {:?}",
                String::from_utf8_lossy(value.as_bytes())
            ))),
        }
    }

    fn real() -> Clock {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Clock(since_epoch.as_secs_f64())
    }
}

fn is_unix_seconds(text: &str) -> bool {
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    match text.split_once('.') {
        Some((whole, fraction)) => all_digits(whole) && all_digits(fraction),
        None => all_digits(text),
    }
}

/// The contract's clock middleware, outermost: puts the request's [`Clock`] in its extensions.
/// A bad header is answered here, so no inner middleware adds its headers; like the Django
/// middleware, it sets `Content-Length` itself.
pub async fn clock_middleware(mut request: Request, next: Next) -> Response {
    match Clock::from_headers(request.headers()) {
        Ok(clock) => {
            request.extensions_mut().insert(clock);
            next.run(request).await
        }
        Err(error) => {
            let mut response = error.into_response();
            super::add_content_length(&mut response);
            response
        }
    }
}

/// Why a view did not answer normally.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewError {
    /// A request the contract does not allow: 400 with `X-Djc-Contract-Error`.
    Contract(String),
    /// An exception Django would let escape from the view: its default 500 page.
    Uncaught,
}

impl ViewError {
    pub fn contract(message: impl Into<String>) -> ViewError {
        ViewError::Contract(message.into())
    }

    /// The same error, its message prefixed with where it happened.
    pub fn within(self, place: &str) -> ViewError {
        match self {
            ViewError::Contract(message) => ViewError::Contract(format!("{place}: {message}")),
            uncaught => uncaught,
        }
    }
}

impl IntoResponse for ViewError {
    fn into_response(self) -> Response {
        match self {
            ViewError::Contract(message) => contract_error(&message),
            ViewError::Uncaught => server_error(),
        }
    }
}

/// `JsonResponse({"contract_error": msg}, status=400)` plus the header, set after Content-Type
/// as the Django view sets it.
fn contract_error(message: &str) -> Response {
    let message = printable_ascii(message);
    let mut response = json_response(
        StatusCode::BAD_REQUEST,
        &json!({ "contract_error": message }),
    );
    let value = HeaderValue::from_str(&message).expect("printable ASCII is a valid header value");
    response.headers_mut().insert(CONTRACT_ERROR, value);
    response
}

/// The message with everything outside printable ASCII escaped, so it fits in a header.
fn printable_ascii(message: &str) -> String {
    let mut printable = String::with_capacity(message.len());
    for c in message.chars() {
        if c == ' ' || c.is_ascii_graphic() {
            printable.push(c);
        } else {
            printable.extend(c.escape_default());
        }
    }
    printable
}

/// A response with only `Content-Type` set, as Django's `HttpResponse` starts.
pub fn response(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Django's `JsonResponse(value, status=…)`: `json.dumps` bytes, `application/json`.
pub fn json_response(status: StatusCode, value: &Value) -> Response {
    response(status, "application/json", pyjson::dumps(value))
}

/// Django's default 500 page.
fn server_error() -> Response {
    response(
        StatusCode::INTERNAL_SERVER_ERROR,
        HTML,
        SERVER_ERROR_PAGE.to_owned(),
    )
}

/// Every path no route matches.
pub async fn not_found() -> Response {
    response(StatusCode::NOT_FOUND, HTML, NOT_FOUND_PAGE.to_owned())
}

/// `/__djc__/health`, any method.
pub async fn health(
    State(settings): State<Arc<Settings>>,
    Extension(server): Extension<Server>,
) -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "implementation": "rust",
            "django_version": settings.django_version.release(),
            "server": server.as_str(),
            // No Python beneath: the field is Django's.
            "python_version": null,
            "settings": settings.to_json(),
        }),
    )
}

/// How long a request's body may take to arrive.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The request body as a JSON object, read as `json.loads(request.body)`; an empty body counts as
/// `{}`.
pub struct JsonBody(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ViewError;

    async fn from_request(request: Request, state: &S) -> Result<JsonBody, ViewError> {
        // A client that sends its body too slowly must not hold a connection for ever.
        let bytes = tokio::time::timeout(BODY_TIMEOUT, Bytes::from_request(request, state))
            .await
            .map_err(|_| {
                ViewError::contract(format!(
                    "the body did not arrive within {} s",
                    BODY_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|rejection| ViewError::contract(format!("unreadable body: {rejection}")))?;
        if bytes.is_empty() {
            return Ok(JsonBody(Map::new()));
        }
        // `json.loads` of bytes skips a UTF-8 BOM; bytes that are not UTF-8 raise a ValueError,
        // as bad JSON does.
        let text = std::str::from_utf8(&bytes).map_err(|_| not_json())?;
        match pyjson::loads(text.strip_prefix('\u{feff}').unwrap_or(text)) {
            Ok(Value::Object(object)) => Ok(JsonBody(object)),
            Ok(_) => Err(ViewError::contract("the body is not a JSON object")),
            Err(LoadsError::Invalid { .. }) => Err(not_json()),
            Err(LoadsError::Unrepresentable(what)) => Err(ViewError::contract(format!(
                "the body is JSON the Rust app cannot represent: {what}"
            ))),
        }
    }
}

fn not_json() -> ViewError {
    ViewError::contract("the body is not JSON")
}

/// The ops of a body `{"ops": [...]}`, each read by `read_op(name, args)`, which checks the
/// op's arguments. Every op is read before any is run, so a contract error is never hidden
/// behind a 500 from an earlier op.
pub fn read_ops<T>(
    body: &Map<String, Value>,
    known: &[&str],
    read_op: impl Fn(&str, &Args) -> Result<T, ViewError>,
) -> Result<Vec<T>, ViewError> {
    let body = Args::new(body, &["ops"]).map_err(|e| e.within("body"))?;
    let ops = body.objects("ops")?.ok_or_else(|| missing("ops"))?;
    let read = |op: &Map<String, Value>| match op.get("op") {
        Some(Value::String(name)) if known.contains(&name.as_str()) => {
            read_op(name, &Args { object: op }).map_err(|e| e.within(name))
        }
        Some(Value::String(name)) => {
            Err(ViewError::contract(format!("unknown op {}", py_repr(name))))
        }
        _ => Err(ViewError::contract("missing or non-string 'op'")),
    };
    let read_indexed =
        |(index, op)| read(op).map_err(|e: ViewError| e.within(&format!("ops[{index}]")));
    ops.into_iter().enumerate().map(read_indexed).collect()
}

pub fn missing(name: &str) -> ViewError {
    ViewError::contract(format!("missing argument {}", py_repr(name)))
}

/// Python's `repr()` of a string, as the Django app quotes names and values in contract errors
/// (which it then makes ASCII with backslash escapes, as this does).
pub fn py_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}

/// What a contract error calls a text argument.
const TEXT: &str = "string or {\"bytes\": string}";
const SCALAR: &str = "string, {\"bytes\": string}, number, boolean or null";

/// One JSON object of arguments (a body, an op, a lookup), read with the contract's types.
/// Every getter gives `None` for an absent argument, so Django's default applies.
pub struct Args<'a> {
    object: &'a Map<String, Value>,
}

impl<'a> Args<'a> {
    /// The arguments of `object`, which may only have the `allowed` keys.
    pub fn new(object: &'a Map<String, Value>, allowed: &[&str]) -> Result<Self, ViewError> {
        match object.keys().find(|key| !allowed.contains(&key.as_str())) {
            Some(key) => Err(ViewError::contract(format!(
                "unknown argument {}",
                py_repr(key)
            ))),
            None => Ok(Args { object }),
        }
    }

    /// An op's arguments, checked against the keys the op allows besides `op` itself.
    pub fn allowing(&self, allowed: &[&str]) -> Result<Args<'a>, ViewError> {
        let with_op: Vec<&str> = ["op"].iter().chain(allowed).copied().collect();
        Args::new(self.object, &with_op)
    }

    /// Any JSON.
    pub fn any(&self, name: &str) -> Option<&'a Value> {
        self.object.get(name)
    }

    fn wrong_type(name: &str, kind: &str) -> ViewError {
        ViewError::contract(format!("argument {} must be a {kind}", py_repr(name)))
    }

    pub fn required_any(&self, name: &str) -> Result<&'a Value, ViewError> {
        self.any(name).ok_or_else(|| missing(name))
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, ViewError> {
        match self.any(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(Self::wrong_type(name, "string")),
        }
    }

    /// A `str` or `bytes` argument: a JSON string, or the contract's bytes form (see
    /// [`text_of`]).
    pub fn text(&self, name: &str) -> Result<Option<PyText>, ViewError> {
        match self.any(name) {
            None => Ok(None),
            Some(value) => text_of(value)
                .map(Some)
                .ok_or_else(|| Self::wrong_type(name, TEXT)),
        }
    }

    pub fn required_text(&self, name: &str) -> Result<PyText, ViewError> {
        self.text(name)?.ok_or_else(|| missing(name))
    }

    /// Text or null: `Some(None)` is an explicit null (Python `None`).
    pub fn nullable_text(&self, name: &str) -> Result<Option<Option<PyText>>, ViewError> {
        match self.any(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(value) => text_of(value)
                .map(|text| Some(Some(text)))
                .ok_or_else(|| Self::wrong_type(name, &format!("{TEXT} or null"))),
        }
    }

    /// Text, or any other JSON scalar as Python's `str()` makes it ("True", "None", "1.5"): what
    /// Django does with a value it formats into a cookie or a signature.
    pub fn text_or_scalar(&self, name: &str) -> Result<Option<PyText>, ViewError> {
        match self.any(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(PyText::from("None"))),
            Some(Value::Bool(true)) => Ok(Some(PyText::from("True"))),
            Some(Value::Bool(false)) => Ok(Some(PyText::from("False"))),
            Some(Value::Number(number)) => Ok(Some(PyText::Str(match number.as_f64() {
                Some(float) if !(number.is_i64() || number.is_u64()) => pyjson::float_repr(float),
                _ => number.to_string(),
            }))),
            Some(value) => text_of(value)
                .map(Some)
                .ok_or_else(|| Self::wrong_type(name, SCALAR)),
        }
    }

    pub fn required_scalar(&self, name: &str) -> Result<PyText, ViewError> {
        self.text_or_scalar(name)?.ok_or_else(|| missing(name))
    }

    /// A list of texts, or null.
    pub fn nullable_texts(&self, name: &str) -> Result<Option<Option<Vec<PyText>>>, ViewError> {
        let wrong = || Self::wrong_type(name, &format!("list of {TEXT}, or null"));
        match self.any(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::Array(items)) => items
                .iter()
                .map(text_of)
                .collect::<Option<Vec<_>>>()
                .map(|texts| Some(Some(texts)))
                .ok_or_else(wrong),
            Some(_) => Err(wrong()),
        }
    }

    /// A JSON integer (Python ints are unbounded: the number is kept as it came).
    pub fn required_integer(&self, name: &str) -> Result<&'a Value, ViewError> {
        match self.any(name) {
            None => Err(missing(name)),
            Some(value @ Value::Number(number)) if number.is_i64() || number.is_u64() => Ok(value),
            Some(_) => Err(Self::wrong_type(name, "integer")),
        }
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ViewError> {
        match self.any(name) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(_) => Err(Self::wrong_type(name, "boolean")),
        }
    }

    /// A list of JSON objects.
    pub fn objects(&self, name: &str) -> Result<Option<Vec<&'a Map<String, Value>>>, ViewError> {
        let Some(value) = self.any(name) else {
            return Ok(None);
        };
        let objects = value
            .as_array()
            .and_then(|items| items.iter().map(Value::as_object).collect());
        objects
            .map(Some)
            .ok_or_else(|| Self::wrong_type(name, "list of objects"))
    }

    /// A duration in seconds: a number as it is, or `{"timedelta": n}` as
    /// `timedelta(seconds=n).total_seconds()`.
    pub fn duration(&self, name: &str) -> Result<Option<f64>, ViewError> {
        let wrong = || Self::wrong_type(name, "number or {\"timedelta\": number}");
        match self.any(name) {
            None => Ok(None),
            Some(Value::Number(number)) => number.as_f64().map(Some).ok_or_else(wrong),
            Some(Value::Object(object)) => match single(object, "timedelta") {
                Some(Value::Number(number)) => timedelta_seconds(number).map(Some),
                _ => Err(wrong()),
            },
            Some(_) => Err(wrong()),
        }
    }

    /// A cookie `expires`: text as it is, or `{"datetime": "<ISO 8601>"}` as
    /// `datetime.fromisoformat` reads it.
    pub fn expires(&self, name: &str) -> Result<Option<Expires>, ViewError> {
        let wrong = || Self::wrong_type(name, &format!("{TEXT} or {{\"datetime\": string}}"));
        if let Some(text) = self.any(name).and_then(text_of) {
            return Ok(Some(Expires::Text(text)));
        }
        match self.any(name) {
            None => Ok(None),
            Some(Value::Object(object)) => {
                let text = single(object, "datetime")
                    .and_then(Value::as_str)
                    .ok_or_else(wrong)?;
                let parsed = isoformat::fromisoformat(text).ok_or_else(|| {
                    ViewError::contract(format!(
                        "argument {}: not an ISO 8601 datetime",
                        py_repr(name)
                    ))
                })?;
                let unix = micros_to_seconds(i128::from(parsed.unix_micros));
                Ok(Some(Expires::DateTime {
                    unix,
                    naive: parsed.naive,
                }))
            }
            Some(_) => Err(wrong()),
        }
    }
}

/// The value of an object whose only key is `key`.
fn single<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    (object.len() == 1).then(|| object.get(key)).flatten()
}

/// Python's largest `timedelta`, in days either way.
const TIMEDELTA_MAX_DAYS: i128 = 999_999_999;

/// `timedelta(seconds=n).total_seconds()`: rounded to the microsecond, half to even. Out of
/// `timedelta`'s range Python raises `OverflowError` while reading the op, hence a 500.
fn timedelta_seconds(number: &serde_json::Number) -> Result<f64, ViewError> {
    let micros = if let Some(whole) = number.as_i64() {
        i128::from(whole) * 1_000_000
    } else if let Some(whole) = number.as_u64() {
        i128::from(whole) * 1_000_000
    } else {
        let seconds = number.as_f64().ok_or(ViewError::Uncaught)?;
        if seconds.abs() >= 1e15 {
            return Err(ViewError::Uncaught);
        }
        let whole = seconds.trunc();
        whole as i128 * 1_000_000 + ((seconds - whole) * 1e6).round_ties_even() as i128
    };
    if micros.div_euclid(86_400_000_000).abs() > TIMEDELTA_MAX_DAYS {
        return Err(ViewError::Uncaught);
    }
    Ok(micros_to_seconds(micros))
}

/// `micros / 10**6` correctly rounded, as Python's true division of integers is (a plain `f64`
/// division would round twice beyond 2^53 microseconds).
fn micros_to_seconds(micros: i128) -> f64 {
    let sign = if micros < 0 { "-" } else { "" };
    let magnitude = micros.unsigned_abs();
    let exact = format!(
        "{sign}{}.{:06}",
        magnitude / 1_000_000,
        magnitude % 1_000_000
    );
    exact.parse().expect("a decimal number parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    fn duration(value: Value) -> Result<Option<f64>, ViewError> {
        let object = args(json!({ "d": value }));
        Args::new(&object, &["d"])?.duration("d")
    }

    #[test]
    fn clock_header_forms() {
        let clock = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(CLOCK, HeaderValue::from_str(value).unwrap());
            Clock::from_headers(&headers)
        };
        assert_eq!(clock("1700000000"), Ok(Clock(1_700_000_000.0)));
        assert_eq!(clock("1700000000.25"), Ok(Clock(1_700_000_000.25)));
        for bad in ["", "-1", "1e9", " 1", "1.", ".5", "inf", "1_000"] {
            assert!(matches!(clock(bad), Err(ViewError::Contract(_))), "{bad:?}");
        }
        let Ok(Clock(now)) = Clock::from_headers(&HeaderMap::new()) else {
            panic!()
        };
        assert!(now > 1_700_000_000.0);
    }

    #[test]
    fn durations_as_django_receives_them() {
        assert_eq!(duration(json!(10)), Ok(Some(10.0)));
        assert_eq!(duration(json!(10.7)), Ok(Some(10.7)));
        assert_eq!(duration(json!({"timedelta": 90.9})), Ok(Some(90.9)));
        // timedelta keeps whole microseconds, rounding half to even.
        assert_eq!(duration(json!({"timedelta": 0.0000005})), Ok(Some(0.0)));
        assert_eq!(
            duration(json!({"timedelta": 0.0000015})),
            Ok(Some(0.000002))
        );
        assert_eq!(duration(json!({"timedelta": -1.5})), Ok(Some(-1.5)));
        assert_eq!(
            duration(json!({"timedelta": 86_400_000_000_000_i64})),
            Err(ViewError::Uncaught)
        );
        assert_eq!(
            duration(json!({"timedelta": -86_399_999_913_600_i64})),
            Ok(Some(-86_399_999_913_600.0))
        );
        for bad in [
            json!("10"),
            json!(true),
            json!(null),
            json!({"timedelta": "1"}),
            json!({"timedelta": 1, "x": 2}),
        ] {
            assert!(
                matches!(duration(bad.clone()), Err(ViewError::Contract(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn text_or_scalar_is_pythons_str_of_the_value() {
        let object = args(
            json!({"s": "x", "i": -12, "big": 18446744073709551615u64, "f": 1.5,
            "e": 1e16, "t": true, "n": null, "y": {"bytes": "\u{ff}"}, "a": [1], "o": {}}),
        );
        let names = ["s", "i", "big", "f", "e", "t", "n", "y", "a", "o"];
        let args = Args::new(&object, &names).unwrap();
        let str_of = |name| args.text_or_scalar(name).unwrap().unwrap();
        assert_eq!(str_of("s"), PyText::from("x"));
        assert_eq!(str_of("i"), PyText::from("-12"));
        assert_eq!(str_of("big"), PyText::from("18446744073709551615"));
        assert_eq!(str_of("f"), PyText::from("1.5"));
        assert_eq!(str_of("e"), PyText::from("1e+16"));
        assert_eq!(str_of("t"), PyText::from("True"));
        assert_eq!(str_of("n"), PyText::from("None"));
        assert_eq!(str_of("y"), PyText::Bytes(vec![0xff]));
        assert!(args.text_or_scalar("a").is_err());
        assert!(args.text_or_scalar("o").is_err());
        assert_eq!(args.text_or_scalar("absent"), Ok(None));
        assert!(args.text("i").is_err(), "a text is not an integer");
        assert!(args.required_text("absent").is_err());
    }

    #[test]
    fn the_bytes_form_holds_one_byte_per_character() {
        let object = args(
            json!({"ok": {"bytes": "a\u{0}\u{ff}"}, "wide": {"bytes": "\u{100}"},
                                 "extra": {"bytes": "a", "more": 1}}),
        );
        let args = Args::new(&object, &["ok", "wide", "extra"]).unwrap();
        assert_eq!(
            args.text("ok"),
            Ok(Some(PyText::Bytes(b"a\0\xff".to_vec())))
        );
        assert_eq!(
            args.text("wide"),
            Err(ViewError::contract(
                "argument 'wide' must be a string or {\"bytes\": string}"
            ))
        );
        assert!(args.text("extra").is_err());
    }

    #[test]
    fn unknown_arguments_are_contract_errors() {
        let object = args(json!({"ops": [], "extra": 1}));
        assert!(matches!(
            Args::new(&object, &["ops"]),
            Err(ViewError::Contract(_))
        ));
    }

    #[test]
    fn contract_error_messages_stay_printable_ascii() {
        assert_eq!(printable_ascii("key \"\u{e9}\"\n"), "key \"\\u{e9}\"\\n");
    }
}

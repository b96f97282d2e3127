//! What a step records: status, headers, every Set-Cookie (raw and parsed), the client's jar after
//! the step, the body, and signed cookie values decoded. Both targets are observed by this one
//! function, so a difference in the records is a difference in behaviour.

use std::sync::LazyLock;

use indexmap::IndexMap;
use regex::Regex;
use serde_json::{Map, Value, json};

use super::jar::{Jar, http_date};
use super::scenario::{ObserveKind, Step};
use crate::reference::Settings;
use crate::reference::cookies::{get_signed_cookie, parse_cookie};
use crate::reference::signing::try_b62_decode;

/// Headers the WSGI or HTTP server adds or chooses, not Django: never compared.
pub const TRANSPORT_NOISE: [&str; 5] = [
    "date",
    "server",
    "connection",
    "keep-alive",
    "transfer-encoding",
];

/// The contract's own headers (`X-Djc-Contract-Error`): read by the runner, not compared.
pub const CONTRACT_HEADER_PREFIX: &str = "x-djc-";

/// A response as received: header names lower-cased, values as bytes, in wire order.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// Header bytes as text, one character per byte, as a WSGI server hands them to Django.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

impl Response {
    pub fn header_values(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| latin1(v))
            .collect()
    }
}

/// Decodes signed cookie values with the profile's keys and the scenario's salts.
pub struct SignedDecoder {
    pub settings: Settings,
    pub salts: Vec<String>,
}

static SIGNED_SHAPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)\A(.*):([0-9A-Za-z]{1,12}):([A-Za-z0-9_-]{27,})\z").expect("valid regex")
});

impl SignedDecoder {
    /// `value:timestamp:signature` decoded; `salt` is the first scenario salt whose signature
    /// verifies, or null when none does.
    fn decode(&self, name: &str, raw_value: &str, now: f64) -> Option<Value> {
        let value = parse_cookie(&format!("{name}={raw_value}")).shift_remove(name)?;
        let captures = SIGNED_SHAPE.captures(&value)?;
        // A value shaped like a signed one need not hold a timestamp that fits (it comes from
        // the app under test): one beyond i64 is recorded as null.
        let timestamp = try_b62_decode(&captures[2])
            .ok()
            .and_then(|timestamp| i64::try_from(timestamp).ok());
        let jar = IndexMap::from([(name.to_owned(), value.clone())]);
        let salt = self
            .salts
            .iter()
            .find(|salt| {
                get_signed_cookie(&jar, name, salt.as_str(), None, &self.settings, now).is_ok()
            })
            .map(|salt| Value::from(salt.as_str()));
        Some(json!({
            "cookie": name,
            "payload": &captures[1],
            "timestamp": timestamp,
            "age": timestamp.map(|timestamp| now - timestamp as f64),
            "salt": salt.unwrap_or(Value::Null),
        }))
    }
}

/// The record of one step. `number` counts from 1.
pub fn observe_step(
    step: &Step,
    number: usize,
    response: &Response,
    jar: &Jar,
    now: f64,
    signed: &SignedDecoder,
) -> Value {
    let mut record = Map::new();
    record.insert("step".into(), number.into());
    record.insert("name".into(), step.name.clone().into());
    record.insert("request".into(), request_line(step).into());
    let set_cookies = response.header_values("set-cookie");
    for kind in ObserveKind::ALL
        .into_iter()
        .filter(|kind| step.observe.contains(kind))
    {
        match kind {
            ObserveKind::Status => {
                record.insert("status".into(), response.status.into());
            }
            ObserveKind::Headers => {
                record.insert(
                    "headers".into(),
                    observe_headers(response, step.observe_headers.as_deref()),
                );
            }
            ObserveKind::SetCookies => {
                record.insert(
                    "set_cookies".into(),
                    set_cookies
                        .iter()
                        .map(|line| parse_set_cookie(line, now))
                        .collect(),
                );
            }
            ObserveKind::Jar => {
                record.insert("jar".into(), jar.observe());
            }
            ObserveKind::Body => {
                let (field, body) = observe_body(response);
                record.insert(field.into(), body);
            }
            ObserveKind::Signed => {
                let decoded: Vec<Value> = set_cookies
                    .iter()
                    .filter_map(|line| {
                        let (name, value) = line.trim_start().split(';').next()?.split_once('=')?;
                        signed.decode(name.trim(), value.trim(), now)
                    })
                    .collect();
                if !decoded.is_empty() {
                    record.insert("signed".into(), decoded.into());
                }
            }
        }
    }
    Value::Object(record)
}

fn request_line(step: &Step) -> String {
    let mut line = match &step.raw {
        // The request line as sent, its bytes escaped where they are not plain text.
        Some(bytes) => {
            let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
            let text = latin1(first.strip_suffix(b"\r").unwrap_or(first));
            format!("raw {}", text.escape_debug())
        }
        None => format!("{} {}", step.method, step.path),
    };
    if !step.query.is_empty() {
        let query: Vec<String> = step.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        line = format!("{line}?{}", query.join("&"));
    }
    if step.client != "default" {
        line = format!("{line} (client {})", step.client);
    }
    if let Some(target) = step.target {
        line = format!("{line} (always {target})");
    }
    line
}

fn observe_headers(response: &Response, chosen: Option<&[String]>) -> Value {
    response
        .headers
        .iter()
        .filter(|(name, _)| match chosen {
            Some(names) => names.contains(name),
            None => {
                !TRANSPORT_NOISE.contains(&name.as_str())
                    && name != "set-cookie"
                    && !name.starts_with(CONTRACT_HEADER_PREFIX)
            }
        })
        .map(|(name, value)| Value::from(format!("{name}: {}", latin1(value))))
        .collect()
}

fn observe_body(response: &Response) -> (&'static str, Value) {
    let is_json = response
        .header_values("content-type")
        .first()
        .is_some_and(|content_type| content_type.starts_with("application/json"));
    if is_json && let Ok(value) = serde_json::from_slice::<Value>(&response.body) {
        return ("body", value);
    }
    (
        "text",
        String::from_utf8_lossy(&response.body).into_owned().into(),
    )
}

/// A `Set-Cookie` value, raw and split into name, value and attributes (in the order sent).
/// `expires_vs_max_age` checks that `expires` is the request's clock plus `Max-Age`.
pub fn parse_set_cookie(line: &str, now: f64) -> Value {
    let mut parts = line.split(';');
    let (name, value) = parts
        .next()
        .unwrap_or_default()
        .split_once('=')
        .unwrap_or(("", ""));
    let attributes: Vec<(String, Option<String>)> = parts
        .map(|part| match part.trim().split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (part.trim().to_owned(), None),
        })
        .collect();
    let find = |wanted: &str| {
        attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(wanted))
            .and_then(|(_, v)| v.clone())
    };
    let mut record = json!({
        "raw": line,
        "name": name.trim(),
        "value": value.trim(),
        "attributes": attributes.iter().map(|(k, v)| match v { Some(v) => format!("{k}={v}"), None => k.clone() }).collect::<Vec<_>>(),
    });
    if let (Some(expires), Some(max_age)) = (
        find("expires"),
        find("max-age").and_then(|m| m.parse::<i64>().ok()),
    ) {
        record["expires_vs_max_age"] = expires_check(&expires, now, max_age).into();
    }
    record
}

fn expires_check(expires: &str, now: f64, max_age: i64) -> String {
    let expected = (now + max_age as f64).floor();
    if expires == http_date(expected) {
        return "clock + Max-Age".to_owned();
    }
    match httpdate::parse_http_date(expires) {
        Ok(at) => {
            let at = at
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as f64)
                .unwrap_or(0.0);
            format!("clock + Max-Age {:+}s", at - expected)
        }
        Err(_) => "not a date".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: f64 = 1_700_000_000.0;

    #[test]
    fn splits_a_set_cookie_and_checks_expires_against_the_clock() {
        let parsed = parse_set_cookie(
            "a=b; expires=Tue, 14 Nov 2023 22:13:30 GMT; HttpOnly; Max-Age=10; Path=/",
            T0,
        );
        assert_eq!(parsed["name"], "a");
        assert_eq!(
            parsed["attributes"],
            json!([
                "expires=Tue, 14 Nov 2023 22:13:30 GMT",
                "HttpOnly",
                "Max-Age=10",
                "Path=/"
            ])
        );
        assert_eq!(parsed["expires_vs_max_age"], "clock + Max-Age");
        let off = parse_set_cookie("a=b; expires=Tue, 14 Nov 2023 22:13:31 GMT; Max-Age=10", T0);
        assert_eq!(off["expires_vs_max_age"], "clock + Max-Age +1s");
        assert!(
            parse_set_cookie("a=b; Path=/", T0)
                .get("expires_vs_max_age")
                .is_none()
        );
    }

    #[test]
    fn headers_leave_out_transport_noise_set_cookie_and_contract_headers() {
        let response = Response {
            status: 200,
            headers: [
                ("content-type", "text/html"),
                ("date", "x"),
                ("set-cookie", "a=b"),
                ("x-djc-contract-error", "e"),
                ("x-frame-options", "DENY"),
            ]
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.as_bytes().to_vec()))
            .collect(),
            body: vec![],
        };
        assert_eq!(
            observe_headers(&response, None),
            json!(["content-type: text/html", "x-frame-options: DENY"])
        );
        assert_eq!(
            observe_headers(&response, Some(&["date".to_owned()])),
            json!(["date: x"])
        );
    }

    #[test]
    fn header_bytes_read_as_latin1() {
        assert_eq!(latin1(b"caf\xe9"), "café");
    }

    #[test]
    fn a_signed_shape_with_a_timestamp_beyond_i64_is_recorded_not_a_panic() {
        // ../shared/repro/scenario-panics/b62: an 11-character base-62 "timestamp".
        let decoder = SignedDecoder {
            settings: Settings::default(),
            salts: vec![String::new()],
        };
        let decoded = decoder
            .decode("a", "x:zzzzzzzzzzz:AAAAAAAAAAAAAAAAAAAAAAAAAAA", T0)
            .expect("the value has the signed shape");
        assert_eq!(decoded["timestamp"], Value::Null);
        assert_eq!(decoded["age"], Value::Null);
        assert_eq!(decoded["salt"], Value::Null);
        let fits = decoder
            .decode("a", "x:1:AAAAAAAAAAAAAAAAAAAAAAAAAAA", T0)
            .unwrap();
        assert_eq!(fits["timestamp"], 1);
    }

    #[test]
    fn expires_past_year_9999_is_checked_without_a_panic() {
        // ../shared/repro/scenario-panics/maxage_panic: `expires = "x"` with `max_age = 1e12`.
        let parsed = parse_set_cookie("a=b; expires=x; Max-Age=1000000000000; Path=/", T0);
        assert_eq!(parsed["expires_vs_max_age"], "not a date");
        let parsed = parse_set_cookie(
            "a=b; expires=Fri, 31 Dec 9999 23:59:59 GMT; Max-Age=9223372036854775807",
            f64::MAX,
        );
        assert!(parsed["expires_vs_max_age"].is_string());
    }
}

//! The app over real TCP, read byte for byte: status, header names and values in order, body.

use std::net::SocketAddr;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{ServeLimits, Server, asgi_cookie_bytes, serve, serve_with, wsgi_header_bytes};
use crate::reference::{DjangoVersion, Settings};

const CLOCK: &str = "1700000000"; // Tue, 14 Nov 2023 22:13:20 GMT; b62 "1r31eq"
const SIGNED_C: &str = "hello:1r31eq:ibGXs9hYGUvdzes8OUPYia_OxcCfU-hW5C_VDi5ERj8";

const SERVER_ERROR_PAGE: &[u8] = b"\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Server Error (500)</title>\n</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n";
const NOT_FOUND_PAGE: &[u8] = b"\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n";

/// The headers every response through the middleware stack ends with, after Content-Type (and
/// whatever the view set) and before the cookies.
fn middleware_headers(content_length: usize) -> Vec<(String, Vec<u8>)> {
    [
        ("x-frame-options", "DENY".to_owned()),
        ("content-length", content_length.to_string()),
        ("x-content-type-options", "nosniff".to_owned()),
        ("referrer-policy", "same-origin".to_owned()),
        ("cross-origin-opener-policy", "same-origin".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.into_bytes()))
    .collect()
}

fn header(name: &str, value: impl AsRef<[u8]>) -> (String, Vec<u8>) {
    (name.to_owned(), value.as_ref().to_vec())
}

/// What came back on the wire.
#[derive(Debug)]
struct Reply {
    status_line: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(name, _)| name == "set-cookie")
            .map(|(_, value)| String::from_utf8(value.clone()).unwrap())
            .collect()
    }

    /// The exact header list of a 200 JSON response with these cookies.
    fn assert_json_headers(&self, cookies: &[&str]) {
        let mut expected = vec![header("content-type", "application/json")];
        expected.extend(middleware_headers(self.body.len()));
        expected.extend(cookies.iter().map(|cookie| header("set-cookie", cookie)));
        assert_eq!(self.headers, expected);
    }
}

/// A Django-equivalent app on 127.0.0.1, port chosen by the OS, under gunicorn.
async fn start(settings: Settings) -> SocketAddr {
    start_under(settings, Server::Gunicorn).await
}

async fn start_under(settings: Settings, server: Server) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, settings, server));
    address
}

struct Client {
    address: SocketAddr,
}

impl Client {
    async fn new() -> Client {
        Client {
            address: start(Settings::default()).await,
        }
    }

    /// The app emulating Django `version` under `server`.
    async fn emulating(version: DjangoVersion, server: Server) -> Client {
        Client {
            address: start_under(Settings::for_version(version), server).await,
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &[u8])],
        body: &[u8],
    ) -> Reply {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
            body.len()
        )
        .into_bytes();
        for (name, value) in headers {
            request.extend_from_slice(format!("{name}: ").as_bytes());
            request.extend_from_slice(value);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"\r\n");
        request.extend_from_slice(body);
        let mut stream = TcpStream::connect(self.address).await.unwrap();
        stream.write_all(&request).await.unwrap();
        read_reply(&mut stream, method != "HEAD").await
    }

    /// A POST with a JSON body at the virtual clock `CLOCK`.
    async fn post(&self, path: &str, body: Value) -> Reply {
        self.post_at(CLOCK, path, body).await
    }

    async fn post_at(&self, clock: &str, path: &str, body: Value) -> Reply {
        let clock = ("X-Djc-Clock", clock.as_bytes());
        self.send("POST", path, &[clock], body.to_string().as_bytes())
            .await
    }

    /// `POST /cookies/read` with a `Cookie` header at the given clock.
    async fn read_with_cookie(&self, clock: &str, cookie: &str, body: Value) -> Reply {
        let headers = [
            ("Cookie", cookie.as_bytes()),
            ("X-Djc-Clock", clock.as_bytes()),
        ];
        self.send(
            "POST",
            "/cookies/read",
            &headers,
            body.to_string().as_bytes(),
        )
        .await
    }
}

/// Reads one response: the head up to the blank line, then `Content-Length` bytes of body
/// (none for HEAD).
async fn read_reply(stream: &mut TcpStream, with_body: bool) -> Reply {
    let mut received = Vec::new();
    let head_end = loop {
        if let Some(at) = received.windows(4).position(|window| window == b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0; 4096];
        let count = stream.read(&mut chunk).await.unwrap();
        assert!(count > 0, "connection closed mid-head: {received:?}");
        received.extend_from_slice(&chunk[..count]);
    };
    let head = received[..head_end].to_vec();
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let status_line = String::from_utf8(lines.next().unwrap().to_vec()).unwrap();
    let headers: Vec<(String, Vec<u8>)> = lines
        .map(|line| {
            let colon = line.iter().position(|&b| b == b':').unwrap();
            let value = line[colon + 1..]
                .strip_prefix(b" ")
                .unwrap_or(&line[colon + 1..]);
            (
                String::from_utf8(line[..colon].to_vec()).unwrap(),
                value.to_vec(),
            )
        })
        .collect();
    let mut body = received[head_end + 4..].to_vec();
    let chunked = headers.contains(&header("transfer-encoding", "chunked"));
    // A chunked body is kept as sent, framing included, up to its last chunk.
    let complete = |body: &[u8]| match headers.iter().find(|(name, _)| name == "content-length") {
        Some((_, value)) => body.len() >= std::str::from_utf8(value).unwrap().parse().unwrap(),
        None => {
            assert!(chunked, "a response has a Content-Length or is chunked");
            body.ends_with(b"0\r\n\r\n")
        }
    };
    while with_body && !complete(&body) {
        let mut chunk = [0; 4096];
        let count = stream.read(&mut chunk).await.unwrap();
        assert!(count > 0, "connection closed mid-body");
        body.extend_from_slice(&chunk[..count]);
    }
    Reply {
        status_line,
        headers,
        body,
    }
}

fn set_ops(ops: Value) -> Value {
    json!({ "ops": ops })
}

// --- contract endpoints and pages -------------------------------------------------------------

#[tokio::test]
async fn health_reports_rust_and_the_effective_settings() {
    let client = Client::new().await;
    let reply = client.send("GET", "/__djc__/health", &[], b"").await;
    assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
    assert_eq!(
        reply.body,
        br#"{"implementation": "rust", "django_version": "5.2.19", "server": "gunicorn", "python_version": null, "settings": {"SECRET_KEY": "test-secret-key-for-catalog", "SECRET_KEY_FALLBACKS": [], "SIGNED_COOKIE_LEGACY_SALT_FALLBACK": true}}"#
    );
    reply.assert_json_headers(&[]);

    let profile = Settings::with_overrides(&json!({"SECRET_KEY_FALLBACKS": ["old"]})).unwrap();
    let address = start(profile).await;
    let reply = Client { address }
        .send("GET", "/__djc__/health", &[], b"")
        .await;
    assert_eq!(
        reply.json()["settings"]["SECRET_KEY_FALLBACKS"],
        json!(["old"])
    );
}

#[tokio::test]
async fn unknown_paths_get_the_exact_404_page() {
    let client = Client::new().await;
    for path in ["/nope", "/cookies/set/", "/cookies", "/__djc__/health/"] {
        let reply = client.send("GET", path, &[], b"").await;
        assert_eq!(reply.status_line, "HTTP/1.1 404 Not Found", "{path}");
        assert_eq!(reply.body, NOT_FOUND_PAGE);
        assert_eq!(reply.body.len(), 179);
        let mut expected = vec![header("content-type", "text/html; charset=utf-8")];
        expected.extend(middleware_headers(179));
        assert_eq!(reply.headers, expected);
    }
}

#[tokio::test]
async fn an_op_that_raises_gives_the_exact_500_page_without_cookies() {
    let client = Client::new().await;
    let ops = json!([
        {"op": "set_cookie", "key": "a", "value": "b"},
        {"op": "set_cookie", "key": "a b"}
    ]);
    let reply = client.post("/cookies/set", set_ops(ops)).await;
    assert_eq!(reply.status_line, "HTTP/1.1 500 Internal Server Error");
    assert_eq!(reply.body, SERVER_ERROR_PAGE);
    assert_eq!(reply.body.len(), 145);
    let mut expected = vec![header("content-type", "text/html; charset=utf-8")];
    expected.extend(middleware_headers(145));
    assert_eq!(reply.headers, expected);
}

#[tokio::test]
async fn contract_errors_are_400s_with_the_header_and_the_same_text() {
    let client = Client::new().await;
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("/cookies/set", b"not json".to_vec()),
        ("/cookies/set", b"[1]".to_vec()),
        ("/cookies/set", b"\xff".to_vec()),
        ("/cookies/set", b"{}".to_vec()),
        ("/cookies/set", br#"{"ops": [], "extra": 1}"#.to_vec()),
        ("/cookies/set", br#"{"ops": "x"}"#.to_vec()),
        ("/cookies/set", br#"{"ops": [{"op": "bake"}]}"#.to_vec()),
        ("/cookies/set", br#"{"ops": [{"key": "a"}]}"#.to_vec()),
        (
            "/cookies/set",
            br#"{"ops": [{"op": "set_cookie"}]}"#.to_vec(),
        ),
        (
            "/cookies/set",
            br#"{"ops": [{"op": "set_cookie", "key": "a", "value": [true]}]}"#.to_vec(),
        ),
        (
            "/cookies/set",
            br#"{"ops": [{"op": "set_cookie", "key": "a", "value": {"x": 1.5}}]}"#.to_vec(),
        ),
        (
            "/cookies/set",
            br#"{"ops": [{"op": "set_cookie", "key": "a", "salt": "s"}]}"#.to_vec(),
        ),
        (
            "/cookies/set",
            br#"{"ops": [{"op": "set_cookie", "key": "a", "max_age": null}]}"#.to_vec(),
        ),
        (
            "/cookies/set",
            br#"{"ops": [{"op": "set_cookie", "key": "a", "expires": {"datetime": "soon"}}]}"#
                .to_vec(),
        ),
        (
            "/cookies/set",
            br#"{"ops": [{"op": "set_signed_cookie", "key": "a"}]}"#.to_vec(),
        ),
        (
            "/cookies/set",
            br#"{"ops": [{"op": "delete_cookie", "key": "a", "secure": true}]}"#.to_vec(),
        ),
        (
            "/cookies/set",
            br#"{"ops": [{"op": "set_cookie", "key": "a", "\u00e9\n": 1}]}"#.to_vec(),
        ),
        (
            "/cookies/set",
            br#"{"ops": [{"op": "set_cookie", "key": "a", "max_age": NaN}]}"#.to_vec(),
        ),
        ("/cookies/read", br#"{"signed": {}}"#.to_vec()),
        ("/cookies/read", br#"{"signed": [{"salt": "s"}]}"#.to_vec()),
        (
            "/cookies/read",
            br#"{"signed": [{"key": "a", "other": 1}]}"#.to_vec(),
        ),
        ("/cookies/signing", br#"{"ops": [{"op": "sign"}]}"#.to_vec()),
        (
            "/cookies/signing",
            br#"{"ops": [{"op": "sign", "value": "v", "signer": "other"}]}"#.to_vec(),
        ),
        (
            "/cookies/signing",
            br#"{"ops": [{"op": "sign", "value": "v", "signer": "cookie", "key": "k"}]}"#.to_vec(),
        ),
        (
            "/cookies/signing",
            br#"{"ops": [{"op": "sign", "value": "v", "signer": "cookie", "sep": "/"}]}"#.to_vec(),
        ),
        (
            "/cookies/signing",
            br#"{"ops": [{"op": "unsign", "value": "v", "max_age": 5}]}"#.to_vec(),
        ),
        (
            "/cookies/signing",
            br#"{"ops": [{"op": "dumps"}]}"#.to_vec(),
        ),
        (
            "/cookies/signing",
            br#"{"ops": [{"op": "loads", "value": "v", "fallback_keys": [1]}]}"#.to_vec(),
        ),
        (
            "/cookies/signing",
            br#"{"ops": [{"op": "salted_hmac", "value": "v"}]}"#.to_vec(),
        ),
    ];
    for (path, body) in bodies {
        let reply = client.send("POST", path, &[], &body).await;
        let context = String::from_utf8_lossy(&body);
        assert_eq!(reply.status_line, "HTTP/1.1 400 Bad Request", "{context}");
        let message = reply.json()["contract_error"].as_str().unwrap().to_owned();
        assert!(message.is_ascii() && !message.is_empty(), "{message:?}");
        let mut expected = vec![
            header("content-type", "application/json"),
            header("x-djc-contract-error", &message),
        ];
        expected.extend(middleware_headers(reply.body.len()));
        assert_eq!(reply.headers, expected, "{context}");
    }
}

#[tokio::test]
async fn a_bad_clock_is_answered_by_the_outermost_middleware() {
    let client = Client::new().await;
    for clock in ["soon", "-5", "1e9", "1700000000."] {
        let reply = client
            .post_at(clock, "/cookies/signing", set_ops(json!([])))
            .await;
        assert_eq!(reply.status_line, "HTTP/1.1 400 Bad Request", "{clock}");
        let message = reply.json()["contract_error"].as_str().unwrap().to_owned();
        let expected = vec![
            header("content-type", "application/json"),
            header("x-djc-contract-error", &message),
            header("content-length", reply.body.len().to_string()),
        ];
        assert_eq!(reply.headers, expected);
    }
}

#[tokio::test]
async fn any_method_is_served_and_head_keeps_the_content_length() {
    let client = Client::new().await;
    let get = client
        .send("GET", "/cookies/set", &[], br#"{"ops": []}"#)
        .await;
    assert_eq!(get.json(), json!({"applied": 0}));
    let reply = client.send("HEAD", "/__djc__/health", &[], b"").await;
    assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
    assert!(reply.body.is_empty());
    let health = client.send("GET", "/__djc__/health", &[], b"").await;
    assert_eq!(reply.headers, health.headers);
}

// --- POST /cookies/set ------------------------------------------------------------------------

#[tokio::test]
async fn set_cookies_come_last_in_first_set_order() {
    let client = Client::new().await;
    let ops = json!([
        {"op": "set_cookie", "key": "z", "value": 1},
        {"op": "set_cookie", "key": "a", "value": "2", "max_age": 10, "httponly": true},
        {"op": "set_cookie", "key": "z", "value": 3},
        {"op": "delete_cookie", "key": "__Host-x"}
    ]);
    let reply = client.post("/cookies/set", set_ops(ops)).await;
    assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
    assert_eq!(reply.body, br#"{"applied": 4}"#);
    reply.assert_json_headers(&[
        "z=3; Path=/",
        "a=2; expires=Tue, 14 Nov 2023 22:13:30 GMT; HttpOnly; Max-Age=10; Path=/",
        "__Host-x=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; Secure",
    ]);
}

#[tokio::test]
async fn the_clock_header_drives_signing_and_expires() {
    let client = Client::new().await;
    let signed = set_ops(json!([{"op": "set_signed_cookie", "key": "c", "value": "hello"}]));
    let reply = client.post("/cookies/set", signed.clone()).await;
    assert_eq!(reply.set_cookies(), [format!("c={SIGNED_C}; Path=/")]);
    let later = client.post_at("1700000100", "/cookies/set", signed).await;
    assert_ne!(later.set_cookies(), reply.set_cookies());

    let ops = set_ops(json!([{"op": "set_cookie", "key": "a", "value": "b", "max_age": 10}]));
    let reply = client.post_at("1700000000.9", "/cookies/set", ops).await;
    assert_eq!(
        reply.set_cookies(),
        ["a=b; expires=Tue, 14 Nov 2023 22:13:30 GMT; Max-Age=10; Path=/"]
    );
}

#[tokio::test]
async fn cookie_arguments_reach_django_as_typed() {
    let client = Client::new().await;
    let ops = json!([
        {"op": "set_cookie", "key": "a", "path": null, "domain": ".example.com", "samesite": "lax", "secure": true},
        {"op": "set_cookie", "key": "b", "value": "x", "max_age": {"timedelta": 90.9}},
        {"op": "set_cookie", "key": "c", "value": "x", "expires": {"datetime": "2023-11-14T22:15:00"}},
        {"op": "set_cookie", "key": "d", "value": "x", "expires": "garbage"},
        {"op": "delete_cookie", "key": "e", "path": null, "samesite": "None"}
    ]);
    let reply = client.post("/cookies/set", set_ops(ops)).await;
    assert_eq!(
        reply.set_cookies(),
        [
            "a=\"\"; Domain=.example.com; SameSite=lax; Secure",
            "b=x; expires=Tue, 14 Nov 2023 22:14:50 GMT; Max-Age=90; Path=/",
            // Django adds a second to the datetime's distance from now.
            "c=x; expires=Tue, 14 Nov 2023 22:15:01 GMT; Max-Age=101; Path=/",
            "d=x; expires=garbage; Path=/",
            "e=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; SameSite=None; Secure",
        ]
    );
}

#[tokio::test]
async fn cookie_bytes_go_out_latin_1_encoded() {
    let client = Client::new().await;
    let ops = json!([{"op": "set_cookie", "key": "a", "value": "\u{e9}", "path": "/caf\u{e9}"}]);
    let reply = client.post("/cookies/set", set_ops(ops)).await;
    let (_, cookie) = reply.headers.last().unwrap();
    assert_eq!(cookie, b"a=\"\\351\"; Path=/caf\xe9");
}

#[tokio::test]
async fn a_control_character_in_a_cookie_is_djangos_500() {
    let client = Client::new().await;
    for ops in [
        json!([{"op": "set_cookie", "key": "a", "value": "b", "path": "/\nx"}]),
        json!([{"op": "set_cookie", "key": "a", "value": "a\u{0}b"}]),
    ] {
        let reply = client.post("/cookies/set", set_ops(ops)).await;
        assert_eq!(reply.status_line, "HTTP/1.1 500 Internal Server Error");
        assert_eq!(reply.body, SERVER_ERROR_PAGE);
    }
}

#[tokio::test]
async fn a_cookie_gunicorn_cannot_write_gives_its_own_500_page() {
    // Python leaves a code point above U+00FF raw; gunicorn cannot latin-1 encode the header.
    let ops = json!([{"op": "set_cookie", "key": "a", "value": "\u{20ac}"}]);
    let client = Client::new().await;
    let reply = client.post("/cookies/set", set_ops(ops)).await;
    assert_eq!(reply.status_line, "HTTP/1.1 500 Internal Server Error");
    assert_eq!(
        reply.headers,
        [
            header("content-type", "text/html"),
            header("content-length", "141")
        ]
    );
    assert!(
        reply
            .body
            .starts_with(b"<html>\n  <head>\n    <title>Internal Server Error</title>")
    );
}

#[tokio::test]
async fn under_uvicorn_a_cookie_that_is_not_ascii_gives_uvicorns_own_500() {
    // Django's ASGI handler encodes Set-Cookie as ASCII: a latin-1 path fails there too, and
    // uvicorn answers for it, chunked, with nothing of Django's.
    for value in ["\u{20ac}", "b"] {
        let ops = json!([{"op": "set_cookie", "key": "a", "value": value, "path": "/caf\u{e9}"}]);
        for version in DjangoVersion::ALL {
            let client = Client::emulating(version, Server::Uvicorn).await;
            let reply = client.post("/cookies/set", set_ops(ops.clone())).await;
            assert_eq!(reply.status_line, "HTTP/1.1 500 Internal Server Error");
            assert_eq!(
                reply.headers[..2],
                [
                    header("content-type", "text/plain; charset=utf-8"),
                    header("transfer-encoding", "chunked")
                ]
            );
            assert_eq!(reply.body, b"15\r\nInternal Server Error\r\n0\r\n\r\n");
        }
    }
    let gunicorn = Client::new().await;
    let ops = json!([{"op": "set_cookie", "key": "a", "value": "b", "path": "/caf\u{e9}"}]);
    let reply = gunicorn.post("/cookies/set", set_ops(ops)).await;
    let raw: Vec<&Vec<u8>> = reply
        .headers
        .iter()
        .filter(|(name, _)| name == "set-cookie")
        .map(|(_, value)| value)
        .collect();
    assert_eq!(
        raw,
        [&b"a=b; Path=/caf\xe9".to_vec()],
        "gunicorn writes latin-1"
    );
}

#[tokio::test]
async fn under_uvicorn_the_cookie_header_is_latin_1_and_repeated_lines_join_by_version() {
    let lines: [(&str, &[u8]); 3] = [
        ("Cookie", b"a=1; "),
        ("Cookie", b"b=\xc3\xa9"),
        ("X-Djc-Clock", CLOCK.as_bytes()),
    ];
    let cases = [
        // gunicorn joins the lines with `,`, and Django decodes them as UTF-8.
        (
            DjangoVersion::V5_2,
            Server::Gunicorn,
            json!({"a": "1", ",b": "\u{e9}"}),
        ),
        (
            DjangoVersion::V5_2,
            Server::Uvicorn,
            json!({"a": "1", ",b": "\u{c3}\u{a9}"}),
        ),
        (
            DjangoVersion::V6_1,
            Server::Gunicorn,
            json!({"a": "1", ",b": "\u{e9}"}),
        ),
        (
            DjangoVersion::V6_1,
            Server::Uvicorn,
            json!({"a": "1", "b": "\u{c3}\u{a9}"}),
        ),
    ];
    for (version, server, cookies) in cases {
        let client = Client::emulating(version, server).await;
        let reply = client.send("POST", "/cookies/read", &lines, b"").await;
        assert_eq!(reply.json()["cookies"], cookies, "{version}/{server}");
    }
}

#[tokio::test]
async fn under_uvicorn_django_6_1_leaves_a_trailing_space_h11_will_not_write() {
    let ops = json!([{"op": "set_cookie", "key": "a", "value": "b", "path": "/x "}]);
    let body = set_ops(ops).to_string();
    for version in DjangoVersion::ALL {
        let address = start_under(Settings::for_version(version), Server::Uvicorn).await;
        let mut stream = TcpStream::connect(address).await.unwrap();
        let request = format!(
            "POST /cookies/set HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Djc-Clock: {CLOCK}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut received = Vec::new();
        stream.read_to_end(&mut received).await.unwrap();
        let text = String::from_utf8_lossy(&received);
        match version {
            DjangoVersion::V5_2 => assert!(text.contains("set-cookie: a=b; Path=/x\r\n"), "{text}"),
            DjangoVersion::V6_1 => assert_eq!(text, "", "the connection closes with nothing"),
        }
    }
}

#[test]
fn asgi_cookie_bytes_are_ascii_and_stripped_only_by_5_2() {
    assert_eq!(
        asgi_cookie_bytes("a=b; Path=/x ", DjangoVersion::V5_2).unwrap(),
        b"a=b; Path=/x"
    );
    assert_eq!(
        asgi_cookie_bytes("a=b; Path=/x ", DjangoVersion::V6_1).unwrap(),
        b"a=b; Path=/x "
    );
    assert_eq!(asgi_cookie_bytes("caf\u{e9}", DjangoVersion::V5_2), None);
}

#[test]
fn wsgi_header_bytes_are_latin_1_stripped_and_none_above_u00ff() {
    assert_eq!(
        wsgi_header_bytes(" a=b; SameSite=x\t ").unwrap(),
        b"a=b; SameSite=x"
    );
    assert_eq!(wsgi_header_bytes("caf\u{e9}").unwrap(), b"caf\xe9");
    assert_eq!(wsgi_header_bytes("\u{20ac}"), None);
}

// --- GET|POST /cookies/read -------------------------------------------------------------------

#[tokio::test]
async fn read_reports_the_cookie_header_as_django_sees_it() {
    let client = Client::new().await;
    let cookie: &[u8] = b"a=caf\xc3\xa9; b=\xe9; c=\"\\303\\251\"; d=1, e=2";
    let reply = client
        .send("GET", "/cookies/read", &[("Cookie", cookie)], b"")
        .await;
    assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
    assert_eq!(
        reply.body,
        br#"{"cookie_header": "a=caf\u00c3\u00a9; b=\u00e9; c=\"\\303\\251\"; d=1, e=2", "cookies": {"a": "caf\u00e9", "b": "\ufffd", "c": "\u00c3\u00a9", "d": "1, e=2"}, "signed": []}"#
    );
    reply.assert_json_headers(&[]);

    let none = client.send("POST", "/cookies/read", &[], b"").await;
    assert_eq!(
        none.json(),
        json!({"cookie_header": null, "cookies": {}, "signed": []})
    );

    let two_lines = [("Cookie", &b"a=1"[..]), ("Cookie", &b"b=2"[..])];
    let joined = client.send("GET", "/cookies/read", &two_lines, b"").await;
    assert_eq!(joined.json()["cookie_header"], json!("a=1,b=2"));
    assert_eq!(joined.json()["cookies"], json!({"a": "1,b=2"}));
}

#[tokio::test]
async fn signed_lookups_return_the_value_the_default_or_the_500() {
    let client = Client::new().await;
    let cookie = format!("c={SIGNED_C}; t=tampered:1r31eq:x");
    let lookups = json!({"signed": [
        {"key": "c"},
        {"key": "missing", "default": null},
        {"key": "t", "default": {"any": [1, 2.5]}},
        {"key": "c", "max_age": 5, "default": "expired"},
        {"key": "c", "max_age": {"timedelta": 100}, "default": "expired"},
        {"key": "c", "salt": "other", "default": false}
    ]});
    let reply = client
        .read_with_cookie("1700000010", &cookie, lookups)
        .await;
    assert_eq!(
        reply.json()["signed"],
        json!(["hello", null, {"any": [1, 2.5]}, "expired", "hello", false])
    );

    for lookup in [
        json!({"key": "missing"}),
        json!({"key": "t"}),
        json!({"key": "c", "max_age": 5}),
    ] {
        let reply = client
            .read_with_cookie("1700000010", &cookie, json!({"signed": [lookup]}))
            .await;
        assert_eq!(
            reply.status_line, "HTTP/1.1 500 Internal Server Error",
            "{lookup}"
        );
        assert_eq!(reply.body, SERVER_ERROR_PAGE);
    }
}

// --- POST /cookies/signing --------------------------------------------------------------------

#[tokio::test]
async fn signing_ops_give_django_values_and_errors() {
    let client = Client::new().await;
    let cookie_salt = "django.http.cookies.v2:0:c";
    let ops = json!([
        {"op": "sign", "value": "hello"},
        {"op": "sign", "value": "hello", "signer": "cookie", "salt": cookie_salt},
        {"op": "dumps", "obj": "hello"},
        {"op": "unsign", "value": "hello:tampered"},
        {"op": "salted_hmac", "key_salt": "salt", "value": "value", "secret": "k", "algorithm": "sha256"}
    ]);
    let reply = client.post("/cookies/signing", set_ops(ops)).await;
    assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
    reply.assert_json_headers(&[]);
    let results = reply.json()["results"].clone();
    assert_eq!(
        results[0],
        json!({"value": "hello:ZmU0fXP_Dr2jllPy7kzhsYhOGVqiOFFW3tt0kaBAE_g"})
    );
    assert_eq!(results[1], json!({ "value": SIGNED_C }));
    let dumped = "ImhlbGxvIg:1r31eq:cTruiEBY_cFCV1LlNUq5VL9i_ItdBm0tawTAoxWpNmg";
    assert_eq!(results[2], json!({ "value": dumped }));
    assert_eq!(results[3], json!({"error": "BadSignature"}));
    assert_eq!(results[4]["value"].as_str().unwrap().len(), 64);

    let six_seconds_later = json!([
        {"op": "loads", "value": dumped, "max_age": 5},
        {"op": "loads", "value": dumped},
        {"op": "unsign", "value": SIGNED_C, "signer": "cookie", "salt": cookie_salt, "max_age": {"timedelta": 5}},
        {"op": "unsign", "value": SIGNED_C, "signer": "cookie", "salt": cookie_salt, "max_age": 6}
    ]);
    let reply = client
        .post_at("1700000006", "/cookies/signing", set_ops(six_seconds_later))
        .await;
    assert_eq!(
        reply.json()["results"],
        json!([
            {"error": "SignatureExpired"},
            {"value": "hello"},
            {"error": "SignatureExpired"},
            {"value": "hello"}
        ])
    );
}

#[tokio::test]
async fn signing_exceptions_other_than_bad_signature_give_the_500_page() {
    let client = Client::new().await;
    for op in [
        json!({"op": "sign", "value": "v", "sep": "abc"}),
        json!({"op": "sign", "value": "v", "algorithm": "nope"}),
        json!({"op": "salted_hmac", "key_salt": "s", "value": "v", "algorithm": "nope"}),
    ] {
        let reply = client.post("/cookies/signing", set_ops(json!([op]))).await;
        assert_eq!(
            reply.status_line, "HTTP/1.1 500 Internal Server Error",
            "{op}"
        );
        assert_eq!(reply.body, SERVER_ERROR_PAGE);
    }
}

// --- the Django app's own endpoint tests (django_reference/tests/test_contract.py) ------------

#[tokio::test]
async fn django_app_test_cookies_set_headers_in_contract_order() {
    let client = Client::new().await;
    let ops = json!([
        {"op": "set_signed_cookie", "key": "c", "value": "hello"},
        {"op": "set_cookie", "key": "a", "value": "a;b", "expires": {"datetime": "2023-11-14T22:15:00"}},
        {"op": "delete_cookie", "key": "d", "samesite": "None"}
    ]);
    let reply = client.post("/cookies/set", set_ops(ops)).await;
    assert_eq!(reply.body, br#"{"applied": 3}"#);
    reply.assert_json_headers(&[
        &format!("c={SIGNED_C}; Path=/"),
        "a=\"a\\073b\"; expires=Tue, 14 Nov 2023 22:15:01 GMT; Max-Age=101; Path=/",
        "d=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=None; Secure",
    ]);
}

#[tokio::test]
async fn django_app_test_cookies_read() {
    let client = Client::new().await;
    let lookups = json!({"signed": [
        {"key": "c"},
        {"key": "c", "max_age": 99, "default": null},
        {"key": "missing", "default": {"x": 1}}
    ]});
    let cookie = format!("a=\"b\\073c\"; c={SIGNED_C}");
    let reply = client
        .read_with_cookie("1700000100", &cookie, lookups)
        .await;
    assert_eq!(
        reply.json(),
        json!({
            "cookie_header": cookie,
            "cookies": {"a": "b;c", "c": SIGNED_C},
            "signed": ["hello", null, {"x": 1}]
        })
    );
}

#[tokio::test]
async fn django_app_test_cookies_signing() {
    let client = Client::new().await;
    let cookie_salt = "django.http.cookies.v2:0:c";
    let dumped = "ImhlbGxvIg:1r31eq:cTruiEBY_cFCV1LlNUq5VL9i_ItdBm0tawTAoxWpNmg";
    let ops = json!([
        {"op": "sign", "value": "hello"},
        {"op": "sign", "value": "hello", "signer": "cookie", "salt": cookie_salt},
        {"op": "unsign", "value": SIGNED_C, "signer": "cookie", "salt": cookie_salt},
        {"op": "unsign", "value": SIGNED_C, "signer": "timestamp"},
        {"op": "unsign", "value": SIGNED_C, "signer": "cookie", "salt": cookie_salt, "max_age": {"timedelta": -1}},
        {"op": "dumps", "obj": "hello"},
        {"op": "loads", "value": dumped},
        {"op": "salted_hmac", "key_salt": "a", "value": "b"}
    ]);
    let reply = client.post("/cookies/signing", set_ops(ops)).await;
    assert_eq!(
        reply.json()["results"],
        json!([
            {"value": "hello:ZmU0fXP_Dr2jllPy7kzhsYhOGVqiOFFW3tt0kaBAE_g"},
            {"value": SIGNED_C},
            {"value": "hello"},
            {"error": "BadSignature"},
            {"error": "SignatureExpired"},
            {"value": dumped},
            {"value": "hello"},
            {"value": "cdf7752c7731715fe5b21e7341768e80e2aa12c0"}
        ])
    );
}

#[tokio::test]
async fn idle_and_silent_connections_are_closed_and_the_connection_cap_holds() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let limits = ServeLimits {
        max_connections: 2,
        idle_timeout: std::time::Duration::from_millis(300),
    };
    tokio::spawn(serve_with(
        listener,
        Settings::default(),
        Server::Gunicorn,
        limits,
    ));
    // Two clients that connect and say nothing hold both connections.
    let mut silent = Vec::new();
    for _ in 0..2 {
        silent.push(TcpStream::connect(address).await.unwrap());
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    let mut third = TcpStream::connect(address).await.unwrap();
    third
        .write_all(b"GET /__djc__/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let reply = read_reply(&mut third, true).await;
    assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(200),
        "the third connection waited for a free slot: {:?}",
        started.elapsed()
    );
    for mut stream in silent {
        let mut buffer = [0u8; 16];
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(2), stream.read(&mut buffer))
                .await
                .expect("the silent connection was closed");
        assert_eq!(read.unwrap_or(0), 0, "closed without an answer");
    }
}

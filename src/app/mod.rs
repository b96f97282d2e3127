//! The Rust reference app: serves [`crate::reference`] through the contract in
//! `django_reference/CONTRACT.md`, giving the status, headers (in order), `Set-Cookie` bytes and
//! body bytes the Django app gives.
//!
//! This module is the Django project (`django_reference/conformance/`): the URLs, the middleware
//! stack of `settings.MIDDLEWARE`, and what the WSGI handler and server do with a response.
//! [`contract`] and [`cookies`] are the Django apps of the same names.

mod contract;
mod cookies;
mod isoformat;
#[cfg(test)]
mod tests;

pub use cookies::{COOKIE_OPS, SIGNING_OPS};

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::HttpBody;
use axum::extract::Request;
use axum::http::header::{
    CONTENT_LENGTH, REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use axum::routing::any;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceBuilder;

use crate::reference::Settings;
use crate::reference::cookies::ResponseCookies;

const CROSS_ORIGIN_OPENER_POLICY: HeaderName =
    HeaderName::from_static("cross-origin-opener-policy");

/// The page gunicorn sends instead of a response whose headers it cannot write: 141 bytes.
const GUNICORN_ERROR_PAGE: &str = "<html>\n  <head>\n    <title>Internal Server Error</title>\n  </head>\n  <body>\n    <h1><p>Internal Server Error</p></h1>\n    \n  </body>\n</html>\n";

/// The app for one settings profile.
///
/// Views and middleware leave `response.cookies` as a [`ResponseCookies`] in the response
/// extensions; they become `Set-Cookie` headers after every other header, as in Django.
pub fn router(settings: Settings) -> Router {
    Router::new()
        .route("/__djc__/health", any(contract::health))
        .merge(cookies::routes())
        .fallback(contract::not_found)
        .layer(
            // The first layer is the outermost: the WSGI handler, then settings.MIDDLEWARE.
            ServiceBuilder::new()
                .layer(from_fn(write_cookies))
                .layer(from_fn(contract::clock_middleware))
                .layer(from_fn(security_middleware))
                .layer(from_fn(common_middleware))
                .layer(from_fn(x_frame_options_middleware)),
        )
        .with_state(Arc::new(settings))
}

/// Limits that keep the app up whatever its clients do.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// Connections served at once; more wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// How long a connection may take to send a request's head, or sit idle between requests,
    /// before it is closed.
    pub idle_timeout: Duration,
}

impl Default for ServeLimits {
    /// At most 4096 connections, and fewer when the process may open fewer files (one for each
    /// connection, and some to spare), so that accepting rarely runs out of descriptors.
    fn default() -> ServeLimits {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit(2) writes the limit into the struct it is given.
        let descriptors = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
            limit.rlim_cur
        } else {
            1024
        };
        ServeLimits {
            max_connections: (descriptors.saturating_sub(32) as usize).clamp(8, 4096),
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves [`router`] on `listener`, one task per connection, with the default [`ServeLimits`].
/// It runs until it is dropped.
pub async fn serve(listener: TcpListener, settings: Settings) {
    serve_with(listener, settings, ServeLimits::default()).await
}

/// [`serve`] with the given limits. An accept that fails because the process is out of
/// descriptors or memory is retried after a pause that grows to a second, as hyper-util's and
/// axum's servers do: such a failure passes when connections close.
pub async fn serve_with(listener: TcpListener, settings: Settings, limits: ServeLimits) {
    let service = TowerToHyperService::new(router(settings));
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    const FIRST_PAUSE: Duration = Duration::from_millis(5);
    let mut pause = FIRST_PAUSE;
    loop {
        let permit = connections
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let stream = match listener.accept().await {
            Ok((stream, _)) => {
                if pause > FIRST_PAUSE {
                    eprintln!("rust app: accepting connections again");
                    pause = FIRST_PAUSE;
                }
                stream
            }
            Err(error) if is_client_error(&error) => continue,
            Err(error) => {
                if pause == FIRST_PAUSE {
                    eprintln!("rust app: accepting a connection failed ({error}); retrying");
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let connection = http1::Builder::new()
            // A `Date` of hyper's would be a header Django does not set (gunicorn's, on the
            // Django side, is transport noise the harness drops).
            .auto_date_header(false)
            .timer(TokioTimer::new())
            .header_read_timeout(limits.idle_timeout)
            .serve_connection(TokioIo::new(stream), service.clone());
        tokio::spawn(async move {
            // A broken connection only concerns its client.
            let _ = connection.await;
            drop(permit);
        });
    }
}

/// An accept error that concerns one client only: the next accept is unaffected.
fn is_client_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    )
}

/// The WSGI handler and server: `response.cookies` become one `Set-Cookie` each, after the
/// headers, in cookie order.
async fn write_cookies(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let Some(cookies) = response.extensions_mut().remove::<ResponseCookies>() else {
        return response;
    };
    for value in cookies.header_values() {
        // A code point above U+00FF has no latin-1 byte: gunicorn refuses the header with its
        // own page (checked against Django). Control characters never get here: the reference
        // refuses them as http.cookies does.
        match wsgi_header_bytes(&value).map(|bytes| HeaderValue::from_bytes(&bytes)) {
            Some(Ok(value)) => response.headers_mut().append(SET_COOKIE, value),
            _ => return gunicorn_error(),
        };
    }
    response
}

/// gunicorn's own 500: `Content-Type: text/html` and `Content-Length`, nothing from Django.
fn gunicorn_error() -> Response {
    let mut response = contract::response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "text/html",
        GUNICORN_ERROR_PAGE.to_owned(),
    );
    add_content_length(&mut response);
    response
}

/// A header value as gunicorn writes it: spaces and tabs stripped from both ends, then latin-1
/// encoded; `None` when a character has no latin-1 byte (Python leaves code points above U+00FF
/// raw in a cookie value).
fn wsgi_header_bytes(value: &str) -> Option<Vec<u8>> {
    value
        .trim_matches([' ', '\t'])
        .chars()
        .map(|c| u8::try_from(c).ok())
        .collect()
}

/// `SecurityMiddleware.process_response` with the default settings.
async fn security_middleware(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (REFERRER_POLICY, "same-origin"),
        (CROSS_ORIGIN_OPENER_POLICY, "same-origin"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

/// `CommonMiddleware.process_response`. Its APPEND_SLASH redirect never applies: no contract
/// path plus a slash is a URL. Not mirrored: the `Host` check of `process_request`, which with
/// `ALLOWED_HOSTS = ["*"]` only refuses a malformed `Host`.
async fn common_middleware(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    add_content_length(&mut response);
    response
}

/// `Content-Length: len(response.content)`, unless the response has one.
fn add_content_length(response: &mut Response) {
    if response.headers().contains_key(CONTENT_LENGTH) {
        return;
    }
    if let Some(length) = response.body().size_hint().exact() {
        response
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(length));
    }
}

/// `XFrameOptionsMiddleware.process_response`: `X-Frame-Options: DENY` unless set.
async fn x_frame_options_middleware(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers
        .entry(X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    response
}

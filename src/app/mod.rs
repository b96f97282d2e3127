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

use axum::body::HttpBody;
use axum::extract::Request;
use axum::extract::State;
use axum::http::header::{
    CONTENT_LENGTH, CONTENT_TYPE, REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::Response;
use axum::routing::any;
use axum::{Extension, Router};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{ServiceBuilder, ServiceExt};

use crate::reference::cookies::ResponseCookies;
use crate::reference::{DjangoVersion, Settings};

const CROSS_ORIGIN_OPENER_POLICY: HeaderName =
    HeaderName::from_static("cross-origin-opener-policy");

/// The page gunicorn sends instead of a response whose headers it cannot write: 141 bytes.
const GUNICORN_ERROR_PAGE: &str = "<html>\n  <head>\n    <title>Internal Server Error</title>\n  </head>\n  <body>\n    <h1><p>Internal Server Error</p></h1>\n    \n  </body>\n</html>\n";

/// uvicorn's own 500 body, for an exception before the response started.
const UVICORN_ERROR_PAGE: &str = "Internal Server Error";

/// The server a Django app runs under. Its handling of a response (the headers it refuses, the
/// pages it sends instead, how it joins repeated request headers) reaches the client too, so the
/// app emulates the one it is told.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Server {
    /// gunicorn's sync-style WSGI server (gthread worker), with Django's WSGI handler.
    #[default]
    Gunicorn,
    /// uvicorn with its h11 protocol, with Django's ASGI handler.
    Uvicorn,
}

impl Server {
    pub const ALL: [Server; 2] = [Server::Gunicorn, Server::Uvicorn];

    pub fn as_str(self) -> &'static str {
        match self {
            Server::Gunicorn => "gunicorn",
            Server::Uvicorn => "uvicorn",
        }
    }

    pub fn parse(text: &str) -> Option<Server> {
        Server::ALL
            .into_iter()
            .find(|server| server.as_str() == text)
    }
}

impl std::fmt::Display for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The app for one settings profile.
///
/// Views and middleware leave `response.cookies` as a [`ResponseCookies`] in the response
/// extensions; they become `Set-Cookie` headers after every other header, as in Django.
pub fn router(settings: Settings, server: Server) -> Router {
    let settings = Arc::new(settings);
    Router::new()
        .route("/__djc__/health", any(contract::health))
        .merge(cookies::routes())
        .fallback(contract::not_found)
        .layer(
            // The first layer is the outermost: the WSGI handler, then settings.MIDDLEWARE.
            ServiceBuilder::new()
                .layer(Extension(server))
                .layer(from_fn_with_state(settings.clone(), write_cookies))
                .layer(from_fn(contract::clock_middleware))
                .layer(from_fn(security_middleware))
                .layer(from_fn(common_middleware))
                .layer(from_fn(x_frame_options_middleware)),
        )
        .with_state(settings)
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
pub async fn serve(listener: TcpListener, settings: Settings, server: Server) {
    serve_with(listener, settings, server, ServeLimits::default()).await
}

/// [`serve`] with the given limits. An accept that fails because the process is out of
/// descriptors or memory is retried after a pause that grows to a second, as hyper-util's and
/// axum's servers do: such a failure passes when connections close.
pub async fn serve_with(
    listener: TcpListener,
    settings: Settings,
    server: Server,
    limits: ServeLimits,
) {
    let router = router(settings, server);
    let service = TowerToHyperService::new(tower::service_fn(move |request: Request<_>| {
        let router = router.clone();
        async move {
            let Ok(response) = router.oneshot(request).await;
            // hyper closes the connection, writing nothing, when the service fails.
            match response.extensions().get::<Unwritable>() {
                Some(unwritable) => Err(unwritable.clone()),
                None => Ok(response),
            }
        }
    }));
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

/// Django's handler and the server: `response.cookies` become one `Set-Cookie` each, after the
/// headers, in cookie order, encoded as the handler and server of `server` encode them.
async fn write_cookies(
    State(settings): State<Arc<Settings>>,
    Extension(server): Extension<Server>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let Some(cookies) = response.extensions_mut().remove::<ResponseCookies>() else {
        return response;
    };
    for value in cookies.header_values() {
        // Control characters never get here: the reference refuses them as http.cookies does.
        let encoded = match server {
            Server::Gunicorn => wsgi_header_bytes(&value),
            Server::Uvicorn => match asgi_cookie_bytes(&value, settings.django_version) {
                Some(bytes) if bytes.ends_with(b" ") || bytes.ends_with(b"\t") => {
                    return unwritable(
                        "h11 refuses a header value that ends in whitespace, which Django 6.1's \
                         ASGI handler leaves on a Set-Cookie",
                    );
                }
                encoded => encoded,
            },
        };
        match encoded.map(|bytes| HeaderValue::from_bytes(&bytes)) {
            Some(Ok(value)) => response.headers_mut().append(SET_COOKIE, value),
            _ => return server_error_page(server),
        };
    }
    response
}

/// A response no byte of which reaches the client: the server fails to write its head and drops
/// the connection. [`serve_with`] closes the connection when it meets one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the server cannot write this response: {0}")]
pub struct Unwritable(&'static str);

fn unwritable(why: &'static str) -> Response {
    let mut response = Response::default();
    response.extensions_mut().insert(Unwritable(why));
    response
}

/// The page the server sends when the response's headers cannot be written: nothing of
/// Django's gets out. gunicorn's has a `Content-Length`; uvicorn's is sent chunked.
fn server_error_page(server: Server) -> Response {
    match server {
        Server::Gunicorn => {
            let mut response = contract::response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/html",
                GUNICORN_ERROR_PAGE.to_owned(),
            );
            add_content_length(&mut response);
            response
        }
        Server::Uvicorn => {
            let chunks = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(
                axum::body::Bytes::from_static(UVICORN_ERROR_PAGE.as_bytes()),
            )]);
            let mut response = Response::new(axum::body::Body::from_stream(chunks));
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            response
        }
    }
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

/// A `Set-Cookie` value as Django's ASGI handler encodes it: ASCII only (`encode("ascii")`),
/// so a latin-1 letter in a path fails too (`None`); 5.2 also strips whitespace from both ends.
fn asgi_cookie_bytes(value: &str, version: DjangoVersion) -> Option<Vec<u8>> {
    if !value.is_ascii() {
        return None;
    }
    Some(match version {
        DjangoVersion::V5_2 => value.trim_ascii().as_bytes().to_vec(),
        DjangoVersion::V6_1 => value.as_bytes().to_vec(),
    })
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

//! Reaching the Docker engine. djc asks it for its version before choosing it, over the Unix
//! socket or TCP that `DOCKER_HOST` names. testcontainers 0.28 speaks Docker API 1.53 and does
//! not negotiate; an older engine (Docker 20.10, Debian bookworm's, serves at most 1.41) refuses
//! every such request. For an older engine djc puts a proxy on a local socket in front of it that
//! forwards each request unchanged but for the version in its path, which becomes the engine's.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixListener, UnixStream};
use tokio::sync::Mutex;

/// The proxy's socket is `<temp dir>/<this prefix><pid>.sock`.
pub const SOCKET_PREFIX: &str = "djc-docker-api-";

/// The Docker API version testcontainers' client (bollard) sends.
pub const CLIENT_API_VERSION: (u32, u32) = (1, 53);

/// Where the engine listens, from `DOCKER_HOST` (default: the local Unix socket).
#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    Unix(PathBuf),
    /// `tcp://host:port`, plain HTTP.
    Tcp(String),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "{}", path.display()),
            Endpoint::Tcp(address) => write!(f, "tcp://{address}"),
        }
    }
}

/// What answers at the engine's endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum Engine {
    /// An engine that takes the client's API version as it is (or one djc cannot probe, such as
    /// an engine behind TLS, which is left to testcontainers).
    Current,
    /// An engine older than the client: reachable through [`ApiShim`].
    Older {
        endpoint: Endpoint,
        api_version: String,
    },
    /// No engine: why, for the message.
    Absent(String),
}

/// The engine's endpoint: `DOCKER_HOST` (`unix://…` or `tcp://…`), else the default socket.
/// `None` for what djc does not probe: TLS (`DOCKER_TLS_VERIFY`), SSH and other schemes.
pub fn engine_endpoint() -> Option<Endpoint> {
    let Ok(host) = std::env::var("DOCKER_HOST") else {
        return Some(Endpoint::Unix(PathBuf::from("/var/run/docker.sock")));
    };
    if let Some(path) = host.strip_prefix("unix://") {
        return Some(Endpoint::Unix(PathBuf::from(path)));
    }
    let tls = std::env::var_os("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty() && v != "0");
    match host.strip_prefix("tcp://") {
        Some(address) if !tls => Some(Endpoint::Tcp(address.trim_end_matches('/').to_owned())),
        _ => None,
    }
}

const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// `GET /version` over a blocking connection, the raw reply.
fn ask_version(endpoint: &Endpoint) -> std::io::Result<String> {
    fn exchange(stream: &mut (impl Read + Write)) -> std::io::Result<String> {
        stream.write_all(b"GET /version HTTP/1.0\r\nHost: docker\r\n\r\n")?;
        let mut reply = Vec::new();
        stream.take(1 << 20).read_to_end(&mut reply)?;
        Ok(String::from_utf8_lossy(&reply).into_owned())
    }
    match endpoint {
        Endpoint::Unix(path) => {
            let mut stream = std::os::unix::net::UnixStream::connect(path)?;
            stream.set_read_timeout(Some(PROBE_TIMEOUT))?;
            stream.set_write_timeout(Some(PROBE_TIMEOUT))?;
            exchange(&mut stream)
        }
        Endpoint::Tcp(address) => {
            use std::net::ToSocketAddrs;
            let resolved = address.to_socket_addrs()?.next().ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, "the name resolves to nothing")
            })?;
            let mut stream = std::net::TcpStream::connect_timeout(&resolved, PROBE_TIMEOUT)?;
            stream.set_read_timeout(Some(PROBE_TIMEOUT))?;
            stream.set_write_timeout(Some(PROBE_TIMEOUT))?;
            exchange(&mut stream)
        }
    }
}

/// Asks the engine its API version (`GET /version`), blocking: djc does this before it starts
/// any thread, so that it can still point testcontainers at the proxy through `DOCKER_HOST`.
pub fn probe() -> Engine {
    let Some(endpoint) = engine_endpoint() else {
        return Engine::Current;
    };
    let reply = match ask_version(&endpoint) {
        Ok(reply) => reply,
        Err(e) => {
            return Engine::Absent(format!("no Docker engine answers at {endpoint} ({e})"));
        }
    };
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or_default();
    let api_version = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["ApiVersion"].as_str().map(str::to_owned));
    match api_version.as_deref().and_then(parse_version) {
        Some(version) if version < CLIENT_API_VERSION => Engine::Older {
            endpoint,
            api_version: api_version.unwrap_or_default(),
        },
        Some(_) => Engine::Current,
        None => Engine::Absent(format!(
            "{endpoint} answered, but not as a Docker engine: {body:.200}"
        )),
    }
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// `/v1.53/containers/create` → `/v1.41/containers/create`; other paths unchanged.
pub fn downgrade_path(path_and_query: &str, api_version: &str) -> String {
    let Some(rest) = path_and_query.strip_prefix("/v") else {
        return path_and_query.to_owned();
    };
    match rest.split_once('/') {
        Some((version, tail)) if parse_version(version).is_some() => {
            format!("/v{api_version}/{tail}")
        }
        _ => path_and_query.to_owned(),
    }
}

/// The running proxy; dropping it stops it and removes its socket.
///
/// It runs on a thread of its own: testcontainers removes containers and networks from `Drop`,
/// blocking the thread that drops them until the engine answers, and that answer comes through
/// this proxy, which must not wait for the blocked thread's runtime.
pub struct ApiShim {
    socket: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ApiShim {
    /// Listens on `socket`, forwarding to the engine at `engine` with `api_version`. Sockets
    /// that killed djc processes left beside it are removed.
    pub fn start(socket: &Path, engine: Endpoint, api_version: String) -> std::io::Result<ApiShim> {
        remove_dead_sockets(socket.parent().unwrap_or(Path::new("/")));
        let _ = std::fs::remove_file(socket);
        let listener = std::os::unix::net::UnixListener::bind(socket)?;
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let api_version = Arc::new(api_version);
        let engine = Arc::new(engine);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("docker-api-proxy".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = UnixListener::from_std(listener)
                        .expect("a non-blocking listener joins the proxy's runtime");
                    tokio::select! {
                        () = serve(listener, engine, api_version) => {}
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(ApiShim {
            socket: socket.to_owned(),
            stop: Some(stop),
        })
    }
}

async fn serve(listener: UnixListener, engine: Arc<Endpoint>, api_version: Arc<String>) {
    while let Ok((client, _)) = listener.accept().await {
        let (engine, api_version) = (engine.clone(), api_version.clone());
        tokio::spawn(async move {
            match engine.as_ref() {
                Endpoint::Unix(path) => {
                    if let Ok(upstream) = UnixStream::connect(path).await {
                        forward_connection(client, upstream, api_version).await;
                    }
                }
                Endpoint::Tcp(address) => {
                    if let Ok(upstream) = TcpStream::connect(address.as_str()).await {
                        forward_connection(client, upstream, api_version).await;
                    }
                }
            }
        });
    }
}

/// Removes `<dir>/djc-docker-api-<pid>.sock` files whose process is gone.
fn remove_dead_sockets(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|name| name.strip_prefix(SOCKET_PREFIX))
            .and_then(|rest| rest.strip_suffix(".sock"))
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl Drop for ApiShim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// One client connection, carried over one engine connection, request by request (HTTP/1.1
/// requests on a connection are sequential, so one sender serves them in order).
async fn forward_connection(
    client: UnixStream,
    upstream: impl AsyncRead + AsyncWrite + Unpin + Send + 'static,
    api_version: Arc<String>,
) {
    let Ok((sender, connection)) =
        hyper::client::conn::http1::handshake::<_, Incoming>(TokioIo::new(upstream)).await
    else {
        return;
    };
    tokio::spawn(connection);
    let sender = Arc::new(Mutex::new(sender));
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let (sender, api_version) = (sender.clone(), api_version.clone());
        async move { forward(request, &sender, &api_version).await }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(client), service)
        .await;
}

async fn forward(
    mut request: Request<Incoming>,
    sender: &Mutex<SendRequest<Incoming>>,
    api_version: &str,
) -> Result<hyper::Response<Incoming>, hyper::Error> {
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let rewritten: Uri = downgrade_path(path, api_version)
        .parse()
        .expect("a rewritten path is a valid URI");
    *request.uri_mut() = rewritten;
    sender.lock().await.send_request(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_version_prefix_changes() {
        assert_eq!(
            downgrade_path("/v1.53/containers/create?name=x", "1.41"),
            "/v1.41/containers/create?name=x"
        );
        assert_eq!(downgrade_path("/v1.53/version", "1.41"), "/v1.41/version");
        assert_eq!(downgrade_path("/_ping", "1.41"), "/_ping");
        assert_eq!(downgrade_path("/volumes/v1.2/x", "1.41"), "/volumes/v1.2/x");
        assert_eq!(downgrade_path("/vfoo/bar", "1.41"), "/vfoo/bar");
    }

    /// testcontainers' clean-up blocks the thread that drops a container until the engine
    /// answers through this proxy: the proxy must not need that thread.
    #[test]
    fn the_proxy_answers_while_the_runtime_that_started_it_is_blocked() {
        let dir = tempfile::tempdir().unwrap();
        let engine_socket = dir.path().join("engine.sock");
        let engine = std::os::unix::net::UnixListener::bind(&engine_socket).unwrap();
        let seen = std::thread::spawn(move || {
            let (mut connection, _) = engine.accept().unwrap();
            let mut request = [0u8; 1024];
            let read = connection.read(&mut request).unwrap();
            connection
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .unwrap();
            String::from_utf8_lossy(&request[..read]).into_owned()
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let proxy_socket = dir.path().join("proxy.sock");
        runtime.block_on(async {
            let _shim = ApiShim::start(
                &proxy_socket,
                Endpoint::Unix(engine_socket.clone()),
                "1.41".into(),
            )
            .unwrap();
            // Blocking this runtime's only thread, as a `Drop` does.
            let mut client = std::os::unix::net::UnixStream::connect(&proxy_socket).unwrap();
            client
                .set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            client
                .write_all(b"DELETE /v1.53/networks/n HTTP/1.1\r\nhost: docker\r\n\r\n")
                .unwrap();
            let mut response = [0u8; 256];
            let read = client.read(&mut response).expect("the proxy answers");
            assert!(response[..read].starts_with(b"HTTP/1.1 200 OK"));
        });
        assert!(
            seen.join()
                .unwrap()
                .starts_with("DELETE /v1.41/networks/n ")
        );
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(parse_version("1.41").unwrap() < CLIENT_API_VERSION);
        assert!(parse_version("1.100").unwrap() > CLIENT_API_VERSION);
        assert_eq!(parse_version("x"), None);
    }
}

//! Reaching the Docker engine. testcontainers 0.28 speaks Docker API 1.53 and does not negotiate;
//! an older engine (Docker 20.10, Debian bookworm's, serves at most 1.41) refuses every such
//! request. For an older engine djc puts a proxy on a local socket in front of it that forwards
//! each request unchanged but for the version in its path, which becomes the engine's own.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Mutex;

/// The proxy's socket is `<temp dir>/<this prefix><pid>.sock`.
pub const SOCKET_PREFIX: &str = "djc-docker-api-";

/// The Docker API version testcontainers' client (bollard) sends.
pub const CLIENT_API_VERSION: (u32, u32) = (1, 53);

/// What answers at the engine's socket.
#[derive(Debug, Clone, PartialEq)]
pub enum Engine {
    /// A socket that takes the client's API version as it is (or one djc cannot probe, such as
    /// `DOCKER_HOST=tcp://…`, which is left to testcontainers).
    Current,
    /// An engine older than the client: reachable through [`ApiShim`].
    Older {
        socket: PathBuf,
        api_version: String,
    },
    /// No engine: why, for the message.
    Absent(String),
}

/// The engine's Unix socket: `DOCKER_HOST=unix://…`, else the default. `None` for other schemes.
pub fn engine_socket() -> Option<PathBuf> {
    match std::env::var("DOCKER_HOST") {
        Ok(host) => host.strip_prefix("unix://").map(PathBuf::from),
        Err(_) => Some(PathBuf::from("/var/run/docker.sock")),
    }
}

/// Asks the engine its API version (`GET /version`), blocking: djc does this before it starts
/// any thread, so that it can still point testcontainers at the proxy through `DOCKER_HOST`.
pub fn probe() -> Engine {
    let Some(socket) = engine_socket() else {
        return Engine::Current;
    };
    let reply = (|| -> std::io::Result<String> {
        let mut stream = std::os::unix::net::UnixStream::connect(&socket)?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(3)))?;
        stream.write_all(b"GET /version HTTP/1.0\r\nHost: docker\r\n\r\n")?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply)?;
        Ok(reply)
    })();
    let reply = match reply {
        Ok(reply) => reply,
        Err(e) => {
            return Engine::Absent(format!(
                "no Docker engine answers at {} ({e})",
                socket.display()
            ));
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
            socket,
            api_version: api_version.unwrap_or_default(),
        },
        Some(_) => Engine::Current,
        None => Engine::Absent(format!(
            "{} answered, but not as a Docker engine: {body:.200}",
            socket.display()
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
pub struct ApiShim {
    socket: PathBuf,
    server: tokio::task::JoinHandle<()>,
}

impl ApiShim {
    /// Listens on `socket`, forwarding to the engine at `engine` with `api_version`. Sockets
    /// that killed djc processes left beside it are removed.
    pub fn start(socket: &Path, engine: PathBuf, api_version: String) -> std::io::Result<ApiShim> {
        remove_dead_sockets(socket.parent().unwrap_or(Path::new("/")));
        let _ = std::fs::remove_file(socket);
        let listener = UnixListener::bind(socket)?;
        let api_version = Arc::new(api_version);
        let engine = Arc::new(engine);
        let server = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(forward_connection(
                    client,
                    engine.clone(),
                    api_version.clone(),
                ));
            }
        });
        Ok(ApiShim {
            socket: socket.to_owned(),
            server,
        })
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
        self.server.abort();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// One client connection, carried over one engine connection, request by request (HTTP/1.1
/// requests on a connection are sequential, so one sender serves them in order).
async fn forward_connection(client: UnixStream, engine: Arc<PathBuf>, api_version: Arc<String>) {
    let Ok(upstream) = UnixStream::connect(engine.as_path()).await else {
        return;
    };
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

    #[test]
    fn versions_compare_numerically() {
        assert!(parse_version("1.41").unwrap() < CLIENT_API_VERSION);
        assert!(parse_version("1.100").unwrap() > CLIENT_API_VERSION);
        assert_eq!(parse_version("x"), None);
    }
}

//! Soak benchmark (not a test): `djc serve rust` under many keep-alive connections on the cookie
//! endpoints, for a while. It reports requests per second, errors (there should be none) and the
//! server's resident memory at the start and at the end (it should stay flat).
//!
//! ```sh
//! cargo bench --bench soak     # 64 connections for 60 s
//! DJC_SOAK_CONNECTIONS=16 DJC_SOAK_SECONDS=10 cargo bench --bench soak
//! ```

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::json;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// The server's resident and peak memory, in KiB (`VmRSS`, `VmHWM`).
fn memory(server: &Child) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.id())).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The three requests each connection sends in turn: set cookies, read them back, sign.
fn request(index: u64, port: u16) -> Request<Body> {
    let (path, body, cookie) = match index % 3 {
        0 => (
            "/cookies/set",
            json!({"ops": [
                {"op": "set_cookie", "key": "a", "value": "b c", "max_age": 3600, "samesite": "Lax"},
                {"op": "set_signed_cookie", "key": "s", "value": "signed", "salt": "x"},
                {"op": "delete_cookie", "key": "old"},
            ]}),
            "",
        ),
        1 => (
            "/cookies/read",
            json!({"signed": [{"key": "s", "salt": "x", "default": null}]}),
            "a=\"b c\"; s=signed:1r31eq:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
        _ => (
            "/cookies/signing",
            json!({"ops": [
                {"op": "sign", "value": "hello", "signer": "timestamp"},
                {"op": "dumps", "obj": {"a": [1, 2, 3], "b": "x".repeat(200)}, "compress": true},
                {"op": "salted_hmac", "key_salt": "k", "value": "v"},
            ]}),
            "",
        ),
    };
    let mut builder = Request::post(path)
        .header("host", format!("127.0.0.1:{port}"))
        .header("content-type", "application/json")
        .header("x-djc-clock", "1700000000");
    if !cookie.is_empty() {
        builder = builder.header("cookie", cookie);
    }
    builder.body(Body::from(body.to_string())).unwrap()
}

async fn connection(port: u16, until: Instant, done: Arc<AtomicU64>, errors: Arc<AtomicU64>) {
    let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let Ok((mut sender, driver)) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
    else {
        errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    tokio::spawn(driver);
    let mut index = 0;
    while Instant::now() < until {
        let ok = match sender.send_request(request(index, port)).await {
            Ok(response) => {
                let status = response.status();
                let body = axum::body::to_bytes(Body::new(response.into_body()), usize::MAX).await;
                status.is_success() && body.is_ok()
            }
            Err(_) => false,
        };
        if ok {
            done.fetch_add(1, Ordering::Relaxed);
        } else {
            errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
        index += 1;
    }
}

fn main() {
    let connections = setting("DJC_SOAK_CONNECTIONS", 64);
    let seconds = setting("DJC_SOAK_SECONDS", 60);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_djc"))
        .args(["serve", "rust", "--port", &port.to_string()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .spawn()
        .expect("djc serve rust starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    // A short warm-up, so that "before" is the server at work, not the server idle.
    let run = |for_how_long: Duration| {
        let until = Instant::now() + for_how_long;
        runtime.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..connections {
                tasks.spawn(connection(port, until, done.clone(), errors.clone()));
            }
            tasks.join_all().await;
        });
    };
    run(Duration::from_secs(2));
    let before = memory(&server);
    done.store(0, Ordering::Relaxed);
    let started = Instant::now();
    run(Duration::from_secs(seconds));
    let elapsed = started.elapsed().as_secs_f64();
    let after = memory(&server);
    let _ = server.kill();
    let _ = server.wait();
    let requests = done.load(Ordering::Relaxed);
    println!(
        "soak: {connections} connections for {elapsed:.1} s: {requests} requests, {:.0} requests/s, \
         {} errors",
        requests as f64 / elapsed,
        errors.load(Ordering::Relaxed)
    );
    println!(
        "soak: server memory {} KiB after warm-up, {} KiB at the end (peak {} KiB)",
        before.0, after.0, after.1
    );
}

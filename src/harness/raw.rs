//! Requests given as exact bytes (`raw` steps): what an HTTP client cannot send (a control
//! character or a lone non-UTF-8 byte in a header, a malformed request line). They go over a
//! plain TCP connection as they are, and the response is read as a server wrote it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use super::observe::Response;

/// How long a server may take to answer, or to close the connection.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// Sends `request` to the host of `base_url` and reads one response. A server that closes the
/// connection without answering gives status 0 and nothing else.
pub async fn exchange(base_url: &Url, request: &[u8]) -> Result<Response, String> {
    let address = format!(
        "{}:{}",
        base_url.host_str().unwrap_or("127.0.0.1"),
        base_url.port_or_known_default().unwrap_or(80)
    );
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .map_err(|e| format!("cannot connect to {address}: {e}"))?;
    stream
        .write_all(request)
        .await
        .map_err(|e| format!("sending the raw request to {address} failed: {e}"))?;
    let mut received = Vec::new();
    loop {
        if let Some(response) = parse(&received)? {
            return Ok(response);
        }
        let mut buffer = [0u8; 8192];
        let read = tokio::time::timeout(READ_TIMEOUT, stream.read(&mut buffer))
            .await
            .map_err(|_| format!("{address} sent no complete response within {READ_TIMEOUT:?}"))?;
        match read {
            // The connection ended: what came is all there is.
            Ok(0) | Err(_) => return complete_at_end(&received),
            Ok(count) => received.extend_from_slice(&buffer[..count]),
        }
        if received.len() > MAX_RESPONSE_BYTES {
            return Err(format!(
                "{address} sent more than {MAX_RESPONSE_BYTES} bytes"
            ));
        }
    }
}

/// The response in `received`, once it is complete by its own framing.
fn parse(received: &[u8]) -> Result<Option<Response>, String> {
    let Some((status, headers, body_start)) = head(received)? else {
        return Ok(None);
    };
    let body = &received[body_start..];
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8_lossy(v).trim().to_ascii_lowercase())
    };
    let body = if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        match unchunk(body)? {
            Some(body) => body,
            None => return Ok(None),
        }
    } else if let Some(length) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        if body.len() < length {
            return Ok(None);
        }
        body[..length].to_vec()
    } else {
        // Framed by the end of the connection.
        return Ok(None);
    };
    Ok(Some(Response {
        status,
        headers,
        body,
    }))
}

/// What `received` holds once the connection has ended.
fn complete_at_end(received: &[u8]) -> Result<Response, String> {
    if received.is_empty() {
        return Ok(Response {
            status: 0,
            headers: Vec::new(),
            body: Vec::new(),
        });
    }
    match head(received)? {
        Some((status, headers, body_start)) => Ok(Response {
            status,
            headers,
            body: received[body_start..].to_vec(),
        }),
        None => Err(format!(
            "the connection ended inside a response head: {:?}",
            String::from_utf8_lossy(received)
        )),
    }
}

type Head = (u16, Vec<(String, Vec<u8>)>, usize);

/// The status, headers (names lower-cased, in order) and where the body starts, once the head
/// is complete.
fn head(received: &[u8]) -> Result<Option<Head>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(received) {
        Ok(httparse::Status::Partial) => Ok(None),
        Ok(httparse::Status::Complete(length)) => Ok(Some((
            response.code.unwrap_or(0),
            response
                .headers
                .iter()
                .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
                .collect(),
            length,
        ))),
        Err(e) => Err(format!("the response is not HTTP: {e}")),
    }
}

/// A chunked body decoded, once its last chunk has come.
fn unchunk(mut data: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        let (start, size) = match httparse::parse_chunk_size(data) {
            Ok(httparse::Status::Complete(found)) => found,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err("a chunk size is not valid".into()),
        };
        let size = usize::try_from(size).map_err(|_| "a chunk is too large".to_owned())?;
        if size == 0 {
            return Ok(Some(body));
        }
        let Some(chunk) = data.get(start..start + size) else {
            return Ok(None);
        };
        body.extend_from_slice(chunk);
        // Each chunk ends with CRLF.
        match data.get(start + size..start + size + 2) {
            Some(b"\r\n") => data = &data[start + size + 2..],
            Some(_) => return Err("a chunk does not end with CRLF".into()),
            None => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_framed_by_length_chunks_or_the_end() {
        let framed = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\n\r\nhi";
        let response = parse(framed).unwrap().unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, &b"hi"[..])
        );
        assert_eq!(response.headers[1], ("x-a".to_owned(), b"1".to_vec()));
        assert!(parse(&framed[..framed.len() - 1]).unwrap().is_none());
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n1\r\n!\r\n0\r\n\r\n";
        assert_eq!(parse(chunked).unwrap().unwrap().body, b"hi!");
        let until_end = b"HTTP/1.0 400 Bad Request\r\n\r\nbad";
        assert!(parse(until_end).unwrap().is_none());
        assert_eq!(complete_at_end(until_end).unwrap().body, b"bad");
        assert_eq!(complete_at_end(b"").unwrap().status, 0);
        assert!(complete_at_end(b"HTTP/1.1 200").is_err());
    }
}

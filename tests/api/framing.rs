//! Requests as raw bytes on a socket, the way a broken network or an attacker sends them: a body
//! cut short of its Content-Length, a body that trickles, both Content-Length and
//! Transfer-Encoding, a request pipelined after `Connection: close`. None is taken for a whole
//! request, none holds a connection, and none writes anything.

use crate::bank::{Bank, CSV_HEADER, bank_fine, csv_line, fine_status};
use crate::helpers::{TestApp, motor_fine, spawn_app_with};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// Sends `bytes`, optionally closes the sending side, and reads everything the server sends until
/// it closes the connection (or `wait` passes); what it sent, and whether it closed.
fn exchange(app: &TestApp, bytes: &[u8], half_close: bool, wait: Duration) -> (String, bool) {
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connects");
    stream.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
    stream.write_all(bytes).expect("sent");
    if half_close {
        stream.shutdown(Shutdown::Write).expect("half-closed");
    }
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let closed = loop {
        match stream.read(&mut buffer) {
            Ok(0) => break true,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                if started.elapsed() > wait {
                    break false;
                }
            }
            Err(_) => break true,
        }
    };
    (String::from_utf8_lossy(&received).into_owned(), closed)
}

/// The status codes of the responses in `text`, in order.
fn statuses(text: &str) -> Vec<u16> {
    text.match_indices("HTTP/1.1 ").filter_map(|(at, _)| text.get(at + 9..at + 12)?.parse().ok()).collect()
}

/// `POST /api/v1/fines` declaring `declared` bytes of body, with `body` after the headers.
fn post_fine(token: &str, key: &str, body: &str, declared: usize) -> Vec<u8> {
    format!(
        "POST /api/v1/fines HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nIdempotency-Key: {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n{body}"
    )
    .into_bytes()
}

#[tokio::test]
async fn a_body_cut_short_of_its_length_is_refused_whole() {
    let app = spawn_app_with(&[]).await;
    let officer = app.officer("110105");
    let body = motor_fine(&app).to_string();
    let before = app.counts();
    // The client's connection breaks after most of the body: what arrived is not the request.
    let cut = &body[..body.len() - 20];
    let (answer, _) = exchange(&app, &post_fine(&officer, "cut-1", cut, body.len()), true, Duration::from_secs(5));
    assert_eq!(statuses(&answer), [400], "{answer}");
    assert!(answer.contains("incomplete_body"), "{answer}");
    assert_eq!(app.counts(), before, "no fine, no idempotency record");

    // A statement upload cut at a line's end would read as a shorter statement: refused whole.
    let bank = Bank::new(&app, "ICBC");
    let (first, second) = (bank_fine(&app).await, bank_fine(&app).await);
    let now = app.now().to_rfc3339();
    let statement = format!(
        "{CSV_HEADER}{}{}",
        csv_line("C-1", &now, 20_000, "C,BOOK,", "", &first),
        csv_line("C-2", &now, 20_000, "C,BOOK,", "", &second)
    );
    let cut_at = CSV_HEADER.len() + csv_line("C-1", &now, 20_000, "C,BOOK,", "", &first).len();
    let request = format!(
        "POST /bank/v1/statements HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: text/csv\r\n\
         Content-Length: {}\r\n\r\n{}",
        bank.token,
        statement.len(),
        &statement[..cut_at]
    );
    let (answer, _) = exchange(&app, request.as_bytes(), true, Duration::from_secs(5));
    assert_eq!(statuses(&answer), [400], "{answer}");
    assert!(answer.contains("incomplete_body"), "{answer}");
    assert_eq!(fine_status(&app, &first).0, "payable_at_bank", "nothing of the cut upload was imported");

    // A chunked upload cannot be told whole from cut: it must declare its length.
    let chunked = format!(
        "POST /bank/v1/statements HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: text/csv\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{statement}\r\n0\r\n\r\n",
        bank.token,
        statement.len()
    );
    let (answer, closed) = exchange(&app, chunked.as_bytes(), false, Duration::from_secs(5));
    assert_eq!(statuses(&answer), [411], "{answer}");
    assert!(closed, "the unread body ends the connection");
    assert_eq!(fine_status(&app, &first).0, "payable_at_bank");
    // Whole, with its length, it is imported.
    assert_eq!(bank.upload("text/csv", statement).await.status(), 200);
    assert_eq!(fine_status(&app, &second).0, "paid");
}

#[tokio::test]
async fn a_body_that_trickles_gets_408_and_its_connection_closed() {
    let app = spawn_app_with(&[("server.body_timeout", "1s")]).await;
    let officer = app.officer("110105");
    let body = motor_fine(&app).to_string();
    let before = app.counts();
    let started = Instant::now();
    let (answer, closed) =
        exchange(&app, &post_fine(&officer, "slow-1", &body[..10], body.len()), false, Duration::from_secs(10));
    assert_eq!(statuses(&answer), [408], "{answer}");
    assert!(closed, "the connection is closed");
    assert!(started.elapsed() < Duration::from_secs(5), "answered after {:?}", started.elapsed());
    assert_eq!(app.counts(), before);
}

#[tokio::test]
async fn content_length_with_transfer_encoding_is_refused_and_the_connection_closed() {
    let app = spawn_app_with(&[]).await;
    let officer = app.officer("110105");
    // Framed by Content-Length, the body is `0\r\n\r\n` plus a smuggled request; framed by
    // Transfer-Encoding, the smuggled request would follow the empty chunked body.
    let smuggled = format!("GET /api/v1/violations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {officer}\r\n\r\n");
    let request = format!(
        "POST /api/v1/fines/1101052611210000176/void HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {officer}\r\n\
         Content-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"
    );
    let (answer, closed) = exchange(&app, request.as_bytes(), false, Duration::from_secs(5));
    let answered = statuses(&answer);
    assert_eq!(answered.first(), Some(&400), "{answer}");
    assert!(answer.contains("ambiguous_framing"), "{answer}");
    assert!(answered.iter().all(|&s| s == 400), "nothing after it is served: {answer}");
    assert!(!answer.contains("\"code\":\"1625\""), "the smuggled request was not served: {answer}");
    assert!(closed, "the connection is closed");
}

#[tokio::test]
async fn a_request_after_connection_close_is_not_served() {
    let app = spawn_app_with(&[]).await;
    let officer = app.officer("110105");
    let body = motor_fine(&app).to_string();
    let first = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_owned();
    let then = String::from_utf8(post_fine(&officer, "after-close", &body, body.len())).expect("text");
    let before = app.counts();
    let (answer, closed) = exchange(&app, format!("{first}{then}").as_bytes(), false, Duration::from_secs(5));
    let answered = statuses(&answer);
    assert_eq!(answered.first(), Some(&200), "{answer}");
    assert!(answered[1..].iter().all(|&s| s == 400), "the pipelined request is refused, not served: {answer}");
    assert!(closed, "the connection is closed");
    assert_eq!(app.counts(), before, "no fine was issued");
}

#[tokio::test]
async fn a_transfer_encoding_other_than_chunked_alone_is_refused() {
    let app = spawn_app_with(&[]).await;
    let officer = app.officer("110105");
    let body = r#"{"reason": "issued in error"}"#;
    let void = "POST /api/v1/fines/1101052611210000176/void";
    for (what, head) in [
        ("identity", format!("{void} HTTP/1.1\r\nTransfer-Encoding: identity\r\n")),
        ("chunked on HTTP/1.0", format!("{void} HTTP/1.0\r\nTransfer-Encoding: chunked\r\n")),
        ("gzip, chunked", format!("{void} HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n")),
        ("two headers", format!("{void} HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")),
    ] {
        let request = format!(
            "{head}Host: x\r\nAuthorization: Bearer {officer}\r\nContent-Type: application/json\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        );
        let (answer, closed) = exchange(&app, request.as_bytes(), false, Duration::from_secs(5));
        assert_eq!(statuses(&answer).first(), Some(&400), "{what}: {answer}");
        // actix-http refuses some framings itself, while parsing, with an empty 400; the rest
        // reach the guard and get the documented body.
        let parsed_by_the_server = answer.contains("content-length: 0\r\n");
        assert!(parsed_by_the_server || answer.contains("ambiguous_framing"), "{what}: {answer}");
        assert!(closed, "{what}: the connection is closed");
    }
}

#[tokio::test]
async fn close_in_a_connection_list_closes_the_connection() {
    let app = spawn_app_with(&[]).await;
    let request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n\
                   GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let (answer, closed) = exchange(&app, request.as_bytes(), false, Duration::from_secs(5));
    let answered = statuses(&answer);
    assert_eq!(answered.first(), Some(&200), "{answer}");
    assert!(answered[1..].iter().all(|&s| s == 400), "nothing after it is served: {answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "the response says so: {answer}");
    assert!(closed, "the connection is closed");
}

//! Where a request ends, checked before any handler sees it (RFC 9112 §6.1 and §9.6). The HTTP
//! server (actix-http 3) frames a request that carries both `Content-Length` and
//! `Transfer-Encoding` by the latter and keeps the connection, so the bytes the other framing
//! would count become a "second request"; and it serves a request pipelined after one that said
//! `Connection: close`. Both are how request smuggling starts. Here:
//!
//! - a request with both headers is refused (400 `ambiguous_framing`) and the connection closed,
//!   as is one whose `Transfer-Encoding` is anything but `chunked` (actix-http takes `identity`,
//!   and ignores the header on HTTP/1.0, where RFC 9112 §6.1 calls the framing faulty);
//! - a request that says `Connection: close` (or an HTTP/1.0 one without keep-alive) is served,
//!   its response closes the connection (actix-http reads `close` only when it is the header's
//!   whole value, not in a list such as `keep-alive, close`), and its connection is marked:
//!   anything after it on that connection is refused unprocessed (400 `connection_closing`).
//!
//! The mark lives in the connection's data ([`mark_connection`], run by the server for every new
//! connection), so it follows the connection, not the request.

use super::error::ApiError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::http::{ConnectionType, StatusCode, Version, header};
use actix_web::middleware::Next;
use std::any::Any;
use std::cell::Cell;
use std::rc::Rc;

/// Whether the connection is to be closed: set once a request on it asked for that.
#[derive(Clone, Default)]
struct Closing(Rc<Cell<bool>>);

/// Gives a new connection its mark (for `HttpServer::on_connect`).
pub fn mark_connection(_: &dyn Any, data: &mut Extensions) {
    data.insert(Closing::default());
}

/// The middleware.
pub async fn guard<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let closing = req.conn_data::<Closing>().cloned();
    let refuse = |req: ServiceRequest, error: ApiError| Ok(req.error_response(error).map_into_right_body());
    if closing.as_ref().is_some_and(|c| c.0.get()) {
        return refuse(
            req,
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "connection_closing",
                "an earlier request on this connection closed it; nothing after it is served",
            ),
        );
    }
    if req.headers().contains_key(header::TRANSFER_ENCODING) && !framed_by_chunked_alone(&req) {
        if let Some(closing) = &closing {
            closing.0.set(true);
        }
        return refuse(
            req,
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "ambiguous_framing",
                "a request's body is framed by Content-Length, or on HTTP/1.1 by Transfer-Encoding: chunked alone",
            ),
        );
    }
    let ends_connection = asks_to_close(&req);
    if let Some(closing) = closing.as_ref().filter(|_| ends_connection) {
        closing.0.set(true);
    }
    let mut response = next.call(req).await?;
    if ends_connection {
        response.response_mut().head_mut().set_connection_type(ConnectionType::Close);
    }
    Ok(response.map_into_left_body())
}

/// Whether a request with `Transfer-Encoding` is framed by it alone, as `chunked` on HTTP/1.1.
fn framed_by_chunked_alone(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    let mut encodings = headers.get_all(header::TRANSFER_ENCODING);
    let only_chunked =
        encodings.next().is_some_and(|te| te.to_str().is_ok_and(|te| te.trim().eq_ignore_ascii_case("chunked")))
            && encodings.next().is_none();
    only_chunked && req.version() == Version::HTTP_11 && !headers.contains_key(header::CONTENT_LENGTH)
}

/// Whether the request ends its connection: `Connection: close`, or HTTP/1.0 without keep-alive.
fn asks_to_close(req: &ServiceRequest) -> bool {
    let connection = |token: &str| {
        req.headers()
            .get_all(header::CONNECTION)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    connection("close") || (req.version() == Version::HTTP_10 && !connection("keep-alive"))
}

//! Correct framing for answers to upgrade requests that are not upgraded.
//!
//! actix-http 3 reads the body of a request carrying `Upgrade: websocket`
//! (or a CONNECT) as a raw stream and then writes any streamed response
//! body raw as well (its h1 encoder picks `TransferEncoding::eof` when the
//! request was a stream), yet its header writer still announces
//! `transfer-encoding: chunked` for a streamed body. Every response whose
//! body has no size (gzip from `Compress`, streams) thus came out as
//! unframed bytes under a chunked header: curl exit 56, and the 401 of
//! `/v1/phone/ws` was unreadable for browser-style clients. Such a body is
//! sent without chunking and delimited by closing the connection, the
//! framing the encoder actually writes (RFC 9112 section 6.3, item 8).

use actix_web::Error;
use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{ConnectionType, Method, StatusCode, Version, header};
use actix_web::middleware::Next;

pub async fn frame_unupgraded(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let raw_request = req.version() == Version::HTTP_11
        && (req.headers().contains_key(header::UPGRADE) || req.method() == Method::CONNECT);
    let mut res = next.call(req).await?;
    if raw_request
        && res.status() != StatusCode::SWITCHING_PROTOCOLS
        && res.response().body().size() == BodySize::Stream
    {
        let head = res.response_mut().head_mut();
        head.no_chunking(true);
        head.set_connection_type(ConnectionType::Close);
    }
    Ok(res)
}

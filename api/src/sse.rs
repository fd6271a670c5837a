//! The one way a server-sent event stream is answered (the app's
//! `GET /v1/events`, the console's live board and call-list report): the
//! event-stream type, no caching, and nothing that would hold events back.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;

/// A `200` streaming `body` as `text/event-stream`.
pub fn response<S>(body: S) -> HttpResponse
where
    S: futures_util::Stream<Item = Result<Bytes, actix_web::Error>> + 'static,
{
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Not compressed: a compressor would hold events back.
        .insert_header((header::CONTENT_ENCODING, "identity"))
        // Nor buffered by a proxy in front (nginx).
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}

//! The console's static files (stylesheet, scripts), embedded in the binary
//! at build time from api/assets/, so the one binary serves a working
//! console offline. Served with an ETag (the file's hash) and revalidated
//! every hour.

use actix_web::http::header::{self, EntityTag, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::Embed;

use super::error::{ConsoleError, ConsoleResult};

#[derive(Embed)]
#[folder = "assets/"]
struct Assets;

pub async fn serve(req: HttpRequest, path: web::Path<String>) -> ConsoleResult<HttpResponse> {
    let file = Assets::get(path.as_str()).ok_or_else(ConsoleError::not_found)?;
    let etag = EntityTag::new_strong(hex::encode(&file.metadata.sha256_hash()[..16]));
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag.to_string()));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag)).insert_header((
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    ));
    if fresh {
        return Ok(res.finish());
    }
    Ok(res
        .content_type(file.metadata.mimetype())
        .body(file.data.into_owned()))
}

/// Every embedded file's name (for the test that each is served).
pub fn names() -> Vec<String> {
    Assets::iter().map(|n| n.into_owned()).collect()
}

//! Makes each request's id (the `request_id` of the span `TracingLogger`
//! opens, also its `x-request-id` header) the current request id while its
//! handler runs, so what the request queues for later names it: a push job
//! keeps it and the worker's send span logs it (core's `request_id`).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage as _};
use deskbind_core::request_id;
use tracing_actix_web::RequestId;

pub async fn carry_request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req.extensions().get::<RequestId>().map(ToString::to_string);
    match id {
        Some(id) => request_id::scope(id, next.call(req)).await,
        None => next.call(req).await,
    }
}

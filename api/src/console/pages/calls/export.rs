//! `GET /calls/export.csv`: the console's filters (the same query string
//! as the page), the JSON API's CSV (`routes::call_export`), so the rows
//! are the same as `GET /v1/calls/export.csv` for the same filter.

use actix_web::{HttpRequest, HttpResponse, web};

use super::filters_of;
use super::form::LogQuery;
use crate::console::error::ConsoleResult;
use crate::console::session::ConsoleUser;
use crate::routes::call_export;
use crate::state::AppState;

pub async fn csv(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> ConsoleResult<HttpResponse> {
    let query = LogQuery::parse(req.query_string())?;
    let filters = filters_of(&query, &user)?.parse()?;
    Ok(call_export::respond(state, user.auth, filters).await?)
}

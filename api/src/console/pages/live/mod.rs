//! `/live`: the live board for managers (their teams) and admins (the
//! organisation): who is available, busy, away, in DND or offline (and
//! how many of each), who holds which phone, whether it is online, and
//! the recent dials with their states. `/live/events` streams the re-rendered
//! board (server-sent events) whenever the organisation's relay wake says
//! something changed, on whichever API node the change happened, and on a
//! keep-alive tick as a fallback. Without script the page is a snapshot
//! with a Refresh link.

pub mod board;
pub(crate) mod limit;
mod people;
pub(crate) mod stream;

pub use stream::events;

use actix_web::HttpResponse;
use actix_web::web;
use askama::Template;

use crate::console::chrome::{Chrome, Section, page as render_page};
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::ConsoleUser;
use crate::state::AppState;
use board::{Board, Viewer};

#[derive(Template)]
#[template(path = "live.html")]
struct LivePage {
    chrome: Chrome,
    board: Board,
}

/// The board's fragment alone: what each stream event carries.
#[derive(Template, Debug)]
#[template(path = "live_board.html")]
pub struct BoardFragment<'a> {
    pub board: &'a Board,
}

/// Managers and admins only; salespeople get the 403 page.
fn viewer(user: &ConsoleUser) -> ConsoleResult<Viewer> {
    if !user.is_manager_or_admin() {
        return Err(ConsoleError::forbidden());
    }
    Ok(Viewer {
        org: user.auth.org_id,
        user: user.auth.user_id,
        role: user.auth.role,
        time_zone: user.time_zone.clone(),
    })
}

pub async fn page(state: web::Data<AppState>, user: ConsoleUser) -> ConsoleResult<HttpResponse> {
    let viewer = viewer(&user)?;
    let board = board::load(&state, &viewer).await?;
    render_page(&LivePage {
        chrome: Chrome::new(&user, Section::Live),
        board,
    })
}

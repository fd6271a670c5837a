//! `GET /stats`: team statistics (docs/console.md "Statistics"). The scope
//! is the JSON API's (`GET /v1/stats/calls`): a salesperson their own
//! calls, a manager their teams' and their own, an admin the
//! organisation's. Days, weeks and hours are the viewer's time zone's.
//! The window (at most 366 days) is paged through like the JSON
//! statistics, so memory stays bounded.

mod charts;
mod form;
mod presence;
mod view;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use deskbind_core::domain::periods::{self, Tz};
use deskbind_core::domain::team_stats::{StatsCall, TeamStats};
use deskbind_core::time::now_micros;

use crate::console::chrome::{Chrome, Section};
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::ConsoleUser;
use crate::routes::call_stats::for_each_call;
use crate::routes::call_tallies::for_each_tally;
use crate::routes::calls::FilterQuery;
use crate::state::AppState;
use form::{Choices, StatsQuery};
use view::{Report, StatsPage};

pub async fn page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> ConsoleResult<HttpResponse> {
    let query: StatsQuery = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| ConsoleError::invalid("query", "the filters could not be read"))?;
    let tz: Tz = user.time_zone.parse().unwrap_or(Tz::UTC);
    let mut filters = FilterQuery::people(query.user_id.clone(), query.team_id.clone()).parse()?;
    let auth = user.auth;
    let choices = state.db.run(move |conn| Choices::load(conn, &auth)).await?;
    // A team or person outside the viewer's scope does not exist for them.
    let team_id = filters.team().map(|t| t.to_string()).unwrap_or_default();
    let user_id = filters.user().map(|u| u.to_string()).unwrap_or_default();
    if (!team_id.is_empty() && !choices.has_team(&team_id))
        || (!user_id.is_empty() && !choices.has_person(&user_id))
    {
        return Err(ConsoleError::not_found());
    }
    let now = now_micros();
    let period = query.period();
    let window = period.clone().and_then(|p| form::window(p, tz, now));
    let mut page = StatsPage {
        chrome: Chrome::new(&user, Section::Stats),
        pickers: user.is_manager_or_admin(),
        choices,
        team_id,
        user_id,
        period: period.as_ref().map_or(form::CUSTOM, |p| p.value()),
        periods: view::period_options(),
        from: query.from.clone().unwrap_or_default(),
        until: query.until.clone().unwrap_or_default(),
        error: None,
        window: String::new(),
        time_zone: tz.name().to_owned(),
        report: None,
        presence: Default::default(),
    };
    let (from, until) = match window {
        Ok(w) => w,
        Err(e) => {
            page.error = Some(e);
            return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()?));
        }
    };
    let days = periods::days_in(from, until, tz);
    // The custom fields show the window's days, ready to adjust.
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        page.from = first.format("%Y-%m-%d").to_string();
        page.until = last.format("%Y-%m-%d").to_string();
    }
    page.window = view::window_label(from, until, tz);

    filters.base.from = Some(from);
    filters.base.until = Some(until);
    let auth = user.auth;
    let (scope, mut filter) = state
        .db
        .run(move |conn| filters.resolve(conn, &auth))
        .await?;
    // Every visible call is read, so a callback by anyone in scope clears
    // a missed call; only the picked team's or person's calls are counted.
    let picked = filter.users.clone();
    let presence_days = (page.from.clone(), page.until.clone());
    page.presence = presence::load(
        &state,
        user.auth.org_id,
        &scope,
        &picked,
        presence_days,
        &page.choices.people,
    )
    .await?;
    let mut stats = TeamStats::new(tz, filter.users.take()).with_counts_apart();
    // Counts from the rollups, which outlive purged calls; the stored calls
    // give missed calls not called back, and first and last calls.
    for_each_tally(
        &state,
        user.auth.org_id,
        scope.clone(),
        filter.clone(),
        |t| {
            stats.add_counts(&t.user_id, t.at, t.calls, t.answered, t.talk_secs);
        },
    )
    .await?;
    for_each_call(&state, user.auth.org_id, scope, filter, |r| {
        let Ok(direction) = r.direction() else {
            return;
        };
        let result = r.result().ok().flatten();
        stats.add(StatsCall::new(
            r.user_id,
            r.started_at,
            direction,
            result,
            r.answered_at,
            r.duration_secs,
            &r.remote_number,
            r.remote_e164.as_deref(),
        ));
    })
    .await?;
    page.report = Report::build(stats.finish(), &page.choices, tz, &days);
    Ok(html(StatusCode::OK, page.render()?))
}

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

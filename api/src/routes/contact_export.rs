//! `GET /v1/contacts/export.csv`: every contact the caller may see that the
//! list's search selects, as CSV, streamed page by page. Its columns are
//! the import's (so an export imports back), plus the contact's own.

use actix_web::{HttpResponse, web};
use deskbind_core::repo::contacts::{self, ContactFilter};
use deskbind_core::repo::page::PageRequest;
use deskbind_core::usecases::contact_reads;
use deskbind_core::wire::Contact;

use super::call_export::{CsvPages, csv_response, inert};
use super::contacts::{SearchQuery, visible};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Query};
use crate::state::AppState;

/// Rows fetched per database round trip.
const EXPORT_PAGE: u32 = 500;

const COLUMNS: [&str; 14] = [
    "id",
    "external_id",
    "name",
    "company",
    "email",
    "notes",
    "numbers",
    "tags",
    "owner_id",
    "custom_fields",
    "source",
    "score",
    "created_at",
    "updated_at",
];

struct Export {
    state: web::Data<AppState>,
    auth: AuthUser,
    filter: ContactFilter,
    after: Option<String>,
    header_sent: bool,
    done: bool,
}

pub async fn csv(
    state: web::Data<AppState>,
    auth: AuthUser,
    Query(query): Query<SearchQuery>,
) -> ApiResult<HttpResponse> {
    let filter = query.parse()?;
    let filter = state
        .db
        .run(move |conn| visible(conn, &auth, filter))
        .await?;
    let export = Export {
        state: state.clone(),
        auth,
        filter,
        after: None,
        header_sent: false,
        done: false,
    };
    Ok(csv_response(export, "contacts.csv"))
}

impl CsvPages for Export {
    fn finished(&self) -> bool {
        self.done
    }

    fn stop(&mut self) {
        self.done = true;
    }

    async fn next_chunk(&mut self) -> Result<web::Bytes, ApiError> {
        let page = PageRequest {
            after: self.after.clone(),
            limit: EXPORT_PAGE,
        };
        let (org, filter) = (self.auth.org_id, self.filter.clone());
        let rows = self
            .state
            .db
            .run(move |conn| {
                let rows = contacts::list(conn, org, &filter, &page)?;
                Ok::<_, ApiError>((contact_reads::many(conn, rows.items)?, rows.next_cursor))
            })
            .await
            .inspect_err(|e| tracing::error!(error = %e, "contact export stopped"))?;
        let (contacts, next) = rows;
        self.done = next.is_none();
        self.after = next;
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        if !self.header_sent {
            out.write_record(COLUMNS).map_err(ApiError::internal)?;
            self.header_sent = true;
        }
        for contact in &contacts {
            out.write_record(fields(contact)?)
                .map_err(ApiError::internal)?;
        }
        let bytes = out
            .into_inner()
            .map_err(|e| ApiError::internal(e.into_error()))?;
        Ok(web::Bytes::from(bytes))
    }
}

fn fields(c: &Contact) -> Result<[String; 14], ApiError> {
    let text = |t: &Option<String>| inert(t.as_deref().unwrap_or_default());
    let numbers: Vec<&str> = c.numbers.iter().map(|n| n.e164.as_str()).collect();
    Ok([
        c.id.to_string(),
        text(&c.external_id),
        inert(&c.name),
        text(&c.company),
        text(&c.email),
        text(&c.notes),
        numbers.join(";"),
        inert(&c.tags.join(";")),
        c.owner_id.map(|o| o.to_string()).unwrap_or_default(),
        if c.custom_fields.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&c.custom_fields).map_err(ApiError::internal)?
        },
        c.source.as_str().to_owned(),
        c.score.to_string(),
        c.created_at.to_rfc3339(),
        c.updated_at.to_rfc3339(),
    ])
}

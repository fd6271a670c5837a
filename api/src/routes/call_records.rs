//! Record uploads: `POST /v1/phone/call-records` from the phone and
//! `POST /v1/call-records` from an app relaying what its phone gave it (the
//! NFC path). Both are batches keyed by the phone's call id; each record
//! succeeds or fails on its own and the answer lists every outcome
//! (docs/records.md).

use actix_web::web;
use deskbind_core::domain::call_facts::{CallFacts, Reporter};
use deskbind_core::domain::{Region, region_of};
use deskbind_core::repo::phones;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::record_ingest::{self, ItemOutcome, Uploader};
use deskbind_core::wire::ErrorCode;
use deskbind_core::wire::{
    AppCallRecordBatch, CallRecordUpload, IngestItemResult, IngestOutcome, IngestResults,
    ItemError, MAX_RECORD_BATCH, PhoneCallRecordBatch,
};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthPhone, AuthUser, BatchJson};
use crate::state::AppState;

pub async fn phone_upload(
    state: web::Data<AppState>,
    phone: AuthPhone,
    BatchJson(body): BatchJson<PhoneCallRecordBatch>,
) -> ApiResult<web::Json<IngestResults>> {
    let uploader = Uploader {
        org: phone.org_id,
        phone: phone.phone_id,
        reporter: Reporter::Phone,
        app_user: None,
    };
    let region = region_of(&phone.row.number_e164);
    ingest(&state, uploader, region, body.records).await
}

pub async fn app_upload(
    state: web::Data<AppState>,
    auth: AuthUser,
    BatchJson(body): BatchJson<AppCallRecordBatch>,
) -> ApiResult<web::Json<IngestResults>> {
    let org = auth.org_id;
    let phone_id = body.phone_id;
    let phone = state
        .db
        .run(move |conn| phones::get(conn, org, phone_id))
        .await?;
    let uploader = Uploader {
        org,
        phone: phone_id,
        reporter: Reporter::App,
        app_user: Some(auth.user_id),
    };
    let region = region_of(&phone.number_e164);
    ingest(&state, uploader, region, body.records).await
}

async fn ingest(
    state: &AppState,
    uploader: Uploader,
    region: Option<Region>,
    records: Vec<CallRecordUpload>,
) -> ApiResult<web::Json<IngestResults>> {
    if records.is_empty() || records.len() > MAX_RECORD_BATCH {
        return Err(ApiError::Validation {
            code: ErrorCode::InvalidBatchSize,
            field: "records".into(),
            detail: format!("send 1 to {MAX_RECORD_BATCH} records per request"),
        });
    }
    let now = now_micros();
    // Checked records go to the database; the rest are answered as they are.
    let mut results: Vec<Option<IngestItemResult>> = Vec::with_capacity(records.len());
    let mut accepted = Vec::new();
    let parsed = CallFacts::parse_batch(&records, region, now);
    for (index, (upload, parsed)) in records.iter().zip(parsed).enumerate() {
        match parsed {
            Ok(facts) => {
                accepted.push((index, facts));
                results.push(None);
            }
            Err(e) => results.push(Some(rejected(index, upload, e))),
        }
    }
    let facts: Vec<CallFacts> = accepted.iter().map(|(_, f)| f.clone()).collect();
    let outcomes = record_ingest::store(&state.services(), uploader, facts, now).await?;
    let (mut created, mut updated) = (0_u32, 0_u32);
    for ((index, _), outcome) in accepted.iter().zip(outcomes) {
        let upload = &records[*index];
        let (kind, id) = match outcome {
            ItemOutcome::Created(id) => {
                created += 1;
                (IngestOutcome::Created, id)
            }
            ItemOutcome::Updated(id) => {
                updated += 1;
                (IngestOutcome::Updated, id)
            }
            ItemOutcome::Unchanged(id) => (IngestOutcome::Unchanged, id),
            ItemOutcome::Rejected(e) => {
                results[*index] = Some(rejected(*index, upload, e));
                continue;
            }
        };
        results[*index] = Some(IngestItemResult {
            index: index_u32(*index),
            call_id: upload.call_id.clone(),
            outcome: kind,
            id: Some(id),
            error: None,
        });
    }
    tracing::info!(
        phone = %uploader.phone,
        received = records.len(),
        created,
        updated,
        "call records stored"
    );
    Ok(web::Json(IngestResults {
        results: results.into_iter().flatten().collect(),
    }))
}

fn rejected(
    index: usize,
    upload: &CallRecordUpload,
    e: deskbind_core::domain::FieldError,
) -> IngestItemResult {
    IngestItemResult {
        index: index_u32(index),
        call_id: upload.call_id.clone(),
        outcome: IngestOutcome::Rejected,
        id: None,
        error: Some(ItemError {
            code: e.code.to_string(),
            field: Some(e.field.to_owned()),
            detail: e.message,
        }),
    }
}

fn index_u32(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

//! A push fixture written straight to the database (no HTTP, no password
//! hashing), for tests and the fan-out benchmark: one organisation, `users`
//! admins (so each digest covers the whole organisation), one Android
//! device each with token `device-{i}`, a schedule due at `due_at`, and
//! `records` call records stored after their cursor.

use chrono::{TimeDelta, Utc};
use diesel::prelude::*;

use crate::db::schema::{jobs, push_devices, push_schedules, users};
use crate::db::{DbConn, dialect, write_tx};
use crate::domain::call_facts::{CallFacts, Reporter};
use crate::ids::{OrgId, PhoneId, PushDeviceId, UserId};
use crate::repo::call_records::CallRecordRow;
use crate::repo::phones::PhoneRow;
use crate::repo::{RepoError, phones, sync_seq};
use crate::time::{Micros, now_micros};
use crate::wire::{CallDirection, CallRecordUpload, CallResult};

/// Rows per multi-row INSERT (stays under SQLite's variable limit).
const CHUNK: usize = 500;

#[derive(Debug, Clone)]
pub struct PushFixture {
    pub org: OrgId,
    pub user_ids: Vec<String>,
    /// `tokens[i]` is the device token of `user_ids[i]`.
    pub tokens: Vec<String>,
}

impl PushFixture {
    pub fn create(
        conn: &mut DbConn,
        users_n: usize,
        records_n: usize,
        time_zone: &str,
        due_at: Micros,
    ) -> Result<Self, RepoError> {
        let now = now_micros();
        write_tx(conn, |conn| {
            let org = crate::usecases::orgs::create(conn, "Push fixture")?;
            let org_s = org.to_string();
            let phone = PhoneId::new().to_string();
            phones::insert(
                conn,
                &PhoneRow {
                    id: phone.clone(),
                    org_id: org_s.clone(),
                    number_e164: "+4930100".into(),
                    extension: "100".into(),
                    label: "Desk".into(),
                    vendor: None,
                    model: None,
                    disabled_at: None,
                    created_at: now,
                    updated_at: now,
                    driver: None,
                },
            )?;
            let user_ids: Vec<String> = (0..users_n).map(|_| UserId::new().to_string()).collect();
            let tokens: Vec<String> = (0..users_n).map(|i| format!("device-{i}")).collect();
            for (chunk_start, chunk) in user_ids
                .chunks(CHUNK)
                .enumerate()
                .map(|(k, c)| (k * CHUNK, c))
            {
                let people: Vec<_> = chunk
                    .iter()
                    .enumerate()
                    .map(|(k, id)| {
                        (
                            users::id.eq(id.clone()),
                            users::org_id.eq(org_s.clone()),
                            users::email.eq(format!("push{}@fixture.example", chunk_start + k)),
                            users::display_name.eq(format!("Push {}", chunk_start + k)),
                            users::role.eq("admin"),
                            // Nobody logs in: any non-empty string will do.
                            users::password_hash.eq("not-a-hash"),
                            users::time_zone.eq(time_zone.to_owned()),
                            users::created_at.eq(now),
                            users::updated_at.eq(now),
                        )
                    })
                    .collect();
                dialect::insert_batch(conn, diesel::insert_into(users::table).values(people))?;
                let devices: Vec<_> = chunk
                    .iter()
                    .enumerate()
                    .map(|(k, id)| {
                        (
                            push_devices::id.eq(PushDeviceId::new().to_string()),
                            push_devices::org_id.eq(org_s.clone()),
                            push_devices::user_id.eq(id.clone()),
                            push_devices::platform.eq("android"),
                            push_devices::token.eq(tokens[chunk_start + k].clone()),
                            push_devices::created_at.eq(now),
                        )
                    })
                    .collect();
                dialect::insert_batch(
                    conn,
                    diesel::insert_into(push_devices::table).values(devices),
                )?;
                let schedules: Vec<_> = chunk
                    .iter()
                    .map(|id| {
                        (
                            push_schedules::user_id.eq(id.clone()),
                            push_schedules::org_id.eq(org_s.clone()),
                            push_schedules::custom.eq(1_i64),
                            push_schedules::daily_at.eq(Some("18:00")),
                            push_schedules::on_missed_call.eq(0_i64),
                            push_schedules::on_new_records.eq(0_i64),
                            push_schedules::pushed_seq.eq(0_i64),
                            push_schedules::next_due_at.eq(Some(due_at)),
                            push_schedules::updated_at.eq(now),
                        )
                    })
                    .collect();
                dialect::insert_batch(
                    conn,
                    diesel::insert_into(push_schedules::table).values(schedules),
                )?;
            }
            if records_n > 0 {
                let first = sync_seq::reserve(conn, &org_s, i64::try_from(records_n).unwrap_or(0))?;
                let rows: Vec<CallRecordRow> = (0..records_n)
                    .map(|i| {
                        let facts = CallFacts::parse(&upload(i), None, now)
                            .map_err(|e| RepoError::Corrupt(format!("fixture record: {e}")))?;
                        let mut row = CallRecordRow::new(
                            org_s.clone(),
                            phone.clone(),
                            None,
                            &facts,
                            Reporter::Phone,
                            now,
                        );
                        row.sync_seq = first + i64::try_from(i).unwrap_or(0);
                        Ok(row)
                    })
                    .collect::<Result<_, RepoError>>()?;
                for chunk in rows.chunks(20) {
                    dialect::insert_batch(
                        conn,
                        diesel::insert_into(crate::db::schema::call_records::table).values(chunk),
                    )?;
                }
            }
            Ok(Self {
                org,
                user_ids,
                tokens,
            })
        })
    }
}

/// A finished call `i` minutes ago; every third one missed.
fn upload(i: usize) -> CallRecordUpload {
    let started = Utc::now() - TimeDelta::minutes(i64::try_from(i).unwrap_or(0) + 1);
    let missed = i.is_multiple_of(3);
    CallRecordUpload {
        call_id: format!("fixture-{i}"),
        direction: if missed {
            CallDirection::Missed
        } else {
            CallDirection::Outbound
        },
        local_number: None,
        remote_number: format!("+49305550{i:03}"),
        started_at: started,
        answered_at: (!missed).then(|| started + TimeDelta::seconds(3)),
        ended_at: Some(started + TimeDelta::seconds(40)),
        duration_secs: None,
        result: Some(if missed {
            CallResult::NoAnswer
        } else {
            CallResult::Answered
        }),
        dial_id: None,
    }
}

/// Jobs by outcome for the fixture's organisation, for assertions.
pub fn job_outcomes(
    conn: &mut DbConn,
    org: OrgId,
) -> Result<Vec<(Option<String>, i64)>, RepoError> {
    Ok(jobs::table
        .filter(jobs::org_id.eq(org.to_string()))
        .group_by(jobs::outcome)
        .select((jobs::outcome, diesel::dsl::count_star()))
        .load(conn)?)
}

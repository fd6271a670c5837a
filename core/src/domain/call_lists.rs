//! Call lists without I/O (docs/call-lists.md, decision 0031): a list's
//! settings parsed from `POST /v1/call-lists`, the state changes its owner
//! may make, and one import row parsed into a task (or the reason it is
//! dropped or rejected).

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::calling_hours::{EveryZone, TimeRule, Weekly, Window};
use super::country_zones::zones_of_number;
use super::dial_rules;
use super::retry_policy::{Retry, RetryPolicy};
use super::{E164, FieldError, NonBlank, TimeZoneName, blocklist};
use crate::time::Micros;
use crate::wire::{
    CallListMode, CallListOrder, CallListState, CallingHoursRule, CreateCallList, ErrorCode,
    ImportCallTask, ListCallingHours, RetryPolicyBody, RetryPolicyView, RetryRule, TimeWindow,
};

pub const MAX_NAME: usize = 100;
pub const MAX_TASK_NAME: usize = 200;
pub const MAX_EXTERNAL_ID: usize = 100;
pub const MAX_PAYLOAD_BYTES: usize = 4096;
pub const MAX_POOL_USERS: usize = 500;
pub const MAX_IMPORT_ROWS: usize = 1000;
pub const MAX_SKIP_REASON: usize = 200;
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i32> = -1000..=1000;
const GAP_RANGE: std::ops::RangeInclusive<u32> = 0..=3600;
const LEASE_RANGE: std::ops::RangeInclusive<u32> = 30..=3600;
const RECALL_GAP_RANGE: std::ops::RangeInclusive<u32> = 0..=30 * 24 * 3600;
/// How long handed-back tasks stay reserved for their user (0: straight to
/// the pool).
const HAND_BACK_HOLD_RANGE: std::ops::RangeInclusive<u32> = 0..=7 * 24 * 3600;
pub const DEFAULT_HAND_BACK_HOLD_SECS: u32 = 3600;
/// How long a user may be offline before their tasks are handed back: at
/// least a minute (the sweep's step), at most a day.
const OFFLINE_RETURN_RANGE: std::ops::RangeInclusive<u32> = 60..=24 * 3600;
pub const DEFAULT_OFFLINE_RETURN_SECS: u32 = 900;

/// How long past its time a callback waits for its salesperson before the
/// pool may take it.
const CALLBACK_POOL_AFTER_RANGE: std::ops::RangeInclusive<u32> = 0..=7 * 24 * 3600;
pub const DEFAULT_CALLBACK_POOL_AFTER_SECS: u32 = 1800;

fn default_callback_pool_after_secs() -> u32 {
    DEFAULT_CALLBACK_POOL_AFTER_SECS
}

fn default_hand_back_hold_secs() -> u32 {
    DEFAULT_HAND_BACK_HOLD_SECS
}

fn default_offline_return_secs() -> u32 {
    DEFAULT_OFFLINE_RETURN_SECS
}

/// A list's settings as stored (JSON in `call_lists.settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub gap_secs: u32,
    pub lease_secs: u32,
    pub min_recall_gap_secs: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calling_hours: Option<ListCallingHours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callee_hours: Option<TimeWindow>,
    pub retry: RetryPolicyView,
    /// Lists stored before hand-back existed get the defaults.
    #[serde(default = "default_hand_back_hold_secs")]
    pub hand_back_hold_secs: u32,
    #[serde(default = "default_offline_return_secs")]
    pub offline_return_secs: u32,
    #[serde(default = "default_callback_pool_after_secs")]
    pub callback_pool_after_secs: u32,
}

impl Settings {
    /// The retry policy the list's outcomes are decided by.
    pub fn retry_policy(&self) -> RetryPolicy {
        let rule = |r: RetryRule| Retry {
            delay_secs: r.delay_secs,
            max_retries: r.max_retries,
        };
        RetryPolicy {
            busy: rule(self.retry.busy),
            no_answer: rule(self.retry.no_answer),
            failed: rule(self.retry.failed),
            not_completed: rule(self.retry.not_completed),
        }
    }
}

/// A parsed `POST /v1/call-lists` (the pool is checked against the
/// organisation by the use case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewList {
    pub name: String,
    pub mode: CallListMode,
    pub order: CallListOrder,
    pub settings: Settings,
}

fn range(
    field: &'static str,
    value: u32,
    allowed: std::ops::RangeInclusive<u32>,
) -> Result<u32, FieldError> {
    if allowed.contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(
            field,
            ErrorCode::InvalidField,
            format!("must be from {} to {}", allowed.start(), allowed.end()),
        ))
    }
}

fn region(raw: &str) -> Result<String, FieldError> {
    let code = raw.trim().to_uppercase();
    code.parse::<phonenumber::country::Id>().map_err(|_| {
        FieldError::new(
            "region",
            ErrorCode::InvalidRegion,
            "must be an ISO 3166-1 alpha-2 region code such as DE or US",
        )
    })?;
    Ok(code)
}

fn retry_rule(
    field: &'static str,
    given: Option<RetryRule>,
    default: Retry,
) -> Result<RetryRule, FieldError> {
    let rule = given.map_or(default, |r| Retry {
        delay_secs: r.delay_secs,
        max_retries: r.max_retries,
    });
    let rule = rule.check().map_err(|message| {
        FieldError::new(
            "retry",
            ErrorCode::InvalidField,
            format!("retry.{field}: {message}"),
        )
    })?;
    Ok(RetryRule {
        delay_secs: rule.delay_secs,
        max_retries: rule.max_retries,
    })
}

fn retry_policy(body: Option<&RetryPolicyBody>) -> Result<RetryPolicyView, FieldError> {
    let defaults = RetryPolicy::default();
    let body = body.cloned().unwrap_or_default();
    Ok(RetryPolicyView {
        busy: retry_rule("busy", body.busy, defaults.busy)?,
        no_answer: retry_rule("no_answer", body.no_answer, defaults.no_answer)?,
        failed: retry_rule("failed", body.failed, defaults.failed)?,
        not_completed: retry_rule("not_completed", body.not_completed, defaults.not_completed)?,
    })
}

impl NewList {
    pub fn parse(body: &CreateCallList) -> Result<Self, FieldError> {
        let name = NonBlank::parse("name", &body.name, MAX_NAME)?.into_inner();
        let mode = match body.mode.as_deref() {
            None => CallListMode::Preview,
            Some(raw) => CallListMode::parse(raw).ok_or_else(|| {
                FieldError::new("mode", ErrorCode::InvalidField, "must be preview or power")
            })?,
        };
        let order = match body.order.as_deref() {
            None => CallListOrder::Priority,
            Some(raw) => CallListOrder::parse(raw).ok_or_else(|| {
                FieldError::new(
                    "order",
                    ErrorCode::InvalidField,
                    "must be priority, import or due",
                )
            })?,
        };
        let calling_hours = match &body.calling_hours {
            None => None,
            Some(hours) => {
                let zone = match &hours.time_zone {
                    Some(raw) => Some(TimeZoneName::parse("calling_hours", raw)?.into_inner()),
                    None => None,
                };
                let weekly = weekly_of(hours, Tz::UTC)?;
                if weekly.days.iter().all(Vec::is_empty) {
                    return Err(FieldError::new(
                        "calling_hours",
                        ErrorCode::InvalidField,
                        "give at least one window, or leave calling_hours out",
                    ));
                }
                Some(ListCallingHours {
                    time_zone: zone,
                    weekly: hours.weekly.clone(),
                    holidays: hours.holidays.iter().map(|d| d.trim().to_owned()).collect(),
                })
            }
        };
        if let Some(window) = &body.callee_hours {
            dial_rules::window("callee_hours", 0, window)?;
        }
        if body.pool.user_ids.len() > MAX_POOL_USERS {
            return Err(FieldError::new(
                "pool",
                ErrorCode::TooMany,
                format!("at most {MAX_POOL_USERS} users"),
            ));
        }
        Ok(Self {
            name,
            mode,
            order,
            settings: Settings {
                gap_secs: range("gap_secs", body.gap_secs.unwrap_or(10), GAP_RANGE)?,
                lease_secs: range("lease_secs", body.lease_secs.unwrap_or(300), LEASE_RANGE)?,
                min_recall_gap_secs: range(
                    "min_recall_gap_secs",
                    body.min_recall_gap_secs.unwrap_or(3600),
                    RECALL_GAP_RANGE,
                )?,
                region: body.region.as_deref().map(region).transpose()?,
                calling_hours,
                callee_hours: body.callee_hours.clone(),
                retry: retry_policy(body.retry.as_ref())?,
                hand_back_hold_secs: range(
                    "hand_back_hold_secs",
                    body.hand_back_hold_secs
                        .unwrap_or(DEFAULT_HAND_BACK_HOLD_SECS),
                    HAND_BACK_HOLD_RANGE,
                )?,
                offline_return_secs: range(
                    "offline_return_secs",
                    body.offline_return_secs
                        .unwrap_or(DEFAULT_OFFLINE_RETURN_SECS),
                    OFFLINE_RETURN_RANGE,
                )?,
                callback_pool_after_secs: range(
                    "callback_pool_after_secs",
                    body.callback_pool_after_secs
                        .unwrap_or(DEFAULT_CALLBACK_POOL_AFTER_SECS),
                    CALLBACK_POOL_AFTER_RANGE,
                )?,
            },
        })
    }
}

fn weekly_of(hours: &ListCallingHours, zone: Tz) -> Result<Weekly, FieldError> {
    dial_rules::weekly(
        0,
        &CallingHoursRule {
            team_id: None,
            weekly: hours.weekly.clone(),
            holidays: hours.holidays.clone(),
        },
        zone,
    )
}

/// Whether a list may go from `from` to `to`. The same state is no change
/// (and allowed); archived lists stay archived.
pub fn may_change(from: CallListState, to: CallListState) -> bool {
    use CallListState::*;
    from == to
        || matches!(
            (from, to),
            (Draft, Active | Archived)
                | (Active, Paused | Completed | Archived)
                | (Paused, Active | Completed | Archived)
                | (Completed, Active | Archived)
        )
}

/// Whether tasks may be imported into a list in `state`.
pub fn takes_imports(state: CallListState) -> bool {
    !matches!(state, CallListState::Archived)
}

/// One import row, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    /// A task to store (perhaps as dropped: `number_e164` is `None` and
    /// `dropped` names why).
    Task(NewTask),
    /// Not stored.
    Rejected(FieldError),
}

/// A task to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    pub dedupe_key: String,
    pub external_id: Option<String>,
    pub number: String,
    pub number_e164: Option<String>,
    /// Why the number cannot be called: it is stored `dropped`.
    pub dropped: Option<FieldError>,
    pub name: Option<String>,
    pub payload: String,
    pub priority: i32,
    pub window: Option<Window>,
    pub due_at: Option<Micros>,
}

/// Parses one import row; `list_region` reads national numbers.
pub fn parse_row(row: &ImportCallTask, list_region: Option<&str>) -> Row {
    match try_parse_row(row, list_region) {
        Ok(task) => Row::Task(task),
        Err(e) => Row::Rejected(e),
    }
}

fn try_parse_row(row: &ImportCallTask, list_region: Option<&str>) -> Result<NewTask, FieldError> {
    let external_id = match row.external_id.as_deref() {
        None => None,
        Some(raw) => {
            let id = NonBlank::parse("external_id", raw, MAX_EXTERNAL_ID)?.into_inner();
            Some(id)
        }
    };
    let number = NonBlank::parse("number", &row.number, 32)?.into_inner();
    let row_region = row.region.as_deref().map(region).transpose()?;
    let parsed = E164::parse("number", &number, row_region.as_deref().or(list_region));
    let (number_e164, dropped) = match parsed {
        Ok(e164) => (Some(e164.into_inner()), None),
        // A number that cannot exist is kept as dropped (the seed drops
        // it and reports it); anything else about the row is the sender's
        // mistake and rejected.
        Err(e) if e.code == ErrorCode::InvalidPhoneNumber => (None, Some(e)),
        Err(e) => return Err(e),
    };
    let name = match row.name.as_deref() {
        None => None,
        Some(raw) => {
            Some(blocklist::parse_text("name", raw, MAX_TASK_NAME)?).filter(|n| !n.is_empty())
        }
    };
    let payload = match &row.payload {
        None => "{}".to_owned(),
        Some(value) if value.is_object() => {
            let text = value.to_string();
            if text.len() > MAX_PAYLOAD_BYTES {
                return Err(FieldError::new(
                    "payload",
                    ErrorCode::InvalidPayload,
                    format!("at most {MAX_PAYLOAD_BYTES} bytes of JSON"),
                ));
            }
            text
        }
        Some(_) => {
            return Err(FieldError::new(
                "payload",
                ErrorCode::InvalidPayload,
                "must be a JSON object",
            ));
        }
    };
    let priority = row.priority.unwrap_or(0);
    if !PRIORITY_RANGE.contains(&priority) {
        return Err(FieldError::new(
            "priority",
            ErrorCode::InvalidField,
            "must be from -1000 to 1000",
        ));
    }
    let window = row
        .window
        .as_ref()
        .map(|w| dial_rules::window("window", 0, w))
        .transpose()?;
    let dedupe_key = match (&external_id, &number_e164) {
        (Some(id), _) => format!("x:{id}"),
        (None, Some(e164)) => format!("n:{e164}"),
        (None, None) => format!("n:{number}"),
    };
    Ok(NewTask {
        dedupe_key,
        external_id,
        number,
        number_e164,
        dropped,
        name,
        payload,
        priority,
        window,
        due_at: row.due_at.map(|at| at.timestamp_micros()),
    })
}

/// The time rules a task must satisfy to be dialled: the list's weekly
/// hours (in `list_zone`), the list's callee window and the task's own
/// window, both in every zone of the callee's number (`fallback` when the
/// number names none).
#[derive(Debug)]
pub struct TaskHours {
    weekly: Option<Weekly>,
    callee: Vec<EveryZone>,
}

impl TaskHours {
    pub fn new(
        settings: &Settings,
        list_zone: Tz,
        e164: &str,
        task_window: Option<Window>,
        fallback: Tz,
    ) -> Self {
        let weekly = settings.calling_hours.as_ref().and_then(|hours| {
            let zone = hours
                .time_zone
                .as_deref()
                .and_then(|z| z.parse().ok())
                .unwrap_or(list_zone);
            weekly_of(hours, zone).ok()
        });
        let zones = {
            let found = zones_of_number(e164);
            if found.is_empty() {
                vec![fallback]
            } else {
                found
            }
        };
        let callee_window = settings
            .callee_hours
            .as_ref()
            .and_then(|w| dial_rules::window("callee_hours", 0, w).ok());
        let callee = [callee_window, task_window]
            .into_iter()
            .flatten()
            .map(|window| EveryZone {
                zones: zones.clone(),
                window,
            })
            .collect();
        Self { weekly, callee }
    }

    /// The first instant at or after `now` the task may be dialled
    /// (`Some(now)`: now), `None` when no time within a year is.
    pub fn next_allowed(&self, now: Micros) -> Option<Micros> {
        let mut rules: Vec<&dyn TimeRule> = Vec::new();
        if let Some(weekly) = &self.weekly {
            rules.push(weekly);
        }
        for rule in &self.callee {
            rules.push(rule);
        }
        super::calling_hours::next_allowed(&rules, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::WeekWindows;

    fn create(name: &str) -> CreateCallList {
        CreateCallList::named(name)
    }

    fn row(number: &str) -> ImportCallTask {
        ImportCallTask::number(number)
    }

    fn at(text: &str) -> Micros {
        text.parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
            .timestamp_micros()
    }

    #[test]
    fn a_list_needs_only_a_name_and_gets_defaults() {
        let list = NewList::parse(&create("  Q1 renewals ")).unwrap();
        assert_eq!(list.name, "Q1 renewals");
        assert_eq!(
            (list.mode, list.order),
            (CallListMode::Preview, CallListOrder::Priority)
        );
        assert_eq!(
            (
                list.settings.gap_secs,
                list.settings.lease_secs,
                list.settings.min_recall_gap_secs
            ),
            (10, 300, 3600)
        );
        assert_eq!(list.settings.retry.busy.max_retries, 3);
        assert_eq!(
            (
                list.settings.hand_back_hold_secs,
                list.settings.offline_return_secs
            ),
            (3600, 900)
        );
    }

    #[test]
    fn settings_stored_before_hand_back_read_with_its_defaults() {
        let mut stored =
            serde_json::to_value(NewList::parse(&create("L")).unwrap().settings).unwrap();
        let object = stored.as_object_mut().unwrap();
        object.remove("hand_back_hold_secs");
        object.remove("offline_return_secs");
        object.remove("callback_pool_after_secs");
        let read: Settings = serde_json::from_value(stored).unwrap();
        assert_eq!(
            (
                read.hand_back_hold_secs,
                read.offline_return_secs,
                read.callback_pool_after_secs
            ),
            (3600, 900, 1800)
        );
    }

    #[test]
    fn bad_settings_name_their_field() {
        type Change = Box<dyn Fn(&mut CreateCallList)>;
        let cases: Vec<(Change, &str, ErrorCode)> = vec![
            (Box::new(|b| b.name = " ".into()), "name", ErrorCode::Blank),
            (
                Box::new(|b| b.mode = Some("robot".into())),
                "mode",
                ErrorCode::InvalidField,
            ),
            (
                Box::new(|b| b.order = Some("random".into())),
                "order",
                ErrorCode::InvalidField,
            ),
            (
                Box::new(|b| b.lease_secs = Some(5)),
                "lease_secs",
                ErrorCode::InvalidField,
            ),
            (
                Box::new(|b| b.gap_secs = Some(7200)),
                "gap_secs",
                ErrorCode::InvalidField,
            ),
            (
                Box::new(|b| b.hand_back_hold_secs = Some(8 * 24 * 3600)),
                "hand_back_hold_secs",
                ErrorCode::InvalidField,
            ),
            (
                Box::new(|b| b.offline_return_secs = Some(30)),
                "offline_return_secs",
                ErrorCode::InvalidField,
            ),
            (
                Box::new(|b| b.callback_pool_after_secs = Some(8 * 24 * 3600)),
                "callback_pool_after_secs",
                ErrorCode::InvalidField,
            ),
            (
                Box::new(|b| b.region = Some("XX".into())),
                "region",
                ErrorCode::InvalidRegion,
            ),
            (
                Box::new(|b| {
                    b.retry = Some(RetryPolicyBody {
                        busy: Some(RetryRule {
                            delay_secs: 1,
                            max_retries: 1,
                        }),
                        ..Default::default()
                    })
                }),
                "retry",
                ErrorCode::InvalidField,
            ),
            (
                Box::new(|b| {
                    b.callee_hours = Some(TimeWindow {
                        from: "20:00".into(),
                        to: "09:00".into(),
                    })
                }),
                "callee_hours",
                ErrorCode::InvalidTimeOrder,
            ),
            (
                Box::new(|b| {
                    b.calling_hours = Some(ListCallingHours {
                        time_zone: Some("Mars/Base".into()),
                        weekly: WeekWindows::default(),
                        holidays: vec![],
                    })
                }),
                "calling_hours",
                ErrorCode::InvalidTimeZone,
            ),
        ];
        for (change, field, code) in cases {
            let mut body = create("List");
            change(&mut body);
            let err = NewList::parse(&body).unwrap_err();
            assert_eq!((err.field, err.code), (field, code), "{err}");
        }
    }

    #[test]
    fn states_move_only_along_the_lifecycle() {
        use CallListState::*;
        assert!(may_change(Draft, Active));
        assert!(may_change(Active, Paused) && may_change(Paused, Active));
        assert!(may_change(Completed, Active), "reopened after an import");
        assert!(may_change(Active, Active), "no change");
        assert!(!may_change(Archived, Active));
        assert!(!may_change(Draft, Completed));
        assert!(!may_change(Active, Draft));
    }

    #[test]
    fn rows_are_tasks_dropped_numbers_or_rejections() {
        let Row::Task(task) = parse_row(&row("+49 30 901820"), None) else {
            panic!("a task")
        };
        assert_eq!(task.number_e164.as_deref(), Some("+4930901820"));
        assert_eq!(task.dedupe_key, "n:+4930901820");
        let Row::Task(national) = parse_row(&row("030 901820"), Some("DE")) else {
            panic!("a task")
        };
        assert_eq!(national.number_e164.as_deref(), Some("+4930901820"));

        let Row::Task(dropped) = parse_row(&row("+49 1"), None) else {
            panic!("kept as dropped")
        };
        assert_eq!(dropped.number_e164, None);
        assert_eq!(
            dropped.dropped.map(|e| e.code),
            Some(ErrorCode::InvalidPhoneNumber)
        );

        let mut with_id = row("+4930901820");
        with_id.external_id = Some(" crm-7 ".into());
        let Row::Task(task) = parse_row(&with_id, None) else {
            panic!("a task")
        };
        assert_eq!(task.dedupe_key, "x:crm-7");

        for (change, field, code) in [
            (
                Box::new(|r: &mut ImportCallTask| r.payload = Some(serde_json::json!([1])))
                    as Box<dyn Fn(&mut ImportCallTask)>,
                "payload",
                ErrorCode::InvalidPayload,
            ),
            (
                Box::new(|r: &mut ImportCallTask| {
                    r.payload = Some(serde_json::json!({ "notes": "x".repeat(5000) }))
                }),
                "payload",
                ErrorCode::InvalidPayload,
            ),
            (
                Box::new(|r: &mut ImportCallTask| r.priority = Some(5000)),
                "priority",
                ErrorCode::InvalidField,
            ),
            (
                Box::new(|r: &mut ImportCallTask| r.number = "  ".into()),
                "number",
                ErrorCode::Blank,
            ),
            (
                Box::new(|r: &mut ImportCallTask| r.region = Some("ZZ".into())),
                "region",
                ErrorCode::InvalidRegion,
            ),
            (
                Box::new(|r: &mut ImportCallTask| {
                    r.window = Some(TimeWindow {
                        from: "25:00".into(),
                        to: "26:00".into(),
                    })
                }),
                "window",
                ErrorCode::InvalidTime,
            ),
        ] {
            let mut bad = row("+4930901820");
            change(&mut bad);
            let Row::Rejected(err) = parse_row(&bad, None) else {
                panic!("rejected: {bad:?}")
            };
            assert_eq!((err.field, err.code), (field, code), "{err}");
        }
    }

    #[test]
    fn a_task_waits_for_the_callee_window_in_the_callees_zone() {
        let list = NewList::parse(&CreateCallList {
            callee_hours: Some(TimeWindow {
                from: "09:00".into(),
                to: "20:00".into(),
            }),
            ..create("List")
        })
        .unwrap();
        // A London number at 07:00 UTC in December (07:00 there): due at
        // 09:00 local.
        let hours = TaskHours::new(&list.settings, Tz::UTC, "+442079460000", None, Tz::UTC);
        assert_eq!(
            hours.next_allowed(at("2026-12-04T07:00:00Z")),
            Some(at("2026-12-04T09:00:00Z"))
        );
        // The task's own window narrows it to the afternoon.
        let narrow = TaskHours::new(
            &list.settings,
            Tz::UTC,
            "+442079460000",
            Some(Window {
                from: 14 * 60,
                to: 16 * 60,
            }),
            Tz::UTC,
        );
        assert_eq!(
            narrow.next_allowed(at("2026-12-04T07:00:00Z")),
            Some(at("2026-12-04T14:00:00Z"))
        );
        // After the spring DST change (29 March 2026 in London) 09:00 is
        // 08:00 UTC.
        assert_eq!(
            hours.next_allowed(at("2026-03-29T07:00:00Z")),
            Some(at("2026-03-29T08:00:00Z"))
        );
        // A country of several zones: every one of them must be open (the
        // intersection), so a US number waits for 09:00 in its westernmost
        // zone.
        let us = TaskHours::new(&list.settings, Tz::UTC, "+12125550123", None, Tz::UTC);
        let opens = us.next_allowed(at("2026-12-04T12:00:00Z")).unwrap();
        assert!(
            opens > at("2026-12-04T14:00:00Z"),
            "later than New York's 09:00"
        );
    }
}

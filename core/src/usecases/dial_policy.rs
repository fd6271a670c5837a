//! The organisation's dial policy (`/v1/dial-policy`) as a view over the
//! blocklist (decision 0019): its do-not-call numbers and blocked prefixes
//! are the organisation-scope `block` entries by number and by prefix.
//! Replacing the policy adds the missing ones, deletes the others and
//! keeps those already there (with their ids, labels and reasons).
//! Commands already queued are not re-checked.

use super::audit;
use std::collections::BTreeSet;

use crate::db::{Database, DbConn};
use crate::domain::blocklist::MAX_ENTRIES_PER_ORG;
use crate::domain::dial_policy::DialRules;
use crate::ids::{BlocklistEntryId, OrgId, UserId};
use crate::repo::blocklist::{self as entries, EntryRow};
use crate::repo::{RepoError, dial_policy, orgs};
use crate::time::Micros;
use crate::usecases::blocklist::BlocklistError;
use crate::wire::{AuditAction, BlocklistKind, BlocklistPattern, BlocklistScope};

/// The label of the entries the dial policy adds.
pub const POLICY_LABEL: &str = "dial policy";

/// The policy in force at `now` (expired entries are not) and when it was
/// last set through `PUT /v1/dial-policy` (`None`: never).
pub fn read(
    conn: &mut DbConn,
    org: OrgId,
    now: Micros,
) -> Result<(DialRules, Option<Micros>), RepoError> {
    let mut rules = DialRules::default();
    for row in entries::of_organisation(conn, org, BlocklistKind::Block)? {
        if row.expires_at.is_some_and(|at| at <= now) {
            continue;
        }
        match row.pattern {
            BlocklistPattern::Number => rules.do_not_call.insert(row.value),
            BlocklistPattern::Prefix => rules.blocked_prefixes.insert(row.value),
        };
    }
    Ok((rules, dial_policy::updated_at(conn, org)?))
}

/// Makes the organisation-scope blocks exactly `rules`, under the
/// organisation's lock (which also counts the per-organisation limit).
pub async fn replace(
    db: &Database,
    org: OrgId,
    rules: DialRules,
    by: UserId,
    now: Micros,
) -> Result<(), BlocklistError> {
    db.write(move |conn| {
        orgs::lock(conn, &org.to_string())?;
        let wanted: BTreeSet<(BlocklistPattern, String)> = rules
            .do_not_call
            .iter()
            .map(|n| (BlocklistPattern::Number, n.clone()))
            .chain(
                rules
                    .blocked_prefixes
                    .iter()
                    .map(|p| (BlocklistPattern::Prefix, p.clone())),
            )
            .collect();
        let mut kept = BTreeSet::new();
        let mut gone: Vec<BlocklistEntryId> = Vec::new();
        for mut row in entries::of_organisation(conn, org, BlocklistKind::Block)? {
            let key = (row.pattern, row.value.clone());
            if !wanted.contains(&key) {
                gone.push(row.id);
                continue;
            }
            if row.expires_at.is_some_and(|at| at <= now) {
                // Listed again: it applies from now on.
                row.expires_at = None;
                row.updated_at = now;
                entries::update(conn, &row)?;
            }
            kept.insert(key);
        }
        entries::delete_many(conn, org, &gone)?;
        // An allow of the organisation with the same match would make the
        // block pointless; it shares the unique key, so it is turned into
        // the block the policy asks for.
        let mut allows = entries::of_organisation(conn, org, BlocklistKind::Allow)?;
        allows.retain(|row| wanted.contains(&(row.pattern, row.value.clone())));
        for mut row in allows {
            row.kind = BlocklistKind::Block;
            row.expires_at = None;
            row.updated_at = now;
            entries::update(conn, &row)?;
            kept.insert((row.pattern, row.value));
        }
        let missing: Vec<_> = wanted.difference(&kept).cloned().collect();
        if entries::count(conn, org)? + missing.len() as i64 > MAX_ENTRIES_PER_ORG {
            return Err(BlocklistError::Full);
        }
        for (pattern, value) in missing {
            entries::insert(conn, &policy_entry(org, pattern, value, by, now))?;
        }
        dial_policy::touch(conn, org, by, now)?;
        audit::Entry::about_org(org, AuditAction::DialPolicyReplaced, audit::by_user(by))
            .detail("blocked_prefixes", rules.blocked_prefixes.len())
            .detail("do_not_call", rules.do_not_call.len())
            .record(conn, now)?;
        Ok(())
    })
    .await
}

fn policy_entry(
    org: OrgId,
    pattern: BlocklistPattern,
    value: String,
    by: UserId,
    now: Micros,
) -> EntryRow {
    EntryRow {
        id: BlocklistEntryId::new(),
        org_id: org,
        kind: BlocklistKind::Block,
        scope: BlocklistScope::Organisation,
        scope_id: org.to_string(),
        pattern,
        value,
        label: POLICY_LABEL.to_owned(),
        reason: String::new(),
        expires_at: None,
        created_at: now,
        created_by: Some(by.to_string()),
        updated_at: now,
    }
}

//! `init-admin`: creates the first organisation and its admin from the
//! command line, safely repeatable.

use base64::Engine as _;
use deskbind_core::auth::{passwords, secrets};
use deskbind_core::db::Database;
use deskbind_core::domain::{Email, NonBlank, Password};
use deskbind_core::ids::UserId;
use deskbind_core::repo::users::{self, UserRow};
use deskbind_core::time::now_micros;
use deskbind_core::usecases::orgs;
use deskbind_core::wire::Role;

#[derive(Debug, PartialEq, Eq)]
pub enum InitAdminOutcome {
    /// Created; `generated_password` is set when none was supplied and must
    /// be shown to the operator once.
    Created {
        user_id: UserId,
        generated_password: Option<String>,
    },
    /// A user with this email exists; nothing was changed.
    AlreadyExists,
}

pub fn init_admin(
    db: &Database,
    org_name: &str,
    email: &str,
    password: Option<String>,
) -> anyhow::Result<InitAdminOutcome> {
    let org_name = NonBlank::parse("--org", org_name, 200)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .into_inner();
    let email = Email::parse("--email", email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut conn = db.get()?;
    if users::find_by_email(&mut conn, email.as_str())?.is_some() {
        return Ok(InitAdminOutcome::AlreadyExists);
    }
    let (password, generated) = match password {
        Some(p) => (
            Password::parse("DESKBIND_ADMIN_PASSWORD", &p).map_err(|e| anyhow::anyhow!("{e}"))?,
            None,
        ),
        None => {
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(secrets::random_bytes::<15>()?);
            (
                Password::parse("generated", &raw).map_err(|e| anyhow::anyhow!("{e}"))?,
                Some(raw),
            )
        }
    };
    let hash = passwords::hash(password.expose())?;
    let user_id = UserId::new();
    let now = now_micros();
    orgs::add_admin(&mut conn, &org_name, |org| UserRow {
        id: user_id.to_string(),
        org_id: org.to_string(),
        email: email.as_str().to_owned(),
        display_name: "Administrator".into(),
        role: Role::Admin.as_str().into(),
        password_hash: hash,
        time_zone: "UTC".into(),
        disabled_at: None,
        created_at: now,
        updated_at: now,
    })
    .map_err(|e| match e {
        deskbind_core::repo::RepoError::Conflict => {
            anyhow::anyhow!("a user with this email was created concurrently")
        }
        other => other.into(),
    })?;
    Ok(InitAdminOutcome::Created {
        user_id,
        generated_password: generated,
    })
}

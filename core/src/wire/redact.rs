//! `Debug` for wire types that carry secrets: the secret fields print as
//! `****`, so a stray `{:?}` in an app or server log leaks nothing.

use std::fmt;

use super::{
    BindingToken, CreateBinding, CreateUser, DialNfc, LoginRequest, Provisioned, ProvisioningCode,
    RefreshRequest, TokenResponse, UpdateUser,
};

const HIDDEN: &str = "****";

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("email", &self.email)
            .field("password", &HIDDEN)
            .finish()
    }
}

impl fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshRequest")
            .field("refresh_token", &HIDDEN)
            .finish()
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &HIDDEN)
            .field("refresh_token", &HIDDEN)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl fmt::Debug for ProvisioningCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvisioningCode")
            .field("code", &HIDDEN)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl fmt::Debug for Provisioned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provisioned")
            .field("phone_id", &self.phone_id)
            .field("credential", &HIDDEN)
            .finish()
    }
}

impl fmt::Debug for CreateBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateBinding")
            .field("phone_id", &self.phone_id)
            .field("token", &self.token.as_ref().map(|_| HIDDEN))
            .field("code", &self.code.as_ref().map(|_| HIDDEN))
            .field("takeover", &self.takeover)
            .field("user_id", &self.user_id)
            .finish()
    }
}

impl fmt::Debug for BindingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BindingToken")
            .field("token", &HIDDEN)
            .field("ndef", &HIDDEN)
            .field("code", &HIDDEN)
            .field("expires_at", &self.expires_at)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateUser")
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("password", &HIDDEN)
            .field("time_zone", &self.time_zone)
            .field("team_ids", &self.team_ids)
            .finish()
    }
}

impl fmt::Debug for UpdateUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpdateUser")
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("password", &self.password.as_ref().map(|_| HIDDEN))
            .field("time_zone", &self.time_zone)
            .field("disabled", &self.disabled)
            .finish()
    }
}

impl fmt::Debug for DialNfc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DialNfc")
            .field("dial_id", &self.dial_id)
            .field("phone_id", &self.phone_id)
            .field("payload", &HIDDEN)
            .field("ndef", &HIDDEN)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let login = LoginRequest {
            email: "a@b.c".into(),
            password: "hunter2-hunter2".into(),
        };
        let tokens = TokenResponse {
            access_token: "eyJsecret".into(),
            refresh_token: "dbr_secret".into(),
            token_type: "Bearer".into(),
            expires_in: 900,
            refresh_expires_in: 60,
        };
        let shown = format!(
            "{login:?} {tokens:?} {:?}",
            RefreshRequest {
                refresh_token: "dbr_secret".into()
            }
        );
        let offer = DialNfc {
            dial_id: crate::ids::DialId::new(),
            phone_id: crate::ids::PhoneId::new(),
            payload: "eyJdial".into(),
            ndef: "1ERuZGVm".into(),
            expires_at: chrono::Utc::now(),
        };
        let shown = format!("{shown} {offer:?}");
        for secret in ["hunter2", "eyJsecret", "dbr_secret", "eyJdial", "1ERuZGVm"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}

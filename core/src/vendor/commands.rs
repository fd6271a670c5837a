//! The HTTP request that tells a desk phone to act, per vendor
//! (docs/vendor-phones.md has each vendor's page and sources), and what the
//! phone's answer means. Building a request does no I/O: the relay sends
//! it to the phone's LAN address, and only there.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::catalog::{Capability, Vendor};

/// What deskbind asks a phone to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Dial `number` (E.164 or as the phone should dial it).
    Dial { number: String },
    /// Hang up the call in progress.
    Hangup,
    /// Turn do-not-disturb on or off.
    Dnd { on: bool },
}

impl Command {
    pub fn capability(&self) -> Capability {
        match self {
            Command::Dial { .. } => Capability::Dial,
            Command::Hangup => Capability::Hangup,
            Command::Dnd { .. } => Capability::Dnd,
        }
    }
}

/// A phone's web admin login. Kept in the relay's configuration only; its
/// `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneLogin {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for PhoneLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhoneLogin")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How the request proves the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestAuth {
    /// HTTP basic authentication with the login.
    Basic,
    /// The password travels in the query string (Grandstream's
    /// `passcode`): the path is never logged as it is.
    InQuery,
}

/// One HTTP GET to the phone. The path may hold a secret (Grandstream's
/// passcode): it is only read through [`PhoneRequest::path_and_query`],
/// and `Debug` and [`PhoneRequest::loggable`] show it masked.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneRequest {
    path_and_query: String,
    pub auth: RequestAuth,
    loggable: String,
}

impl PhoneRequest {
    /// Path and query, starting with `/`, to send (never to log).
    pub fn path_and_query(&self) -> &str {
        &self.path_and_query
    }

    /// The same with any secret in it replaced, for logs.
    pub fn loggable(&self) -> &str {
        &self.loggable
    }
}

impl fmt::Debug for PhoneRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhoneRequest")
            .field("path_and_query", &self.loggable)
            .field("auth", &self.auth)
            .finish()
    }
}

/// Why no request was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The phone cannot do what was asked.
    Unsupported {
        vendor: Vendor,
        capability: Capability,
    },
    /// Not a number a keypad can dial: 1 to 32 of `0-9 * # +`.
    InvalidNumber,
}

/// The longest number sent to a phone.
const MAX_DIAL_CHARS: usize = 32;

fn dialable(number: &str) -> bool {
    (1..=MAX_DIAL_CHARS).contains(&number.len())
        && number
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | '+'))
}

/// What the phone's answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    Done,
    /// 401/403 or the vendor's own "wrong password": stop and back off, or
    /// the phone locks the login out.
    LoginRefused,
    /// Anything else; the text says what, for the log.
    Failed(String),
}

/// Everything but letters and digits is escaped in a query value.
const QUERY_VALUE: &AsciiSet = NON_ALPHANUMERIC;

fn enc(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

fn plain(path_and_query: String) -> PhoneRequest {
    PhoneRequest {
        loggable: path_and_query.clone(),
        path_and_query,
        auth: RequestAuth::Basic,
    }
}

/// The request that makes a `vendor` phone carry out `command`.
pub fn request(
    vendor: Vendor,
    command: &Command,
    login: &PhoneLogin,
) -> Result<PhoneRequest, Refused> {
    let unsupported = Refused::Unsupported {
        vendor,
        capability: command.capability(),
    };
    if !vendor.capabilities().contains(&command.capability()) {
        return Err(unsupported);
    }
    if let Command::Dial { number } = command
        && !dialable(number)
    {
        return Err(Refused::InvalidNumber);
    }
    Ok(match vendor {
        Vendor::Yealink => yealink(command),
        Vendor::Snom => snom(command),
        Vendor::Grandstream => grandstream(command, login).ok_or(unsupported)?,
        Vendor::Fanvil => fanvil(command),
    })
}

/// Yealink Action URI: `key=` must be the first parameter and nothing may
/// follow a trailing `&`.
fn yealink(command: &Command) -> PhoneRequest {
    let key = match command {
        Command::Dial { number } => format!("number={}", enc(number)),
        // `CALLEND` ends the call in progress, ringing or answered.
        Command::Hangup => "CALLEND".to_owned(),
        Command::Dnd { on: true } => "DNDOn".to_owned(),
        Command::Dnd { on: false } => "DNDOff".to_owned(),
    };
    plain(format!("/servlet?key={key}"))
}

/// Snom `command.htm`; do-not-disturb is a setting (`dnd_mode`) saved
/// through `dummy.htm`, so it is set, never toggled.
fn snom(command: &Command) -> PhoneRequest {
    plain(match command {
        Command::Dial { number } => format!("/command.htm?number={}", enc(number)),
        Command::Hangup => "/command.htm?RELEASE_ALL_CALLS".to_owned(),
        Command::Dnd { on } => format!(
            "/dummy.htm?settings=save&dnd_mode={}",
            if *on { "on" } else { "off" }
        ),
    })
}

/// Grandstream GXP/GRP CTI: the admin password is the `passcode` query
/// parameter, so the request is logged with it masked.
fn grandstream(command: &Command, login: &PhoneLogin) -> Option<PhoneRequest> {
    let (path, rest) = match command {
        Command::Dial { number } => (
            "api-make_call",
            format!("phonenumber={}&account=0", enc(number)),
        ),
        Command::Hangup => ("api-phone_operation", "cmd=endcall".to_owned()),
        Command::Dnd { .. } => return None,
    };
    let with = |passcode: &str| format!("/cgi-bin/{path}?passcode={passcode}&{rest}");
    Some(PhoneRequest {
        path_and_query: with(&enc(&login.password)),
        auth: RequestAuth::InQuery,
        loggable: with("***"),
    })
}

/// Fanvil Active URI: `key=` takes key presses joined by `;`, so a dial
/// types the number and presses ENTER. (The hangup key `RELEASE` comes from
/// an integration, not Fanvil's own text: docs/vendor-phones.md.)
fn fanvil(command: &Command) -> PhoneRequest {
    let key = match command {
        Command::Dial { number } => format!("{};ENTER", enc(number)),
        Command::Hangup => "RELEASE".to_owned(),
        Command::Dnd { on: true } => "DNDOn".to_owned(),
        Command::Dnd { on: false } => "DNDOff".to_owned(),
    };
    plain(format!("/cgi-bin/ConfigManApp.com?key={key}"))
}

/// What the phone's answer (`status`, `body`) to a command means.
pub fn outcome(vendor: Vendor, status: u16, body: &str) -> CommandOutcome {
    match status {
        401 | 403 => return CommandOutcome::LoginRefused,
        200..=299 => {}
        other => return CommandOutcome::Failed(format!("HTTP {other}")),
    }
    match vendor {
        // `{"response":"success","body":true}`; a wrong passcode answers
        // 200 with `"response":"error"` and an authentication message.
        Vendor::Grandstream => grandstream_outcome(body),
        Vendor::Yealink | Vendor::Snom | Vendor::Fanvil => CommandOutcome::Done,
    }
}

fn grandstream_outcome(body: &str) -> CommandOutcome {
    let parsed: Result<serde_json::Value, _> = serde_json::from_str(body);
    let Ok(answer) = parsed else {
        return CommandOutcome::Failed("the phone's answer is not JSON".to_owned());
    };
    if answer.get("response").and_then(|r| r.as_str()) == Some("success") {
        return CommandOutcome::Done;
    }
    let detail: String = answer
        .get("body")
        .map(ToString::to_string)
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    let lower = detail.to_ascii_lowercase();
    if lower.contains("auth") || lower.contains("passcode") || lower.contains("password") {
        CommandOutcome::LoginRefused
    } else {
        CommandOutcome::Failed(format!("the phone answered {detail}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> PhoneLogin {
        PhoneLogin {
            username: "admin".into(),
            password: "s3cret&x".into(),
        }
    }

    fn path(vendor: Vendor, command: Command) -> String {
        request(vendor, &command, &login())
            .map(|r| r.path_and_query().to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn yealink_puts_key_first_and_no_trailing_ampersand() {
        let dial = path(
            Vendor::Yealink,
            Command::Dial {
                number: "+4930123456".into(),
            },
        );
        assert_eq!(dial, "/servlet?key=number=%2B4930123456");
        assert_eq!(
            path(Vendor::Yealink, Command::Dnd { on: true }),
            "/servlet?key=DNDOn"
        );
        assert_eq!(
            path(Vendor::Yealink, Command::Hangup),
            "/servlet?key=CALLEND"
        );
        assert_eq!(
            path(
                Vendor::Fanvil,
                Command::Dial {
                    number: "+4930123456".into()
                }
            ),
            "/cgi-bin/ConfigManApp.com?key=%2B4930123456;ENTER"
        );
    }

    #[test]
    fn grandstream_masks_its_passcode_in_logs() {
        let request = request(
            Vendor::Grandstream,
            &Command::Dial {
                number: "+1555".into(),
            },
            &login(),
        );
        let request = request.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            request.path_and_query(),
            "/cgi-bin/api-make_call?passcode=s3cret%26x&phonenumber=%2B1555&account=0"
        );
        assert_eq!(request.auth, RequestAuth::InQuery);
        assert!(!request.loggable().contains("s3cret"));
        assert!(!format!("{request:?}").contains("s3cret"));
        assert!(!format!("{:?}", login()).contains("s3cret"));
    }

    #[test]
    fn what_a_phone_cannot_do_is_refused_before_any_request() {
        assert_eq!(
            request(Vendor::Grandstream, &Command::Dnd { on: true }, &login()),
            Err(Refused::Unsupported {
                vendor: Vendor::Grandstream,
                capability: Capability::Dnd
            })
        );
    }

    #[test]
    fn numbers_cannot_inject_parameters() {
        let dial = path(
            Vendor::Snom,
            Command::Dial {
                number: "1&RELEASE_ALL_CALLS".into(),
            },
        );
        assert_eq!(dial, "");
        let refused = request(
            Vendor::Snom,
            &Command::Dial {
                number: "1&RELEASE_ALL_CALLS".into(),
            },
            &login(),
        );
        assert_eq!(refused, Err(Refused::InvalidNumber));
        for bad in ["", "1;ENTER", &"1".repeat(33)] {
            let refused = request(
                Vendor::Fanvil,
                &Command::Dial { number: bad.into() },
                &login(),
            );
            assert_eq!(refused, Err(Refused::InvalidNumber), "{bad:?}");
        }
        assert_eq!(
            path(
                Vendor::Snom,
                Command::Dial {
                    number: "*31#+49".into()
                }
            ),
            "/command.htm?number=%2A31%23%2B49"
        );
    }

    #[test]
    fn answers_are_read_per_vendor() {
        assert_eq!(
            outcome(Vendor::Yealink, 401, ""),
            CommandOutcome::LoginRefused
        );
        assert_eq!(outcome(Vendor::Snom, 403, ""), CommandOutcome::LoginRefused);
        assert_eq!(outcome(Vendor::Yealink, 200, ""), CommandOutcome::Done);
        assert_eq!(
            outcome(Vendor::Fanvil, 500, ""),
            CommandOutcome::Failed("HTTP 500".into())
        );
        assert_eq!(
            outcome(
                Vendor::Grandstream,
                200,
                r#"{"response":"success","body":true}"#
            ),
            CommandOutcome::Done
        );
        assert_eq!(
            outcome(
                Vendor::Grandstream,
                200,
                r#"{"response":"error","body":"unauthorized"}"#
            ),
            CommandOutcome::LoginRefused
        );
        assert!(matches!(
            outcome(
                Vendor::Grandstream,
                200,
                r#"{"response":"error","body":"busy"}"#
            ),
            CommandOutcome::Failed(_)
        ));
    }
}

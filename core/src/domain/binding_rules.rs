//! Who may bind which phone, decided from facts already read: the refusals
//! of a bind that need no database. The bind use case reads the facts under
//! the organisation's lock and asks these functions, in this order:
//! [`admission`], [`against_current_holder`], [`within_limit`].

use super::binding_policy::Policy;
use crate::wire::ErrorCode;
use crate::wire::Role;

/// Why the policy refuses a binding; each has a stable API code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    PhoneDisabled,
    UserDisabled,
    NotGranted,
    PhoneBoundToOther,
    TakeoverNotPermitted,
    LimitReached,
}

impl Denial {
    pub fn code(self) -> ErrorCode {
        match self {
            Self::PhoneDisabled => ErrorCode::PhoneDisabled,
            Self::UserDisabled => ErrorCode::UserDisabled,
            Self::NotGranted => ErrorCode::NotGranted,
            Self::PhoneBoundToOther => ErrorCode::PhoneBoundToOther,
            Self::TakeoverNotPermitted => ErrorCode::TakeoverNotPermitted,
            Self::LimitReached => ErrorCode::LimitReached,
        }
    }

    pub fn detail(self) -> &'static str {
        match self {
            Self::PhoneDisabled => "the phone is disabled",
            Self::UserDisabled => "the user is disabled",
            Self::NotGranted => "no grant lets this user bind this phone; ask an admin",
            Self::PhoneBoundToOther => {
                "someone else holds this phone; ask with takeover=true if the policy lets you take it over"
            }
            Self::TakeoverNotPermitted => {
                "the binding policy does not let this user take over a phone someone else holds"
            }
            Self::LimitReached => {
                "the user already holds as many phones as the binding policy allows; unbind one first"
            }
        }
    }
}

/// Who asks for the binding: the user through the app, or the phone on the
/// user's behalf (whoever stands at a phone is not vouched for by the named
/// user's role).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asker {
    User,
    Phone,
}

/// Whether the user may hold the phone at all: both enabled, and the user an
/// admin or granted the phone (`granted` is not consulted for admins).
pub fn admission(
    phone_disabled: bool,
    user_disabled: bool,
    role: Role,
    granted: bool,
) -> Result<(), Denial> {
    if phone_disabled {
        return Err(Denial::PhoneDisabled);
    }
    if user_disabled {
        return Err(Denial::UserDisabled);
    }
    if role != Role::Admin && !granted {
        return Err(Denial::NotGranted);
    }
    Ok(())
}

/// The phone's current (unexpired) holder, as far as a bind cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrentHolder {
    Nobody,
    TheSameUser,
    Someone,
}

/// What the bind does about the phone's current holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proceed {
    /// The phone is free: bind it.
    Bind,
    /// The user already holds it: nothing changes.
    AlreadyHeld,
    /// End the current holder's binding first.
    TakeOver,
}

pub fn against_current_holder(
    policy: &Policy,
    current: CurrentHolder,
    takeover: bool,
    role: Role,
    asker: Asker,
) -> Result<Proceed, Denial> {
    match current {
        CurrentHolder::Nobody => Ok(Proceed::Bind),
        CurrentHolder::TheSameUser => Ok(Proceed::AlreadyHeld),
        CurrentHolder::Someone if !takeover => Err(Denial::PhoneBoundToOther),
        CurrentHolder::Someone => {
            // A phone asking for someone takes over only where anyone may.
            let taker = match asker {
                Asker::Phone => Role::Salesperson,
                Asker::User => role,
            };
            if policy.may_take_over(taker) {
                Ok(Proceed::TakeOver)
            } else {
                Err(Denial::TakeoverNotPermitted)
            }
        }
    }
}

/// Whether one more phone keeps the user within the policy's limit; `held`
/// counts their bindings in force (expired ones no longer count).
pub fn within_limit(policy: &Policy, held: usize) -> Result<(), Denial> {
    if held >= policy.max_phones_per_user as usize {
        return Err(Denial::LimitReached);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::TakeoverRule;

    fn policy(takeover: TakeoverRule, max: u32) -> Policy {
        Policy {
            takeover,
            max_phones_per_user: max,
            ..Policy::default()
        }
    }

    #[test]
    fn a_disabled_phone_is_refused_before_a_disabled_user() {
        assert_eq!(
            admission(true, true, Role::Admin, true),
            Err(Denial::PhoneDisabled)
        );
        assert_eq!(
            admission(false, true, Role::Admin, true),
            Err(Denial::UserDisabled)
        );
    }

    #[test]
    fn admins_need_no_grant_and_others_do() {
        assert_eq!(admission(false, false, Role::Admin, false), Ok(()));
        for role in [Role::Manager, Role::Salesperson] {
            assert_eq!(
                admission(false, false, role, false),
                Err(Denial::NotGranted)
            );
            assert_eq!(admission(false, false, role, true), Ok(()));
        }
    }

    #[test]
    fn a_free_phone_binds_and_a_held_one_is_already_held() {
        let p = policy(TakeoverRule::Nobody, 1);
        assert_eq!(
            against_current_holder(
                &p,
                CurrentHolder::Nobody,
                false,
                Role::Salesperson,
                Asker::User
            ),
            Ok(Proceed::Bind)
        );
        assert_eq!(
            against_current_holder(
                &p,
                CurrentHolder::TheSameUser,
                true,
                Role::Salesperson,
                Asker::User
            ),
            Ok(Proceed::AlreadyHeld)
        );
    }

    #[test]
    fn someone_elses_phone_needs_takeover_and_the_policy() {
        let managers = policy(TakeoverRule::Managers, 1);
        let someone = CurrentHolder::Someone;
        assert_eq!(
            against_current_holder(&managers, someone, false, Role::Admin, Asker::User),
            Err(Denial::PhoneBoundToOther)
        );
        assert_eq!(
            against_current_holder(&managers, someone, true, Role::Manager, Asker::User),
            Ok(Proceed::TakeOver)
        );
        assert_eq!(
            against_current_holder(&managers, someone, true, Role::Salesperson, Asker::User),
            Err(Denial::TakeoverNotPermitted)
        );
    }

    #[test]
    fn a_phone_asking_takes_over_only_where_anyone_may() {
        let someone = CurrentHolder::Someone;
        assert_eq!(
            against_current_holder(
                &policy(TakeoverRule::Admins, 1),
                someone,
                true,
                Role::Admin,
                Asker::Phone
            ),
            Err(Denial::TakeoverNotPermitted)
        );
        assert_eq!(
            against_current_holder(
                &policy(TakeoverRule::Anyone, 1),
                someone,
                true,
                Role::Salesperson,
                Asker::Phone
            ),
            Ok(Proceed::TakeOver)
        );
    }

    #[test]
    fn the_limit_counts_phones_in_force() {
        let p = policy(TakeoverRule::Nobody, 2);
        assert_eq!(within_limit(&p, 1), Ok(()));
        assert_eq!(within_limit(&p, 2), Err(Denial::LimitReached));
    }
}

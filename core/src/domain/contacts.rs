//! What a contact may hold (docs/contacts.md): bounded text, numbers read
//! as E.164 (national ones in a given region), a bounded list of tags and
//! of custom fields. Requests become [`ContactFields`] before any database
//! work; each refusal names the field.

use std::collections::BTreeMap;

use super::phone_number::E164;
use super::{Email, FieldError, NonBlank};
use crate::ids::UserId;
use crate::wire::{
    ContactVisibility, CreateContact, ErrorCode, ImportContactRow, Role, UpdateContact,
};

pub const MAX_NAME: usize = 200;
pub const MAX_COMPANY: usize = 200;
pub const MAX_NOTES: usize = 10_000;
pub const MAX_EXTERNAL_ID: usize = 200;
pub const MAX_NUMBERS: usize = 20;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG: usize = 40;
pub const MAX_CUSTOM_FIELDS: usize = 30;
pub const MAX_CUSTOM_KEY: usize = 40;
pub const MAX_CUSTOM_VALUE: usize = 1000;

/// One number of a contact: its E.164 form and the text it came as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactPhone {
    pub e164: String,
    pub raw: String,
}

/// A contact's fields, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFields {
    /// May be empty (a contact known only by its number or company).
    pub name: String,
    pub company: Option<String>,
    pub notes: Option<String>,
    pub email: Option<String>,
    /// In the order given, each E.164 number once.
    pub numbers: Vec<ContactPhone>,
    /// In the order given, each tag once.
    pub tags: Vec<String>,
    pub external_id: Option<String>,
    pub custom_fields: BTreeMap<String, String>,
}

impl ContactFields {
    pub fn from_create(body: &CreateContact) -> Result<Self, FieldError> {
        let region = body.region.as_deref();
        let fields = Self {
            name: optional_text("name", body.name.as_deref(), MAX_NAME)?.unwrap_or_default(),
            company: optional_text("company", body.company.as_deref(), MAX_COMPANY)?,
            notes: notes(body.notes.as_deref())?,
            email: email(body.email.as_deref())?,
            numbers: numbers(&body.numbers, region)?,
            tags: tags(&body.tags)?,
            external_id: optional_text(
                "external_id",
                body.external_id.as_deref(),
                MAX_EXTERNAL_ID,
            )?,
            custom_fields: custom_fields(&body.custom_fields)?,
        };
        fields.identifiable()?;
        Ok(fields)
    }

    /// These fields with `patch` applied.
    pub fn patched(&self, patch: &UpdateContact) -> Result<Self, FieldError> {
        let region = patch.region.as_deref();
        let mut next = self.clone();
        if let Some(name) = &patch.name {
            next.name = optional_text("name", Some(name), MAX_NAME)?.unwrap_or_default();
        }
        if let Some(company) = &patch.company {
            next.company = optional_text("company", company.as_deref(), MAX_COMPANY)?;
        }
        if let Some(text) = &patch.notes {
            next.notes = notes(text.as_deref())?;
        }
        if let Some(address) = &patch.email {
            next.email = email(address.as_deref())?;
        }
        if let Some(list) = &patch.numbers {
            next.numbers = numbers(list, region)?;
        }
        if let Some(list) = &patch.tags {
            next.tags = tags(list)?;
        }
        if let Some(id) = &patch.external_id {
            next.external_id = optional_text("external_id", id.as_deref(), MAX_EXTERNAL_ID)?;
        }
        if let Some(map) = &patch.custom_fields {
            next.custom_fields = custom_fields(map)?;
        }
        next.identifiable()?;
        Ok(next)
    }

    /// One import row, checked. A row needs an `external_id` or a number,
    /// which is what makes importing it again find the same contact.
    pub fn from_import(row: &ImportContactRow, region: Option<&str>) -> Result<Self, FieldError> {
        let fields = if row.region.is_none() && region.is_some() {
            Self::from_create(&CreateContact {
                region: region.map(str::to_owned),
                ..row.clone()
            })?
        } else {
            Self::from_create(row)?
        };
        if fields.external_id.is_none() && fields.numbers.is_empty() {
            return Err(FieldError::new(
                "external_id",
                ErrorCode::OneOfRequired,
                "an import row needs an external_id or a number, so that importing it again \
                 finds the same contact",
            ));
        }
        Ok(fields)
    }

    /// These fields updated by an import row: what the row gives replaces
    /// what is stored, the row's numbers are added, and nothing the row
    /// leaves out is removed.
    pub fn imported(&self, row: &Self) -> Self {
        let mut next = self.clone();
        if !row.name.is_empty() {
            next.name.clone_from(&row.name);
        }
        for (mine, theirs) in [
            (&mut next.company, &row.company),
            (&mut next.notes, &row.notes),
            (&mut next.email, &row.email),
            (&mut next.external_id, &row.external_id),
        ] {
            if theirs.is_some() {
                mine.clone_from(theirs);
            }
        }
        for number in &row.numbers {
            if !next.numbers.iter().any(|n| n.e164 == number.e164) {
                next.numbers.push(number.clone());
            }
        }
        if !row.tags.is_empty() {
            next.tags.clone_from(&row.tags);
        }
        for (key, value) in &row.custom_fields {
            next.custom_fields.insert(key.clone(), value.clone());
        }
        next
    }

    /// These fields with `from`'s merged in (docs/contacts.md, "Merge"):
    /// what these lack (name, company, notes, email, external id, a custom
    /// field's key) comes from `from`; numbers and tags are the union, these
    /// first. Refused when the union exceeds a contact's bounds.
    pub fn merged_with(&self, from: &Self) -> Result<Self, FieldError> {
        let mut next = self.clone();
        if next.name.is_empty() {
            next.name.clone_from(&from.name);
        }
        for (mine, theirs) in [
            (&mut next.company, &from.company),
            (&mut next.notes, &from.notes),
            (&mut next.email, &from.email),
            (&mut next.external_id, &from.external_id),
        ] {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
        for number in &from.numbers {
            if !next.numbers.iter().any(|n| n.e164 == number.e164) {
                next.numbers.push(number.clone());
            }
        }
        for tag in &from.tags {
            if !next.tags.contains(tag) {
                next.tags.push(tag.clone());
            }
        }
        for (key, value) in &from.custom_fields {
            next.custom_fields
                .entry(key.clone())
                .or_insert_with(|| value.clone());
        }
        for (field, count, max) in [
            ("numbers", next.numbers.len(), MAX_NUMBERS),
            ("tags", next.tags.len(), MAX_TAGS),
            ("custom_fields", next.custom_fields.len(), MAX_CUSTOM_FIELDS),
        ] {
            if count > max {
                return Err(FieldError::new(
                    field,
                    ErrorCode::TooMany,
                    format!("the merged contact would have {count} {field}, at most {max}"),
                ));
            }
        }
        Ok(next)
    }

    /// A contact must be findable by something: a name, a company or a number.
    fn identifiable(&self) -> Result<(), FieldError> {
        if self.name.is_empty() && self.company.is_none() && self.numbers.is_empty() {
            return Err(FieldError::new(
                "name",
                ErrorCode::OneOfRequired,
                "give at least one of name, company or numbers",
            ));
        }
        Ok(())
    }

    /// The text `q` searches: name and company, lower-cased.
    pub fn search_text(&self) -> String {
        search_text(&self.name, self.company.as_deref())
    }
}

/// What a user may do with one contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactAccess {
    /// Not even that it exists (answered 404).
    Hidden,
    Read,
    Edit,
}

/// Admins and managers edit every contact of the organisation; a
/// salesperson edits the contacts they own and reads the others, unless
/// the organisation's visibility is `own`, which hides the others.
pub fn access(
    role: Role,
    me: UserId,
    owner: Option<UserId>,
    visibility: ContactVisibility,
) -> ContactAccess {
    match role {
        Role::Admin | Role::Manager => ContactAccess::Edit,
        Role::Salesperson if owner == Some(me) => ContactAccess::Edit,
        Role::Salesperson => match visibility {
            ContactVisibility::Organisation => ContactAccess::Read,
            ContactVisibility::Own => ContactAccess::Hidden,
        },
    }
}

/// Whether `role` may make `owner` the owner of a contact it writes: a
/// salesperson only themself.
pub fn may_assign(role: Role, me: UserId, owner: Option<UserId>) -> bool {
    role != Role::Salesperson || owner == Some(me)
}

/// Name and company lower-cased, separated by a newline so that no search
/// matches across the two.
pub fn search_text(name: &str, company: Option<&str>) -> String {
    format!("{}\n{}", name, company.unwrap_or_default()).to_lowercase()
}

/// A `q` search: lower-cased, trimmed, at most [`MAX_NAME`] characters.
pub fn search_query(raw: &str) -> Result<Option<String>, FieldError> {
    let q = raw.trim();
    if q.is_empty() {
        return Ok(None);
    }
    if q.chars().count() > MAX_NAME || q.chars().any(char::is_control) {
        return Err(FieldError::new(
            "q",
            ErrorCode::TooLong,
            format!("must be at most {MAX_NAME} characters of text"),
        ));
    }
    Ok(Some(q.to_lowercase()))
}

fn optional_text(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => NonBlank::parse(field, text, max).map(|t| Some(t.into_inner())),
    }
}

/// Notes may span lines and hold tabs, but no other control characters.
fn notes(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_NOTES {
        return Err(FieldError::new(
            "notes",
            ErrorCode::TooLong,
            format!("must be at most {MAX_NOTES} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(FieldError::new(
            "notes",
            ErrorCode::InvalidCharacters,
            "must not contain control characters other than line breaks and tabs",
        ));
    }
    Ok(Some(text.to_owned()))
}

fn email(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    raw.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| Email::parse("email", t).map(Email::into_inner))
        .transpose()
}

fn numbers(raw: &[String], region: Option<&str>) -> Result<Vec<ContactPhone>, FieldError> {
    if raw.len() > MAX_NUMBERS {
        return Err(FieldError::new(
            "numbers",
            ErrorCode::TooMany,
            format!("at most {MAX_NUMBERS} numbers"),
        ));
    }
    let mut out: Vec<ContactPhone> = Vec::with_capacity(raw.len());
    for text in raw {
        let e164 = E164::parse("numbers", text, region)?.into_inner();
        if !out.iter().any(|n| n.e164 == e164) {
            out.push(ContactPhone {
                e164,
                raw: text.trim().to_owned(),
            });
        }
    }
    Ok(out)
}

/// Tags hold no `"` or `\`, so a tag's JSON form is the tag in quotes (the
/// tag filter matches that form in the stored JSON array).
fn tags(raw: &[String]) -> Result<Vec<String>, FieldError> {
    if raw.len() > MAX_TAGS {
        return Err(FieldError::new(
            "tags",
            ErrorCode::TooMany,
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for text in raw {
        let tag = tag("tags", text)?;
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

/// One tag: trimmed, 1 to [`MAX_TAG`] characters, no quotes, backslashes
/// or control characters.
pub fn tag(field: &'static str, raw: &str) -> Result<String, FieldError> {
    let tag = NonBlank::parse(field, raw, MAX_TAG)?.into_inner();
    if tag.contains(['"', '\\']) {
        return Err(FieldError::new(
            field,
            ErrorCode::InvalidCharacters,
            "a tag must not contain \" or \\",
        ));
    }
    Ok(tag)
}

/// Keys are lower-case letters, digits and `_`, starting with a letter;
/// values are text.
fn custom_fields(raw: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, FieldError> {
    const FIELD: &str = "custom_fields";
    if raw.len() > MAX_CUSTOM_FIELDS {
        return Err(FieldError::new(
            FIELD,
            ErrorCode::TooMany,
            format!("at most {MAX_CUSTOM_FIELDS} custom fields"),
        ));
    }
    let mut out = BTreeMap::new();
    for (key, value) in raw {
        let key_ok = key.len() <= MAX_CUSTOM_KEY
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            return Err(FieldError::new(
                FIELD,
                ErrorCode::InvalidField,
                format!(
                    "custom field key {key:?} must be 1 to {MAX_CUSTOM_KEY} lower-case letters, \
                     digits or _, starting with a letter"
                ),
            ));
        }
        if value.chars().count() > MAX_CUSTOM_VALUE {
            return Err(FieldError::new(
                FIELD,
                ErrorCode::TooLong,
                format!("custom field {key} must be at most {MAX_CUSTOM_VALUE} characters"),
            ));
        }
        out.insert(key.clone(), value.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(f: impl FnOnce(&mut CreateContact)) -> Result<ContactFields, FieldError> {
        let mut body = CreateContact {
            name: Some(" Ann Lee ".into()),
            ..CreateContact::default()
        };
        f(&mut body);
        ContactFields::from_create(&body)
    }

    fn code(r: Result<ContactFields, FieldError>) -> (&'static str, &'static str) {
        match r {
            Ok(_) => ("", "ok"),
            Err(e) => (e.field, e.code.as_str()),
        }
    }

    #[test]
    fn numbers_become_e164_once_each_and_keep_their_raw_form() {
        let fields = create(|b| {
            b.numbers = vec![
                "030 901820".into(),
                "+49 30 901820".into(),
                "+16502530000".into(),
            ];
            b.region = Some("de".into());
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(fields.name, "Ann Lee");
        assert_eq!(
            fields.numbers,
            vec![
                ContactPhone {
                    e164: "+4930901820".into(),
                    raw: "030 901820".into()
                },
                ContactPhone {
                    e164: "+16502530000".into(),
                    raw: "+16502530000".into()
                },
            ]
        );
        assert_eq!(
            code(create(|b| b.numbers = vec!["030 901820".into()])),
            ("numbers", "invalid_phone_number")
        );
    }

    #[test]
    fn every_list_and_text_is_bounded() {
        assert_eq!(
            code(create(|b| b.tags = vec!["t".into(); 1]
                .into_iter()
                .chain((0..MAX_TAGS).map(|i| i.to_string()))
                .collect())),
            ("tags", "too_many")
        );
        assert_eq!(
            code(create(|b| b.tags = vec!["a\"b".into()])),
            ("tags", "invalid_characters")
        );
        assert_eq!(
            code(create(|b| b.name = Some("x".repeat(MAX_NAME + 1)))),
            ("name", "too_long")
        );
        assert_eq!(
            code(create(|b| {
                b.custom_fields.insert("Bad Key".into(), "v".into());
            })),
            ("custom_fields", "invalid_field")
        );
        assert_eq!(
            code(create(|b| {
                b.custom_fields
                    .insert("k".into(), "v".repeat(MAX_CUSTOM_VALUE + 1));
            })),
            ("custom_fields", "too_long")
        );
        assert_eq!(
            code(create(|b| b.email = Some("not-an-address".into()))),
            ("email", "invalid_email")
        );
        assert_eq!(code(create(|b| b.name = None)), ("name", "one_of_required"));
    }

    #[test]
    fn an_import_adds_numbers_and_keeps_what_the_row_leaves_out() {
        let stored = create(|b| {
            b.numbers = vec!["+4930901820".into()];
            b.company = Some("Acme".into());
            b.tags = vec!["vip".into()];
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
        let row = ContactFields::from_import(
            &ImportContactRow {
                numbers: vec!["+16502530000".into()],
                ..ImportContactRow::default()
            },
            None,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let next = stored.imported(&row);
        assert_eq!(next.numbers.len(), 2);
        assert_eq!(next.company.as_deref(), Some("Acme"));
        assert_eq!(next.tags, vec!["vip".to_owned()]);
        assert_eq!(next.imported(&row), next, "importing again changes nothing");
        assert_eq!(
            ContactFields::from_import(
                &ImportContactRow {
                    name: Some("No key".into()),
                    ..ImportContactRow::default()
                },
                None
            )
            .err()
            .map(|e| e.code.as_str()),
            Some("one_of_required")
        );
    }

    #[test]
    fn salespeople_edit_their_own_and_read_the_rest_unless_restricted() {
        let (me, other) = (UserId::new(), UserId::new());
        use ContactVisibility::{Organisation, Own};
        assert_eq!(
            access(Role::Manager, me, Some(other), Own),
            ContactAccess::Edit
        );
        assert_eq!(access(Role::Admin, me, None, Own), ContactAccess::Edit);
        assert_eq!(
            access(Role::Salesperson, me, Some(me), Own),
            ContactAccess::Edit
        );
        assert_eq!(
            access(Role::Salesperson, me, Some(other), Organisation),
            ContactAccess::Read
        );
        assert_eq!(
            access(Role::Salesperson, me, None, Own),
            ContactAccess::Hidden
        );
        assert!(may_assign(Role::Salesperson, me, Some(me)));
        assert!(!may_assign(Role::Salesperson, me, None));
        assert!(may_assign(Role::Manager, me, Some(other)));
    }

    #[test]
    fn search_is_lower_case_and_never_spans_name_and_company() {
        assert_eq!(search_text("Ann LEE", Some("ÄCME")), "ann lee\näcme");
        assert_eq!(
            search_query("  LEE ").ok().flatten().as_deref(),
            Some("lee")
        );
        assert_eq!(search_query(" ").ok().flatten(), None);
    }

    #[test]
    fn a_merge_fills_gaps_unions_numbers_and_tags_and_keeps_the_targets_values() {
        let phone = |e164: &str| ContactPhone {
            e164: e164.into(),
            raw: e164.into(),
        };
        let into = ContactFields {
            name: "Ann".into(),
            numbers: vec![phone("+4930111")],
            tags: vec!["vip".into()],
            custom_fields: [("tier".to_owned(), "gold".to_owned())].into(),
            ..ContactFields::default()
        };
        let from = ContactFields {
            name: "Ann Lee".into(),
            company: Some("Acme".into()),
            numbers: vec![phone("+4930222"), phone("+4930111")],
            tags: vec!["lead".into(), "vip".into()],
            external_id: Some("crm-1".into()),
            custom_fields: [
                ("tier".to_owned(), "silver".to_owned()),
                ("city".to_owned(), "Berlin".to_owned()),
            ]
            .into(),
            ..ContactFields::default()
        };
        let merged = into.merged_with(&from).unwrap();
        assert_eq!(merged.name, "Ann");
        assert_eq!(merged.company.as_deref(), Some("Acme"));
        assert_eq!(merged.external_id.as_deref(), Some("crm-1"));
        let numbers: Vec<_> = merged.numbers.iter().map(|n| n.e164.as_str()).collect();
        assert_eq!(numbers, ["+4930111", "+4930222"]);
        assert_eq!(merged.tags, ["vip", "lead"]);
        assert_eq!(merged.custom_fields["tier"], "gold");
        assert_eq!(merged.custom_fields["city"], "Berlin");

        let many = ContactFields {
            numbers: (0..MAX_NUMBERS)
                .map(|i| phone(&format!("+49301{i:03}")))
                .collect(),
            ..ContactFields::default()
        };
        let refused = many.merged_with(&from).unwrap_err();
        assert_eq!(refused.field, "numbers");
        assert_eq!(refused.code, ErrorCode::TooMany);
    }
}

//! What every signed-in page's frame shows: the navigation the user's role
//! may use, who is signed in, and the CSRF token for the sign-out form.
//! Every page template has a `chrome` field and extends base.html.

use actix_web::HttpResponse;
use askama::Template;
use deskbind_core::wire::Role;

use super::error::ConsoleResult;
use super::session::ConsoleUser;

/// The console's sections, in navigation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Calls,
    Stats,
    Live,
    CallLists,
    Audit,
    Admin,
    Contacts,
    Blocklist,
}

/// The administration pages, in their sub-navigation's order
/// (api/templates/admin_nav.html).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminSection {
    Users,
    Teams,
    Phones,
    Bindings,
    Policies,
    DialRules,
    Push,
    Dispositions,
    ScoreRules,
    ApiKeys,
    Webhooks,
    Retention,
    Settings,
}

#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Debug, Clone)]
pub struct Chrome {
    pub csrf_token: String,
    pub display_name: String,
    pub role: Role,
    pub section: Section,
    /// Which administration page this is, for admin_nav.html.
    pub admin_section: Option<AdminSection>,
}

impl Chrome {
    pub fn new(user: &ConsoleUser, section: Section) -> Self {
        Self {
            csrf_token: user.csrf_token.clone(),
            display_name: user.display_name.clone(),
            role: user.auth.role,
            section,
            admin_section: None,
        }
    }

    /// The frame of an administration page.
    pub fn admin(user: &ConsoleUser, section: AdminSection) -> Self {
        Self {
            admin_section: Some(section),
            ..Self::new(user, Section::Admin)
        }
    }

    /// The administration sub-navigation, the current page marked.
    pub fn admin_nav(&self) -> Vec<NavItem> {
        [
            (AdminSection::Users, "/admin/users", "Users"),
            (AdminSection::Teams, "/admin/teams", "Teams"),
            (AdminSection::Phones, "/admin/phones", "Phones"),
            (AdminSection::Bindings, "/admin/bindings", "Bindings"),
            (AdminSection::Policies, "/admin/policies", "Policies"),
            (AdminSection::DialRules, "/admin/dial-rules", "Dial rules"),
            (AdminSection::Push, "/admin/push", "Push defaults"),
            (
                AdminSection::Dispositions,
                "/admin/dispositions",
                "Dispositions",
            ),
            (
                AdminSection::ScoreRules,
                "/admin/score-rules",
                "Score rules",
            ),
            (
                AdminSection::Settings,
                "/admin/settings",
                "Contacts and calls",
            ),
            (AdminSection::ApiKeys, "/admin/api-keys", "API keys"),
            (AdminSection::Webhooks, "/admin/webhooks", "Webhooks"),
            (AdminSection::Retention, "/admin/retention", "Retention"),
        ]
        .into_iter()
        // Managers see their own teams there, read-only; nothing else.
        .filter(|(section, ..)| self.is_admin() || *section == AdminSection::Teams)
        .map(|(section, href, label)| NavItem {
            href,
            label,
            current: self.admin_section == Some(section),
        })
        .collect()
    }

    pub fn role_label(&self) -> &'static str {
        match self.role {
            Role::Admin => "Admin",
            Role::Manager => "Manager",
            Role::Salesperson => "Salesperson",
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn is_salesperson(&self) -> bool {
        self.role == Role::Salesperson
    }

    /// The sections this role may open.
    pub fn nav(&self) -> Vec<NavItem> {
        let mut items = vec![
            (Section::Calls, "/calls", "Calls"),
            (Section::Stats, "/stats", "Statistics"),
        ];
        items.push((Section::Contacts, "/contacts", "Contacts"));
        items.push((Section::Blocklist, "/blocklist", "Blocklist"));
        if matches!(self.role, Role::Admin | Role::Manager) {
            items.push((Section::Live, "/live", "Live board"));
            items.push((Section::CallLists, "/call-lists", "Call lists"));
            items.push((Section::Audit, "/audit", "Audit log"));
        }
        if self.role == Role::Admin {
            items.push((Section::Admin, "/admin", "Administration"));
        }
        items
            .into_iter()
            .map(|(section, href, label)| NavItem {
                href,
                label,
                current: section == self.section,
            })
            .collect()
    }
}

/// A rendered page, 200 text/html.
pub fn page(template: &impl Template) -> ConsoleResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(template.render()?))
}

/// After a successful form post: back to a page with GET (no resubmit on
/// reload).
pub fn see_other(location: impl Into<String>) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location.into()))
        .finish()
}

//! One module per console page (or small family of pages). Each handler
//! takes a [`super::session::ConsoleUser`] (or a [`super::csrf::ConsoleForm`]
//! for a state change), calls the same repo reads and use cases as the JSON
//! API, and renders a template from api/templates/.

pub mod admin;
pub mod audit;
pub mod blocklist;
pub mod call_lists;
pub mod calls;
pub mod contacts;
pub mod exports;
pub mod imports;
pub mod live;
pub mod phones;
pub mod sign_in;
pub mod stats;

//! The office on the server side, made through the public API: one vendor
//! desk phone per salesperson, each phone created with its driver and a
//! provisioning code for the relay, its salesperson granted and bound to it
//! (as in api/tests/api/vendor_relay.rs, two hundred times).

use anyhow::Context as _;
use deskbind_core::ids::PhoneId;
use deskbind_core::vendor::Vendor;
use deskbind_core::wire::{CreatePhone, CreateUser, PhoneGrants, Role};
use deskbind_mobile::AppClient;
use futures_util::StreamExt as _;

use crate::setup::{PASSWORD, login};

/// Every office phone shares this number; the extension tells them apart.
const PHONE_NUMBER: &str = "+4930555000";
const PROGRESS_EVERY: usize = 50;

/// One desk phone on the server and the salesperson who holds it.
#[derive(Debug)]
pub struct OfficePhone {
    pub index: usize,
    pub id: PhoneId,
    pub vendor: Vendor,
    /// For the relay to redeem once.
    pub provisioning_code: String,
    /// The salesperson's app session.
    pub user: AppClient,
}

/// Sets up one phone and salesperson per entry of `vendors`, `concurrency`
/// at a time (each user costs a password hash to create and one to log in).
pub async fn set_up(
    admin: &AppClient,
    base_url: &str,
    vendors: &[Vendor],
    concurrency: usize,
) -> anyhow::Result<Vec<OfficePhone>> {
    let started = std::time::Instant::now();
    let mut made = futures_util::stream::iter(vendors.iter().copied().enumerate())
        .map(|(index, vendor)| make_one(admin, base_url, index, vendor))
        .buffer_unordered(concurrency.max(1));
    let mut phones = Vec::with_capacity(vendors.len());
    while let Some(phone) = made.next().await {
        phones.push(phone?);
        if phones.len() % PROGRESS_EVERY == 0 || phones.len() == vendors.len() {
            println!(
                "  phones and salespeople set up: {}/{} ({:.1} s)",
                phones.len(),
                vendors.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    phones.sort_by_key(|p| p.index);
    Ok(phones)
}

async fn make_one(
    admin: &AppClient,
    base_url: &str,
    index: usize,
    vendor: Vendor,
) -> anyhow::Result<OfficePhone> {
    let phone = admin
        .create_phone(&CreatePhone {
            number: PHONE_NUMBER.into(),
            region: None,
            extension: Some((100 + index).to_string()),
            label: format!("desk {index} ({vendor})"),
            vendor: None,
            model: None,
            driver: Some(vendor.as_str().into()),
        })
        .await
        .with_context(|| format!("cannot create phone {index}"))?;
    let code = admin
        .create_provisioning_code(phone.id)
        .await
        .with_context(|| format!("cannot get a provisioning code for phone {index}"))?
        .code;
    let email = format!("sales{index}@bench.example");
    let user = admin
        .create_user(&CreateUser {
            email: email.clone(),
            display_name: format!("Sales {index}"),
            role: Role::Salesperson,
            password: PASSWORD.into(),
            time_zone: None,
            team_ids: Vec::new(),
        })
        .await
        .with_context(|| format!("cannot create {email}"))?;
    admin
        .set_phone_grants(
            phone.id,
            &PhoneGrants {
                user_ids: vec![user.id],
                ..Default::default()
            },
        )
        .await
        .with_context(|| format!("cannot grant phone {index}"))?;
    let session = login(base_url, &email).await?;
    session
        .bind_phone(phone.id, false)
        .await
        .with_context(|| format!("cannot bind phone {index}"))?;
    Ok(OfficePhone {
        index,
        id: phone.id,
        vendor,
        provisioning_code: code,
        user: session,
    })
}

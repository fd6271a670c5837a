//! The console's phone pages: another organisation's phone is the 404
//! page for every route, and binding a phone to someone on the page keeps
//! the binding policy (grants) and records the admin in the audit log.

use deskbind_core::wire::{ActorKind, BindingAction, Role};
use deskbind_mobile::BindingEventQuery;

use crate::console_live::Console;
use crate::helpers::{foreign_phone, spawn_app};

#[tokio::test]
async fn another_organisations_phone_is_not_found_on_every_page() {
    let app = spawn_app().await;
    let foreign_admin = app.other_org_admin().await;
    let foreign = foreign_phone(&foreign_admin, "+4930999001").await;
    app.provision(&foreign_admin, foreign.id).await;
    let admin = Console::sign_in(&app.base, &app.admin_email).await;
    let page = format!("/admin/phones/{}", foreign.id);
    assert_eq!(admin.get(&page).await.0, 404);
    for (action, fields) in [
        ("provisioning-code", vec![]),
        ("revoke", vec![]),
        ("enabled", vec![("disabled", "true")]),
        ("grants", vec![("everyone", "on")]),
        ("bind", vec![("email", app.admin_email.as_str())]),
    ] {
        let (status, _) = admin.post(&format!("{page}/{action}"), &fields).await;
        assert_eq!(status, 404, "{action}");
    }
    // Nothing happened to it.
    let after = foreign_admin.get_phone(foreign.id).await.unwrap();
    assert!(after.provisioned && !after.disabled && after.holder.is_none());
}

#[tokio::test]
async fn an_admin_binds_someone_on_the_page_under_the_binding_policy() {
    let app = spawn_app().await;
    let (seller, _) = app.user("sal@acme.test", Role::Salesperson).await;
    let (phone, _) = app.provisioned_phone("+4930555001").await;
    let admin = Console::sign_in(&app.base, &app.admin_email).await;
    let bind = format!("/admin/phones/{}/bind", phone.id);
    let seller_id = seller.id.to_string();
    // Without a grant the policy refuses: the page again, with the reason.
    let (status, page) = admin.post(&bind, &[("user_id", seller_id.as_str())]).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("role=\"alert\""), "{page}");
    assert!(
        app.admin
            .get_phone(phone.id)
            .await
            .unwrap()
            .holder
            .is_none()
    );
    // Granted on the page, then bound on the page.
    let grants = format!("/admin/phones/{}/grants", phone.id);
    let (status, to) = admin.post(&grants, &[("user", seller_id.as_str())]).await;
    assert_eq!((status, to.ends_with("?done=grants")), (303, true), "{to}");
    let (status, to) = admin.post(&bind, &[("user_id", seller_id.as_str())]).await;
    assert_eq!((status, to.ends_with("?done=bound")), (303, true), "{to}");
    let holder = app.admin.get_phone(phone.id).await.unwrap().holder.unwrap();
    assert_eq!(holder.user_id, seller.id);
    let events = app
        .admin
        .list_binding_events(&BindingEventQuery {
            phone_id: Some(phone.id),
            ..Default::default()
        })
        .await
        .unwrap();
    let bound = events
        .items
        .iter()
        .find(|e| e.action == BindingAction::Bound)
        .unwrap();
    assert_eq!(bound.user_id, seller.id);
    assert_eq!(bound.actor.kind, ActorKind::User);
    assert_ne!(bound.actor.id.as_deref(), Some(seller_id.as_str()));
    // Ending it on the page.
    let unbind = format!("/admin/phones/{}/unbind", phone.id);
    let binding = holder.binding_id.to_string();
    let (status, _) = admin
        .post(&unbind, &[("binding_id", binding.as_str())])
        .await;
    assert_eq!(status, 303);
    assert!(
        app.admin
            .get_phone(phone.id)
            .await
            .unwrap()
            .holder
            .is_none()
    );
    // Ending it again: the page says it already ended.
    let (status, _) = admin
        .post(&unbind, &[("binding_id", binding.as_str())])
        .await;
    assert_eq!(status, 409);
}

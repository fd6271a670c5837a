//! `AppClient`'s push: register the app install's FCM token, choose when
//! digests arrive, and ask for one now.

use deskbind_core::ids::PushDeviceId;
use deskbind_core::wire::{
    Page, PushDevice, PushPlatform, PushRequested, PushSchedule, PushScheduleRule,
    PushScheduleUpdate, RegisterPushDevice,
};
use reqwest::Method;

use crate::Result;
use crate::app::AppClient;

impl AppClient {
    /// Registers this install's FCM registration token (again after FCM
    /// rotates it; registering the same token twice is harmless).
    pub async fn register_push_device(
        &self,
        platform: PushPlatform,
        token: &str,
    ) -> Result<PushDevice> {
        self.send(
            Method::POST,
            "v1/push/devices",
            &RegisterPushDevice {
                platform,
                token: token.to_owned(),
            },
        )
        .await
    }

    pub async fn list_push_devices(&self) -> Result<Vec<PushDevice>> {
        let page: Page<PushDevice> = self.get("v1/push/devices").await?;
        Ok(page.items)
    }

    pub async fn delete_push_device(&self, id: PushDeviceId) -> Result<()> {
        self.no_content(Method::DELETE, &format!("v1/push/devices/{id}"))
            .await
    }

    /// The schedule in force for the signed-in user.
    pub async fn push_schedule(&self) -> Result<PushSchedule> {
        self.get("v1/push/schedule").await
    }

    /// Sets the user's own schedule.
    pub async fn set_push_schedule(&self, rule: &PushScheduleRule) -> Result<PushSchedule> {
        let update = PushScheduleUpdate {
            use_default: false,
            daily_at: rule.daily_at.clone(),
            every_minutes: rule.every_minutes,
            on_missed_call: rule.on_missed_call,
            on_new_records: rule.on_new_records,
        };
        self.send(Method::PUT, "v1/push/schedule", &update).await
    }

    /// Follows the organisation's default schedule again.
    pub async fn use_default_push_schedule(&self) -> Result<PushSchedule> {
        let update = PushScheduleUpdate {
            use_default: true,
            ..PushScheduleUpdate::default()
        };
        self.send(Method::PUT, "v1/push/schedule", &update).await
    }

    pub async fn default_push_schedule(&self) -> Result<PushScheduleRule> {
        self.get("v1/push/default-schedule").await
    }

    /// Admins: sets the organisation's default schedule.
    pub async fn set_default_push_schedule(
        &self,
        rule: &PushScheduleRule,
    ) -> Result<PushScheduleRule> {
        self.send(Method::PUT, "v1/push/default-schedule", rule)
            .await
    }

    /// Queues the user's current digest now (rate-limited).
    pub async fn request_push(&self) -> Result<PushRequested> {
        self.bodyless(Method::POST, "v1/push/request").await
    }
}

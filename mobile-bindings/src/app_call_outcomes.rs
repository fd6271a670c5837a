//! `AppClient`: what came of a call (docs/call-outcomes.md): annotate a
//! call, read its edit history, the disposition catalogue and the
//! organisation's call settings (their admin changes too).

use deskbind_core::ids::{CallRecordId, DispositionId};
use deskbind_core::wire::{
    CallHistory, CallRecord, CallSettings, CreateDisposition, Disposition, DispositionList,
    UpdateCall, UpdateDisposition,
};
use reqwest::Method;

use crate::Result;
use crate::app::AppClient;

impl AppClient {
    /// `PATCH /v1/calls/{id}`: the call as the caller sees it after.
    pub async fn update_call(&self, id: CallRecordId, change: &UpdateCall) -> Result<CallRecord> {
        self.send(Method::PATCH, &format!("v1/calls/{id}"), change)
            .await
    }

    pub async fn call_history(&self, id: CallRecordId) -> Result<CallHistory> {
        self.get(&format!("v1/calls/{id}/history")).await
    }

    pub async fn list_dispositions(&self) -> Result<DispositionList> {
        self.get("v1/dispositions").await
    }

    pub async fn create_disposition(&self, body: &CreateDisposition) -> Result<Disposition> {
        self.send(Method::POST, "v1/dispositions", body).await
    }

    pub async fn update_disposition(
        &self,
        id: DispositionId,
        change: &UpdateDisposition,
    ) -> Result<Disposition> {
        self.send(Method::PATCH, &format!("v1/dispositions/{id}"), change)
            .await
    }

    pub async fn call_settings(&self) -> Result<CallSettings> {
        self.get("v1/call-settings").await
    }

    pub async fn set_call_settings(&self, settings: &CallSettings) -> Result<CallSettings> {
        self.send(Method::PUT, "v1/call-settings", settings).await
    }
}

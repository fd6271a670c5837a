//! `AppClient`'s call lists (docs/call-lists.md): managers create lists,
//! import tasks and follow them (report, attempts); salespeople lease the
//! next task, dial it from their desk phone or skip it with a reason.

use deskbind_core::ids::{CallListId, CallTaskId, PhoneId};
use deskbind_core::wire::{
    CallAttempt, CallList, CallListReport, CallListState, CallTask, CallTaskState, CreateCallList,
    DialCallTask, DialCallTaskResult, ImportCallTask, ImportCallTasks, ImportCallTasksResult,
    NextCallTask, NextCallTaskResult, Page, ReassignCallTasks, ReassignCallTasksResult,
    SkipCallTask, UpdateCallList,
};
use reqwest::Method;

use crate::Result;
use crate::app::{AppClient, PageQuery};

impl AppClient {
    /// Managers and admins: a new draft list.
    pub async fn create_call_list(&self, body: &CreateCallList) -> Result<CallList> {
        self.send(Method::POST, "v1/call-lists", body).await
    }

    /// Managers: their lists; admins: the organisation's. Newest first.
    pub async fn list_call_lists(
        &self,
        page: &PageQuery,
        state: Option<CallListState>,
    ) -> Result<Page<CallList>> {
        let mut pairs = page.pairs();
        if let Some(state) = state {
            pairs.push(("state", state.as_str().to_owned()));
        }
        self.get_with("v1/call-lists", &pairs).await
    }

    pub async fn get_call_list(&self, id: CallListId) -> Result<CallList> {
        self.get(&format!("v1/call-lists/{id}")).await
    }

    /// Renames the list or moves its state, from the version read.
    pub async fn update_call_list(
        &self,
        id: CallListId,
        body: &UpdateCallList,
    ) -> Result<CallList> {
        self.send(Method::PATCH, &format!("v1/call-lists/{id}"), body)
            .await
    }

    /// Imports up to 1,000 tasks; one result per row.
    pub async fn import_call_tasks(
        &self,
        id: CallListId,
        tasks: Vec<ImportCallTask>,
    ) -> Result<ImportCallTasksResult> {
        self.send(
            Method::POST,
            &format!("v1/call-lists/{id}/tasks"),
            &ImportCallTasks { tasks },
        )
        .await
    }

    /// A list's tasks in import order.
    pub async fn list_call_tasks(
        &self,
        id: CallListId,
        page: &PageQuery,
        state: Option<CallTaskState>,
    ) -> Result<Page<CallTask>> {
        let mut pairs = page.pairs();
        if let Some(state) = state {
            pairs.push(("state", state.as_str().to_owned()));
        }
        self.get_with(&format!("v1/call-lists/{id}/tasks"), &pairs)
            .await
    }

    /// Moves a user's unfinished tasks of the list to another user, a
    /// team (in turn) or the pool; how many moved.
    pub async fn reassign_call_tasks(
        &self,
        id: CallListId,
        body: &ReassignCallTasks,
    ) -> Result<ReassignCallTasksResult> {
        self.send(Method::POST, &format!("v1/call-lists/{id}/reassign"), body)
            .await
    }

    /// Leases the next task to call now (from `list` only, when given),
    /// or says when one falls due.
    pub async fn next_call_task(&self, list: Option<CallListId>) -> Result<NextCallTaskResult> {
        self.send(
            Method::POST,
            "v1/me/call-list/next",
            &NextCallTask { list_id: list },
        )
        .await
    }

    /// Hands a leased task back with the reason; it comes round later.
    pub async fn skip_call_task(&self, task: CallTaskId, reason: &str) -> Result<CallTask> {
        self.send(
            Method::POST,
            &format!("v1/me/call-list/tasks/{task}/skip"),
            &SkipCallTask {
                reason: reason.to_owned(),
            },
        )
        .await
    }

    /// Dials the task the caller holds from their bound phone (`phone`
    /// when they hold several). Asking again while the task is on that call
    /// answers the same dial.
    pub async fn dial_call_task(
        &self,
        task: CallTaskId,
        phone: Option<PhoneId>,
    ) -> Result<DialCallTaskResult> {
        self.send(
            Method::POST,
            &format!("v1/me/call-list/tasks/{task}/dial"),
            &DialCallTask { phone_id: phone },
        )
        .await
    }

    /// Managers: what came of a list so far.
    pub async fn call_list_report(&self, id: CallListId) -> Result<CallListReport> {
        self.get(&format!("v1/call-lists/{id}/report")).await
    }

    /// Managers: a list's attempts, oldest first (of one task when given).
    pub async fn list_call_attempts(
        &self,
        id: CallListId,
        page: &PageQuery,
        task: Option<CallTaskId>,
    ) -> Result<Page<CallAttempt>> {
        let mut pairs = page.pairs();
        if let Some(task) = task {
            pairs.push(("task_id", task.to_string()));
        }
        self.get_with(&format!("v1/call-lists/{id}/attempts"), &pairs)
            .await
    }
}

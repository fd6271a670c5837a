//! A bearer-token JSON client for the contact tests (the SDK has no
//! contact methods yet): each call answers the status and the JSON body.

use deskbind_mobile::AppClient;
use serde_json::Value;

use crate::helpers::TestApp;

#[derive(Clone)]
pub struct Http {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Http {
    pub async fn of(app: &TestApp, client: &AppClient) -> Self {
        let (token, _) = client.tokens().await.unwrap();
        Self {
            base: app.base.clone(),
            token,
            client: reqwest::Client::new(),
        }
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send("POST", path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send("PATCH", path, Some(body)).await
    }

    /// A body of another content type (CSV); the status and the text.
    pub async fn post_text(&self, path: &str, content_type: &str, body: &str) -> (u16, String) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

/// Creates a contact; panics unless it is created.
pub async fn created(http: &Http, body: Value) -> Value {
    let (status, contact) = http.post("/v1/contacts", body).await;
    assert_eq!(status, 201, "{contact}");
    contact
}

/// Restricts salespeople to their own contacts; panics unless the admin
/// behind `admin` may.
pub async fn own_visibility(admin: &Http) {
    let (status, body) = admin
        .send(
            "PUT",
            "/v1/contact-settings",
            Some(serde_json::json!({"visibility": "own"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

pub fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

pub fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

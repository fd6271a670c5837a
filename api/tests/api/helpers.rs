//! `spawn_app`: a server on port 0 over a fresh database, with an
//! organisation and its admin already created.

use actix_web::dev::ServerHandle;
use deskbind_api::Application;
use deskbind_api::cli::{InitAdminOutcome, init_admin};
use deskbind_api::startup::NodeControl;
use deskbind_core::config::Settings;
use deskbind_core::db::Database;
use deskbind_core::ids::{PhoneId, UserId};
use deskbind_core::testing::TestDb;
use deskbind_core::wire::{
    CreatePhone, CreateUser, Phone, PhoneGrants, PutBindingPolicy, Role, UpdatePhone, UpdateUser,
    User,
};
use deskbind_mobile::{AppClient, ClientError, PhoneClient};
use secrecy::SecretString;

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    pub base: String,
    pub port: u16,
    /// The separate `/metrics` listener, when `metrics_listen` is set.
    pub metrics_port: Option<u16>,
    pub admin: AppClient,
    pub admin_email: String,
    pub db: Database,
    pub settings: Settings,
    /// Starts the node's drain, as SIGTERM would.
    pub node: NodeControl,
    /// The clock dial authorisation reads; follows the system clock until
    /// a test sets it.
    pub clock: deskbind_core::time::Clock,
    /// The node's own services (its relay reaches its streams).
    pub services: deskbind_core::usecases::Services,
    handle: ServerHandle,
    // Dropped last: the database outlives the server.
    _test_db: TestDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting and release the port; the runtime ends with the test.
        drop(self.handle.stop(false));
    }
}

/// Settings for tests: port 0, the test database, generous rate limits, no
/// embedded worker (tests drive it directly).
pub fn test_settings(test_db: &TestDb) -> Settings {
    Settings {
        listen: "127.0.0.1:0".into(),
        data_dir: test_db.dir().join("data"),
        database_url: Some(SecretString::from(test_db.url.expose_url())),
        login_rate_per_minute: 100_000,
        refresh_rate_per_minute: 100_000,
        provision_rate_per_minute: 100_000,
        binding_redeem_rate_per_minute: 100_000,
        phone_binding_rate_per_minute: 100_000,
        dial_rate_per_minute: 100_000,
        phone_event_rate_per_minute: 100_000,
        embedded_worker: false,
        db_pool_size: 8,
        ..Settings::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut Settings)) -> TestApp {
    let test_db = TestDb::new();
    let mut settings = test_settings(&test_db);
    customise(&mut settings);
    let clock = deskbind_core::time::Clock::settable();
    let app = Application::build_with_clock(settings.clone(), clock.clone())
        .await
        .expect("build app");
    let port = app.port();
    let metrics_port = app.metrics_port();
    let base = format!("http://127.0.0.1:{port}");
    let handle = app.handle();
    let node = app.control();
    let services = app.services();
    tokio::spawn(app.run_until_stopped());

    let db = Database::connect(&test_db.url, 2).expect("test db pool");
    let admin_email = "admin@acme.test".to_owned();
    create_admin(&db, "Acme", &admin_email).await;
    let admin = AppClient::new(&base).unwrap();
    admin
        .login(&admin_email, PASSWORD)
        .await
        .expect("admin login");
    TestApp {
        base,
        port,
        metrics_port,
        admin,
        admin_email,
        db,
        settings,
        node,
        clock,
        services,
        handle,
        _test_db: test_db,
    }
}

pub async fn create_admin(db: &Database, org: &str, email: &str) -> UserId {
    let (db, org, email) = (db.clone(), org.to_owned(), email.to_owned());
    let outcome =
        tokio::task::spawn_blocking(move || init_admin(&db, &org, &email, Some(PASSWORD.into())))
            .await
            .unwrap()
            .expect("init-admin");
    match outcome {
        InitAdminOutcome::Created { user_id, .. } => user_id,
        InitAdminOutcome::AlreadyExists => panic!("admin existed already"),
    }
}

impl TestApp {
    pub fn client(&self) -> AppClient {
        AppClient::new(&self.base).unwrap()
    }

    /// Creates a user in the admin's organisation and returns it logged in.
    pub async fn user(&self, email: &str, role: Role) -> (User, AppClient) {
        let user = self
            .admin
            .create_user(&CreateUser {
                email: email.into(),
                display_name: email.split('@').next().unwrap_or(email).into(),
                role,
                password: PASSWORD.into(),
                time_zone: None,
                team_ids: vec![],
            })
            .await
            .expect("create user");
        let client = self.client();
        client.login(email, PASSWORD).await.expect("login");
        (user, client)
    }

    /// An admin of a second, unrelated organisation.
    pub async fn other_org_admin(&self) -> AppClient {
        create_admin(&self.db, "Globex", "admin@globex.test").await;
        let client = self.client();
        client
            .login("admin@globex.test", PASSWORD)
            .await
            .expect("other admin login");
        client
    }

    pub async fn phone(&self, number: &str) -> Phone {
        self.admin
            .create_phone(&CreatePhone {
                number: number.into(),
                region: None,
                extension: None,
                label: format!("Desk {number}"),
                vendor: Some("Yealink".into()),
                model: Some("T54W".into()),
                driver: None,
            })
            .await
            .expect("create phone")
    }

    /// A phone that has redeemed a provisioning code, with its client.
    pub async fn provisioned_phone(&self, number: &str) -> (Phone, PhoneClient) {
        let phone = self.phone(number).await;
        let client = self.provision(&self.admin, phone.id).await;
        (phone, client)
    }

    /// Provisions a phone with a code issued by `admin` (of any organisation).
    pub async fn provision(&self, admin: &AppClient, phone: PhoneId) -> PhoneClient {
        let code = admin
            .create_provisioning_code(phone)
            .await
            .expect("provisioning code");
        PhoneClient::provision(&self.base, &code.code)
            .await
            .expect("provision")
            .0
    }

    /// Lets exactly these users (and admins) bind the phone.
    pub async fn grant(&self, phone: PhoneId, users: &[UserId]) {
        self.admin
            .set_phone_grants(
                phone,
                &PhoneGrants {
                    user_ids: users.to_vec(),
                    ..Default::default()
                },
            )
            .await
            .expect("grant");
    }

    /// Free seating: every user of the organisation may bind the phone.
    pub async fn open_to_everyone(&self, phone: PhoneId) {
        self.admin
            .set_phone_grants(
                phone,
                &PhoneGrants {
                    everyone: true,
                    ..Default::default()
                },
            )
            .await
            .expect("grant everyone");
    }

    pub async fn disable_phone(&self, phone: PhoneId) -> Result<Phone, ClientError> {
        self.admin
            .update_phone(
                phone,
                &UpdatePhone {
                    disabled: Some(true),
                    ..Default::default()
                },
            )
            .await
    }

    pub async fn disable_user(&self, user: UserId) -> Result<User, ClientError> {
        self.admin
            .update_user(
                user,
                &UpdateUser {
                    disabled: Some(true),
                    ..Default::default()
                },
            )
            .await
    }

    pub async fn set_policy(&self, policy: PutBindingPolicy) {
        self.admin
            .set_binding_policy(&policy)
            .await
            .expect("binding policy");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn access_token(&self) -> String {
        self.admin.tokens().await.expect("logged in").0
    }

    /// Counts rows of a table through the test's own connection.
    pub async fn count(&self, table: &'static str) -> i64 {
        self.scalar(format!("SELECT COUNT(*) AS n FROM {table}"))
            .await
    }

    /// Runs a query whose one row has one BIGINT column named `n`.
    pub async fn scalar(&self, sql: String) -> i64 {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Scalar {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        self.db
            .run(move |conn| {
                diesel::sql_query(sql)
                    .get_result::<Scalar>(conn)
                    .map(|c| c.n)
                    .map_err(deskbind_core::db::DbError::from)
            })
            .await
            .expect("scalar query")
    }

    /// Runs raw SQL (to age rows in time-dependent tests).
    pub async fn execute(&self, sql: String) {
        use diesel::connection::SimpleConnection as _;
        self.db
            .run(move |conn| {
                conn.batch_execute(&sql)
                    .map_err(deskbind_core::db::DbError::from)
            })
            .await
            .expect("sql");
    }
}

pub fn code(err: &deskbind_mobile::ClientError) -> (u16, String) {
    (
        err.status().unwrap_or(0),
        err.code().unwrap_or("?").to_owned(),
    )
}

/// A policy: takeover rule, lifetime in hours (`None`: until unbound), phones per user.
pub fn policy(
    takeover: deskbind_core::wire::TakeoverRule,
    hours: Option<u32>,
    max_phones: u32,
) -> PutBindingPolicy {
    use deskbind_core::wire::BindingDuration;
    PutBindingPolicy {
        takeover,
        duration: if hours.is_some() {
            BindingDuration::Hours
        } else {
            BindingDuration::UntilUnbound
        },
        duration_hours: hours,
        workday_end: None,
        max_phones_per_user: max_phones,
    }
}

/// A phone of another organisation, registered by its admin.
pub async fn foreign_phone(foreign_admin: &AppClient, number: &str) -> Phone {
    foreign_admin
        .create_phone(&CreatePhone {
            number: number.into(),
            region: None,
            extension: None,
            label: "Globex desk".into(),
            vendor: None,
            model: None,
            driver: None,
        })
        .await
        .expect("foreign phone")
}

/// Redis for multi-node tests (scripts/test exports `REDIS_URL`); a
/// missing server fails the test loudly at startup.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A second API node over the same database (and token keys), stopped on drop.
pub struct Node {
    pub base: String,
    handle: ServerHandle,
}

impl Drop for Node {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

impl Node {
    /// Stops the node the way a crash would look to its phones: its
    /// connections drop.
    pub async fn kill(self) {
        self.handle.stop(false).await;
    }
}

impl TestApp {
    pub async fn spawn_node(&self, customise: impl FnOnce(&mut Settings)) -> Node {
        let mut settings = self.settings.clone();
        customise(&mut settings);
        let app = Application::build(settings).await.expect("build node");
        let port = app.port();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        Node {
            base: format!("http://127.0.0.1:{port}"),
            handle,
        }
    }

    /// A salesperson holding a new provisioned phone: (user, app client,
    /// phone, phone client).
    pub async fn bound_salesperson(
        &self,
        email: &str,
        number: &str,
    ) -> (User, AppClient, Phone, PhoneClient) {
        let (user, client) = self
            .user(email, deskbind_core::wire::Role::Salesperson)
            .await;
        let (phone, phone_client) = self.provisioned_phone(number).await;
        self.grant(phone.id, &[user.id]).await;
        client.bind_phone(phone.id, false).await.expect("bind");
        (user, client, phone, phone_client)
    }
}

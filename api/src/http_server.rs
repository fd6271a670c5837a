//! The HTTP server: what `actix_web::HttpServer::listen` builds, with one
//! addition it cannot make, actix-http's upgrade hand-over, through which
//! a phone's WebSocket leaves the HTTP/1 dispatcher once it is accepted
//! (`phone_channel::takeover`). Timeouts and the graceful-shutdown signal
//! are HttpServer's defaults, set here explicitly.

use std::net::TcpListener;
use std::rc::Rc;
use std::time::Duration;

use actix_http::body::MessageBody;
use actix_http::{HttpService, KeepAlive, Request};
use actix_server::Server;
use actix_service::{IntoServiceFactory, ServiceFactory, fn_factory, fn_service, map_config};
use actix_web::dev::{AppConfig, ServiceResponse};

use crate::phone_channel::takeover;

/// Serves the App that `make_app` builds (once per worker, and once more
/// per worker for upgrade requests) on `listener`. Signals are left to the
/// caller (SIGTERM first drains the phones).
pub fn serve<F, I, S, B>(
    listener: TcpListener,
    shutdown_timeout_secs: u64,
    make_app: F,
) -> std::io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<
            Request,
            Config = AppConfig,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    S::Service: 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    let addr = listener.local_addr()?;
    let builder = Server::build();
    let graceful = builder.graceful_shutdown_signal();
    let server = builder
        .listen("deskbind-api", listener, move || {
            // What HttpServer gives its App: the host for requests without
            // a Host header, and the local address. actix-web builds it
            // with a crate-private `new`; this is the same constructor.
            let app_config = AppConfig::__priv_test_new(false, addr.to_string(), addr);
            let signal = graceful.clone();
            let upgrade_app = make_app.clone();
            let upgrade_config = app_config.clone();
            HttpService::build()
                .graceful_shutdown_signal(move || {
                    let signal = signal.clone();
                    async move { signal.notified().await }
                })
                .keep_alive(KeepAlive::default())
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                .h1_allow_half_closed(true)
                .local_addr(addr)
                .upgrade(fn_factory(move || {
                    let factory = upgrade_app().into_factory();
                    let config = upgrade_config.clone();
                    async move {
                        let app = Rc::new(factory.new_service(config).await?);
                        Ok::<_, ()>(fn_service(move |(req, framed)| {
                            takeover::serve(Rc::clone(&app), req, framed)
                        }))
                    }
                }))
                .finish(map_config(make_app().into_factory(), move |()| {
                    app_config.clone()
                }))
                .tcp()
        })?
        .shutdown_timeout(shutdown_timeout_secs)
        .disable_signals()
        .run();
    Ok(server)
}

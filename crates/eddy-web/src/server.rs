//! The HTTP server: Flink's REST paths on `rest.address`:`rest.port`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::routing::{get, post};
use axum::Router;
use tokio::sync::oneshot;

use eddy_cluster::resource_manager::ResourceManagerGateway;
use eddy_cluster::DispatcherGateway;
use eddy_core::ids::JobId;

use crate::error::RestError;
use crate::handlers::{checkpoints, cluster, jobs, savepoints};

/// Where the server listens (`rest.address`, `rest.port`; port 0 picks a free one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestServerConfig {
    /// The address to bind, e.g. `127.0.0.1` or `0.0.0.0`.
    pub address: String,
    /// The port; 0 picks a free one.
    pub port: u16,
    /// Whether a free port is taken when `port` is in use (the default endpoint of `eddy
    /// run`, when `rest.port` is not set), rather than failing.
    pub fall_back_to_a_free_port: bool,
}

/// How a savepoint asked for through the REST API is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SavepointOperation {
    /// Not ended yet.
    InProgress,
    /// Completed into this folder.
    Completed(String),
    /// Failed for this reason.
    Failed(String),
}

/// A savepoint operation and whether its outcome was fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrackedOperation {
    pub(crate) operation: SavepointOperation,
    pub(crate) fetched: bool,
}

/// What the handlers share: the cluster's gateways, the configuration `/config` shows, and the
/// savepoint operations triggered so far.
pub struct RestState {
    pub(crate) dispatcher: DispatcherGateway,
    pub(crate) resource_manager: ResourceManagerGateway,
    pub(crate) configuration: Vec<(String, String)>,
    operations: Mutex<HashMap<(JobId, String), TrackedOperation>>,
}

impl RestState {
    /// The state of a server over these gateways; `configuration` is the cluster's
    /// configuration as key/value pairs (shown by `GET /jobmanager/config`).
    pub fn new(
        dispatcher: DispatcherGateway,
        resource_manager: ResourceManagerGateway,
        configuration: Vec<(String, String)>,
    ) -> Arc<RestState> {
        Arc::new(RestState {
            dispatcher,
            resource_manager,
            configuration,
            operations: Mutex::new(HashMap::new()),
        })
    }

    /// The savepoint operations, by job and trigger id.
    pub(crate) fn operations(&self) -> MutexGuard<'_, HashMap<(JobId, String), TrackedOperation>> {
        // Each use is one insert or lookup: a panicked holder leaves nothing half-done.
        self.operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every route, over `state`.
pub fn router(state: Arc<RestState>) -> Router {
    Router::new()
        .route("/overview", get(cluster::overview))
        .route("/config", get(cluster::dashboard_config))
        .route("/jobmanager/config", get(cluster::configuration))
        .route("/taskmanagers", get(cluster::task_managers))
        .route("/jobs", get(jobs::list))
        .route("/jobs/overview", get(jobs::overview))
        .route("/jobs/{jobid}", get(jobs::details).patch(jobs::terminate))
        .route("/jobs/{jobid}/plan", get(jobs::plan))
        .route("/jobs/{jobid}/checkpoints", get(checkpoints::overview))
        .route("/jobs/{jobid}/checkpoints/config", get(checkpoints::config))
        .route("/jobs/{jobid}/savepoints", post(savepoints::trigger))
        .route(
            "/jobs/{jobid}/savepoints/{triggerid}",
            get(savepoints::status),
        )
        .route("/jobs/{jobid}/stop", post(savepoints::stop))
        .fallback(|| async { RestError::NotFound("Not found: no such REST path".into()) })
        .with_state(state)
}

/// How long a stopping server waits for clients to fetch the outcome of their savepoints.
const OUTCOME_GRACE: Duration = Duration::from_secs(10);

/// A running REST server; dropping it stops it, once every savepoint operation's outcome was
/// fetched (at most [`OUTCOME_GRACE`]): a stop-with-savepoint ends the job, and with it the
/// embedded cluster, while its client is still polling for the savepoint's folder.
pub struct RestServer {
    address: SocketAddr,
    state: Arc<RestState>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RestServer {
    /// Binds `config`'s address and serves the REST API over `state` on a thread of its own.
    pub fn start(config: &RestServerConfig, state: Arc<RestState>) -> Result<Self, RestError> {
        let wanted = format!("{}:{}", config.address, config.port);
        let bind_error = |reason: String| RestError::Bind {
            address: wanted.clone(),
            reason,
        };
        let listener = match std::net::TcpListener::bind(&wanted) {
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse && config.fall_back_to_a_free_port =>
            {
                tracing::info!("{wanted} is in use; the REST endpoint takes a free port");
                std::net::TcpListener::bind((config.address.as_str(), 0))
            }
            bound => bound,
        }
        .map_err(|e| bind_error(e.to_string()))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| bind_error(e.to_string()))?;
        let address = listener
            .local_addr()
            .map_err(|e| bind_error(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| bind_error(format!("cannot start its runtime: {e}")))?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = router(state.clone());
        let thread = std::thread::Builder::new()
            .name("rest-endpoint".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(e) => {
                            tracing::error!("REST endpoint: {e}");
                            return;
                        }
                    };
                    let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                        let _ = stopped.await;
                    });
                    if let Err(e) = serve.await {
                        tracing::error!("REST endpoint: {e}");
                    }
                })
            })
            .map_err(|e| bind_error(format!("cannot start its thread: {e}")))?;
        tracing::info!(%address, "REST endpoint listening");
        Ok(RestServer {
            address,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The address it listens on (with the port chosen when `rest.port` was 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for RestServer {
    fn drop(&mut self) {
        let deadline = Instant::now() + OUTCOME_GRACE;
        while Instant::now() < deadline && self.state.operations().values().any(|t| !t.fetched) {
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

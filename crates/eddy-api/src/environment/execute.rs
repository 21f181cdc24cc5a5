//! Turning the recorded program into a job and running it on an embedded mini-cluster.

use std::sync::Arc;

use eddy_checkpoint::config::{
    SAVEPOINTS_DIRECTORY, STATE_RECOVERY_IGNORE_UNCLAIMED_STATE, STATE_RECOVERY_PATH,
};
use eddy_checkpoint::{CheckpointConfig, StorageOptions};
use eddy_cluster::restart::{RestartStrategy, FAILOVER_STRATEGY};
use eddy_cluster::{JobConfig, MiniCluster, MiniClusterConfig};
use eddy_web::{RestServer, RestState};

use crate::client::EmbeddedCluster;
use eddy_core::config::RuntimeMode;
use eddy_core::config::{
    Configuration, AUTO_WATERMARK_INTERVAL, BUFFERS_PER_CHANNEL, BUFFER_TIMEOUT,
    FLOATING_BUFFERS_PER_GATE, MEMORY_SEGMENT_SIZE, NETWORK_BATCH_SIZE, ROCKSDB_LOCAL_DIR,
    ROCKSDB_TIMER_SERVICE_FACTORY, SLOT_REQUEST_TIMEOUT, STATE_BACKEND_TYPE,
    TASK_CANCELLATION_TIMEOUT, TASK_MANAGER_COUNT, TASK_MANAGER_NUM_TASK_SLOTS,
};
use eddy_core::ids::JobId;
use eddy_graph::{execution_plan_json, JobGraph, StreamGraph};
use eddy_runtime::factory::{JobCode, TaskSettings};
use eddy_runtime::state_backend::check_state_backend_built;
use eddy_state::{rocksdb_slot_budget, rocksdb_write_buffer_size, StateBackendConfig};

use super::context::ClientMode;
use super::{chaining_enabled, default_parallelism, StreamExecutionEnvironment};
use crate::client::{JobClient, JobExecutionResult};
use crate::error::JobError;
use crate::graph_builder::BuiltProgram;

impl StreamExecutionEnvironment {
    fn build_program(&self, job_name: &str) -> Result<BuiltProgram, JobError> {
        let state = self.state.lock();
        let parallelism = match state.parallelism {
            Some(p) => p,
            None => {
                state
                    .config
                    .get_optional(&eddy_core::config::PARALLELISM_DEFAULT)?;
                default_parallelism(&state)
            }
        };
        state.program.build(
            job_name,
            parallelism,
            state.max_parallelism,
            state.runtime_mode,
            chaining_enabled(&state)?,
            &state.config,
        )
    }

    /// The program's StreamGraph (operators, edges, resolved parallelism).
    pub fn get_stream_graph(&self, job_name: &str) -> Result<StreamGraph, JobError> {
        Ok(self.build_program(job_name)?.graph)
    }

    /// The program's JobGraph (operator chains).
    pub fn get_job_graph(&self, job_name: &str) -> Result<JobGraph, JobError> {
        Ok(JobGraph::from_stream_graph(
            &self.get_stream_graph(job_name)?,
        )?)
    }

    /// The execution plan as JSON, in the shape of Flink's `getExecutionPlan()`.
    pub fn get_execution_plan(&self) -> Result<String, JobError> {
        let graph = self.get_stream_graph(&self.default_job_name())?;
        Ok(serde_json::to_string_pretty(&execution_plan_json(&graph))
            .expect("plan JSON is serializable"))
    }

    fn default_job_name(&self) -> String {
        self.state
            .lock()
            .config
            .get(&eddy_core::config::PIPELINE_NAME)
            .map(|name| name.into_owned())
            .unwrap_or_else(|_| eddy_core::config::PIPELINE_NAME.default.to_string())
    }

    /// Runs the program as a job and waits for it to end.
    ///
    /// Under `eddy run` this prints the job id on submission and the runtime at the end; under
    /// `eddy info` it captures the plan and returns [`JobError::PlanCaptured`] without running
    /// anything.
    pub fn execute(&self, job_name: &str) -> Result<JobExecutionResult, JobError> {
        let client = self.execute_async(job_name)?;
        let result = client.get_job_execution_result();
        self.job_ended();
        if let (Some(_), Ok(done)) = (&self.state.lock().client, &result) {
            println!("Program execution finished");
            println!("Job with JobID {} has finished.", done.job_id);
            println!("Job Runtime: {} ms", done.net_runtime.as_millis());
        }
        result
    }

    /// Submits the program as a job and returns at once with a client to watch or cancel it.
    /// The program's transformations are cleared, so the environment can build the next job.
    ///
    /// Under the `eddy` CLI the job is announced and registered so that Ctrl-C cancels it; under
    /// `eddy info` the plan is captured instead and [`JobError::PlanCaptured`] returned.
    pub fn execute_async(&self, job_name: &str) -> Result<JobClient, JobError> {
        let client_context = self.state.lock().client.clone();
        if let Some(ClientMode::CapturePlan(slot)) = client_context.as_ref().map(|c| &c.mode) {
            *slot.lock() = Some(self.get_execution_plan()?);
            return Err(JobError::PlanCaptured);
        }
        let BuiltProgram { graph, code } = self.build_program(job_name)?;
        let config = self.state.lock().config.clone();
        let job = JobGraph::from_stream_graph(&graph)?;
        let job_config = job_config(&config, &graph, &job)?;
        // `eddy run` serves the REST API by default, a program only when asked to.
        let rest_config = eddy_web::config::server_config(&config, client_context.is_some())?;
        let cluster = MiniCluster::start(mini_cluster_config(&config, &job)?)?;
        let rest = match rest_config {
            Some(rest_config) => {
                let entries = config.iter().map(|(k, v)| (k.to_string(), v.to_string()));
                let state = RestState::new(
                    cluster.dispatcher(),
                    cluster.resource_manager(),
                    entries.collect(),
                );
                Some(RestServer::start(&rest_config, state)?)
            }
            None => None,
        };
        let job_id = fixed_job_id(&config)?.unwrap_or_else(JobId::generate);
        let dispatcher = cluster.dispatcher();
        let code: Arc<JobCode> = Arc::new(code);
        dispatcher.submit_job(job_id, Arc::new(job), code, job_config)?;
        self.state.lock().program = Default::default();
        let client = JobClient::new(
            job_id,
            dispatcher,
            Arc::new(EmbeddedCluster {
                rest,
                _cluster: cluster,
            }),
        );
        if let Some(context) = &client_context {
            if let Some(address) = client.rest_address() {
                println!("REST endpoint: http://{address}");
            }
            println!("Job has been submitted with JobID {job_id}");
            *context.current_job.lock() = Some(client.clone());
        }
        Ok(client)
    }

    /// Forgets the CLI's handle on the job that just ended (Ctrl-C no longer cancels it).
    pub(crate) fn job_ended(&self) {
        if let Some(context) = &self.state.lock().client {
            *context.current_job.lock() = None;
        }
    }
}

/// Flink's internal option naming the job's id in advance (`eddy run -d` announces the id of
/// the job its background process submits).
const FIXED_JOB_ID: &str = "$internal.pipeline.job-id";

/// The job id `$internal.pipeline.job-id` fixes, if set.
fn fixed_job_id(config: &Configuration) -> Result<Option<JobId>, JobError> {
    let Some(raw) = config.get_string(FIXED_JOB_ID) else {
        return Ok(None);
    };
    JobId::parse(raw.trim()).map(Some).ok_or_else(|| {
        JobError::InvalidProgram(format!(
            "{FIXED_JOB_ID} '{raw}' is not a job id (32 hexadecimal digits)"
        ))
    })
}

fn job_config(
    config: &Configuration,
    graph: &StreamGraph,
    job: &JobGraph,
) -> Result<JobConfig, JobError> {
    let batch_size = config.get(&NETWORK_BATCH_SIZE)?;
    let buffers = config.get(&BUFFERS_PER_CHANNEL)?;
    if batch_size == 0 || buffers == 0 {
        return Err(JobError::InvalidProgram(format!(
            "{} and {} must be at least 1",
            NETWORK_BATCH_SIZE.key, BUFFERS_PER_CHANNEL.key
        )));
    }
    // An explicit batch size fixes the count; otherwise batches of small records fill a
    // segment's bytes.
    let batch_bytes = if config.contains(&NETWORK_BATCH_SIZE) {
        0
    } else {
        usize::try_from(config.get(&MEMORY_SEGMENT_SIZE)?.bytes()).unwrap_or(usize::MAX)
    };
    let checkpointing = checkpointing(config, graph)?;
    let backend = config.get(&STATE_BACKEND_TYPE)?;
    check_state_backend_built(backend)
        .map_err(|reason| config.reject(&STATE_BACKEND_TYPE, reason))?;
    Ok(JobConfig {
        task_settings: TaskSettings {
            batch_size: batch_size as usize,
            batch_bytes,
            buffers_per_channel: buffers as usize,
            floating_buffers_per_gate: config.get(&FLOATING_BUFFERS_PER_GATE)? as usize,
            buffer_timeout: config.get(&BUFFER_TIMEOUT)?,
            auto_watermark_interval: config.get(&AUTO_WATERMARK_INTERVAL)?,
            runtime_mode: graph.runtime_mode,
            state_backend: StateBackendConfig {
                backend,
                local_dir: config.get(&ROCKSDB_LOCAL_DIR)?.to_string(),
                memory_budget: rocksdb_slot_budget(config, slots_per_task_manager(config, job)?)?,
                slot: None,
                timer_service: config.get(&ROCKSDB_TIMER_SERVICE_FACTORY)?,
                write_buffer_size: rocksdb_write_buffer_size(config)?,
            },
        },
        slot_request_timeout: config.get(&SLOT_REQUEST_TIMEOUT)?,
        cancellation_timeout: config.get(&TASK_CANCELLATION_TIMEOUT)?,
        restart_strategy: RestartStrategy::from_configuration(config, checkpointing.is_some())?,
        failover_strategy: config.get(&FAILOVER_STRATEGY)?,
        restore_path: Some(config.get(&STATE_RECOVERY_PATH)?.trim().to_string())
            .filter(|path| !path.is_empty()),
        allow_non_restored_state: config.get(&STATE_RECOVERY_IGNORE_UNCLAIMED_STATE)?,
        savepoint_directory: Some(config.get(&SAVEPOINTS_DIRECTORY)?.trim().to_string())
            .filter(|dir| !dir.is_empty()),
        storage: StorageOptions::from_configuration(config)?,
        checkpointing,
    })
}

/// The checkpointing settings; a BATCH job does not checkpoint (it is re-run instead).
fn checkpointing(
    config: &Configuration,
    graph: &StreamGraph,
) -> Result<Option<CheckpointConfig>, JobError> {
    let settings = CheckpointConfig::from_configuration(config)?;
    if settings.is_some() && graph.runtime_mode == RuntimeMode::Batch {
        tracing::warn!("checkpointing is not used in BATCH execution mode");
        return Ok(None);
    }
    Ok(settings)
}

/// `taskmanager.count` TaskManagers; `taskmanager.numberOfTaskSlots` slots each if configured,
/// else just enough for this job (as Flink's local environment does).
fn mini_cluster_config(
    config: &Configuration,
    job: &JobGraph,
) -> Result<MiniClusterConfig, JobError> {
    Ok(MiniClusterConfig {
        task_managers: config.get(&TASK_MANAGER_COUNT)?.max(1),
        slots_per_task_manager: slots_per_task_manager(config, job)?,
    })
}

/// `taskmanager.numberOfTaskSlots` if configured, else just enough for this job on
/// `taskmanager.count` TaskManagers.
fn slots_per_task_manager(config: &Configuration, job: &JobGraph) -> Result<u32, JobError> {
    let task_managers = config.get(&TASK_MANAGER_COUNT)?.max(1);
    Ok(match config.get_optional(&TASK_MANAGER_NUM_TASK_SLOTS)? {
        Some(slots) => slots,
        None => job.required_slots().div_ceil(task_managers),
    })
}

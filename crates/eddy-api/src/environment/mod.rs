//! The StreamExecutionEnvironment: where programs start and how they execute.

pub mod context;
mod execute;
mod sources;

use std::sync::Arc;

use parking_lot::Mutex;

use eddy_checkpoint::config::{CHECKPOINTING_INTERVAL, CHECKPOINTING_MODE, CHECKPOINTS_DIRECTORY};
use eddy_checkpoint::CheckpointingMode;
use eddy_core::config::{Configuration, RuntimeMode, OPERATOR_CHAINING, PARALLELISM_DEFAULT};
use eddy_core::Data;
use eddy_graph::{ChainingStrategy, NodeId, NodeKind};
use eddy_runtime::factory::OperatorFactory;

use crate::datastream::{DataStream, StreamInput};
use crate::graph_builder::{DeclaredEdge, ProgramRecorder, Transformation};
use context::ClientContext;

pub(crate) struct EnvState {
    pub config: Configuration,
    pub parallelism: Option<u32>,
    pub max_parallelism: Option<u32>,
    pub runtime_mode: Option<RuntimeMode>,
    pub chaining_enabled: Option<bool>,
    pub program: ProgramRecorder,
    pub client: Option<ClientContext>,
}

/// The context in which a program runs: records its transformations and executes them.
///
/// A cheap handle: clones share the same program.
#[derive(Clone)]
pub struct StreamExecutionEnvironment {
    pub(crate) state: Arc<Mutex<EnvState>>,
}

/// What a new node needs besides its factory.
pub(crate) struct NodeSpec<'a> {
    pub name: &'a str,
    pub kind: NodeKind,
    pub num_inputs: u8,
    pub parallelism_limit: Option<u32>,
    pub boundedness: Option<eddy_functions::Boundedness>,
}

impl StreamExecutionEnvironment {
    /// The environment for this program: under the `eddy` CLI, the CLI's (with its
    /// configuration, `-p` and `-D`); otherwise a local environment that runs jobs on an
    /// embedded mini-cluster, configured from `conf/config.yaml` if present (or the directory in
    /// `EDDY_CONF_DIR`).
    pub fn get_execution_environment() -> Self {
        match context::current_client_context() {
            Some(client) => Self::new(client.configuration.clone(), Some(client)),
            None => {
                let dir = std::env::var_os("EDDY_CONF_DIR")
                    .map(std::path::PathBuf::from)
                    .unwrap_or_else(|| "conf".into());
                let mut state_errors = Vec::new();
                let config = Configuration::load_from_dir(&dir).unwrap_or_else(|e| {
                    state_errors.push(e.to_string());
                    Configuration::new()
                });
                let env = Self::new(config, None);
                env.state.lock().program.errors.extend(state_errors);
                env
            }
        }
    }

    /// A local environment with the given configuration (ignores `conf/` and any CLI context).
    pub fn with_configuration(config: Configuration) -> Self {
        Self::new(config, None)
    }

    fn new(config: Configuration, client: Option<ClientContext>) -> Self {
        StreamExecutionEnvironment {
            state: Arc::new(Mutex::new(EnvState {
                config,
                parallelism: None,
                max_parallelism: None,
                runtime_mode: None,
                chaining_enabled: None,
                program: ProgramRecorder::default(),
                client,
            })),
        }
    }

    /// Sets the default parallelism of this program's operators (overrides `-p` and
    /// `parallelism.default`; an operator's own `set_parallelism` overrides it).
    pub fn set_parallelism(&self, parallelism: u32) -> &Self {
        if parallelism == 0 {
            self.record_error("the environment's parallelism must be at least 1".into());
        }
        self.state.lock().parallelism = Some(parallelism);
        self
    }

    /// The default parallelism operators get.
    pub fn get_parallelism(&self) -> u32 {
        let state = self.state.lock();
        state
            .parallelism
            .unwrap_or_else(|| default_parallelism(&state))
    }

    /// Sets the default max parallelism (number of key groups).
    pub fn set_max_parallelism(&self, max_parallelism: u32) -> &Self {
        self.state.lock().max_parallelism = Some(max_parallelism);
        self
    }

    /// STREAMING, BATCH or AUTOMATIC (overrides `execution.runtime-mode`).
    pub fn set_runtime_mode(&self, mode: RuntimeMode) -> &Self {
        self.state.lock().runtime_mode = Some(mode);
        self
    }

    /// Turns operator chaining off for the whole program.
    pub fn disable_operator_chaining(&self) -> &Self {
        self.state.lock().chaining_enabled = Some(false);
        self
    }

    /// Checkpoints every `interval`, exactly-once (`execution.checkpointing.interval`).
    pub fn enable_checkpointing(&self, interval: std::time::Duration) -> &Self {
        self.enable_checkpointing_with_mode(interval, CheckpointingMode::ExactlyOnce)
    }

    /// Checkpoints every `interval` in `mode` (`execution.checkpointing.interval` and
    /// `.mode`). Checkpoints go to `state.checkpoints.dir` (see
    /// [`set_checkpoint_storage`](Self::set_checkpoint_storage)).
    pub fn enable_checkpointing_with_mode(
        &self,
        interval: std::time::Duration,
        mode: CheckpointingMode,
    ) -> &Self {
        if interval.is_zero() {
            self.record_error("the checkpoint interval must be longer than zero".into());
        }
        let mut state = self.state.lock();
        state.config.set(&CHECKPOINTING_INTERVAL, interval);
        state.config.set(&CHECKPOINTING_MODE, mode);
        drop(state);
        self
    }

    /// Where checkpoints are written (`state.checkpoints.dir`): a `file://` URL or a local
    /// path; each job's go to `<dir>/<job-id>/chk-<n>/`.
    pub fn set_checkpoint_storage(&self, directory: &str) -> &Self {
        self.state
            .lock()
            .config
            .set(&CHECKPOINTS_DIRECTORY, directory.to_string().into());
        self
    }

    /// Sets a configuration value for this program's execution (e.g.
    /// `taskmanager.network.batch-size`).
    pub fn set_config(&self, key: &str, value: &str) -> &Self {
        self.state.lock().config.set_string(key, value);
        self
    }

    /// A copy of the effective configuration.
    pub fn configuration(&self) -> Configuration {
        self.state.lock().config.clone()
    }

    pub(crate) fn record_error(&self, message: String) {
        self.state.lock().program.errors.push(message);
    }

    /// Adds a node fed by `inputs` (one edge each, into input `input_index`s as given).
    pub(crate) fn add_node<O: Data>(
        &self,
        spec: NodeSpec<'_>,
        factory: Arc<dyn OperatorFactory>,
        inputs: &[(u8, &StreamInput)],
    ) -> DataStream<O> {
        let mut state = self.state.lock();
        let program = &mut state.program;
        let chaining = if spec.kind == NodeKind::Source {
            ChainingStrategy::Head
        } else {
            ChainingStrategy::Always
        };
        let id: NodeId = program.add(Transformation {
            name: spec.name.to_string(),
            kind: spec.kind,
            parallelism: None,
            max_parallelism: None,
            uid: None,
            slot_sharing_group: None,
            chaining,
            num_inputs: spec.num_inputs,
            parallelism_limit: spec.parallelism_limit,
            boundedness: spec.boundedness,
            emits_side_outputs: false,
            factory,
        });
        for (input_index, input) in inputs {
            program.edges.push(DeclaredEdge {
                source: input.node,
                target: id,
                partitioner: input.partitioner,
                input_index: *input_index,
                side_output: input.side_output.clone(),
                factory: input.edge.clone(),
            });
        }
        drop(state);
        DataStream::from_node(self.clone(), id)
    }

    pub(crate) fn update_node(&self, id: NodeId, update: impl FnOnce(&mut Transformation)) {
        update(self.state.lock().program.get_mut(id));
    }
}

/// `parallelism.default` if configured (the CLI's `-p` sets it); otherwise 1 under the CLI and
/// the number of CPU cores for a local environment, as in Flink.
pub(crate) fn default_parallelism(state: &EnvState) -> u32 {
    match state.config.get_optional(&PARALLELISM_DEFAULT) {
        Ok(Some(p)) => p,
        Ok(None) if state.client.is_some() => PARALLELISM_DEFAULT.default,
        Ok(None) => std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1),
        Err(_) => PARALLELISM_DEFAULT.default,
    }
}

pub(crate) fn chaining_enabled(state: &EnvState) -> Result<bool, crate::JobError> {
    match state.chaining_enabled {
        Some(enabled) => Ok(enabled),
        None => Ok(state.config.get(&OPERATOR_CHAINING)?),
    }
}

//! The configuration options Eddy understands, under Flink's key names where Flink has one.

use std::borrow::Cow;
use std::time::Duration;

use super::{ConfigOption, MemorySize, RuntimeMode, StateBackendType, TimerServiceFactory};

/// `parallelism.default`: parallelism of operators that set none (after the environment's and the
/// CLI's `-p`).
pub const PARALLELISM_DEFAULT: ConfigOption<u32> = ConfigOption {
    key: "parallelism.default",
    fallback_keys: &[],
    default: 1,
    description: "Default parallelism for jobs and operators that do not set one.",
};

/// `pipeline.max-parallelism`: default max parallelism (number of key groups); -1 derives it from
/// the parallelism.
pub const MAX_PARALLELISM: ConfigOption<i64> = ConfigOption {
    key: "pipeline.max-parallelism",
    fallback_keys: &[],
    default: -1,
    description: "Default max parallelism (key groups) of keyed operators; -1 derives it from the parallelism.",
};

/// `pipeline.operator-chaining.enabled`.
pub const OPERATOR_CHAINING: ConfigOption<bool> = ConfigOption {
    key: "pipeline.operator-chaining.enabled",
    fallback_keys: &[],
    default: true,
    description: "Whether operators are chained into one task where Flink's rules allow it.",
};

/// `pipeline.name`: the job name when `execute()` is called without one.
pub const PIPELINE_NAME: ConfigOption<Cow<'static, str>> = ConfigOption {
    key: "pipeline.name",
    fallback_keys: &[],
    default: Cow::Borrowed("Eddy Streaming Job"),
    description: "The job name used when the program gives none.",
};

/// `execution.runtime-mode`.
pub const RUNTIME_MODE: ConfigOption<RuntimeMode> = ConfigOption {
    key: "execution.runtime-mode",
    fallback_keys: &[],
    default: RuntimeMode::Streaming,
    description: "STREAMING, BATCH or AUTOMATIC.",
};

/// `execution.buffer-timeout.interval`: the longest a partially filled output batch waits before
/// it is sent.
pub const BUFFER_TIMEOUT: ConfigOption<Duration> = ConfigOption {
    key: "execution.buffer-timeout.interval",
    fallback_keys: &["execution.buffer-timeout"],
    default: Duration::from_millis(100),
    description: "Maximum time a partially filled output batch waits before it is sent downstream.",
};

/// `taskmanager.numberOfTaskSlots`.
pub const TASK_MANAGER_NUM_TASK_SLOTS: ConfigOption<u32> = ConfigOption {
    key: "taskmanager.numberOfTaskSlots",
    fallback_keys: &[],
    default: 1,
    description: "Slots per TaskManager. In the embedded mini-cluster, when unset, one TaskManager offers as many slots as the job needs.",
};

/// `taskmanager.count`: TaskManagers started by the embedded mini-cluster.
pub const TASK_MANAGER_COUNT: ConfigOption<u32> = ConfigOption {
    key: "taskmanager.count",
    fallback_keys: &["local.number-taskmanager"],
    default: 1,
    description: "Number of TaskManagers the embedded mini-cluster starts.",
};

/// `slot.request.timeout`: how long a job waits for slots before it fails.
pub const SLOT_REQUEST_TIMEOUT: ConfigOption<Duration> = ConfigOption {
    key: "slot.request.timeout",
    fallback_keys: &[],
    default: Duration::from_secs(300),
    description: "How long the JobMaster waits for the slots a job needs before failing it.",
};

/// `taskmanager.network.memory.buffers-per-channel`: batches in flight per channel.
pub const BUFFERS_PER_CHANNEL: ConfigOption<u32> = ConfigOption {
    key: "taskmanager.network.memory.buffers-per-channel",
    fallback_keys: &[],
    default: 2,
    description:
        "Batches that may be queued per input channel before the producer blocks (backpressure).",
};

/// `taskmanager.network.batch-size` (Eddy): records per batch between tasks.
pub const NETWORK_BATCH_SIZE: ConfigOption<u32> = ConfigOption {
    key: "taskmanager.network.batch-size",
    fallback_keys: &[],
    default: 1024,
    description:
        "Records per batch sent between tasks (Eddy's counterpart of Flink's network buffer size); batches of small records hold more, up to taskmanager.memory.segment-size bytes, unless this key is set.",
};

/// `taskmanager.memory.segment-size`: the bytes of records a batch of small records fills
/// (Flink's network buffer size), unless `taskmanager.network.batch-size` is set.
pub const MEMORY_SEGMENT_SIZE: ConfigOption<MemorySize> = ConfigOption {
    key: "taskmanager.memory.segment-size",
    fallback_keys: &[],
    default: MemorySize::kibibytes(32),
    description: "Bytes of records a batch fills when its records are small enough to be more than taskmanager.network.batch-size (at most 8192 records); ignored when taskmanager.network.batch-size is set.",
};

/// `taskmanager.network.memory.floating-buffers-per-gate`: batches an inbox may queue beyond its
/// channels' exclusive ones, shared by all its channels.
pub const FLOATING_BUFFERS_PER_GATE: ConfigOption<u32> = ConfigOption {
    key: "taskmanager.network.memory.floating-buffers-per-gate",
    fallback_keys: &[],
    default: 8,
    description: "Batches a task's inbox may queue beyond its channels' exclusive ones, shared by all channels.",
};

/// `task.cancellation.timeout`: how long the JobMaster waits for cancelled subtasks to stop
/// before it declares the job CANCELED (or FAILED) and abandons their threads.
pub const TASK_CANCELLATION_TIMEOUT: ConfigOption<Duration> = ConfigOption {
    key: "task.cancellation.timeout",
    fallback_keys: &[],
    default: Duration::from_secs(180),
    description: "How long the JobMaster waits for cancelled subtasks to stop.",
};

/// `pipeline.auto-watermark-interval`: how often periodic watermark generators are asked for a
/// watermark (0 disables periodic watermarks).
pub const AUTO_WATERMARK_INTERVAL: ConfigOption<Duration> = ConfigOption {
    key: "pipeline.auto-watermark-interval",
    fallback_keys: &[],
    default: Duration::from_millis(200),
    description: "Interval at which periodic watermark generators emit; 0 disables them.",
};

/// `state.backend.type`: where keyed state lives, `hashmap` (heap) or `rocksdb` (local disk).
pub const STATE_BACKEND_TYPE: ConfigOption<StateBackendType> = ConfigOption {
    key: "state.backend.type",
    fallback_keys: &["state.backend"],
    default: StateBackendType::HashMap,
    description: "Where keyed state lives: hashmap (objects on the heap) or rocksdb (an embedded RocksDB on local disk, for state larger than memory).",
};

/// `state.backend.rocksdb.localdir`: where RocksDB instances keep their files (empty: the
/// system's temporary directory).
pub const ROCKSDB_LOCAL_DIR: ConfigOption<Cow<'static, str>> = ConfigOption {
    key: "state.backend.rocksdb.localdir",
    fallback_keys: &[],
    default: Cow::Borrowed(""),
    description: "Directory for the files of the rocksdb state backend; empty means the system temporary directory.",
};

/// `state.backend.rocksdb.memory.fixed-per-slot`: a fixed memory budget per slot for the
/// RocksDB instances in it (block cache and write buffers together); overrides the managed
/// memory when set.
pub const ROCKSDB_MEMORY_FIXED_PER_SLOT: ConfigOption<MemorySize> = ConfigOption {
    key: "state.backend.rocksdb.memory.fixed-per-slot",
    fallback_keys: &[],
    default: MemorySize::mebibytes(64),
    description: "Fixed memory budget of all RocksDB instances in one slot together (block cache and write buffers); when set it overrides state.backend.rocksdb.memory.managed.",
};

/// `state.backend.rocksdb.writebuffer.size`: the size of one memtable of each state (column
/// family) before it is flushed to a sorted file; within a memory budget at most a quarter of
/// the budget.
pub const ROCKSDB_WRITE_BUFFER_SIZE: ConfigOption<MemorySize> = ConfigOption {
    key: "state.backend.rocksdb.writebuffer.size",
    fallback_keys: &[],
    default: MemorySize::mebibytes(64),
    description: "Size of one memtable of each state (column family) of the rocksdb state backend before it is flushed to a sorted file; within a memory budget at most a quarter of it. Smaller memtables make lookups of frequently updated keys cheaper (each update adds an entry until the flush), at the cost of more flushes and compactions.",
};

/// `state.backend.rocksdb.memory.managed`: whether the RocksDB instances of a slot share the
/// slot's managed memory as their budget.
pub const ROCKSDB_MEMORY_MANAGED: ConfigOption<bool> = ConfigOption {
    key: "state.backend.rocksdb.memory.managed",
    fallback_keys: &[],
    default: true,
    description: "Whether the RocksDB instances of a slot share the slot's managed memory (taskmanager.memory.managed.size divided by the slots) as one bounded block cache and write-buffer budget; false leaves each instance unbounded.",
};

/// `taskmanager.memory.managed.size`: a TaskManager's managed memory, divided evenly among its
/// slots (the RocksDB state backend's budget).
pub const TASK_MANAGER_MEMORY_MANAGED_SIZE: ConfigOption<MemorySize> = ConfigOption {
    key: "taskmanager.memory.managed.size",
    fallback_keys: &[],
    default: MemorySize::mebibytes(128),
    description: "Managed memory of each TaskManager, divided evenly among its slots; the RocksDB state backend's memory budget.",
};

/// `state.backend.rocksdb.timer-service.factory`: where the `rocksdb` backend keeps timers,
/// `ROCKSDB` (in the instance, with the keyed state) or `HEAP`.
pub const ROCKSDB_TIMER_SERVICE_FACTORY: ConfigOption<TimerServiceFactory> = ConfigOption {
    key: "state.backend.rocksdb.timer-service.factory",
    fallback_keys: &[],
    default: TimerServiceFactory::RocksDb,
    description: "Where the rocksdb state backend keeps timers (and so window triggers): ROCKSDB (in the RocksDB instance, beyond memory) or HEAP (on the heap, faster).",
};

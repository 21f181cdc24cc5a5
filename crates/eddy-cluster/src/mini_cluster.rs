//! The embedded mini-cluster: every component in one process.

use std::sync::Arc;
use std::thread::JoinHandle;

use eddy_runtime::network::LocalNetwork;

use crate::dispatcher::{start_dispatcher, DispatcherGateway};
use crate::resource_manager::{start_resource_manager, ResourceManagerGateway};
use crate::task_executor::{start_task_executor, TaskExecutorGateway};
use crate::ClusterError;

/// How many TaskManagers and slots the mini-cluster starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MiniClusterConfig {
    /// TaskManagers (`taskmanager.count`).
    pub task_managers: u32,
    /// Slots per TaskManager (`taskmanager.numberOfTaskSlots`).
    pub slots_per_task_manager: u32,
}

/// A Dispatcher, a ResourceManager and TaskManagers, connected by in-process messages and an
/// in-process network.
pub struct MiniCluster {
    dispatcher: DispatcherGateway,
    resource_manager: ResourceManagerGateway,
    task_executors: Vec<TaskExecutorGateway>,
    threads: Vec<JoinHandle<()>>,
}

impl MiniCluster {
    /// Starts every component.
    pub fn start(config: MiniClusterConfig) -> Result<MiniCluster, ClusterError> {
        let network = LocalNetwork::new();
        let (resource_manager, rm_thread) = start_resource_manager()?;
        let mut threads = vec![rm_thread];
        let mut task_executors = Vec::new();
        for index in 0..config.task_managers {
            let (gateway, thread) = start_task_executor(
                index,
                config.slots_per_task_manager,
                network.clone(),
                &resource_manager,
            )?;
            task_executors.push(gateway);
            threads.push(thread);
        }
        let (dispatcher, dispatcher_thread) =
            start_dispatcher(resource_manager.clone(), Arc::clone(&network))?;
        threads.push(dispatcher_thread);
        Ok(MiniCluster {
            dispatcher,
            resource_manager,
            task_executors,
            threads,
        })
    }

    /// The gateway clients use to submit and control jobs.
    pub fn dispatcher(&self) -> DispatcherGateway {
        self.dispatcher.clone()
    }

    /// The ResourceManager's gateway (TaskManagers and slots).
    pub fn resource_manager(&self) -> ResourceManagerGateway {
        self.resource_manager.clone()
    }
}

impl Drop for MiniCluster {
    fn drop(&mut self) {
        self.dispatcher.shutdown();
        for te in &self.task_executors {
            te.shutdown();
        }
        self.resource_manager.shutdown();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

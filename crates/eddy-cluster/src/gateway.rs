//! The plumbing behind the gateways: message inboxes and request/reply.

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::ClusterError;

/// A one-shot reply channel carried inside a request message.
pub(crate) type Reply<T> = Sender<T>;

/// Sends a request built around a fresh reply channel and waits for the answer.
pub(crate) fn ask<M, T>(
    inbox: &Sender<M>,
    request: impl FnOnce(Reply<T>) -> M,
) -> Result<T, ClusterError> {
    let (reply, answer): (Sender<T>, Receiver<T>) = bounded(1);
    inbox
        .send(request(reply))
        .map_err(|_| ClusterError::ShutDown)?;
    answer.recv().map_err(|_| ClusterError::ShutDown)
}

/// Starts a component thread.
pub(crate) fn spawn_component(
    name: &str,
    body: impl FnOnce() + Send + 'static,
) -> Result<std::thread::JoinHandle<()>, ClusterError> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(body)
        .map_err(|e| ClusterError::Spawn {
            what: name.to_string(),
            reason: e.to_string(),
        })
}

//! The execution plan in the JSON shape of Flink's `getExecutionPlan()`.

use serde_json::{json, Value};

use crate::stream_graph::{NodeKind, StreamGraph};

/// The StreamGraph as Flink's execution-plan JSON: `{"nodes": [{id, type, pact, contents,
/// parallelism, predecessors: [{id, ship_strategy, side}]}]}`.
pub fn execution_plan_json(graph: &StreamGraph) -> Value {
    let nodes: Vec<Value> = graph
        .nodes
        .iter()
        .map(|node| {
            let pact = match node.kind {
                NodeKind::Source => "Data Source",
                NodeKind::Operator => "Operator",
                NodeKind::Sink => "Data Sink",
            };
            let mut entry = json!({
                "id": node.id,
                "type": node.name,
                "pact": pact,
                "contents": node.name,
                "parallelism": node.parallelism,
            });
            let predecessors: Vec<Value> = graph
                .in_edges(node.id)
                .map(|edge| {
                    json!({
                        "id": edge.source,
                        "ship_strategy": edge.partitioner.ship_strategy(),
                        // Flink's JSON generator writes "second" for every input.
                        "side": "second",
                    })
                })
                .collect();
            if !predecessors.is_empty() {
                entry["predecessors"] = Value::Array(predecessors);
            }
            entry
        })
        .collect();
    json!({ "nodes": nodes })
}

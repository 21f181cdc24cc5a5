//! StreamGraph → JobGraph → ExecutionGraph on hand-built graphs: every chaining rule with its
//! negative case, channel wiring of forward / all-to-all / rescale exchanges, and slot needs.

use eddy_core::config::RuntimeMode;
use eddy_graph::{
    is_chainable, ChainingStrategy, ExecutionGraph, GraphError, InputChannel, JobGraph, NodeId,
    NodeKind, PartitionerKind, StreamEdge, StreamGraph, StreamNode,
};

// ----- builders -----

fn node(id: NodeId, name: &str, kind: NodeKind, parallelism: u32) -> StreamNode {
    StreamNode {
        id,
        name: name.to_string(),
        kind,
        parallelism,
        max_parallelism: 128,
        uid: None,
        slot_sharing_group: "default".to_string(),
        // The DataStream API gives sources `Head` and everything else `Always`.
        chaining: if kind == NodeKind::Source {
            ChainingStrategy::Head
        } else {
            ChainingStrategy::Always
        },
        num_inputs: if kind == NodeKind::Source { 0 } else { 1 },
    }
}

fn source(id: NodeId, name: &str, parallelism: u32) -> StreamNode {
    node(id, name, NodeKind::Source, parallelism)
}

fn op(id: NodeId, name: &str, parallelism: u32) -> StreamNode {
    node(id, name, NodeKind::Operator, parallelism)
}

fn sink(id: NodeId, name: &str, parallelism: u32) -> StreamNode {
    node(id, name, NodeKind::Sink, parallelism)
}

fn edge(source: NodeId, target: NodeId, partitioner: PartitionerKind) -> StreamEdge {
    StreamEdge {
        source,
        target,
        partitioner,
        input_index: 0,
        side_output: None,
    }
}

fn forward(source: NodeId, target: NodeId) -> StreamEdge {
    edge(source, target, PartitionerKind::Forward)
}

fn graph(nodes: Vec<StreamNode>, edges: Vec<StreamEdge>) -> StreamGraph {
    StreamGraph {
        job_name: "translation".to_string(),
        nodes,
        edges,
        chaining_enabled: true,
        runtime_mode: RuntimeMode::Streaming,
    }
}

/// `(vertex name, operators)` of every vertex, in vertex order.
fn chains(graph: &StreamGraph) -> Vec<(String, Vec<NodeId>)> {
    JobGraph::from_stream_graph(graph)
        .unwrap()
        .vertices
        .into_iter()
        .map(|v| (v.name, v.operators))
        .collect()
}

fn chain(name: &str, operators: &[NodeId]) -> (String, Vec<NodeId>) {
    (name.to_string(), operators.to_vec())
}

/// Source(1) → A(2) → Sink(3), all forward at parallelism 2.
fn linear() -> StreamGraph {
    graph(
        vec![source(1, "S", 2), op(2, "A", 2), sink(3, "K", 2)],
        vec![forward(1, 2), forward(2, 3)],
    )
}

// ----- chaining rules -----

#[test]
fn forward_equal_parallelism_chains_everything() {
    let g = linear();
    assert!(g.edges.iter().all(|e| is_chainable(&g, e)));
    assert_eq!(chains(&g), vec![chain("S -> A -> K", &[1, 2, 3])]);
    let job = JobGraph::from_stream_graph(&g).unwrap();
    assert!(job.edges.is_empty());
    assert_eq!(job.vertices[0].parallelism, 2);
    assert_eq!(job.vertices[0].head(), 1);
}

#[test]
fn chaining_disabled_gives_one_vertex_per_operator() {
    let mut g = linear();
    g.chaining_enabled = false;
    assert!(g.edges.iter().all(|e| !is_chainable(&g, e)));
    assert_eq!(
        chains(&g),
        vec![chain("S", &[1]), chain("A", &[2]), chain("K", &[3])]
    );
    let job = JobGraph::from_stream_graph(&g).unwrap();
    let exchanges: Vec<(usize, usize, usize)> = job
        .edges
        .iter()
        .map(|e| (e.source_vertex, e.target_vertex, e.stream_edge_index))
        .collect();
    assert_eq!(exchanges, vec![(0, 1, 0), (1, 2, 1)]);
}

#[test]
fn every_non_forward_partitioner_breaks_the_chain() {
    for kind in [
        PartitionerKind::Rebalance,
        PartitionerKind::Rescale,
        PartitionerKind::Shuffle,
        PartitionerKind::Broadcast,
        PartitionerKind::Global,
        PartitionerKind::KeyGroup,
        PartitionerKind::Custom,
    ] {
        let mut g = linear();
        g.edges[1].partitioner = kind;
        assert!(!is_chainable(&g, &g.edges[1]), "{kind:?}");
        assert_eq!(
            chains(&g),
            vec![chain("S -> A", &[1, 2]), chain("K", &[3])],
            "{kind:?}"
        );
        let job = JobGraph::from_stream_graph(&g).unwrap();
        assert_eq!(job.edges.len(), 1);
        assert_eq!(job.edges[0].stream_edge.partitioner, kind);
    }
}

#[test]
fn different_parallelism_is_not_chainable_and_forward_across_it_is_rejected() {
    let mut g = linear();
    g.nodes[2].parallelism = 3;
    // The rule itself, on the forward edge.
    assert!(!is_chainable(&g, &g.edges[1]));
    // A forward edge across a parallelism change is invalid.
    assert_eq!(
        JobGraph::from_stream_graph(&g).unwrap_err(),
        GraphError::ForwardParallelismMismatch {
            upstream: "A".into(),
            upstream_parallelism: 2,
            downstream: "K".into(),
            downstream_parallelism: 3,
        }
    );
    // With rebalance (what the API picks by default) it translates, unchained.
    g.edges[1].partitioner = PartitionerKind::Rebalance;
    assert_eq!(chains(&g), vec![chain("S -> A", &[1, 2]), chain("K", &[3])]);
}

#[test]
fn different_slot_sharing_group_breaks_the_chain() {
    let mut g = linear();
    g.nodes[1].slot_sharing_group = "other".into();
    g.nodes[2].slot_sharing_group = "other".into();
    assert!(!is_chainable(&g, &g.edges[0]));
    assert!(is_chainable(&g, &g.edges[1]));
    assert_eq!(chains(&g), vec![chain("S", &[1]), chain("A -> K", &[2, 3])]);
}

#[test]
fn upstream_never_does_not_chain_after_it() {
    let mut g = linear();
    g.nodes[1].chaining = ChainingStrategy::Never;
    assert!(
        !is_chainable(&g, &g.edges[0]),
        "Never is not chained before"
    );
    assert!(!is_chainable(&g, &g.edges[1]), "nor after");
    assert_eq!(
        chains(&g),
        vec![chain("S", &[1]), chain("A", &[2]), chain("K", &[3])]
    );
}

#[test]
fn downstream_head_starts_a_new_chain_but_chains_after_it() {
    let mut g = linear();
    g.nodes[1].chaining = ChainingStrategy::Head;
    assert!(!is_chainable(&g, &g.edges[0]));
    assert!(is_chainable(&g, &g.edges[1]));
    assert_eq!(chains(&g), vec![chain("S", &[1]), chain("A -> K", &[2, 3])]);
}

#[test]
fn downstream_never_is_not_chained_to_its_input() {
    let mut g = linear();
    g.nodes[2].chaining = ChainingStrategy::Never;
    assert!(is_chainable(&g, &g.edges[0]));
    assert!(!is_chainable(&g, &g.edges[1]));
    assert_eq!(chains(&g), vec![chain("S -> A", &[1, 2]), chain("K", &[3])]);
}

#[test]
fn a_target_with_two_input_edges_is_not_chained() {
    // Union: two sources into one single-input operator.
    let g = graph(
        vec![
            source(1, "S1", 2),
            source(2, "S2", 2),
            op(3, "A", 2),
            sink(4, "K", 2),
        ],
        vec![forward(1, 3), forward(2, 3), forward(3, 4)],
    );
    assert!(!is_chainable(&g, &g.edges[0]));
    assert!(!is_chainable(&g, &g.edges[1]));
    assert_eq!(
        chains(&g),
        vec![
            chain("S1", &[1]),
            chain("S2", &[2]),
            chain("A -> K", &[3, 4])
        ]
    );
}

#[test]
fn a_two_input_operator_is_not_chained_even_with_one_edge() {
    let mut two_input = op(2, "Co", 2);
    two_input.num_inputs = 2;
    let g = graph(
        vec![source(1, "S", 2), two_input, sink(3, "K", 2)],
        vec![forward(1, 2), forward(2, 3)],
    );
    assert!(!is_chainable(&g, &g.edges[0]));
    assert_eq!(
        chains(&g),
        vec![chain("S", &[1]), chain("Co -> K", &[2, 3])]
    );
}

#[test]
fn fan_out_chains_every_branch_and_names_them_like_flink() {
    // S → A → K1 and S → B → K2, all forward: one chain; Flink names it `S -> (A -> K1, B -> K2)`.
    let g = graph(
        vec![
            source(1, "S", 1),
            op(2, "A", 1),
            op(3, "B", 1),
            sink(4, "K1", 1),
            sink(5, "K2", 1),
        ],
        vec![forward(1, 2), forward(1, 3), forward(2, 4), forward(3, 5)],
    );
    assert_eq!(
        chains(&g),
        vec![chain("S -> (A -> K1, B -> K2)", &[1, 2, 4, 3, 5])]
    );
}

#[test]
fn job_edges_keep_stream_edge_order_and_indexes() {
    // S(1) -rebalance-> A(2) -forward-> B(3) -hash-> K(4)
    let g = graph(
        vec![
            source(1, "S", 1),
            op(2, "A", 2),
            op(3, "B", 2),
            sink(4, "K", 2),
        ],
        vec![
            edge(1, 2, PartitionerKind::Rebalance),
            forward(2, 3),
            edge(3, 4, PartitionerKind::KeyGroup),
        ],
    );
    let job = JobGraph::from_stream_graph(&g).unwrap();
    let names: Vec<&str> = job.vertices.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, vec!["S", "A -> B", "K"]);
    let exchanges: Vec<(usize, usize, usize, PartitionerKind)> = job
        .edges
        .iter()
        .map(|e| {
            (
                e.source_vertex,
                e.target_vertex,
                e.stream_edge_index,
                e.stream_edge.partitioner,
            )
        })
        .collect();
    assert_eq!(
        exchanges,
        vec![
            (0, 1, 0, PartitionerKind::Rebalance),
            (1, 2, 2, PartitionerKind::KeyGroup)
        ]
    );
    // The exchange out of the chain starts at the chain's inner operator B.
    assert_eq!(job.edges[1].stream_edge.source, 3);
    assert_eq!(job.vertex_of(3).unwrap().id, 1);
    assert_eq!(job.inputs_of(1).count(), 1);
    assert_eq!(job.outputs_of(1).count(), 1);
}

// ----- slots -----

#[test]
fn required_slots_sum_the_largest_parallelism_of_each_group() {
    // default: S(2), A(4); other: B(3), K(1)
    let mut nodes = vec![
        source(1, "S", 2),
        op(2, "A", 4),
        op(3, "B", 3),
        sink(4, "K", 1),
    ];
    nodes[2].slot_sharing_group = "other".into();
    nodes[3].slot_sharing_group = "other".into();
    let g = graph(
        nodes,
        vec![
            edge(1, 2, PartitionerKind::Rebalance),
            edge(2, 3, PartitionerKind::Rebalance),
            edge(3, 4, PartitionerKind::Rebalance),
        ],
    );
    let job = JobGraph::from_stream_graph(&g).unwrap();
    let groups: Vec<(String, u32)> = job.slot_sharing_groups().into_iter().collect();
    assert_eq!(
        groups,
        vec![("default".to_string(), 4), ("other".to_string(), 3)]
    );
    assert_eq!(job.required_slots(), 7);

    // One group: the largest parallelism only.
    let mut single = g.clone();
    single
        .nodes
        .iter_mut()
        .for_each(|n| n.slot_sharing_group = "default".into());
    assert_eq!(
        JobGraph::from_stream_graph(&single)
            .unwrap()
            .required_slots(),
        4
    );
}

// ----- execution graph wiring -----

/// For each producer subtask of the job's only exchange: its `(consumer, channel)` list.
fn outputs(job: &JobGraph, execution: &ExecutionGraph) -> Vec<Vec<(u32, usize)>> {
    let producer_vertex = job.edges[0].source_vertex;
    execution.subtasks[producer_vertex]
        .iter()
        .map(|s| {
            assert_eq!(s.outputs.len(), 1);
            assert_eq!(s.outputs[0].edge, 0);
            s.outputs[0].consumers.clone()
        })
        .collect()
}

/// For each consumer subtask: the producer of each of its input channels, in channel order.
fn input_producers(job: &JobGraph, execution: &ExecutionGraph) -> Vec<Vec<u32>> {
    let consumer_vertex = job.edges[0].target_vertex;
    execution.subtasks[consumer_vertex]
        .iter()
        .map(|s| {
            assert!(s.inputs.iter().all(|c| c.edge == 0 && c.input_index == 0));
            s.inputs.iter().map(|c| c.producer_subtask).collect()
        })
        .collect()
}

fn exchange(producers: u32, consumers: u32, kind: PartitionerKind) -> (JobGraph, ExecutionGraph) {
    let mut g = graph(
        vec![source(1, "P", producers), sink(2, "C", consumers)],
        vec![edge(1, 2, kind)],
    );
    // Keeps a forward edge an exchange instead of a chain.
    g.chaining_enabled = false;
    let job = JobGraph::from_stream_graph(&g).unwrap();
    let execution = ExecutionGraph::from_job_graph(&job);
    (job, execution)
}

#[test]
fn subtasks_are_named_and_counted() {
    let (_, execution) = exchange(2, 3, PartitionerKind::Rebalance);
    assert_eq!(execution.num_subtasks(), 5);
    let names: Vec<&str> = execution.all_subtasks().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["P (1/2)", "P (2/2)", "C (1/3)", "C (2/3)", "C (3/3)"]
    );
    assert!(execution
        .all_subtasks()
        .all(|s| s.parallelism == if s.vertex == 0 { 2 } else { 3 }));
}

#[test]
fn forward_wires_subtask_i_to_subtask_i() {
    let (job, execution) = exchange(3, 3, PartitionerKind::Forward);
    assert_eq!(
        outputs(&job, &execution),
        vec![vec![(0, 0)], vec![(1, 0)], vec![(2, 0)]]
    );
    assert_eq!(
        input_producers(&job, &execution),
        vec![vec![0], vec![1], vec![2]]
    );
}

#[test]
fn all_to_all_wires_every_producer_to_every_consumer() {
    for kind in [
        PartitionerKind::Rebalance,
        PartitionerKind::Shuffle,
        PartitionerKind::Broadcast,
        PartitionerKind::Global,
        PartitionerKind::KeyGroup,
        PartitionerKind::Custom,
    ] {
        let (job, execution) = exchange(2, 3, kind);
        // Producer p is channel p of every consumer.
        assert_eq!(
            outputs(&job, &execution),
            vec![vec![(0, 0), (1, 0), (2, 0)], vec![(0, 1), (1, 1), (2, 1)]],
            "{kind:?}"
        );
        assert_eq!(
            input_producers(&job, &execution),
            vec![vec![0, 1], vec![0, 1], vec![0, 1]],
            "{kind:?}"
        );
    }
}

#[test]
fn rescale_two_to_four_gives_each_producer_two_consumers() {
    let (job, execution) = exchange(2, 4, PartitionerKind::Rescale);
    assert_eq!(
        outputs(&job, &execution),
        vec![vec![(0, 0), (1, 0)], vec![(2, 0), (3, 0)]]
    );
    assert_eq!(
        input_producers(&job, &execution),
        vec![vec![0], vec![0], vec![1], vec![1]]
    );
}

#[test]
fn rescale_four_to_two_gives_each_consumer_two_producers() {
    let (job, execution) = exchange(4, 2, PartitionerKind::Rescale);
    assert_eq!(
        outputs(&job, &execution),
        vec![vec![(0, 0)], vec![(0, 1)], vec![(1, 0)], vec![(1, 1)]]
    );
    assert_eq!(
        input_producers(&job, &execution),
        vec![vec![0, 1], vec![2, 3]]
    );
}

#[test]
fn rescale_irregular_ratios_follow_flinks_pointwise_ranges() {
    // Flink (VertexInputInfoComputationUtils.computeVertexInputInfoForPointwise): with p ≥ c
    // producers, consumer j reads producers ⌊j·p/c⌋ .. ⌊(j+1)·p/c⌋ − 1; with p < c, producer i
    // feeds consumers ⌈i·c/p⌉ .. ⌈(i+1)·c/p⌉ − 1. Fixtures written out by hand:
    // 3 → 2: consumer 0 ← {0}, consumer 1 ← {1, 2}.
    let (job, execution) = exchange(3, 2, PartitionerKind::Rescale);
    assert_eq!(
        outputs(&job, &execution),
        vec![vec![(0, 0)], vec![(1, 0)], vec![(1, 1)]]
    );
    assert_eq!(input_producers(&job, &execution), vec![vec![0], vec![1, 2]]);

    // 2 → 3: producer 0 → {0, 1}, producer 1 → {2}.
    let (job, execution) = exchange(2, 3, PartitionerKind::Rescale);
    assert_eq!(
        outputs(&job, &execution),
        vec![vec![(0, 0), (1, 0)], vec![(2, 0)]]
    );
    assert_eq!(
        input_producers(&job, &execution),
        vec![vec![0], vec![0], vec![1]]
    );

    // 5 → 3: consumer 0 ← {0}, 1 ← {1, 2}, 2 ← {3, 4}.
    let (job, execution) = exchange(5, 3, PartitionerKind::Rescale);
    assert_eq!(
        input_producers(&job, &execution),
        vec![vec![0], vec![1, 2], vec![3, 4]]
    );
    // 3 → 5: producer 0 → {0, 1}, 1 → {2, 3}, 2 → {4}.
    let (job, execution) = exchange(3, 5, PartitionerKind::Rescale);
    assert_eq!(
        outputs(&job, &execution),
        vec![vec![(0, 0), (1, 0)], vec![(2, 0), (3, 0)], vec![(4, 0)]]
    );
}

#[test]
fn two_input_channels_record_their_input_index() {
    // S1(2) -rebalance-> Co(2) input 0, S2(1) -broadcast-> Co(2) input 1.
    let mut co = op(3, "Co", 2);
    co.num_inputs = 2;
    let mut second = edge(2, 3, PartitionerKind::Broadcast);
    second.input_index = 1;
    let g = graph(
        vec![source(1, "S1", 2), source(2, "S2", 1), co],
        vec![edge(1, 3, PartitionerKind::Rebalance), second],
    );
    let job = JobGraph::from_stream_graph(&g).unwrap();
    let execution = ExecutionGraph::from_job_graph(&job);
    for consumer in &execution.subtasks[2] {
        assert_eq!(
            consumer.inputs,
            vec![
                InputChannel {
                    edge: 0,
                    input_index: 0,
                    producer_subtask: 0
                },
                InputChannel {
                    edge: 0,
                    input_index: 0,
                    producer_subtask: 1
                },
                InputChannel {
                    edge: 1,
                    input_index: 1,
                    producer_subtask: 0
                },
            ]
        );
    }
    assert_eq!(
        execution.subtasks[1][0].outputs[0].consumers,
        vec![(0, 2), (1, 2)]
    );
}

#[test]
fn invalid_graphs_are_rejected() {
    assert_eq!(
        JobGraph::from_stream_graph(&graph(vec![], vec![])).unwrap_err(),
        GraphError::Empty
    );
    let mut g = linear();
    g.nodes[1].parallelism = 0;
    assert!(matches!(
        JobGraph::from_stream_graph(&g).unwrap_err(),
        GraphError::InvalidParallelism { operator, .. } if operator == "A"
    ));
    let mut g = linear();
    g.nodes[1].max_parallelism = 1;
    assert!(matches!(
        JobGraph::from_stream_graph(&g).unwrap_err(),
        GraphError::InvalidParallelism { operator, reason }
            if operator == "A" && reason.contains("larger than the max parallelism 1")
    ));
}

#[test]
fn an_edge_to_a_missing_node_is_an_error_not_a_panic() {
    let mut graph = eddy_graph::StreamGraph {
        job_name: "broken".into(),
        nodes: vec![],
        edges: vec![],
        chaining_enabled: true,
        runtime_mode: eddy_core::config::RuntimeMode::Streaming,
    };
    graph.nodes.push(eddy_graph::StreamNode {
        id: 1,
        name: "Source".into(),
        kind: eddy_graph::NodeKind::Source,
        parallelism: 1,
        max_parallelism: 128,
        uid: None,
        slot_sharing_group: "default".into(),
        chaining: eddy_graph::ChainingStrategy::Head,
        num_inputs: 0,
    });
    graph.edges.push(eddy_graph::StreamEdge {
        source: 1,
        target: 7,
        partitioner: eddy_graph::PartitionerKind::Forward,
        input_index: 0,
        side_output: None,
    });
    assert_eq!(
        eddy_graph::JobGraph::from_stream_graph(&graph).unwrap_err(),
        eddy_graph::GraphError::UnknownNode(7)
    );
}

#[test]
fn operator_ids_are_the_uid_or_a_hash_of_the_graph_position() {
    let mut first = graph(
        vec![source(1, "Source", 1), op(2, "Map", 2), sink(3, "Sink", 2)],
        vec![
            edge(1, 2, PartitionerKind::Rebalance),
            edge(2, 3, PartitionerKind::Forward),
        ],
    );
    first.nodes[2].uid = Some("my-sink".into());
    let ids: Vec<String> = (1..=3).map(|n| first.operator_id(n)).collect();
    assert_eq!(ids[2], "my-sink");
    assert!(ids[..2].iter().all(|id| id.len() == 16), "{ids:?}");
    assert_ne!(ids[0], ids[1]);
    // Names and parallelism do not change the id; the position does.
    let mut renamed = first.clone();
    renamed.nodes[1].name = "Other".into();
    renamed.nodes[1].parallelism = 7;
    assert_eq!(renamed.operator_id(2), ids[1]);
    let mut moved = first.clone();
    moved.edges[0].source = 3;
    assert_ne!(moved.operator_id(2), ids[1]);
}

#[test]
fn pipelined_regions_are_the_connected_parts_of_the_job() {
    // Two independent pipelines, the first with a fan-in: {1, 2 -> 3 -> 4} and {5 -> 6}.
    let g = graph(
        vec![
            source(1, "A", 1),
            source(2, "B", 1),
            op(3, "Union", 2),
            sink(4, "Sink", 1),
            source(5, "C", 1),
            sink(6, "Sink 2", 3),
        ],
        vec![
            edge(1, 3, PartitionerKind::Rebalance),
            edge(2, 3, PartitionerKind::Rebalance),
            edge(3, 4, PartitionerKind::Rebalance),
            edge(5, 6, PartitionerKind::Rebalance),
        ],
    );
    let job = JobGraph::from_stream_graph(&g).unwrap();
    let heads = |region: &Vec<usize>| -> Vec<NodeId> {
        region.iter().map(|&v| job.vertices[v].head()).collect()
    };
    let regions: Vec<Vec<NodeId>> = job.pipelined_regions().iter().map(heads).collect();
    assert_eq!(regions, vec![vec![1, 2, 3, 4], vec![5, 6]]);
}

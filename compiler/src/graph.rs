//! The one place that talks to `petgraph`: deterministic topological order and cycle detection.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use petgraph::graph::DiGraph;

/// A directed graph over named nodes; edges point from a dependency to its dependent.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dag {
    names: Vec<String>,
    edges: BTreeSet<(usize, usize)>,
}

impl Dag {
    /// Adds a node and returns its index.
    pub(crate) fn add_node(&mut self, name: impl Into<String>) -> usize {
        self.names.push(name.into());
        self.names.len() - 1
    }

    /// Adds an edge `from → to` (`to` depends on `from`).
    pub(crate) fn add_edge(&mut self, from: usize, to: usize) {
        self.edges.insert((from, to));
    }

    /// Node indices in topological order, ties broken by name; nodes on or behind a cycle are
    /// left out.
    pub(crate) fn topological_order(&self) -> Vec<usize> {
        let mut indegree = vec![0usize; self.names.len()];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); self.names.len()];
        for &(from, to) in &self.edges {
            indegree[to] += 1;
            dependents[from].push(to);
        }
        let mut ready: BinaryHeap<Reverse<(&str, usize)>> = indegree
            .iter()
            .enumerate()
            .filter(|(_, degree)| **degree == 0)
            .map(|(index, _)| Reverse((self.names[index].as_str(), index)))
            .collect();
        let mut order = Vec::with_capacity(self.names.len());
        while let Some(Reverse((_, index))) = ready.pop() {
            order.push(index);
            for &to in &dependents[index] {
                indegree[to] -= 1;
                if indegree[to] == 0 {
                    ready.push(Reverse((self.names[to].as_str(), to)));
                }
            }
        }
        order
    }

    /// Every cycle, each as its node indices in the order the edges run, starting from the
    /// smallest name, so that reports are stable.
    pub(crate) fn cycles(&self) -> Vec<Vec<usize>> {
        let mut graph = DiGraph::<usize, ()>::new();
        let nodes: Vec<_> = (0..self.names.len()).map(|index| graph.add_node(index)).collect();
        for &(from, to) in &self.edges {
            graph.add_edge(nodes[from], nodes[to], ());
        }
        let mut cycles = Vec::new();
        for component in petgraph::algo::tarjan_scc(&graph) {
            let members: Vec<usize> = component.iter().map(|node| graph[*node]).collect();
            let is_cycle = members.len() > 1 || self.edges.contains(&(members[0], members[0]));
            if !is_cycle {
                continue;
            }
            let start = *members.iter().min_by_key(|index| &self.names[**index]).unwrap_or(&members[0]);
            // Walk edges inside the component from the start until back at the start.
            let mut path = vec![start];
            let mut current = start;
            loop {
                let next = self
                    .edges
                    .iter()
                    .filter(|(from, to)| *from == current && members.contains(to))
                    .map(|(_, to)| *to)
                    .min_by_key(|to| (*to != start && path.contains(to), &self.names[*to]));
                match next {
                    Some(next) if next != start && !path.contains(&next) => {
                        path.push(next);
                        current = next;
                    }
                    _ => break,
                }
            }
            cycles.push(path);
        }
        cycles.sort_by(|a, b| self.names[a[0]].cmp(&self.names[b[0]]));
        cycles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_dependency_then_name() {
        let mut dag = Dag::default();
        let c = dag.add_node("c");
        let a = dag.add_node("a");
        let b = dag.add_node("b");
        dag.add_edge(c, a);
        let order: Vec<usize> = dag.topological_order();
        assert_eq!(order, vec![b, c, a]);
    }

    #[test]
    fn finds_cycles() {
        let mut dag = Dag::default();
        let x = dag.add_node("x");
        let y = dag.add_node("y");
        let z = dag.add_node("z");
        dag.add_edge(x, y);
        dag.add_edge(y, z);
        dag.add_edge(z, x);
        assert_eq!(dag.cycles(), vec![vec![x, y, z]]);
        assert!(dag.topological_order().is_empty());
    }
}

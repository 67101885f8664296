//! `checkout.line_items`: can every unit in the cart fill a requirement slot?
//!
//! The SDK's `evaluate_line_items_max_flow`, step by step, so that verdicts *and*
//! messages agree:
//!
//! 1. Quantities are summed per item id, in the order ids first appear in the cart.
//! 2. Unless some requirement is a wildcard (empty `acceptable_items`), every id must
//!    be acceptable to some requirement; each one that is not is a violation, and
//!    nothing else is checked.
//! 3. An id acceptable to exactly one requirement takes as much of that
//!    requirement's quantity as it can (ids in cart order); what is left over cannot
//!    be assigned.
//! 4. The ids acceptable to several requirements go into a bipartite flow network
//!    (source → id, capacity its quantity; id → requirement, unbounded; requirement
//!    → sink, its remaining quantity), solved with Dinic's algorithm with the
//!    SDK's edge order, so the residual — which units are reported unassigned — is
//!    the SDK's. Step 3 does not change the verdict: an id with one requirement has
//!    no other slot, so any full assignment gives it that one.
//! 5. Any unassigned units make one violation listing `id (units)`.
//!
//! Bounded work: the caller refuses a cart of more than
//! [`super::MAX_LINE_ITEMS`] lines, a constraint of more than
//! [`super::MAX_REQUIREMENTS`] requirements, and a chain whose line-item
//! constraints would build more than [`super::MAX_FLOW_EDGES`] id–requirement
//! edges in total. Dinic's recursion is at most as deep as the network has nodes
//! (≤ 2 + 2 × 256).

use std::collections::{HashMap, HashSet};

use super::checkout::LineItem;
use super::mandate::LineItemRequirement;
use super::violation::ViolationCode;

/// The SDK's "unbounded" capacity of an id → requirement edge, and the most one
/// augmenting pass pushes.
const INF: i128 = 1_000_000_000_000_000;

/// The distinct item ids of a cart with a positive quantity: the `ids` side of the
/// network, whose count times the requirements bounds its edges.
pub(crate) fn distinct_ids(cart: &[LineItem]) -> usize {
    cart_quantities(cart)
        .iter()
        .filter(|(_, quantity)| *quantity > 0)
        .count()
}

fn cart_quantities(cart: &[LineItem]) -> Vec<(&str, i128)> {
    let mut order: Vec<(&str, i128)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for line in cart {
        let id = line.item.id.as_str();
        match index.get(id) {
            Some(&at) => order[at].1 += i128::from(line.quantity),
            None => {
                index.insert(id, order.len());
                order.push((id, i128::from(line.quantity)));
            }
        }
    }
    order
}

/// The violations of `cart` (not empty) against `requirements`: the SDK's messages.
pub(crate) fn evaluate(
    cart: &[LineItem],
    requirements: &[LineItemRequirement],
) -> Vec<(ViolationCode, String)> {
    let quantities = cart_quantities(cart);
    let acceptable: Vec<HashSet<&str>> = requirements
        .iter()
        .map(|requirement| {
            requirement
                .acceptable_items
                .iter()
                .map(|item| item.id.as_str())
                .collect()
        })
        .collect();
    let wildcard: Vec<bool> = requirements
        .iter()
        .map(|requirement| requirement.acceptable_items.is_empty())
        .collect();
    let accepts = |requirement: usize, id: &str| {
        wildcard[requirement] || acceptable[requirement].contains(id)
    };

    if !wildcard.iter().any(|w| *w) {
        let unknown: Vec<(ViolationCode, String)> = quantities
            .iter()
            .filter(|(id, quantity)| {
                *quantity > 0 && !acceptable.iter().any(|set| set.contains(id))
            })
            .map(|(id, _)| {
                (
                    ViolationCode::LineItemNotAcceptable,
                    format!("Item {id} not in any requirement's acceptable items"),
                )
            })
            .collect();
        if !unknown.is_empty() {
            return unknown;
        }
    }

    let mut remaining: Vec<i128> = requirements
        .iter()
        .map(|requirement| i128::from(requirement.quantity))
        .collect();
    let mut unassigned: Vec<String> = Vec::new();
    let mut shared: Vec<(&str, i128)> = Vec::new();
    for &(id, quantity) in &quantities {
        if quantity <= 0 {
            continue;
        }
        let mut matching = (0..requirements.len()).filter(|&j| accepts(j, id));
        match (matching.next(), matching.next()) {
            (Some(only), None) => {
                let assigned = quantity.min(remaining[only]);
                remaining[only] -= assigned;
                if quantity > assigned {
                    unassigned.push(format!("{id} ({})", quantity - assigned));
                }
            }
            _ => shared.push((id, quantity)),
        }
    }

    if !shared.is_empty() {
        let ids = shared.len();
        let source = 0;
        let sink = 1 + ids + requirements.len();
        let mut network = Network::new(sink + 1);
        for (i, &(_, quantity)) in shared.iter().enumerate() {
            network.add(source, 1 + i, quantity);
        }
        for (i, &(id, _)) in shared.iter().enumerate() {
            for j in (0..requirements.len()).filter(|&j| accepts(j, id)) {
                network.add(1 + i, 1 + ids + j, INF);
            }
        }
        for (j, capacity) in remaining.iter().enumerate() {
            network.add(1 + ids + j, sink, *capacity);
        }
        let flow = network.max_flow(source, sink);
        let total: i128 = shared.iter().map(|(_, quantity)| quantity).sum();
        if flow < total {
            // The source's edges were added first, one per id, in order.
            for (i, &(id, _)) in shared.iter().enumerate() {
                let left = network.capacity[network.adjacent[source][i]];
                if left > 0 {
                    unassigned.push(format!("{id} ({left})"));
                }
            }
        }
    }

    if unassigned.is_empty() {
        return Vec::new();
    }
    vec![(
        ViolationCode::LineItemsUnassigned,
        format!(
            "Cannot satisfy line item constraints: {} could not be assigned to any requirement slot",
            unassigned.join(", ")
        ),
    )]
}

/// A flow network as the SDK builds it: per node, its edges in insertion order;
/// edge `e ^ 1` is the residual twin of edge `e`.
struct Network {
    head: Vec<usize>,
    capacity: Vec<i128>,
    adjacent: Vec<Vec<usize>>,
}

impl Network {
    fn new(nodes: usize) -> Self {
        Network {
            head: Vec::new(),
            capacity: Vec::new(),
            adjacent: vec![Vec::new(); nodes],
        }
    }

    fn add(&mut self, from: usize, to: usize, capacity: i128) {
        let edge = self.head.len();
        self.head.extend([to, from]);
        self.capacity.extend([capacity, 0]);
        self.adjacent[from].push(edge);
        self.adjacent[to].push(edge ^ 1);
    }

    /// Dinic's algorithm: level graphs by breadth-first search, blocking flows by
    /// depth-first search with a per-node edge pointer.
    fn max_flow(&mut self, source: usize, sink: usize) -> i128 {
        let mut total = 0;
        while let Some(level) = self.levels(source, sink) {
            let mut next = vec![0usize; self.adjacent.len()];
            loop {
                let pushed = self.push(source, sink, INF, &level, &mut next);
                if pushed == 0 {
                    break;
                }
                total += pushed;
            }
        }
        total
    }

    fn levels(&self, source: usize, sink: usize) -> Option<Vec<usize>> {
        let mut level = vec![usize::MAX; self.adjacent.len()];
        level[source] = 0;
        let mut queue = std::collections::VecDeque::from([source]);
        while let Some(node) = queue.pop_front() {
            for &edge in &self.adjacent[node] {
                let to = self.head[edge];
                if level[to] == usize::MAX && self.capacity[edge] > 0 {
                    level[to] = level[node] + 1;
                    queue.push_back(to);
                }
            }
        }
        (level[sink] != usize::MAX).then_some(level)
    }

    fn push(
        &mut self,
        node: usize,
        sink: usize,
        mut pushed: i128,
        level: &[usize],
        next: &mut [usize],
    ) -> i128 {
        if node == sink || pushed == 0 {
            return pushed;
        }
        let mut total = 0;
        while next[node] < self.adjacent[node].len() {
            let edge = self.adjacent[node][next[node]];
            let to = self.head[edge];
            let capacity = self.capacity[edge];
            if level[to] == level[node] + 1 && capacity > 0 {
                let flowed = self.push(to, sink, pushed.min(capacity), level, next);
                if flowed > 0 {
                    self.capacity[edge] -= flowed;
                    self.capacity[edge ^ 1] += flowed;
                    total += flowed;
                    pushed -= flowed;
                    if pushed == 0 {
                        break;
                    }
                }
            }
            next[node] += 1;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ap2::checkout::Item;
    use crate::ap2::mandate::AcceptableItem;

    fn cart(lines: &[(&str, i64)]) -> Vec<LineItem> {
        lines
            .iter()
            .enumerate()
            .map(|(index, (id, quantity))| LineItem {
                id: format!("li_{index}"),
                item: Item {
                    id: (*id).into(),
                    title: (*id).into(),
                    price: 0,
                },
                quantity: *quantity,
                parent_id: None,
            })
            .collect()
    }

    fn requirements(list: &[(&[&str], i64)]) -> Vec<LineItemRequirement> {
        list.iter()
            .enumerate()
            .map(|(index, (ids, quantity))| LineItemRequirement {
                id: format!("r{index}"),
                acceptable_items: ids
                    .iter()
                    .map(|id| AcceptableItem {
                        id: (*id).into(),
                        title: (*id).into(),
                    })
                    .collect(),
                quantity: *quantity,
            })
            .collect()
    }

    /// The cases of the SDK's `constraints_line_items_tests.py`, plus the messages
    /// the SDK prints for them (checked against it).
    #[test]
    fn line_items_are_matched_to_requirement_slots_as_the_sdk_matches_them() {
        type Case<'a> = (
            &'a str,
            &'a [(&'a [&'a str], i64)],
            &'a [(&'a str, i64)],
            &'a [&'a str],
        );
        let none: &[&str] = &[];
        let cases: &[Case<'_>] = &[
            ("one id within its quantity", &[(&["A"], 3)], &[("A", 2)], none),
            ("one id over its quantity", &[(&["A"], 2)], &[("A", 3)],
                &["Cannot satisfy line item constraints: A (1) could not be assigned to any requirement slot"]),
            ("an id no requirement accepts", &[(&["A"], 5)], &[("Z", 1)],
                &["Item Z not in any requirement's acceptable items"]),
            ("two ids competing for one slot", &[(&["A"], 1), (&["B", "C"], 1)], &[("B", 1), ("C", 1)],
                &["Cannot satisfy line item constraints: C (1) could not be assigned to any requirement slot"]),
            ("two ids in their own slots", &[(&["A"], 1), (&["B", "C"], 1)], &[("A", 1), ("B", 1)], none),
            ("an id shared by two requirements fills both", &[(&["A"], 2), (&["A", "B"], 3)], &[("A", 5)], none),
            ("an id shared by two requirements overflows both", &[(&["A"], 2), (&["A", "B"], 3)], &[("A", 6)],
                &["Cannot satisfy line item constraints: A (1) could not be assigned to any requirement slot"]),
            ("a wildcard accepts any id", &[(&[], 10)], &[("ANY", 5)], none),
            ("routing through three slots", &[(&["A", "B"], 1), (&["B", "C"], 1), (&["C", "D"], 1)],
                &[("A", 1), ("B", 1), ("C", 1)], none),
            ("no slot for the second id", &[(&["A"], 1), (&["A"], 1)], &[("A", 1), ("B", 1)],
                &["Item B not in any requirement's acceptable items"]),
            ("one id split across two slots", &[(&["A", "B"], 2), (&["A", "C"], 3)], &[("A", 4), ("C", 1)], none),
            ("repeated lines of an id are summed", &[(&["A"], 3)], &[("A", 1), ("A", 2)], none),
            ("a cart below the capacity", &[(&["A"], 5), (&["B"], 5)], &[("A", 1), ("B", 1)], none),
            ("every unknown id is listed", &[(&["A"], 5)], &[("X", 1), ("A", 1), ("Y", 2)],
                &["Item X not in any requirement's acceptable items", "Item Y not in any requirement's acceptable items"]),
            ("single-slot leftovers come before shared ones",
                &[(&["S"], 1), (&["P", "Q"], 1), (&["P", "Q"], 1)], &[("P", 2), ("S", 3), ("Q", 1)],
                &["Cannot satisfy line item constraints: S (2), Q (1) could not be assigned to any requirement slot"]),
            ("a wildcard next to a named slot", &[(&["A"], 1), (&[], 1)], &[("A", 2), ("B", 1)],
                &["Cannot satisfy line item constraints: A (1) could not be assigned to any requirement slot"]),
        ];
        for (name, reqs, lines, expected) in cases {
            let got: Vec<String> = evaluate(&cart(lines), &requirements(reqs))
                .into_iter()
                .map(|(code, message)| {
                    assert_eq!(ViolationCode::from_sdk_message(&message), Some(code));
                    message
                })
                .collect();
            assert_eq!(got, *expected, "{name}");
        }
    }

    #[test]
    fn a_full_sized_basket_is_matched_quickly() {
        // 256 distinct ids, 256 requirements, every id acceptable to every
        // requirement: the largest network the limits allow.
        let ids: Vec<String> = (0..256).map(|i| format!("sku-{i}")).collect();
        let lines: Vec<(&str, i64)> = ids.iter().map(|id| (id.as_str(), 3)).collect();
        let all: Vec<&str> = ids.iter().map(String::as_str).collect();
        let reqs: Vec<(&[&str], i64)> = (0..256).map(|_| (all.as_slice(), 2)).collect();
        let started = std::time::Instant::now();
        let violations = evaluate(&cart(&lines), &requirements(&reqs));
        assert_eq!(violations.len(), 1, "768 units, 512 slots");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}

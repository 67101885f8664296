//! One conformance suite, every backend: each test is an `async fn` taking a
//! [`Harness`], run once on sled (a fresh temporary directory) and once on
//! PostgreSQL (a fresh schema of the database `AGENTID_TEST_POSTGRES` names, dropped
//! afterwards; skipped, saying so, when the variable is unset).
//!
//! One file per topic: [`steps`] (each step's rules), [`limits`] (sizes, the open
//! limit, sweeping), [`marks`] (values used once), [`nodes`] (concurrency, sharing, durability), and [`backends`]
//! (checks of one backend each: locks, corrupt records, schema versions,
//! unreachable servers).

mod backends;
pub(super) mod harness;
mod limits;
mod marks;
mod nodes;
mod steps;

use harness::{on_postgres, on_sled};

/// Generates, for each `module::test`, one `#[tokio::test]` per backend.
macro_rules! conformance {
    ($($module:ident :: $test:ident),* $(,)?) => {
        mod sled_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::on_sled(super::$module::$test).await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::on_postgres(super::$module::$test).await;
                }
            )*
        }
    };
}

conformance!(
    steps::request_object_is_served_once,
    steps::response_is_admitted_once,
    steps::response_may_come_without_the_request_object,
    steps::wrong_state_does_not_burn_the_request,
    steps::expired_requests_admit_nothing,
    steps::unknown_and_malformed_ids_are_not_found,
    steps::finish_needs_a_begun_response,
    steps::duplicate_insert_changes_nothing,
    limits::limits_on_blobs_and_requests,
    limits::full_store_refuses_until_requests_expire,
    limits::sweep_deletes_old_requests_in_batches,
    limits::concurrent_sweeps_delete_each_request_once,
    nodes::concurrent_steps_have_one_winner,
    nodes::nodes_share_one_store,
    nodes::acknowledged_steps_survive_reopening,
    nodes::health_answers,
    marks::a_value_is_new_once_per_kind_until_swept,
    marks::concurrent_uses_of_one_value_admit_exactly_one,
    marks::an_acknowledged_mark_survives_reopening,
);

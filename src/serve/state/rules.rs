//! The transition rules, written once for both backends: which phase a step
//! needs, which error a request that does not allow the step gets, and what a new
//! request must satisfy. sled applies them inside its transaction; PostgreSQL
//! writes the success case as the `WHERE` clause of one `UPDATE` and, when no row
//! matched, applies them to the row it reads back to name the refusal.

use super::{OpenRequest, Phase, StateError, StateLimits};

/// The longest request id, in bytes.
pub(crate) const MAX_ID_LEN: usize = 128;

/// A step of a request's life after `insert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Serving the request object at `request_uri`.
    TakeRequestObject,
    /// Receiving the response at `response_uri`.
    BeginResponse,
    /// Storing the verdict.
    Finish,
}

/// Whether `id` can name a request: 1 to [`MAX_ID_LEN`] bytes of the URL's
/// unreserved characters (`A–Z a–z 0–9 - . _ ~`, RFC 3986 §2.3), so an id is safe
/// in a path, a log line and a key. An id from a URL that fails this cannot exist:
/// lookups answer [`StateError::NotFound`] without touching the storage.
pub(crate) fn valid_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Refuses an id that cannot exist.
pub(super) fn lookup_id(id: &str) -> Result<(), StateError> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(StateError::NotFound)
    }
}

/// Checks a request before it is stored.
pub(super) fn check_new(request: &OpenRequest, limits: &StateLimits) -> Result<(), StateError> {
    if !valid_id(&request.id) {
        return Err(StateError::InvalidRequest(
            "the id must be 1 to 128 characters of A-Z a-z 0-9 - . _ ~",
        ));
    }
    if request.expires_at <= request.created_at {
        return Err(StateError::InvalidRequest(
            "expires_at must be after created_at",
        ));
    }
    if i64::try_from(request.expires_at).is_err() {
        return Err(StateError::InvalidRequest("expires_at is out of range"));
    }
    limits.check_blob("request", &request.request)
}

/// The phase `step` leads to from `phase`, or why the request refuses it.
///
/// Precedence, the same in both backends: a request already past the step says so
/// (`AlreadyServed`, `AlreadyAnswered`, `NotResponding`) before it says `Expired`,
/// and `Expired` comes before `StateMismatch`. `state_matches` is asked last, only
/// for [`Step::BeginResponse`]. `Finish` does not look at the time: the response
/// was begun before expiry and its check may end after it.
pub(super) fn next_phase(
    step: Step,
    phase: Phase,
    expires_at: u64,
    now: u64,
    state_matches: impl FnOnce() -> bool,
) -> Result<Phase, StateError> {
    let expired = now >= expires_at;
    match (step, phase) {
        (Step::TakeRequestObject, Phase::Created) if expired => Err(StateError::Expired),
        (Step::TakeRequestObject, Phase::Created) => Ok(Phase::RequestServed),
        (Step::TakeRequestObject, Phase::RequestServed) => Err(StateError::AlreadyServed),
        (Step::BeginResponse | Step::TakeRequestObject, Phase::Responding | Phase::Answered) => {
            Err(StateError::AlreadyAnswered)
        }
        (Step::BeginResponse, Phase::Created | Phase::RequestServed) if expired => {
            Err(StateError::Expired)
        }
        (Step::BeginResponse, Phase::Created | Phase::RequestServed) => {
            if state_matches() {
                Ok(Phase::Responding)
            } else {
                Err(StateError::StateMismatch)
            }
        }
        (Step::Finish, Phase::Responding) => Ok(Phase::Answered),
        (Step::Finish, Phase::Answered) => Err(StateError::AlreadyAnswered),
        (Step::Finish, Phase::Created | Phase::RequestServed) => Err(StateError::NotResponding),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(valid_id("aZ09-._~"));
        assert!(valid_id(&"a".repeat(MAX_ID_LEN)));
        for bad in ["", "a/b", "a b", "é", "a%2F", "a\0"] {
            assert!(!valid_id(bad), "{bad:?}");
        }
        assert!(!valid_id(&"a".repeat(MAX_ID_LEN + 1)));
    }

    #[test]
    fn precedence() {
        use Phase::*;
        use Step::*;
        let refuse = |step, phase, now, matches| {
            next_phase(step, phase, 10, now, || matches)
                .err()
                .map(|e: StateError| e.to_string())
        };
        // Consumed outranks expired, expired outranks a wrong state.
        assert_eq!(
            refuse(TakeRequestObject, RequestServed, 11, true),
            Some(StateError::AlreadyServed.to_string())
        );
        assert_eq!(
            refuse(BeginResponse, Answered, 11, false),
            Some(StateError::AlreadyAnswered.to_string())
        );
        assert_eq!(
            refuse(BeginResponse, Created, 10, false),
            Some(StateError::Expired.to_string())
        );
        assert_eq!(
            refuse(BeginResponse, RequestServed, 9, false),
            Some(StateError::StateMismatch.to_string())
        );
        assert_eq!(refuse(Finish, Responding, 99, false), None);
        assert!(matches!(
            next_phase(BeginResponse, RequestServed, 10, 9, || true),
            Ok(Responding)
        ));
    }
}

//! The segment engine's store as the source of suggestion memberships.

use serde_json::{json, Value};

use crate::segment::{SavedSegments, Segment, Store};
use crate::time::Timestamp;

use super::{AudienceSource, SourceError};

impl AudienceSource for Store {
    fn profile_count(&self) -> usize {
        Store::profile_count(self)
    }

    fn evaluate(&self, condition: &Value, now: Timestamp) -> Result<Vec<u32>, SourceError> {
        let segment = Segment::parse(&json!({ "condition": condition }), &SavedSegments::new())
            .map_err(|e| SourceError {
                code: e.code.to_owned(),
                path: e.path,
            })?;
        Ok(Store::evaluate(self, &segment, now).members)
    }
}

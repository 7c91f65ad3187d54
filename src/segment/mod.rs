//! Segments (`segments.md`): the definition language, the columnar store, snapshots, evaluation.
//!
//! ```
//! use tessera::segment::{Segment, SavedSegments, Store};
//! use tessera::Timestamp;
//!
//! let doc = serde_json::json!({
//!     "id": "repeat_buyers",
//!     "condition": {"event": "Order Completed", "within": "30d", "count": {"gte": 2}}
//! });
//! let segment = Segment::parse(&doc, &SavedSegments::new()).unwrap();
//! let store = Store::build(&[], &Default::default());
//! let result = store.evaluate(&segment, Timestamp::parse("2026-03-01T00:00:00Z").unwrap());
//! assert_eq!(result.count(), 0);
//! ```

mod definition;
mod eval;
mod snapshot;
mod store;
mod value;

pub use definition::{
    DefinitionError, SavedSegments, Segment, CONDITION_KINDS, MAX_CONDITION_DEPTH,
};
pub use eval::Evaluation;
pub use snapshot::{SnapshotError, SNAPSHOT_VERSION};
pub use store::{EncodedEvent, FlatProperty, MemoryUsage, PropertyEncoder, Store, StoreBuilder};

/// The store's column values, for summaries read straight from the columns (suggestions), and
/// its dot-path rules, for loaders that walk properties in their own text.
pub(crate) use store::{addressable, push_key, Column, Encoded};

//! Segments (`segments.md`): the definition language, the columnar store, snapshots, evaluation.

//! A deterministic generator of realistic Segment-style traffic, for benchmarks, tests and demos.

//! v1 <-> v2 conversion (to be written).

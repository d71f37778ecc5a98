//! The plan stage: lowering a checked spec into the Plan IR, and drawing it.
//!
//! [`ir`] holds the serializable format (documented in `docs/plan.md`), [`lower`] builds it,
//! [`render`] draws it as text, Graphviz or Mermaid.

mod ir;
mod lower;
mod render;

pub use ir::{
    ColumnInfo, Input, Output, OutputRef, ParamInfo, Plan, ProjectInfo, ScheduleInfo, SecretRef, SpecInfo, Step,
    TargetInfo, TrackingInfo, PLAN_VERSION,
};
pub use lower::{lower, MLOPSC_VERSION};
pub use render::{to_dot, to_human, to_mermaid};

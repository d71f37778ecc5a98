//! A small YAML document for the Kubeflow PipelineSpec: maps with sorted keys (as `kfp` writes
//! them), lists and scalars, written in block style with nothing left to a YAML library's taste.

use std::collections::BTreeMap;

use crate::yaml::scalar;

/// One YAML value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    /// A mapping; keys are written sorted.
    Map(BTreeMap<String, Node>),
    /// A sequence, in order.
    List(Vec<Node>),
    /// A string, quoted when a YAML reader could take it for anything else.
    Text(String),
    /// An integer.
    Int(i64),
    /// A floating-point number, always written with a `.` so YAML 1.1 readers see a float.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl Node {
    /// An empty map, to fill with [`Node::set`].
    pub(super) fn map() -> Node {
        Node::Map(BTreeMap::new())
    }

    /// A string.
    pub(super) fn text(value: impl Into<String>) -> Node {
        Node::Text(value.into())
    }

    /// This map with `key` set to `value` (a non-map is returned unchanged).
    pub(super) fn with(mut self, key: &str, value: Node) -> Node {
        self.set(key, value);
        self
    }

    /// Sets `key` to `value` in this map.
    pub(super) fn set(&mut self, key: &str, value: Node) {
        if let Node::Map(entries) = self {
            entries.insert(key.to_string(), value);
        }
    }

    /// The map under `key`, created when missing (a non-map gives a throwaway node).
    pub(super) fn entry(&mut self, key: &str) -> &mut Node {
        match self {
            Node::Map(entries) => entries.entry(key.to_string()).or_insert_with(Node::map),
            other => other,
        }
    }

    /// The document as YAML text, ending with a newline.
    pub(super) fn to_yaml(&self) -> String {
        let mut out = String::new();
        match self {
            Node::Map(entries) if !entries.is_empty() => write_map(entries, 0, &mut out),
            Node::List(items) if !items.is_empty() => write_list(items, 0, &mut out),
            other => {
                out.push_str(&inline(other).unwrap_or_default());
                out.push('\n');
            }
        }
        out
    }
}

/// A scalar or empty collection on one line; `None` for a collection with entries.
fn inline(node: &Node) -> Option<String> {
    Some(match node {
        Node::Map(entries) if entries.is_empty() => "{}".to_string(),
        Node::List(items) if items.is_empty() => "[]".to_string(),
        Node::Map(_) | Node::List(_) => return None,
        Node::Text(text) => scalar(text),
        Node::Int(int) => int.to_string(),
        Node::Float(float) => float_text(*float),
        Node::Bool(flag) => flag.to_string(),
    })
}

fn write_map(entries: &BTreeMap<String, Node>, indent: usize, out: &mut String) {
    let padding = " ".repeat(indent);
    for (key, value) in entries {
        out.push_str(&padding);
        out.push_str(&scalar(key));
        out.push(':');
        match (inline(value), value) {
            (Some(text), _) => {
                out.push(' ');
                out.push_str(&text);
                out.push('\n');
            }
            (None, Node::Map(inner)) => {
                out.push('\n');
                write_map(inner, indent + 2, out);
            }
            // Like PyYAML (and so `kfp`), list items sit at their key's indentation.
            (None, Node::List(items)) => {
                out.push('\n');
                write_list(items, indent, out);
            }
            (None, _) => {}
        }
    }
}

fn write_list(items: &[Node], indent: usize, out: &mut String) {
    let padding = " ".repeat(indent);
    for item in items {
        match inline(item) {
            Some(text) => {
                out.push_str(&padding);
                out.push_str("- ");
                out.push_str(&text);
                out.push('\n');
            }
            None => {
                // A nested collection: written two deeper, its first line then starts with `- `.
                let mut nested = String::new();
                match item {
                    Node::Map(inner) => write_map(inner, indent + 2, &mut nested),
                    Node::List(inner) => write_list(inner, indent + 2, &mut nested),
                    _ => {}
                }
                out.push_str(&padding);
                out.push_str("- ");
                out.push_str(nested.trim_start_matches(' '));
            }
        }
    }
}

/// A float as YAML 1.1 readers (PyYAML, so `kfp`) read floats: always with a `.` in the
/// mantissa and a signed exponent (`1.0e-05`, not `1e-5`, which they would take for a string).
fn float_text(value: f64) -> String {
    if !value.is_finite() {
        return if value.is_nan() {
            ".nan".to_string()
        } else if value > 0.0 {
            ".inf".to_string()
        } else {
            "-.inf".to_string()
        };
    }
    let text = format!("{value:?}");
    match text.split_once('e') {
        Some((mantissa, exponent)) => {
            let mantissa = if mantissa.contains('.') { mantissa.to_string() } else { format!("{mantissa}.0") };
            let exponent = if exponent.starts_with('-') { exponent.to_string() } else { format!("+{exponent}") };
            format!("{mantissa}e{exponent}")
        }
        None if text.contains('.') => text,
        None => format!("{text}.0"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_sorted_block_yaml_like_kfp() {
        let document = Node::map()
            .with("schemaVersion", Node::text("2.1.0"))
            .with("args", Node::List(vec![Node::text("--plan"), Node::text("{{$.inputs.artifacts['x'].path}}")]))
            .with("tasks", Node::List(vec![Node::map().with("b", Node::Int(1)).with("a", Node::Bool(true))]))
            .with("empty", Node::map())
            .with("nested", Node::map().with("cpu", Node::Float(1.0)));
        assert_eq!(
            document.to_yaml(),
            "args:\n- \"--plan\"\n- \"{{$.inputs.artifacts['x'].path}}\"\nempty: {}\nnested:\n  cpu: 1.0\nschemaVersion: \"2.1.0\"\ntasks:\n- a: true\n  b: 1\n"
        );
    }

    #[test]
    fn floats_always_read_back_as_floats() {
        assert_eq!(float_text(0.8), "0.8");
        assert_eq!(float_text(300.0), "300.0");
        assert_eq!(float_text(1e-5), "1.0e-5");
        assert_eq!(float_text(1.5e300), "1.5e+300");
        assert_eq!(float_text(f64::NAN), ".nan");
    }
}

//! Parsing the KDL document, in parallel chunks of top-level nodes when the text is large.
//!
//! kdl's parser handles roughly 2 MB/s, which makes it most of the cost of checking a large
//! spec. Top-level nodes parse independently, so a large text is cut at lines where a
//! top-level node starts ([`super::layout`]), the chunks are parsed on several threads, and
//! their spans are shifted back to positions in the whole text. Whenever any chunk fails to
//! parse, the whole text is parsed again in one piece, so errors always come from kdl's view of
//! the entire file and a wrong cut can never change what a valid file means silently without
//! also failing to parse.

use kdl::{KdlDocument, KdlError, KdlIdentifier, KdlNode};
use miette::SourceSpan;

use super::layout;

/// Below this size a single parse is faster than starting threads.
const PARALLEL_MIN_BYTES: usize = 32 * 1024;

/// Stack for parser threads: kdl recurses per block level, and the main thread's 8 MiB is what
/// the nesting limit was measured against.
const PARSER_STACK_BYTES: usize = 8 * 1024 * 1024;

/// Parses a KDL v2 document, using the machine's cores for large texts.
pub(super) fn parse(source: &str, layout: &layout::Layout) -> Result<KdlDocument, KdlError> {
    let threads = std::thread::available_parallelism().map_or(1, |count| count.get()).min(8);
    parse_with(source, layout, threads, PARALLEL_MIN_BYTES)
}

/// [`parse`] with explicit thread count and size threshold, for tests.
fn parse_with(
    source: &str,
    layout: &layout::Layout,
    threads: usize,
    min_bytes: usize,
) -> Result<KdlDocument, KdlError> {
    if threads < 2 || source.len() < min_bytes {
        return KdlDocument::parse_v2(source);
    }
    let cuts = cuts(source.len(), &layout.top_level_starts, threads);
    if cuts.len() < 3 {
        return KdlDocument::parse_v2(source);
    }
    let parsed: Option<Vec<KdlDocument>> = std::thread::scope(|scope| {
        let handles: Vec<_> = cuts
            .windows(2)
            .map(|window| {
                let chunk = &source[window[0]..window[1]];
                std::thread::Builder::new()
                    .stack_size(PARSER_STACK_BYTES)
                    .spawn_scoped(scope, move || KdlDocument::parse_v2(chunk).ok())
            })
            .collect();
        handles.into_iter().map(|handle| handle.ok()?.join().ok().flatten()).collect()
    });
    let Some(chunks) = parsed else {
        return KdlDocument::parse_v2(source);
    };
    let mut document = KdlDocument::new();
    for (start, chunk) in cuts.iter().zip(chunks) {
        for mut node in chunk.nodes().iter().cloned() {
            shift_node(&mut node, *start);
            document.nodes_mut().push(node);
        }
    }
    document.set_span(SourceSpan::new(0.into(), source.len()));
    Ok(document)
}

/// Chunk boundaries `[0, …, len]`: about `threads` chunks of similar size, cut at node starts.
fn cuts(len: usize, starts: &[usize], threads: usize) -> Vec<usize> {
    let mut cuts = vec![0];
    for part in 1..threads {
        let target = len * part / threads;
        let next = starts.iter().copied().find(|start| *start >= target && *start > *cuts.last().unwrap_or(&0));
        if let Some(next) = next {
            cuts.push(next);
        }
    }
    cuts.push(len);
    cuts.dedup();
    cuts
}

fn shift(span: SourceSpan, by: usize) -> SourceSpan {
    SourceSpan::new((span.offset() + by).into(), span.len())
}

fn shift_identifier(identifier: &mut KdlIdentifier, by: usize) {
    identifier.set_span(shift(identifier.span(), by));
}

fn shift_node(node: &mut KdlNode, by: usize) {
    node.set_span(shift(node.span(), by));
    shift_identifier(node.name_mut(), by);
    if let Some(ty) = node.ty_mut() {
        shift_identifier(ty, by);
    }
    for entry in node.entries_mut() {
        entry.set_span(shift(entry.span(), by));
        if let Some(name) = entry.name_mut() {
            shift_identifier(name, by);
        }
        if let Some(ty) = entry.ty_mut() {
            shift_identifier(ty, by);
        }
    }
    if let Some(children) = node.children_mut() {
        children.set_span(shift(children.span(), by));
        for child in children.nodes_mut() {
            shift_node(child, by);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything the reader looks at, with spans, as text.
    fn describe(document: &KdlDocument, out: &mut Vec<String>) {
        for node in document.nodes() {
            out.push(format!(
                "node {} {:?} {:?} {:?}",
                node.name().value(),
                node.span(),
                node.name().span(),
                node.ty()
            ));
            for entry in node.entries() {
                out.push(format!(
                    "  entry {:?}={:?} ty {:?} {:?} name-span {:?} ty-span {:?}",
                    entry.name().map(|name| name.value()),
                    entry.value(),
                    entry.ty().map(|ty| ty.value()),
                    entry.span(),
                    entry.name().map(|name| name.span()),
                    entry.ty().map(|ty| ty.span()),
                ));
            }
            if let Some(children) = node.children() {
                out.push(format!("  block {:?}", children.span()));
                describe(children, out);
            }
        }
    }

    fn summary(document: &KdlDocument) -> Vec<String> {
        let mut out = Vec::new();
        describe(document, &mut out);
        out
    }

    fn spec(copies: usize) -> String {
        let example = include_str!("../../../examples/fraud/mlops.kdl");
        let mut text = String::new();
        for copy in 0..copies {
            text.push_str(&example.replace("fraud", &format!("fraud{copy}")));
            text.push_str("\n/* a comment\n spanning { lines */\nx \\\n  1 (param)\"p\" key=#\"raw {\"# {\n    y #\"\"\"\n    raw {\n    \"\"\"#\n}\n");
        }
        text
    }

    #[test]
    fn chunked_parse_equals_one_parse_with_the_same_spans() {
        let source = spec(6);
        let layout = layout::scan(&source);
        let whole = KdlDocument::parse_v2(&source).expect("the test spec is valid KDL");
        for threads in [2, 3, 5] {
            let chunked = parse_with(&source, &layout, threads, 0).expect("chunks parse");
            assert_eq!(summary(&chunked), summary(&whole), "{threads} threads");
        }
    }

    #[test]
    fn a_chunk_that_fails_falls_back_to_kdls_errors_for_the_whole_file() {
        let mut source = spec(4);
        source.push_str("broken \"unterminated\n");
        let layout = layout::scan(&source);
        let whole = KdlDocument::parse_v2(&source).expect_err("the text is broken");
        let chunked = parse_with(&source, &layout, 3, 0).expect_err("the text is broken");
        assert_eq!(chunked.diagnostics, whole.diagnostics);
    }

    #[test]
    fn cuts_fall_on_node_starts() {
        assert_eq!(cuts(100, &[10, 40, 60, 90], 2), vec![0, 60, 100]);
        assert_eq!(cuts(100, &[10, 40, 60, 90], 4), vec![0, 40, 60, 90, 100]);
        assert_eq!(cuts(100, &[], 4), vec![0, 100]);
    }
}

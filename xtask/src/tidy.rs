//! The tidy part of `cargo xtask lint`, over every `.rs` file of `crates/*/src`, `xtask/src`
//! and `benches/`: no file over [`MAX_LINES`] lines, and no import loop between the files
//! of one crate.
//!
//! A file imports another when one of its `use` items (`pub use` re-exports included) or a
//! path written inline in its code (`crate::a::f()`, `super::g`, `self::h`, `$crate::…`)
//! names an item of the other. Paths are resolved on the crate's module tree, which is read
//! from its `mod` declarations (`x.rs`, `x/mod.rs`, `#[path]`) starting at `lib.rs`,
//! `main.rs`, `bin/*.rs` or a bench file: `crate::x::y::Z` goes to the file of the deepest
//! module the path names (`x/y.rs`), then through that module's own imports of `Z`, so an
//! item re-exported by `lib.rs` or a `mod.rs` counts as an import of the file that defines
//! it, and the re-exporting file stays a pass-through; an item defined in `lib.rs` itself is
//! an import of `lib.rs`. Relative `use` paths (`use child::X`) count; relative paths written
//! inline (`child::f()` in the parent) do not, as they are not imports. `#[cfg(test)]` items
//! and modules, and files or modules named `tests`, are left out: test code may import its
//! parent.
//!
//! The parser is a small tokenizer (comments, strings and character literals skipped), not a
//! Rust parser: it knows `use` trees, `mod` declarations, attributes and brace nesting.
//! Every loop is reported as a chain of files with the import behind each step; each import
//! that closes a loop appears in at least one chain (the shortest loop through it).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The most lines a source file may have.
pub const MAX_LINES: usize = 800;

/// Runs both checks on the workspace at `root`; the error lists every offender.
pub fn check(root: &Path) -> Result<()> {
    let files = source_files(root)?;
    let mut report = String::new();
    let long = long_files(&files);
    if !long.is_empty() {
        report.push_str(&format!("files over {MAX_LINES} lines (split them by job):\n"));
        for (path, n) in &long {
            report.push_str(&format!("  {}: {n} lines\n", path.display()));
        }
    }
    let loops = import_loops(&files);
    if !loops.is_empty() {
        report.push_str("import loops between files (each step: the file, the line and the path it imports):\n");
        for chain in &loops {
            report.push_str(&format!("  {chain}\n"));
        }
    }
    if report.is_empty() {
        return Ok(());
    }
    bail!("tidy check failed:\n{}", report.trim_end())
}

/// Every `.rs` file under `crates/*/src`, `xtask/src` and `benches`, by path relative to `root`.
fn source_files(root: &Path) -> Result<BTreeMap<PathBuf, String>> {
    let mut dirs = vec![root.join("xtask/src"), root.join("benches")];
    let crates = root.join("crates");
    for entry in fs::read_dir(&crates).with_context(|| format!("cannot list {}", crates.display()))? {
        dirs.push(entry?.path().join("src"));
    }
    let mut files = BTreeMap::new();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
                files.insert(path.strip_prefix(root).unwrap_or(&path).to_path_buf(), text);
            }
        }
    }
    Ok(files)
}

/// The files with more than [`MAX_LINES`] lines, and their line counts.
fn long_files(files: &BTreeMap<PathBuf, String>) -> Vec<(PathBuf, usize)> {
    files.iter().map(|(p, text)| (p.clone(), text.lines().count())).filter(|&(_, n)| n > MAX_LINES).collect()
}

// ---- Tokens ----

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    PathSep,
    Punct(char),
}

/// The tokens of `src` with their 1-based lines; comments, and the text of character
/// literals, are dropped.
fn tokenize(src: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = src.chars().collect();
    let (mut toks, mut i, mut line) = (Vec::new(), 0, 1);
    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
    while i < c.len() {
        let ch = c[i];
        let start_line = line;
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(c[i] == '\n');
                    i += 1;
                }
            }
        } else if ch == '"' {
            let (text, end) = string(&c, i + 1, 0, true);
            line += text.matches('\n').count();
            toks.push((Tok::Str(text), start_line));
            i = end;
        } else if ch == '\'' {
            if at(i + 1) == '\\' {
                i += 3; // the quote, the backslash and the escaped character
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                toks.push((Tok::Punct('\''), line)); // a lifetime or a label
                i += 1;
            }
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let hashes = c[i..].iter().take_while(|&&h| h == '#').count();
            if matches!(word.as_str(), "r" | "br" | "cr") && at(i + hashes) == '"' {
                let (text, end) = string(&c, i + hashes + 1, hashes, false);
                line += text.matches('\n').count();
                toks.push((Tok::Str(text), start_line));
                i = end;
            } else if matches!(word.as_str(), "b" | "c") && at(i) == '"' {
                let (text, end) = string(&c, i + 1, 0, true);
                line += text.matches('\n').count();
                toks.push((Tok::Str(text), start_line));
                i = end;
            } else if word == "b" && at(i) == '\'' {
                i += 1;
                while i < c.len() && c[i] != '\'' {
                    i += 1 + usize::from(c[i] == '\\');
                }
                i += 1;
            } else {
                toks.push((Tok::Ident(word), line));
            }
        } else if ch == ':' && at(i + 1) == ':' {
            toks.push((Tok::PathSep, line));
            i += 2;
        } else {
            toks.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    toks
}

/// The text of a string literal whose body starts at `i`, and the index after it.
fn string(c: &[char], mut i: usize, hashes: usize, escapes: bool) -> (String, usize) {
    let start = i;
    while i < c.len() {
        if escapes && c[i] == '\\' {
            i += 2;
        } else if c[i] == '"' && c[i + 1..].iter().take(hashes).filter(|&&h| h == '#').count() == hashes {
            return (c[start..i].iter().collect(), i + 1 + hashes);
        } else {
            i += 1;
        }
    }
    (c[start..].iter().collect(), c.len())
}

// ---- One file ----

/// What a file declares and imports, each with the inline module (`mod x { … }`) it sits in.
#[derive(Debug, Default)]
struct Parsed {
    /// `mod name;`: the inline scope, the name, and the `#[path]` if any.
    mods: Vec<(Vec<String>, String, Option<String>)>,
    /// `mod name { … }` scopes, each as its path of inline module names.
    inline_mods: Vec<Vec<String>>,
    imports: Vec<Import>,
}

#[derive(Debug, Clone)]
struct Import {
    scope: Vec<String>,
    /// The path as written (`crate`, `super`, `self` or a name first).
    path: Vec<String>,
    /// The name a `use` item binds (`None` for a glob, or a path written inline).
    binds: Option<String>,
    inline: bool,
    line: usize,
}

fn parse(src: &str) -> Parsed {
    let toks = tokenize(src);
    let ident = |k: usize| match toks.get(k) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    let is = |k: usize, t: Tok| toks.get(k).is_some_and(|(x, _)| *x == t);
    let mut parsed = Parsed::default();
    // Open inline modules: their names and the brace depth of their bodies.
    let mut scope: Vec<(String, usize)> = Vec::new();
    let (mut depth, mut i) = (0usize, 0usize);
    let (mut test, mut path_attr): (bool, Option<String>) = (false, None);
    while i < toks.len() {
        let line = toks[i].1;
        if is(i, Tok::Punct('#')) {
            let inner = is(i + 1, Tok::Punct('!'));
            let open = i + 1 + usize::from(inner);
            if is(open, Tok::Punct('[')) {
                let close = matching(&toks, open);
                let body = &toks[open + 1..close];
                if !inner && matches!(body.first(), Some((Tok::Ident(s), _)) if s == "cfg") {
                    let has = |w: &str| body.iter().any(|(t, _)| matches!(t, Tok::Ident(s) if s == w));
                    // `cfg(test)` or `cfg(all(test, …))`: compiled for tests only.
                    test |= has("test") && !has("not") && !has("any");
                }
                if let [(Tok::Ident(p), _), (Tok::Punct('='), _), (Tok::Str(s), _)] = body
                    && p == "path"
                {
                    path_attr = Some(s.clone());
                }
                i = close + 1;
                continue;
            }
        }
        match ident(i) {
            // A visibility keeps the attributes for the item after it.
            Some("pub") => {
                i += 1;
                if is(i, Tok::Punct('(')) {
                    i = matching(&toks, i) + 1;
                }
                continue;
            }
            Some("use") if !is(i + 1, Tok::Punct('<')) => {
                let end = (i..toks.len()).find(|&k| is(k, Tok::Punct(';'))).unwrap_or(toks.len());
                if !test {
                    let tree: Vec<Tok> = toks[i + 1..end].iter().map(|(t, _)| t.clone()).collect();
                    let mut items = Vec::new();
                    use_tree(&tree, &mut 0, Vec::new(), &mut items);
                    for (path, binds) in items {
                        parsed.imports.push(Import { scope: names(&scope), path, binds, inline: false, line });
                    }
                }
                i = end + 1;
            }
            Some("mod") if ident(i + 1).is_some() && (is(i + 2, Tok::Punct(';')) || is(i + 2, Tok::Punct('{'))) => {
                let name = ident(i + 1).unwrap_or_default().to_string();
                if is(i + 2, Tok::Punct(';')) {
                    if !test {
                        parsed.mods.push((names(&scope), name, path_attr.take()));
                    }
                    i += 3;
                } else if test {
                    i = matching(&toks, i + 2) + 1;
                } else {
                    depth += 1;
                    scope.push((name, depth));
                    parsed.inline_mods.push(names(&scope));
                    i += 3;
                }
            }
            _ if test => i = item_end(&toks, i),
            Some(kw @ ("crate" | "super" | "self"))
                if is(i + 1, Tok::PathSep) && !is(i.wrapping_sub(1), Tok::PathSep) =>
            {
                let mut path = vec![kw.to_string()];
                i += 1;
                while is(i, Tok::PathSep) && ident(i + 1).is_some() {
                    path.push(ident(i + 1).unwrap_or_default().to_string());
                    i += 2;
                }
                parsed.imports.push(Import { scope: names(&scope), path, binds: None, inline: true, line });
            }
            _ => {
                if is(i, Tok::Punct('{')) {
                    depth += 1;
                } else if is(i, Tok::Punct('}')) {
                    if scope.last().is_some_and(|&(_, d)| d == depth) {
                        scope.pop();
                    }
                    depth = depth.saturating_sub(1);
                }
                i += 1;
            }
        }
        (test, path_attr) = (false, None);
    }
    parsed
}

/// The names of the open inline modules.
fn names(scope: &[(String, usize)]) -> Vec<String> {
    scope.iter().map(|(n, _)| n.clone()).collect()
}

/// The index of the bracket that closes the one at `open` (any of `()[]{}` nest).
fn matching(toks: &[(Tok, usize)], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, (t, _)) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    toks.len().saturating_sub(1)
}

/// The index after the item that starts at `i`: its `;`, or the block of its first `{`.
fn item_end(toks: &[(Tok, usize)], mut i: usize) -> usize {
    while i < toks.len() {
        match toks[i].0 {
            Tok::Punct(';') => return i + 1,
            Tok::Punct('{') => return matching(toks, i) + 1,
            Tok::Punct('(' | '[') => i = matching(toks, i) + 1,
            _ => i += 1,
        }
    }
    i
}

/// Expands a `use` tree (the tokens after `use`) into `(path, bound name)` pairs; a glob
/// binds no name.
fn use_tree(toks: &[Tok], pos: &mut usize, mut path: Vec<String>, out: &mut Vec<(Vec<String>, Option<String>)>) {
    loop {
        match toks.get(*pos) {
            Some(Tok::PathSep) => *pos += 1,
            Some(Tok::Ident(seg)) => {
                path.push(seg.clone());
                *pos += 1;
                if toks.get(*pos) == Some(&Tok::PathSep) {
                    *pos += 1;
                    continue;
                }
                if path.len() > 1 && path.last().is_some_and(|s| s == "self") {
                    path.pop();
                }
                let mut name = path.last().cloned().unwrap_or_default();
                if toks.get(*pos) == Some(&Tok::Ident("as".into()))
                    && let Some(Tok::Ident(alias)) = toks.get(*pos + 1)
                {
                    name = alias.clone();
                    *pos += 2;
                }
                out.push((path, Some(name)));
                return;
            }
            Some(Tok::Punct('*')) => {
                *pos += 1;
                out.push((path, None));
                return;
            }
            Some(Tok::Punct('{')) => {
                *pos += 1;
                while *pos < toks.len() && toks[*pos] != Tok::Punct('}') {
                    use_tree(toks, pos, path.clone(), out);
                    if toks.get(*pos) == Some(&Tok::Punct(',')) {
                        *pos += 1;
                    }
                }
                *pos += 1;
                return;
            }
            _ => return,
        }
    }
}

// ---- One crate ----

/// A file's import of another, for the report.
#[derive(Debug, Clone)]
struct Step {
    line: usize,
    path: String,
}

type Graph = BTreeMap<PathBuf, BTreeMap<PathBuf, Step>>;

/// Each module's `use` bindings: module path → bound name → the absolute path it names.
type Bindings = BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>>;

/// A crate: its module tree (module path → file, inline modules included) and each file's
/// module path and parse.
struct Crate<'a> {
    modules: BTreeMap<Vec<String>, &'a Path>,
    files: Vec<(&'a Path, Vec<String>, Parsed)>,
}

fn is_test_path(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "tests") || path.file_stem().is_some_and(|s| s == "tests")
}

/// Lexically resolves `.` and `..` in a relative path.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

impl<'a> Crate<'a> {
    /// The crate whose root file is `root`, following its `mod` declarations.
    fn read(root: &'a Path, sources: &'a BTreeMap<PathBuf, String>) -> Crate<'a> {
        let mut krate = Crate { modules: BTreeMap::new(), files: Vec::new() };
        let mut queue = VecDeque::from([(root, Vec::<String>::new())]);
        while let Some((file, module)) = queue.pop_front() {
            if krate.files.iter().any(|(f, _, _)| *f == file) {
                continue;
            }
            let parsed = parse(&sources[file]);
            krate.modules.insert(module.clone(), file);
            for inline in &parsed.inline_mods {
                krate.modules.insert([module.clone(), inline.clone()].concat(), file);
            }
            let dir = file.parent().unwrap_or(Path::new(""));
            let owns_dir = module.is_empty() || file.file_name().is_some_and(|n| n == "mod.rs");
            for (scope, name, path_attr) in &parsed.mods {
                let candidates = match path_attr {
                    Some(p) => vec![normalize(&dir.join(p))],
                    None => {
                        let mut base = if owns_dir { dir.to_path_buf() } else { file.with_extension("") };
                        base.extend(scope);
                        vec![base.join(format!("{name}.rs")), base.join(name).join("mod.rs")]
                    }
                };
                let found = candidates.iter().find_map(|c| sources.get_key_value(c)).map(|(k, _)| k.as_path());
                if let Some(child) = found.filter(|c| name != "tests" && !is_test_path(c)) {
                    queue.push_back((child, [module.clone(), scope.clone(), vec![name.clone()]].concat()));
                }
            }
            krate.files.push((file, module, parsed));
        }
        krate
    }

    /// The absolute module path an import names, or `None` outside this crate.
    fn absolute(&self, module: &[String], import: &Import) -> Option<Vec<String>> {
        let here = [module, &import.scope[..]].concat();
        let (first, rest) = import.path.split_first()?;
        match first.as_str() {
            "crate" => Some(rest.to_vec()),
            "self" => Some([here, rest.to_vec()].concat()),
            "super" => {
                let mut base = here;
                base.pop()?;
                let mut rest = rest;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop()?;
                    rest = &rest[1..];
                }
                Some([base, rest.to_vec()].concat())
            }
            // `use child::X` (a module declared here), not an extern crate.
            _ if !import.inline && self.modules.contains_key(&[here.clone(), vec![first.clone()]].concat()) => {
                Some([here, import.path.clone()].concat())
            }
            _ => None,
        }
    }

    /// The file an absolute path leads to: the deepest module it names, then that module's
    /// own import of the next name, if any (re-exports are followed to the defining file).
    fn resolve(&self, path: &[String], bindings: &Bindings) -> &'a Path {
        let mut path = path.to_vec();
        for _ in 0..16 {
            let mut module = Vec::new();
            let mut next = None;
            for (k, seg) in path.iter().enumerate() {
                let deeper = [module.clone(), vec![seg.clone()]].concat();
                if self.modules.contains_key(&deeper) {
                    module = deeper;
                    continue;
                }
                if let Some(target) = bindings.get(&module).and_then(|b| b.get(seg)) {
                    next = Some([target.clone(), path[k + 1..].to_vec()].concat());
                }
                break;
            }
            match next {
                Some(p) if p != path => path = p,
                _ => return self.modules[&module],
            }
        }
        self.modules[&Vec::new()]
    }

    /// The import graph between this crate's files.
    fn graph(&self) -> Graph {
        let mut bindings = Bindings::new();
        for (_, module, parsed) in &self.files {
            for import in parsed.imports.iter().filter(|i| !i.inline) {
                if let (Some(name), Some(target)) = (&import.binds, self.absolute(module, import)) {
                    let scope = [module.clone(), import.scope.clone()].concat();
                    bindings.entry(scope).or_default().insert(name.clone(), target);
                }
            }
        }
        let mut graph = Graph::new();
        for (file, module, parsed) in &self.files {
            for import in &parsed.imports {
                let Some(path) = self.absolute(module, import) else { continue };
                let target = self.resolve(&path, &bindings);
                if target != *file {
                    let step = Step { line: import.line, path: import.path.join("::") };
                    let edges = graph.entry(file.to_path_buf()).or_default();
                    // The first import on the lowest line stands for the edge.
                    let old = edges.entry(target.to_path_buf()).or_insert_with(|| step.clone());
                    if step.line < old.line {
                        *old = step;
                    }
                }
            }
        }
        graph
    }
}

/// The shortest path of files from `from` to `to` in `graph`.
fn shortest_path(graph: &Graph, from: &Path, to: &Path) -> Option<Vec<PathBuf>> {
    let mut previous: BTreeMap<&Path, &Path> = BTreeMap::new();
    let mut queue = VecDeque::from([from]);
    while let Some(node) = queue.pop_front() {
        if node == to {
            let mut path = vec![to.to_path_buf()];
            let mut at = to;
            while at != from {
                at = previous[at];
                path.push(at.to_path_buf());
            }
            path.reverse();
            return Some(path);
        }
        for next in graph.get(node).into_iter().flat_map(|e| e.keys()) {
            if next.as_path() != from && !previous.contains_key(next.as_path()) {
                previous.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

/// Every import loop between the files of one crate, each as a printable chain.
fn import_loops(sources: &BTreeMap<PathBuf, String>) -> Vec<String> {
    let roots = sources.keys().filter(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let parent = p.parent().and_then(|d| d.file_name()).and_then(|n| n.to_str()).unwrap_or("");
        (parent == "src" && (name == "lib.rs" || name == "main.rs"))
            || parent == "bin"
            || (parent == "benches" && p.components().count() == 2)
    });
    let mut cycles = BTreeSet::new();
    let mut chains = Vec::new();
    for root in roots {
        let graph = Crate::read(root, sources).graph();
        for (from, edges) in &graph {
            for to in edges.keys() {
                let Some(mut cycle) = shortest_path(&graph, to, from) else { continue };
                cycle.pop();
                cycle.insert(0, from.clone());
                // Each loop once, whichever of its files it starts from.
                let first = (0..cycle.len()).min_by_key(|&k| &cycle[k]).unwrap_or(0);
                cycle.rotate_left(first);
                if cycles.insert(cycle.clone()) {
                    let mut chain = String::new();
                    for (k, file) in cycle.iter().enumerate() {
                        let next = &cycle[(k + 1) % cycle.len()];
                        let step = &graph[file][next];
                        chain.push_str(&format!("{}:{} {} → ", file.display(), step.line, step.path));
                    }
                    chain.push_str(&cycle[0].display().to_string());
                    chains.push(chain);
                }
            }
        }
    }
    chains
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> BTreeMap<PathBuf, String> {
        files.iter().map(|(p, s)| (PathBuf::from(p), s.to_string())).collect()
    }

    #[test]
    fn a_loop_is_found_and_shown_as_a_chain() {
        let files = tree(&[
            ("crates/a/src/lib.rs", "mod x;\nmod y;\n"),
            ("crates/a/src/x.rs", "use crate::y::Y;\npub struct X;\n"),
            ("crates/a/src/y.rs", "//! Docs.\n\nuse std::fmt;\nuse crate::x::{X, self};\npub struct Y;\n"),
        ]);
        assert_eq!(
            import_loops(&files),
            ["crates/a/src/x.rs:1 crate::y::Y → crates/a/src/y.rs:4 crate::x::X → crates/a/src/x.rs"]
        );
    }

    #[test]
    fn a_chain_without_a_loop_passes() {
        let files = tree(&[
            ("crates/a/src/lib.rs", "pub mod x;\npub mod y;\nmod z;\npub use x::X;\n"),
            ("crates/a/src/x.rs", "use crate::y::Y;\npub struct X(Y);\n"),
            ("crates/a/src/y.rs", "pub struct Y(crate::z::Z);\n"),
            ("crates/a/src/z.rs", "pub struct Z;\n"),
        ]);
        assert!(import_loops(&files).is_empty());
        // Inline paths count: z naming X closes x → y → z → x.
        let mut files = files;
        files.insert("crates/a/src/z.rs".into(), "pub struct Z;\nfn f() { let _ = crate::x::X; }\n".into());
        assert_eq!(import_loops(&files).len(), 1);
    }

    #[test]
    fn super_and_mod_rs_folders_resolve_to_the_defining_file() {
        // agh/mod.rs only declares and re-exports; `super::Agh` resolves through it to
        // hasher.rs, so itq.rs → hasher.rs and mod.rs → {hasher.rs, itq.rs} make no loop.
        let mut files = tree(&[
            ("crates/e/src/lib.rs", "pub mod agh;\npub use agh::{Agh, AghItq};\n"),
            (
                "crates/e/src/agh/mod.rs",
                "mod graph;\nmod hasher;\nmod itq;\n\npub use hasher::Agh;\npub use itq::AghItq;\n",
            ),
            ("crates/e/src/agh/graph.rs", "pub(super) struct Graph;\n"),
            ("crates/e/src/agh/hasher.rs", "use super::graph::Graph;\npub struct Agh(Graph);\n"),
            ("crates/e/src/agh/itq.rs", "use super::Agh;\nuse crate::agh::graph::Graph;\npub struct AghItq(Agh);\n"),
        ]);
        assert!(import_loops(&files).is_empty());
        // graph.rs naming the hasher through the crate root makes graph ↔ hasher.
        files.insert("crates/e/src/agh/graph.rs".into(), "pub(super) struct Graph(Box<crate::Agh>);\n".into());
        assert_eq!(
            import_loops(&files),
            ["crates/e/src/agh/graph.rs:1 crate::Agh → crates/e/src/agh/hasher.rs:1 super::graph::Graph → \
              crates/e/src/agh/graph.rs"]
        );
        // `super::super` from a file module of a non-mod.rs file (`a.rs` declares `mod b;` in `a/b.rs`).
        let files = tree(&[
            ("xtask/src/main.rs", "mod a;\nmod c;\nfn main() { c::run(); }\n"),
            ("xtask/src/a.rs", "mod b;\npub use b::B;\n"),
            ("xtask/src/a/b.rs", "use super::super::c::C;\npub struct B(C);\n"),
            ("xtask/src/c.rs", "pub struct C;\npub fn run() {}\nuse crate::a::B;\n"),
        ]);
        assert_eq!(
            import_loops(&files),
            ["xtask/src/a/b.rs:1 super::super::c::C → xtask/src/c.rs:3 crate::a::B → xtask/src/a/b.rs"]
        );
    }

    #[test]
    fn items_of_the_root_file_and_re_exports() {
        // `crate::Error` defined in lib.rs is an import of lib.rs, which imports font.rs back.
        let files = tree(&[
            ("crates/p/src/lib.rs", "mod font;\npub use font::FAMILY;\npub enum Error {}\n"),
            ("crates/p/src/font.rs", "use crate::Error;\npub const FAMILY: &str = \"x\";\n"),
        ]);
        assert_eq!(
            import_loops(&files),
            ["crates/p/src/font.rs:1 crate::Error → crates/p/src/lib.rs:2 font::FAMILY → crates/p/src/font.rs"]
        );
        // Re-exported from error.rs instead: font.rs imports error.rs, not lib.rs.
        let files = tree(&[
            ("crates/p/src/lib.rs", "mod error;\nmod font;\npub use error::Error;\npub use font::FAMILY;\n"),
            ("crates/p/src/error.rs", "pub enum Error {}\n"),
            ("crates/p/src/font.rs", "use crate::Error;\npub const FAMILY: &str = \"x\";\n"),
        ]);
        assert!(import_loops(&files).is_empty());
    }

    #[test]
    fn test_code_comments_and_strings_are_left_out() {
        let files = tree(&[
            ("crates/a/src/lib.rs", "mod x;\nmod y;\n#[cfg(test)]\nmod tests;\n"),
            ("crates/a/src/x.rs", "use crate::y::Y;\n"),
            (
                "crates/a/src/y.rs",
                "pub struct Y;\n// use crate::x::X;\n/* crate::x::X /* nested */ crate::x::X */\n\
                 const S: &str = \"use crate::x::X;\";\nconst R: &str = r#\"crate::x::X\"#;\n\
                 fn f<'a>(c: char) -> impl Iterator<Item = &'a u8> + use<'a> { let _ = ('x', '\\'', b'{'); todo!() }\n\
                 #[cfg(test)]\nmod tests {\n    use crate::x::X;\n}\n\
                 #[cfg(test)]\nfn helper() { crate::x::f() }\n",
            ),
            ("crates/a/src/tests.rs", "use crate::x::X;\nuse crate::y::Y;\n"),
        ]);
        assert!(import_loops(&files).is_empty());
        // The same import outside the test module is a loop.
        let mut files = files;
        let y = files[Path::new("crates/a/src/y.rs")].replace("#[cfg(test)]\nfn helper", "fn helper");
        files.insert("crates/a/src/y.rs".into(), y);
        assert_eq!(import_loops(&files).len(), 1);
    }

    #[test]
    fn use_trees_expand_to_paths_and_names() {
        let parsed = parse("pub(crate) use crate::a::{b::{C, D as E}, self, f::*};\nuse super::G;\n");
        let got: Vec<(String, Option<String>)> =
            parsed.imports.iter().map(|i| (i.path.join("::"), i.binds.clone())).collect();
        let want = [
            ("crate::a::b::C", Some("C")),
            ("crate::a::b::D", Some("E")),
            ("crate::a", Some("a")),
            ("crate::a::f", None),
            ("super::G", Some("G")),
        ];
        assert_eq!(got, want.map(|(p, n)| (p.to_string(), n.map(String::from))));
        assert_eq!(parsed.imports[4].line, 2);
    }

    #[test]
    fn long_files_are_listed_with_their_line_counts() {
        let files = tree(&[("benches/a.rs", &"x\n".repeat(801)), ("benches/b.rs", &"x\n".repeat(800))]);
        assert_eq!(long_files(&files), [(PathBuf::from("benches/a.rs"), 801)]);
    }
}

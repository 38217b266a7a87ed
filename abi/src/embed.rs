//! The layout of directory trees embedded in an executable (`wasic build --embed-dir
//! HOST::GUEST`): written by the CLI at build time ([`TreeWriter`]), read in place by the
//! runtime from the mapped executable ([`Tree`]), so a file's bytes are touched only when the
//! guest reads them.
//!
//! All integers are little-endian. The image is
//!
//! ```text
//! header   magic "WASICFS1", u32 root count, u32 node count, u32 names length, u32 0,
//!          u64 data start (from the image's start; a multiple of DATA_ALIGN)
//! roots    root count × { u32 guest-name offset, u32 guest-name length, u32 node, u32 0 }
//! nodes    node count × NODE_SIZE bytes (see `Node`)
//! names    bytes: entry names and the roots' guest names
//! data     from data start: file contents and symlink targets
//! ```
//!
//! A directory's children are consecutive nodes sorted by name (looked up by binary search);
//! node 0 … are in breadth-first order. [`Tree::parse`] checks every offset and index once,
//! so that the accessors never index out of bounds whatever the bytes are.

/// First bytes of an image.
pub const MAGIC: &[u8; 8] = b"WASICFS1";
/// Alignment of the data area (a page: contents can be mapped).
pub const DATA_ALIGN: usize = 4096;
const HEADER_SIZE: usize = 32;
const ROOT_SIZE: usize = 16;
/// Bytes per node.
pub const NODE_SIZE: usize = 72;

/// Node kinds, numbered as WASI's `filetype`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Directory = 3,
    File = 4,
    Symlink = 7,
}

/// One node as the writer takes it and the reader returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: Kind,
    /// Unix permission bits from the build.
    pub mode: u32,
    /// Nanoseconds since the epoch, from the build.
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

/// Why an image cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("embedded directory image is corrupt: {0}")]
pub struct EmbedError(&'static str);

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// A validated image, read in place.
#[derive(Clone, Copy, Debug)]
pub struct Tree<'a> {
    bytes: &'a [u8],
    roots: usize,
    nodes: usize,
    names: usize,
    names_len: usize,
    data: usize,
}

/// One entry of a [`Tree`]: its index and fields.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    pub index: u32,
    pub kind: Kind,
    pub mode: u32,
    pub parent: u32,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
    pub name: &'a [u8],
    first_child: u32,
    children: u32,
    data_off: u64,
}

impl<'a> Tree<'a> {
    /// Checks the whole layout of `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Tree<'a>, EmbedError> {
        let bad = EmbedError;
        if bytes.len() < HEADER_SIZE || &bytes[..8] != MAGIC {
            return Err(bad("no header"));
        }
        let roots = u32_at(bytes, 8) as usize;
        let nodes = u32_at(bytes, 12) as usize;
        let names_len = u32_at(bytes, 16) as usize;
        let data = usize::try_from(u64_at(bytes, 24)).map_err(|_| bad("data start"))?;
        let nodes_at = HEADER_SIZE
            .checked_add(roots.checked_mul(ROOT_SIZE).ok_or(bad("roots"))?)
            .ok_or(bad("roots"))?;
        let names = nodes_at
            .checked_add(nodes.checked_mul(NODE_SIZE).ok_or(bad("nodes"))?)
            .ok_or(bad("nodes"))?;
        let names_end = names.checked_add(names_len).ok_or(bad("names"))?;
        if names_end > data || data > bytes.len() || nodes > u32::MAX as usize {
            return Err(bad("sections out of order or out of bounds"));
        }
        let t = Tree {
            bytes,
            roots,
            nodes: nodes_at,
            names,
            names_len,
            data,
        };
        let count = t.len();
        let name_ok = |off: u32, len: u32| {
            (off as usize)
                .checked_add(len as usize)
                .is_some_and(|e| e <= names_len)
        };
        for r in 0..roots {
            let at = HEADER_SIZE + r * ROOT_SIZE;
            if !name_ok(u32_at(bytes, at), u32_at(bytes, at + 4)) {
                return Err(bad("root name"));
            }
            let node = u32_at(bytes, at + 8) as usize;
            if node >= count || bytes[t.nodes + node * NODE_SIZE] != Kind::Directory as u8 {
                return Err(bad("root is not a directory"));
            }
        }
        let data_len = (bytes.len() - data) as u64;
        for i in 0..count {
            let at = t.nodes + i * NODE_SIZE;
            let kind = bytes[at];
            if ![3, 4, 7].contains(&kind) {
                return Err(bad("node kind"));
            }
            if !name_ok(u32_at(bytes, at + 8), u32_at(bytes, at + 12)) {
                return Err(bad("node name"));
            }
            let parent = u32_at(bytes, at + 16) as usize;
            let (first, n) = (
                u32_at(bytes, at + 20) as usize,
                u32_at(bytes, at + 24) as usize,
            );
            if parent >= count {
                return Err(bad("parent"));
            }
            if kind == Kind::Directory as u8 {
                // Children come after their directory (breadth-first), so no cycle can form.
                if n > 0 && (first <= i || first.checked_add(n).is_none_or(|e| e > count)) {
                    return Err(bad("children"));
                }
            } else if n != 0 {
                return Err(bad("children of a non-directory"));
            }
            let (size, off) = (u64_at(bytes, at + 32), u64_at(bytes, at + 40));
            if kind != Kind::Directory as u8 && off.checked_add(size).is_none_or(|e| e > data_len) {
                return Err(bad("contents out of bounds"));
            }
        }
        Ok(t)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        (self.names - self.nodes) / NODE_SIZE
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn name(&self, off: u32, len: u32) -> &'a [u8] {
        &self.bytes[self.names + off as usize..][..len as usize]
    }

    /// The roots: (guest name, directory node).
    pub fn roots(&self) -> impl Iterator<Item = (&'a [u8], u32)> + '_ {
        (0..self.roots).map(move |r| {
            let at = HEADER_SIZE + r * ROOT_SIZE;
            let b = self.bytes;
            (
                self.name(u32_at(b, at), u32_at(b, at + 4)),
                u32_at(b, at + 8),
            )
        })
    }

    /// Node `index` (which must be below [`Self::len`]).
    pub fn entry(&self, index: u32) -> Entry<'a> {
        let at = self.nodes + index as usize * NODE_SIZE;
        let b = self.bytes;
        let kind = match b[at] {
            3 => Kind::Directory,
            4 => Kind::File,
            _ => Kind::Symlink,
        };
        Entry {
            index,
            kind,
            mode: u32_at(b, at + 4),
            name: self.name(u32_at(b, at + 8), u32_at(b, at + 12)),
            parent: u32_at(b, at + 16),
            first_child: u32_at(b, at + 20),
            children: u32_at(b, at + 24),
            size: u64_at(b, at + 32),
            data_off: u64_at(b, at + 40),
            atim: u64_at(b, at + 48),
            mtim: u64_at(b, at + 56),
            ctim: u64_at(b, at + 64),
        }
    }

    /// The children of directory `dir`, in name order.
    pub fn children(&self, dir: &Entry<'a>) -> impl Iterator<Item = Entry<'a>> + '_ {
        (dir.first_child..dir.first_child + dir.children).map(move |i| self.entry(i))
    }

    /// The child of `dir` called `name`.
    pub fn lookup(&self, dir: &Entry<'a>, name: &[u8]) -> Option<Entry<'a>> {
        let (mut lo, mut hi) = (dir.first_child, dir.first_child + dir.children);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let e = self.entry(mid);
            match e.name.cmp(name) {
                std::cmp::Ordering::Equal => return Some(e),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        None
    }

    /// The contents of a file, or the target of a symlink (empty for a directory).
    pub fn contents(&self, e: &Entry<'a>) -> &'a [u8] {
        if e.kind == Kind::Directory {
            return &[];
        }
        &self.bytes[self.data + e.data_off as usize..][..e.size as usize]
    }

    /// Number of names bytes (for tests of the layout).
    pub fn names_len(&self) -> usize {
        self.names_len
    }
}

/// One node being written: what it is and, for a directory, its children.
#[derive(Clone, Debug)]
pub struct WriteNode {
    pub name: Vec<u8>,
    pub node: Node,
    /// File contents or symlink target.
    pub contents: Vec<u8>,
    /// A directory's entries (sorted by the writer).
    pub children: Vec<WriteNode>,
}

/// Builds an image from trees, each served at a guest path.
#[derive(Default)]
pub struct TreeWriter {
    roots: Vec<(Vec<u8>, WriteNode)>,
}

impl TreeWriter {
    /// Adds `root` (a directory) to be served at `guest`.
    pub fn add_root(&mut self, guest: &[u8], root: WriteNode) {
        self.roots.push((guest.to_vec(), root));
    }

    /// The image.
    pub fn finish(self) -> Vec<u8> {
        // Breadth-first: each directory's children are consecutive, sorted by name.
        let mut order: Vec<(&WriteNode, u32)> = Vec::new(); // (node, parent)
        let mut first_child: Vec<u32> = Vec::new();
        let mut root_nodes = Vec::new();
        for (_, root) in &self.roots {
            root_nodes.push(order.len() as u32);
            order.push((root, order.len() as u32));
        }
        let mut i = 0;
        while i < order.len() {
            let (n, _) = order[i];
            first_child.push(order.len() as u32);
            let mut kids: Vec<&WriteNode> = n.children.iter().collect();
            kids.sort_by(|a, b| a.name.cmp(&b.name));
            for k in kids {
                order.push((k, i as u32));
            }
            i += 1;
        }
        let mut names = Vec::new();
        let mut data = Vec::new();
        let push_name = |names: &mut Vec<u8>, n: &[u8]| {
            let off = names.len() as u32;
            names.extend_from_slice(n);
            (off, n.len() as u32)
        };
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        let mut roots = Vec::new();
        for ((guest, _), node) in self.roots.iter().zip(&root_nodes) {
            let (off, len) = push_name(&mut names, guest);
            for v in [off, len, *node, 0] {
                roots.extend_from_slice(&v.to_le_bytes());
            }
        }
        let mut nodes = Vec::new();
        for (i, (n, parent)) in order.iter().enumerate() {
            let (off, len) = push_name(&mut names, &n.name);
            let is_dir = n.node.kind == Kind::Directory;
            let (size, data_off) = if is_dir {
                (0u64, 0u64)
            } else {
                // 16-byte alignment keeps large reads aligned at no real cost.
                while data.len() % 16 != 0 {
                    data.push(0);
                }
                let at = data.len() as u64;
                data.extend_from_slice(&n.contents);
                (n.contents.len() as u64, at)
            };
            nodes.push(n.node.kind as u8);
            nodes.extend_from_slice(&[0; 3]);
            nodes.extend_from_slice(&n.node.mode.to_le_bytes());
            for v in [off, len, *parent] {
                nodes.extend_from_slice(&v.to_le_bytes());
            }
            let kids = if is_dir { n.children.len() as u32 } else { 0 };
            let first = if kids > 0 { first_child[i] } else { 0 };
            for v in [first, kids, 0] {
                nodes.extend_from_slice(&v.to_le_bytes());
            }
            for v in [size, data_off, n.node.atim, n.node.mtim, n.node.ctim] {
                nodes.extend_from_slice(&v.to_le_bytes());
            }
        }
        for v in [
            self.roots.len() as u32,
            order.len() as u32,
            names.len() as u32,
            0,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let data_start = (HEADER_SIZE + roots.len() + nodes.len() + names.len())
            .div_ceil(DATA_ALIGN)
            * DATA_ALIGN;
        out.extend_from_slice(&(data_start as u64).to_le_bytes());
        out.extend_from_slice(&roots);
        out.extend_from_slice(&nodes);
        out.extend_from_slice(&names);
        out.resize(data_start, 0);
        out.extend_from_slice(&data);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: Kind) -> Node {
        Node {
            kind,
            mode: 0o644,
            atim: 1,
            mtim: 2,
            ctim: 3,
        }
    }

    fn leaf(name: &str, kind: Kind, contents: &[u8]) -> WriteNode {
        WriteNode {
            name: name.into(),
            node: node(kind),
            contents: contents.to_vec(),
            children: vec![],
        }
    }

    fn dir(name: &str, children: Vec<WriteNode>) -> WriteNode {
        WriteNode {
            name: name.into(),
            node: node(Kind::Directory),
            contents: vec![],
            children,
        }
    }

    #[test]
    fn a_written_tree_reads_back_with_sorted_children_contents_and_links() {
        let mut w = TreeWriter::default();
        w.add_root(
            b"/data",
            dir(
                "",
                vec![
                    leaf("z.txt", Kind::File, b"zzz"),
                    dir("sub", vec![leaf("empty", Kind::File, b"")]),
                    leaf("link", Kind::Symlink, b"sub/empty"),
                ],
            ),
        );
        w.add_root(b"/other", dir("", vec![]));
        let image = w.finish();
        let t = Tree::parse(&image).unwrap();
        let roots: Vec<_> = t.roots().collect();
        assert_eq!(roots, [(&b"/data"[..], 0), (&b"/other"[..], 1)]);
        let root = t.entry(0);
        let names: Vec<_> = t.children(&root).map(|e| e.name.to_vec()).collect();
        assert_eq!(
            names,
            [b"link".to_vec(), b"sub".to_vec(), b"z.txt".to_vec()]
        );
        let z = t.lookup(&root, b"z.txt").unwrap();
        assert_eq!(
            (t.contents(&z), z.kind, z.mtim),
            (&b"zzz"[..], Kind::File, 2)
        );
        let link = t.lookup(&root, b"link").unwrap();
        assert_eq!(
            (t.contents(&link), link.kind),
            (&b"sub/empty"[..], Kind::Symlink)
        );
        let sub = t.lookup(&root, b"sub").unwrap();
        let empty = t.lookup(&sub, b"empty").unwrap();
        assert_eq!((empty.size, empty.parent), (0, sub.index));
        assert!(t.lookup(&root, b"nope").is_none());
        assert!(t.lookup(&t.entry(1), b"x").is_none());
    }

    #[test]
    fn every_truncation_or_single_byte_corruption_of_an_image_is_refused_or_stays_in_bounds() {
        let mut w = TreeWriter::default();
        w.add_root(
            b"/d",
            dir(
                "",
                vec![
                    leaf("f", Kind::File, b"hello"),
                    dir("s", vec![leaf("l", Kind::Symlink, b"../f")]),
                ],
            ),
        );
        let image = w.finish();
        for len in 0..image.len() {
            if let Ok(t) = Tree::parse(&image[..len]) {
                walk(&t);
            }
        }
        for at in 0..HEADER_SIZE + ROOT_SIZE + 3 * NODE_SIZE {
            for v in [0u8, 1, 7, 0x80, 0xff] {
                let mut bad = image.clone();
                bad[at] = v;
                if let Ok(t) = Tree::parse(&bad) {
                    walk(&t);
                }
            }
        }
    }

    /// Touches everything reachable, which must not panic.
    fn walk(t: &Tree<'_>) {
        for (_, r) in t.roots() {
            let mut stack = vec![t.entry(r)];
            while let Some(e) = stack.pop() {
                let _ = t.contents(&e);
                stack.extend(t.children(&e));
            }
        }
    }
}

//! The private `blosc2_context` layouts this plugin knows (shared/TUNER_ABI.md),
//! how a host's version string maps to one, and the fingerprint that
//! cross-checks a context before anything is written into it.
//!
//! Everything here is safe code on byte slices, so the detection can be tested
//! with forged contexts and version strings.

use std::fmt;

/// A `blosc2_context` layout (x86_64 byte offsets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Layout {
    /// c-blosc2 2.13.0 - 2.23.x.
    A,
    /// c-blosc2 3.0.0 - 3.3.x, 3.6.x and 3.8.x (3.4, 3.5 and 3.7 were never
    /// checked).
    B,
}

/// Byte offsets of the fields the plugin reads or writes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Offsets {
    pub(crate) src: usize,
    pub(crate) sourcesize: usize,
    pub(crate) blocksize: usize,
    pub(crate) header_blocksize: Option<usize>,
    pub(crate) splitmode: usize,
    pub(crate) destsize: usize,
    pub(crate) typesize: usize,
    pub(crate) compcode: usize,
    pub(crate) compcode_meta: usize,
    pub(crate) clevel: usize,
    pub(crate) use_dict: usize,
    pub(crate) filter_flags: usize,
    pub(crate) filters: usize,
    pub(crate) filters_meta: usize,
    pub(crate) do_compress: usize,
    pub(crate) tuner_params: usize,
    pub(crate) tuner_id: usize,
    pub(crate) nthreads: usize,
    pub(crate) new_nthreads: usize,
    /// `sizeof(blosc2_context)`.
    pub(crate) size: usize,
}

const OFFSETS_A: Offsets = Offsets {
    src: 0,
    sourcesize: 20,
    blocksize: 36,
    header_blocksize: None,
    splitmode: 40,
    destsize: 52,
    typesize: 56,
    compcode: 76,
    compcode_meta: 80,
    clevel: 84,
    use_dict: 88,
    filter_flags: 128,
    filters: 129,
    filters_meta: 135,
    do_compress: 848,
    tuner_params: 856,
    tuner_id: 864,
    nthreads: 928,
    new_nthreads: 930,
    size: 1256,
};

/// Also c-blosc2 3.6.1 (python-blosc2 4.15.0): its `blosc2_context` is the
/// 3.3 one at every field here, size 1344 included (3.6 only adds a bool,
/// `blosc1_format`, in the padding at byte 19). One difference in behaviour:
/// 3.6 copies `blocksize` into `header_blocksize` itself after the tuner ran,
/// so the plugin's own copy is redundant there and stays for 3.0-3.3.
///
/// Also c-blosc2 3.8.0 (python-blosc2 4.16.1): every field here at the same
/// offset as in 3.6.1, and the code that reads and writes them
/// (`blosc2_create_cctx`, `initialize_context_compression`,
/// `blosc2_ctx_get_cparams`, `write_compression_header`) the same
/// instructions. The context grew to 1352 bytes: one bool appended after
/// the old end, which only the prefilter reads. `size` is the 3.0-3.6 one;
/// nothing but the forged contexts of the tests uses it.
const OFFSETS_B: Offsets = Offsets {
    src: 0,
    sourcesize: 20,
    blocksize: 36,
    header_blocksize: Some(40),
    splitmode: 44,
    destsize: 56,
    typesize: 60,
    compcode: 116,
    compcode_meta: 120,
    clevel: 124,
    use_dict: 128,
    filter_flags: 168,
    filters: 169,
    filters_meta: 175,
    do_compress: 888,
    tuner_params: 896,
    tuner_id: 904,
    nthreads: 968,
    new_nthreads: 970,
    size: 1344,
};

/// The bytes of a context that every layout's fingerprint may read: the
/// smaller context size, so a snapshot never reads past either allocation.
pub(crate) const SNAPSHOT_BYTES: usize = OFFSETS_A.size;

/// The versions supported, for messages.
pub(crate) const SUPPORTED: &str = "c-blosc2 2.13-2.23 (python-blosc2 3.0-4.1), \
     3.0-3.3 (python-blosc2 4.2-4.14), 3.6 (python-blosc2 4.15) and 3.8 (python-blosc2 4.16)";

impl Layout {
    /// Both layouts.
    pub(crate) const ALL: [Layout; 2] = [Layout::A, Layout::B];

    /// The field offsets.
    pub(crate) const fn offsets(self) -> &'static Offsets {
        match self {
            Layout::A => &OFFSETS_A,
            Layout::B => &OFFSETS_B,
        }
    }

    /// The layout of a c-blosc2 version string (`"2.19.1"`, `"3.3.5"`,
    /// `"3.6.1"`, `"2.21.2.dev"`), if it is a supported one. Only minor
    /// versions whose layout was checked are: 3.4, 3.5 and 3.7 (bundled by
    /// no python-blosc2 release on PyPI) are refused.
    pub(crate) fn for_version(version: &str) -> Option<Layout> {
        let mut parts = version.split(['.', '-']);
        let major: u32 = parts.next()?.parse().ok()?;
        let minor: u32 = parts.next()?.parse().ok()?;
        // The patch level must be a number too: guards against stray text.
        let patch = parts.next()?;
        if patch.is_empty() || !patch.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        match (major, minor) {
            (2, 13..=23) => Some(Layout::A),
            (3, 0..=3 | 6 | 8) => Some(Layout::B),
            _ => None,
        }
    }

    fn other(self) -> Layout {
        match self {
            Layout::A => Layout::B,
            Layout::B => Layout::A,
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::A => "2.13-2.23",
            Layout::B => "3.0-3.3, 3.6, 3.8",
        })
    }
}

fn i32_at(b: &[u8], off: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn i16_at(b: &[u8], off: usize) -> Option<i16> {
    Some(i16::from_ne_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// Whether `snapshot` (the first [`SNAPSHOT_BYTES`] of a context) looks like
/// a compression context just created by `blosc2_create_cctx`, read with
/// `layout`: `do_compress == 1`, `nthreads >= 1 == new_nthreads`, clevel,
/// split mode, codec, typesize and `use_dict` in range, tuner fields unset.
pub(crate) fn fingerprint_matches(layout: Layout, snapshot: &[u8]) -> bool {
    let o = layout.offsets();
    let check = || -> Option<bool> {
        let nthreads = i16_at(snapshot, o.nthreads)?;
        Some(
            i32_at(snapshot, o.do_compress)? == 1
                && nthreads >= 1
                && i16_at(snapshot, o.new_nthreads)? == nthreads
                && (0..=9).contains(&i32_at(snapshot, o.clevel)?)
                && (1..=4).contains(&i32_at(snapshot, o.splitmode)?)
                && (0..=255).contains(&i32_at(snapshot, o.compcode)?)
                && (1..=255).contains(&i32_at(snapshot, o.typesize)?)
                && (0..=1).contains(&i32_at(snapshot, o.use_dict)?)
                && u64_at(snapshot, o.tuner_params)? == 0
                && i32_at(snapshot, o.tuner_id)? == 0,
        )
    };
    check().unwrap_or(false)
}

/// The layout for a host of `version` whose new context reads as `snapshot`,
/// or the one-line reason to refuse: an unsupported version, a context that
/// does not match its version's layout, or one that matches both layouts.
pub(crate) fn detect(version: &str, snapshot: &[u8]) -> Result<Layout, String> {
    let Some(layout) = Layout::for_version(version) else {
        return Err(format!(
            "c-blosc2 {version} is not supported (supported: {SUPPORTED})"
        ));
    };
    if snapshot.len() < SNAPSHOT_BYTES {
        return Err("the compression context is too short to check".into());
    }
    if !fingerprint_matches(layout, snapshot) {
        return Err(format!(
            "the compression context of c-blosc2 {version} does not have the expected {layout} layout"
        ));
    }
    if fingerprint_matches(layout.other(), snapshot) {
        return Err(format!(
            "the compression context of c-blosc2 {version} matches more than one layout"
        ));
    }
    Ok(layout)
}

/// The c-blosc2 version strings in `mem` (an object's read-only data): each
/// `X.Y.Z[suffix]` that the compiler placed right before the version date,
/// `"X.Y.Z\0$Date:: ..."`. Distinct values, in order of appearance.
pub(crate) fn version_strings(mem: &[u8]) -> Vec<String> {
    const DATE: &[u8] = b"\0$Date:: ";
    let mut found: Vec<String> = Vec::new();
    let mut start = 0;
    while let Some(pos) = find(&mem[start..], DATE).map(|p| p + start) {
        let mut b = pos;
        while b > 0
            && pos - b < 32
            && (mem[b - 1].is_ascii_alphanumeric() || matches!(mem[b - 1], b'.' | b'-'))
        {
            b -= 1;
        }
        if let Ok(s) = std::str::from_utf8(&mem[b..pos]) {
            let well_formed =
                s.bytes().next().is_some_and(|c| c.is_ascii_digit()) && s.split('.').count() >= 3;
            if well_formed && !found.iter().any(|f| f == s) {
                found.push(s.to_owned());
            }
        }
        start = pos + DATE.len();
    }
    found
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        match hay[i..hay.len() - needle.len() + 1]
            .iter()
            .position(|&c| c == first)
        {
            Some(p) => {
                i += p;
                if &hay[i..i + needle.len()] == needle {
                    return Some(i);
                }
                i += 1;
            }
            None => return None,
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A context as `blosc2_create_cctx` leaves it before the tuner's init.
    pub(crate) fn forged_context(layout: Layout) -> Vec<u8> {
        let o = layout.offsets();
        let mut b = vec![0u8; o.size];
        let mut put = |off: usize, bytes: &[u8]| b[off..off + bytes.len()].copy_from_slice(bytes);
        put(o.do_compress, &1i32.to_ne_bytes());
        put(o.nthreads, &2i16.to_ne_bytes());
        put(o.new_nthreads, &2i16.to_ne_bytes());
        put(o.clevel, &5i32.to_ne_bytes());
        put(o.splitmode, &4i32.to_ne_bytes());
        put(o.compcode, &5i32.to_ne_bytes());
        put(o.typesize, &8i32.to_ne_bytes());
        b
    }

    #[test]
    fn versions_map_to_layouts() {
        assert_eq!(Layout::for_version("2.13.0"), Some(Layout::A));
        assert_eq!(Layout::for_version("2.19.1"), Some(Layout::A));
        assert_eq!(Layout::for_version("2.23.4.dev"), Some(Layout::A));
        assert_eq!(Layout::for_version("3.0.2"), Some(Layout::B));
        assert_eq!(Layout::for_version("3.3.5"), Some(Layout::B));
        assert_eq!(Layout::for_version("3.6.0"), Some(Layout::B));
        assert_eq!(Layout::for_version("3.6.1"), Some(Layout::B));
        assert_eq!(Layout::for_version("3.6.2.dev"), Some(Layout::B));
        assert_eq!(Layout::for_version("3.8.0"), Some(Layout::B));
        for v in [
            "2.12.9", "2.24.0", "3.4.0", "3.5.1", "3.7.0", "3.9.0", "4.0.0", "1.21.0", "3.3",
            "3.6", "x.y.z", "", "3.3.x", "3.6.x",
        ] {
            assert_eq!(Layout::for_version(v), None, "{v}");
        }
    }

    #[test]
    fn a_forged_context_is_recognised_with_its_own_layout_only() {
        for layout in Layout::ALL {
            let ctx = forged_context(layout);
            assert!(fingerprint_matches(layout, &ctx));
            assert!(!fingerprint_matches(layout.other(), &ctx));
        }
        let a = forged_context(Layout::A);
        assert_eq!(detect("2.19.1", &a[..SNAPSHOT_BYTES]), Ok(Layout::A));
        let b = forged_context(Layout::B);
        assert_eq!(detect("3.3.5", &b[..SNAPSHOT_BYTES]), Ok(Layout::B));
        assert_eq!(detect("3.6.1", &b[..SNAPSHOT_BYTES]), Ok(Layout::B));
        assert_eq!(detect("3.8.0", &b[..SNAPSHOT_BYTES]), Ok(Layout::B));
    }

    #[test]
    fn wrong_or_unknown_versions_are_refused() {
        let a = forged_context(Layout::A);
        // A 3.x version with a 2.x context: the fingerprint disagrees.
        let e = detect("3.3.5", &a[..SNAPSHOT_BYTES]).unwrap_err();
        assert!(e.contains("expected 3.0-3.3, 3.6, 3.8 layout"), "{e}");
        let e = detect("3.8.0", &a[..SNAPSHOT_BYTES]).unwrap_err();
        assert!(e.contains("expected 3.0-3.3, 3.6, 3.8 layout"), "{e}");
        let b = forged_context(Layout::B);
        for v in ["3.4.0", "3.5.1", "3.7.0", "3.9.0"] {
            let e = detect(v, &b[..SNAPSHOT_BYTES]).unwrap_err();
            assert!(
                e.contains("not supported") && e.contains("3.8 (python-blosc2 4.16)"),
                "{e}"
            );
        }
        let e = detect("2.19.1", &a[..100]).unwrap_err();
        assert!(e.contains("too short"), "{e}");
        // A context that satisfies both layouts is ambiguous.
        let mut both = forged_context(Layout::A);
        let b = forged_context(Layout::B);
        for (i, (x, y)) in both.iter_mut().zip(&b).enumerate() {
            if i < SNAPSHOT_BYTES {
                *x |= *y;
            }
        }
        // Overlapping fields must still hold valid values for both reads.
        if fingerprint_matches(Layout::A, &both) && fingerprint_matches(Layout::B, &both) {
            let e = detect("2.19.1", &both[..SNAPSHOT_BYTES]).unwrap_err();
            assert!(e.contains("more than one layout"), "{e}");
        }
        // A context whose tuner fields are already set is not a fresh one.
        let mut used = forged_context(Layout::B);
        let o = Layout::B.offsets();
        used[o.tuner_id..o.tuner_id + 4].copy_from_slice(&32i32.to_ne_bytes());
        assert!(detect("3.3.5", &used[..SNAPSHOT_BYTES]).is_err());
    }

    #[test]
    fn version_strings_are_found_before_the_date() {
        let mem =
            b"junk\x002.19.1\0$Date:: 2025-06-01 #$\0more 3.3.5\0$Date:: x\0 2.19.1\0$Date:: y";
        assert_eq!(version_strings(mem), ["2.19.1", "3.3.5"]);
        assert!(version_strings(b"no version here $Date:: ").is_empty());
        assert_eq!(version_strings(b"2.21.2.dev\0$Date:: z"), ["2.21.2.dev"]);
        assert!(version_strings(b"\0$Date:: ").is_empty());
        // A forged, unsupported version is found and then refused.
        let v = version_strings(b"\x009.9.9\0$Date:: 2030 #$");
        assert_eq!(v, ["9.9.9"]);
        let ctx = forged_context(Layout::B);
        assert!(detect(&v[0], &ctx[..SNAPSHOT_BYTES]).is_err());
    }
}

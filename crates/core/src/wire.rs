//! A borrowed protobuf wire-format reader: the base of [`crate::view`].
//!
//! Hand-written because prost has no zero-copy decode (it decodes into owned `String`s and
//! `Vec`s, one allocation per label). This reader never allocates, never panics and never
//! indexes out of bounds: every access goes through `get`, every length is checked against
//! what remains, and unknown groups are skipped with a bounded depth. It accepts what prost
//! accepts (unknown fields skipped, packed and unpacked repeated scalars) and rejects what
//! prost rejects (field number 0, wire types 6/7, a known field with the wrong wire type,
//! invalid UTF-8 in a string), so the view and the owned structs agree on every body.
//!
//! Offsets in errors are absolute byte offsets into the decoded body.

/// prost's recursion limit: each nested message and each nested unknown group uses one
/// level. The reader mirrors it exactly so both accept the same bodies.
const RECURSION_LIMIT: u32 = 100;

/// Why the decoded bytes are not a valid message of the expected schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid protobuf: {kind} in {field} at byte {offset}")]
pub struct DecodeError {
    kind: DecodeErrorKind,
    field: &'static str,
    offset: usize,
}

/// The kind of a [`DecodeError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// A length or value runs past the end of its message.
    #[error("truncated data")]
    Truncated,
    /// A varint is longer than 10 bytes.
    #[error("varint overflow")]
    VarintOverflow,
    /// A tag carries field number 0.
    #[error("field number 0")]
    FieldNumberZero,
    /// Wire type 6 or 7, or an end-group without a start.
    #[error("invalid wire type")]
    InvalidWireType,
    /// A known field arrived with a wire type its schema type cannot have.
    #[error("wrong wire type for field")]
    WrongWireType,
    /// A string field is not UTF-8.
    #[error("string is not UTF-8")]
    InvalidUtf8,
    /// A packed fixed-width field's length is not a multiple of its width.
    #[error("packed field length not a multiple of the element size")]
    BadPackedLength,
    /// Unknown groups nested deeper than the reader allows.
    #[error("groups nested too deep")]
    TooDeep,
}

impl DecodeError {
    pub(crate) fn new(kind: DecodeErrorKind, field: &'static str, offset: usize) -> Self {
        DecodeError {
            kind,
            field,
            offset,
        }
    }

    /// What was wrong.
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// The message or field being read, e.g. `TimeSeries.labels`.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// Absolute byte offset into the decoded body.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The status a receiver answers: 400.
    pub fn status(&self) -> u16 {
        400
    }
}

/// The value of one field as it appears on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireValue<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1 (little-endian 8 bytes).
    Fixed64(u64),
    /// Wire type 2: the payload bytes.
    Len(&'a [u8]),
    /// Wire type 5 (little-endian 4 bytes).
    Fixed32(u32),
    /// Wire type 3: a (deprecated) group, already skipped. Never valid for a known field.
    Group,
}

/// One field of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    /// Field number.
    pub number: u32,
    /// The value.
    pub value: WireValue<'a>,
    /// Absolute offset of the tag.
    pub start: usize,
    /// Absolute offset of the value (for `Len`, of its payload).
    pub value_offset: usize,
    /// Absolute offset one past the field's last byte.
    pub end: usize,
}

impl<'a> Field<'a> {
    /// The payload of a length-delimited field, or `WrongWireType` naming `what`.
    #[inline]
    pub fn bytes(&self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        match self.value {
            WireValue::Len(b) => Ok(b),
            _ => Err(self.wrong(what)),
        }
    }

    /// A string field.
    #[inline]
    pub fn str(&self, what: &'static str) -> Result<&'a str, DecodeError> {
        let bytes = self.bytes(what)?;
        core::str::from_utf8(bytes)
            .map_err(|_| DecodeError::new(DecodeErrorKind::InvalidUtf8, what, self.value_offset))
    }

    /// A varint field (int64, uint64, uint32, int32, enum, bool).
    pub fn varint(&self, what: &'static str) -> Result<u64, DecodeError> {
        match self.value {
            WireValue::Varint(v) => Ok(v),
            _ => Err(self.wrong(what)),
        }
    }

    /// An `int64` field.
    pub fn int64(&self, what: &'static str) -> Result<i64, DecodeError> {
        self.varint(what).map(|v| v as i64)
    }

    /// A `sint32` field (zigzag), truncated to 32 bits like prost.
    pub fn sint32(&self, what: &'static str) -> Result<i32, DecodeError> {
        self.varint(what).map(|v| zigzag32(v as u32))
    }

    /// A `double` field.
    pub fn double(&self, what: &'static str) -> Result<f64, DecodeError> {
        match self.value {
            WireValue::Fixed64(v) => Ok(f64::from_bits(v)),
            _ => Err(self.wrong(what)),
        }
    }

    /// A repeated varint field, packed or not.
    pub fn varints(&self, what: &'static str) -> Result<Varints<'a>, DecodeError> {
        match self.value {
            WireValue::Varint(v) => Ok(Varints {
                single: Some(v),
                packed: Reader::empty(what),
            }),
            WireValue::Len(b) => Ok(Varints {
                single: None,
                packed: Reader::new(b, self.value_offset, what),
            }),
            _ => Err(self.wrong(what)),
        }
    }

    /// A repeated double field, packed or not.
    pub fn doubles(&self, what: &'static str) -> Result<Doubles<'a>, DecodeError> {
        match self.value {
            WireValue::Fixed64(v) => Ok(Doubles {
                single: Some(v),
                packed: &[],
            }),
            WireValue::Len(b) if b.len() % 8 == 0 => Ok(Doubles {
                single: None,
                packed: b,
            }),
            WireValue::Len(_) => Err(DecodeError::new(
                DecodeErrorKind::BadPackedLength,
                what,
                self.value_offset,
            )),
            _ => Err(self.wrong(what)),
        }
    }

    fn wrong(&self, what: &'static str) -> DecodeError {
        DecodeError::new(DecodeErrorKind::WrongWireType, what, self.start)
    }
}

/// Zigzag decoding of a `sint32`.
fn zigzag32(v: u32) -> i32 {
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

/// Zigzag decoding of a `sint64`.
pub fn zigzag64(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Elements of a repeated varint field (one unpacked value, or a packed run).
#[derive(Clone, Debug)]
pub struct Varints<'a> {
    single: Option<u64>,
    packed: Reader<'a>,
}

impl Iterator for Varints<'_> {
    type Item = Result<u64, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(v) = self.single.take() {
            return Some(Ok(v));
        }
        if self.packed.is_empty() {
            return None;
        }
        Some(self.packed.varint())
    }
}

/// Elements of a repeated double field.
#[derive(Clone, Debug)]
pub struct Doubles<'a> {
    single: Option<u64>,
    packed: &'a [u8],
}

impl Iterator for Doubles<'_> {
    type Item = f64;

    fn next(&mut self) -> Option<f64> {
        if let Some(v) = self.single.take() {
            return Some(f64::from_bits(v));
        }
        let (head, rest) = self.packed.split_first_chunk::<8>()?;
        self.packed = rest;
        Some(f64::from_le_bytes(*head))
    }
}

/// A cursor over the fields of one message.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    message: &'static str,
    budget: u32,
}

impl<'a> Reader<'a> {
    /// Reads `buf`, whose first byte sits at absolute offset `base`; `message` names the
    /// message type for errors.
    pub fn new(buf: &'a [u8], base: usize, message: &'static str) -> Self {
        Reader {
            buf,
            pos: 0,
            base,
            message,
            budget: RECURSION_LIMIT,
        }
    }

    /// Marks this message as nested `depth` levels below the request (prost's recursion
    /// accounting: a `TimeSeries` is at depth 1, a `Label` in it at depth 2).
    pub fn at_depth(mut self, depth: u32) -> Self {
        self.budget = RECURSION_LIMIT.saturating_sub(depth);
        self
    }

    fn empty(message: &'static str) -> Self {
        Reader::new(&[], 0, message)
    }

    /// The absolute offset of the next unread byte.
    pub fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn err(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(kind, self.message, self.base.saturating_add(self.pos))
    }

    /// Reads one varint.
    #[inline]
    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        // Fast path: most varints here (tags, lengths, refs) are one byte.
        if let Some(&byte) = self.buf.get(self.pos)
            && byte < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(byte));
        }
        self.varint_slow()
    }

    fn varint_slow(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(self.err(DecodeErrorKind::Truncated));
            };
            self.pos += 1;
            if i == 9 && byte > 1 {
                // The tenth byte may only hold the 64th bit (prost rejects more).
                return Err(self.err(DecodeErrorKind::VarintOverflow));
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.err(DecodeErrorKind::VarintOverflow))
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return Err(self.err(DecodeErrorKind::Truncated));
        };
        let bytes = self
            .buf
            .get(self.pos..end)
            .ok_or(self.err(DecodeErrorKind::Truncated))?;
        self.pos = end;
        Ok(bytes)
    }

    #[inline]
    fn tag(&mut self) -> Result<(u32, u8), DecodeError> {
        let start = self.pos;
        let key = self.varint()?;
        if key > u64::from(u32::MAX) {
            self.pos = start;
            return Err(self.err(DecodeErrorKind::VarintOverflow));
        }
        let number = (key >> 3) as u32;
        if number == 0 {
            self.pos = start;
            return Err(self.err(DecodeErrorKind::FieldNumberZero));
        }
        Ok((number, (key & 7) as u8))
    }

    /// Skips the body of a group whose start tag was just read: iterative, with the open
    /// group numbers on a fixed stack, and prost's depth accounting (a field inside `d`
    /// open groups needs `d` < the message's remaining recursion budget).
    fn skip_group(&mut self, number: u32) -> Result<(), DecodeError> {
        let mut open = [0u32; RECURSION_LIMIT as usize];
        let mut depth: usize = 0;
        if let Some(slot) = open.get_mut(depth) {
            *slot = number;
            depth += 1;
        }
        while depth > 0 {
            let (n, wire) = self.tag()?;
            if wire != 4 && depth as u32 >= self.budget {
                return Err(self.err(DecodeErrorKind::TooDeep));
            }
            match wire {
                0 => {
                    self.varint()?;
                }
                1 => {
                    self.take(8)?;
                }
                2 => {
                    let len = self.len_prefix()?;
                    self.take(len)?;
                }
                3 => {
                    let slot = open
                        .get_mut(depth)
                        .ok_or(self.err(DecodeErrorKind::TooDeep))?;
                    *slot = n;
                    depth += 1;
                }
                4 => {
                    depth -= 1;
                    if open.get(depth) != Some(&n) {
                        return Err(self.err(DecodeErrorKind::InvalidWireType));
                    }
                }
                5 => {
                    self.take(4)?;
                }
                _ => return Err(self.err(DecodeErrorKind::InvalidWireType)),
            }
        }
        Ok(())
    }

    #[inline]
    fn len_prefix(&mut self) -> Result<usize, DecodeError> {
        let len = self.varint()?;
        usize::try_from(len).map_err(|_| self.err(DecodeErrorKind::Truncated))
    }

    /// The next field, or `None` at the end.
    #[inline]
    pub fn next_field(&mut self) -> Result<Option<Field<'a>>, DecodeError> {
        if self.is_empty() {
            return Ok(None);
        }
        let start = self.base.saturating_add(self.pos);
        let (number, wire) = self.tag()?;
        let mut value_offset = self.base.saturating_add(self.pos);
        let value = match wire {
            0 => WireValue::Varint(self.varint()?),
            1 => {
                let b = self.take(8)?;
                let arr: [u8; 8] = b
                    .try_into()
                    .map_err(|_| self.err(DecodeErrorKind::Truncated))?;
                WireValue::Fixed64(u64::from_le_bytes(arr))
            }
            2 => {
                let len = self.len_prefix()?;
                value_offset = self.base.saturating_add(self.pos);
                WireValue::Len(self.take(len)?)
            }
            3 => {
                // Groups are deprecated and never part of these schemas: skip them, and
                // let a known field number reject the wire type.
                self.skip_group(number)?;
                WireValue::Group
            }
            5 => {
                let b = self.take(4)?;
                let arr: [u8; 4] = b
                    .try_into()
                    .map_err(|_| self.err(DecodeErrorKind::Truncated))?;
                WireValue::Fixed32(u32::from_le_bytes(arr))
            }
            _ => {
                return Err(DecodeError::new(
                    DecodeErrorKind::InvalidWireType,
                    self.message,
                    start,
                ));
            }
        };
        let end = self.base.saturating_add(self.pos);
        Ok(Some(Field {
            number,
            value,
            start,
            value_offset,
            end,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_wire_type_and_skips_group_bodies() {
        #[rustfmt::skip]
        let bytes = [
            0x08, 0x96, 0x01,                          // field 1 varint 150
            0x11, 1, 0, 0, 0, 0, 0, 0, 0,              // field 2 fixed64 1
            0x1a, 0x02, b'h', b'i',                    // field 3 len "hi"
            0x23, 0x08, 0x01, 0x24,                    // field 4 group { field 1 = 1 }
            0x2d, 2, 0, 0, 0,                          // field 5 fixed32 2
        ];
        let mut r = Reader::new(&bytes, 0, "Test");
        let f = r.next_field().unwrap().unwrap();
        assert_eq!((f.number, f.value), (1, WireValue::Varint(150)));
        assert_eq!(
            r.next_field().unwrap().unwrap().value,
            WireValue::Fixed64(1)
        );
        let s = r.next_field().unwrap().unwrap();
        assert_eq!(s.str("Test.s").unwrap(), "hi");
        assert_eq!((s.start, s.value_offset, s.end), (12, 14, 16));
        let g = r.next_field().unwrap().unwrap();
        assert_eq!((g.number, g.value), (4, WireValue::Group));
        assert!(
            g.varint("Test.g").is_err(),
            "a known field never accepts a group"
        );
        assert_eq!(
            r.next_field().unwrap().unwrap().value,
            WireValue::Fixed32(2)
        );
        assert_eq!(r.next_field().unwrap(), None);
    }

    #[test]
    fn truncated_length_names_offset() {
        let bytes = [0x08, 0x01, 0x12, 0x05, b'a'];
        let mut r = Reader::new(&bytes, 100, "Msg");
        r.next_field().unwrap();
        let err = r.next_field().unwrap_err();
        assert_eq!(err.kind(), DecodeErrorKind::Truncated);
        assert_eq!(err.field(), "Msg");
        assert_eq!(err.offset(), 104);
    }

    #[test]
    fn field_zero_and_wire_type_7_are_rejected() {
        assert_eq!(
            Reader::new(&[0x00, 0x01], 0, "M")
                .next_field()
                .unwrap_err()
                .kind(),
            DecodeErrorKind::FieldNumberZero
        );
        assert_eq!(
            Reader::new(&[0x0f], 0, "M")
                .next_field()
                .unwrap_err()
                .kind(),
            DecodeErrorKind::InvalidWireType
        );
    }

    #[test]
    fn deep_groups_are_refused_without_recursion() {
        let bytes = vec![0x0b; 1000];
        let err = Reader::new(&bytes, 0, "M").next_field().unwrap_err();
        assert_eq!(err.kind(), DecodeErrorKind::TooDeep);
        // Within prost's limit: 50 nested groups of field 1, closed again.
        let mut ok: Vec<u8> = vec![0x0b; 50];
        ok.extend(std::iter::repeat_n(0x0c, 50));
        let f = Reader::new(&ok, 0, "M").next_field().unwrap().unwrap();
        assert_eq!(f.value, WireValue::Group);
        assert_eq!(f.end, 100);
    }

    #[test]
    fn varints_accept_packed_and_unpacked() {
        let packed = Field {
            number: 1,
            value: WireValue::Len(&[0x01, 0x96, 0x01]),
            start: 0,
            value_offset: 2,
            end: 5,
        };
        let got: Result<Vec<u64>, _> = packed.varints("f").unwrap().collect();
        assert_eq!(got.unwrap(), vec![1, 150]);
        let single = Field {
            value: WireValue::Varint(7),
            ..packed
        };
        let got: Result<Vec<u64>, _> = single.varints("f").unwrap().collect();
        assert_eq!(got.unwrap(), vec![7]);
    }

    #[test]
    fn zigzag_decodes_negative_values() {
        assert_eq!(zigzag64(1), -1);
        assert_eq!(zigzag64(4), 2);
        assert_eq!(zigzag32(3), -2);
    }
}

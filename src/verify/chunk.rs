//! Chunk planning for pass 2 (pure): which column a table can be chunked on (a single-column
//! integer primary key), the key range across nodes, consecutive key ranges of `chunk_size` values
//! that skip runs of empty ranges, and splitting a differing range until its rows can be listed.

const INTEGER_TYPES: &[&str] = &["tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"];

/// Whether a column's `DATA_TYPE` holds integers.
pub fn is_integer(data_type: &str) -> bool {
    INTEGER_TYPES.contains(&data_type.to_ascii_lowercase().as_str())
}

/// A column as `information_schema.COLUMNS` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// `DATA_TYPE`: `int`, `varchar`, ...
    pub data_type: String,
    /// `COLUMN_TYPE`: `int(11) unsigned`, `varchar(16)`, ...
    pub column_type: String,
}

impl Column {
    /// A row of [`super::sql::columns`] (`c`, `d`, `ct`).
    pub fn from_row(r: &crate::model::replication::Row) -> Column {
        let get = |k: &str| r.iter().find(|(n, _)| n == k).and_then(|(_, v)| v.clone()).unwrap_or_default();
        Column { name: get("c"), data_type: get("d"), column_type: get("ct") }
    }
}

/// The column to chunk on, or why chunks cannot be computed.
pub fn chunk_key(primary_key: &[String], columns: &[Column]) -> Result<String, String> {
    match primary_key {
        [] => Err("no primary key: compared per table only".into()),
        [one] => {
            let col = columns.iter().find(|c| &c.name == one);
            match col {
                Some(c) if is_integer(&c.data_type) => Ok(one.clone()),
                Some(c) => {
                    Err(format!("primary key `{one}` is {}, not an integer: compared per table only", c.column_type))
                }
                None => Err(format!("primary key `{one}` is not among the columns")),
            }
        }
        many => Err(format!("primary key has {} columns ({}): compared per table only", many.len(), many.join(", "))),
    }
}

/// The key range over every node: the smallest minimum and the largest maximum. `None` when
/// every node's table is empty (or no node answered).
pub fn bounds(per_node: &[Option<(Option<i128>, Option<i128>)>]) -> Option<(i128, i128)> {
    let lo = per_node.iter().flatten().filter_map(|(lo, _)| *lo).min()?;
    let hi = per_node.iter().flatten().filter_map(|(_, hi)| *hi).max()?;
    Some((lo, hi.max(lo)))
}

/// Walks `min..=max` in key ranges of `size` values. After each range, the next one starts at
/// the smallest key any node has after it, so a gap in the keys costs one query, not one per
/// `size` values of the gap. The ranges always cover `min..=max` without holes: what lies between
/// a range and the next start is empty on every node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkPlan {
    next_lo: Option<i128>,
    max: i128,
    size: i128,
}

impl ChunkPlan {
    pub fn new(min: i128, max: i128, size: u64) -> ChunkPlan {
        ChunkPlan { next_lo: (min <= max).then_some(min), max, size: i128::from(size.max(1)) }
    }

    /// The range to compare now, `None` when done.
    pub fn current(&self) -> Option<(i128, i128)> {
        let lo = self.next_lo?;
        Some((lo, (lo + self.size - 1).min(self.max)))
    }

    /// Moves past the current range; `nexts` are the nodes' first keys after it (`None`: none, or
    /// the node did not answer).
    pub fn advance(&mut self, nexts: &[Option<i128>]) {
        let Some((_, hi)) = self.current() else { return };
        self.next_lo = nexts.iter().flatten().copied().filter(|n| *n > hi && *n <= self.max).min();
    }
}

/// Every range of [`ChunkPlan`] when every key in `min..=max` exists (no gaps to skip).
pub fn plan_dense(min: i128, max: i128, size: u64) -> Vec<(i128, i128)> {
    let mut plan = ChunkPlan::new(min, max, size);
    let mut out = Vec::new();
    while let Some((lo, hi)) = plan.current() {
        out.push((lo, hi));
        plan.advance(&[Some(hi + 1)]);
    }
    out
}

/// Splits `lo..=hi`, where some node has `max_rows` rows, into ranges expected to hold about
/// `target` rows each (at least 2, at most 64 pieces). A range of at most `target` keys cannot
/// hold more rows than that and comes back whole.
pub fn split(lo: i128, hi: i128, max_rows: u64, target: u64) -> Vec<(i128, i128)> {
    let width = hi - lo + 1;
    let target = i128::from(target.max(1));
    if width <= target {
        return vec![(lo, hi)];
    }
    let pieces = i128::from(max_rows).div_euclid(target).saturating_add(1).clamp(2, 64);
    let step = (width + pieces - 1) / pieces;
    let mut out = Vec::new();
    let mut at = lo;
    while at <= hi {
        let end = (at + step - 1).min(hi);
        out.push((at, end));
        at = end + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, data_type: &str, column_type: &str) -> Column {
        Column { name: name.into(), data_type: data_type.into(), column_type: column_type.into() }
    }

    #[test]
    fn only_a_single_integer_primary_key_chunks() {
        let cols =
            vec![col("id", "int", "int(11)"), col("code", "varchar", "varchar(8)"), col("n", "bigint", "bigint")];
        assert_eq!(chunk_key(&["id".into()], &cols), Ok("id".into()));
        assert_eq!(chunk_key(&["n".into()], &cols), Ok("n".into()));
        assert!(chunk_key(&[], &cols).unwrap_err().contains("no primary key"));
        let e = chunk_key(&["code".into()], &cols).unwrap_err();
        assert!(e.contains("varchar(8), not an integer"), "{e}");
        let e = chunk_key(&["id".into(), "code".into()], &cols).unwrap_err();
        assert!(e.contains("2 columns (id, code)"), "{e}");
        let big = vec![col("id", "BIGINT", "bigint(20) unsigned")];
        assert_eq!(chunk_key(&["id".into()], &big), Ok("id".into()));
    }

    #[test]
    fn bounds_span_every_node() {
        assert_eq!(bounds(&[Some((Some(5), Some(90))), Some((Some(1), Some(10))), None]), Some((1, 90)));
        assert_eq!(bounds(&[Some((None, None)), Some((Some(3), Some(3)))]), Some((3, 3)));
        assert_eq!(bounds(&[Some((None, None)), None]), None);
        assert_eq!(bounds(&[]), None);
    }

    #[test]
    fn dense_plan_covers_the_range() {
        assert_eq!(plan_dense(1, 2500, 1000), vec![(1, 1000), (1001, 2000), (2001, 2500)]);
        assert_eq!(plan_dense(7, 7, 1000), vec![(7, 7)]);
        assert_eq!(plan_dense(-3, 2, 2), vec![(-3, -2), (-1, 0), (1, 2)]);
        assert_eq!(plan_dense(5, 4, 10), vec![]);
        assert_eq!(plan_dense(1, 3, 0), vec![(1, 1), (2, 2), (3, 3)], "size 0 is taken as 1");
        let u64_max = i128::from(u64::MAX);
        assert_eq!(plan_dense(u64_max - 1, u64_max, 1000), vec![(u64_max - 1, u64_max)]);
    }

    #[test]
    fn gaps_are_skipped_by_the_next_keys() {
        // Keys 1..=11 on every node, and 900003 on one node only.
        let mut p = ChunkPlan::new(1, 900_003, 1000);
        assert_eq!(p.current(), Some((1, 1000)));
        p.advance(&[None, None, Some(900_003)]);
        assert_eq!(p.current(), Some((900_003, 900_003)), "clipped at the max");
        p.advance(&[None, None, None]);
        assert_eq!(p.current(), None);
        // The smallest next key of any node wins; a next key inside the range is ignored.
        let mut p = ChunkPlan::new(0, 10_000, 100);
        p.advance(&[Some(5000), Some(250), Some(50), None]);
        assert_eq!(p.current(), Some((250, 349)));
    }

    #[test]
    fn split_until_rows_can_be_listed() {
        assert_eq!(split(1, 50, 50, 50), vec![(1, 50)], "small enough");
        let parts = split(1, 1000, 333, 50);
        assert_eq!(parts.len(), 7);
        assert_eq!(parts.first(), Some(&(1, 143)));
        assert_eq!(parts.last(), Some(&(859, 1000)));
        // Contiguous and complete.
        for w in parts.windows(2) {
            assert_eq!(w[0].1 + 1, w[1].0);
        }
        assert_eq!(split(1, 1000, 1, 50).len(), 2, "at least two pieces");
        assert_eq!(split(0, 1_000_000, 10_000_000, 50).len(), 64, "at most 64 pieces");
    }
}

//! Property: whatever mix of appends, compactions and reopens happens, a
//! reopened log holds exactly the appended records that were not compacted.

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Op {
    Append {
        doc: u8,
        len: u16,
    },
    /// Compact at a point between the floor and the next ticket (x/255).
    Compact(u8),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u8..3, 0u16..400).prop_map(|(doc, len)| Op::Append { doc, len }),
        1 => any::<u8>().prop_map(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

type Model = BTreeMap<u64, (String, Bytes)>;

fn check(
    dir: &Path,
    opts: &WalOptions,
    model: &Model,
    next: u64,
) -> Result<(Wal, Recovered), TestCaseError> {
    let (wal, rec) =
        Wal::open(dir, opts.clone()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&by_ticket(&rec), model);
    prop_assert_eq!(rec.next_ticket, next);
    prop_assert_eq!(rec.truncated_bytes, 0);
    prop_assert_eq!(wal.size_bytes(), disk_bytes(dir));
    Ok((wal, rec))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn random_appends_compactions_and_reopens_keep_exactly_the_uncompacted_records(
        ops in proptest::collection::vec(op(), 1..50),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        rt.block_on(async {
            let tmp = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let opts = WalOptions { segment_bytes: 700, ..WalOptions::default() };
            let mut model = Model::new();
            let (mut next, mut floor) = (1u64, 1u64);
            let (wal, _) = check(tmp.path(), &opts, &model, next)?;
            let mut h = wal.start();
            for op in ops {
                match op {
                    Op::Append { doc, len } => {
                        let doc = format!("doc{doc}");
                        let update = Bytes::from(vec![(next % 251) as u8; usize::from(len)]);
                        h.append(next, doc.clone(), update.clone()).await
                            .map_err(|e| TestCaseError::fail(e.to_string()))?;
                        model.insert(next, (doc, update));
                        next += 1;
                    }
                    Op::Compact(x) => {
                        let below = floor + (next - floor) * u64::from(x) / 255;
                        h.compact(below).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
                        model.retain(|t, _| *t >= below);
                        floor = floor.max(below);
                    }
                    Op::Reopen => {
                        h.close().await.map_err(|e| TestCaseError::fail(e.to_string()))?;
                        let (wal, _) = check(tmp.path(), &opts, &model, next)?;
                        h = wal.start();
                    }
                }
            }
            h.close().await.map_err(|e| TestCaseError::fail(e.to_string()))?;
            check(tmp.path(), &opts, &model, next)?;
            Ok::<(), TestCaseError>(())
        })?;
    }
}

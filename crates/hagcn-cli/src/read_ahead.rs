//! Reading the next block of a file while the current one is processed.

use std::sync::mpsc::{channel, sync_channel};

use anyhow::Result;

/// Calls `fill` on a helper thread to load blocks into `buffers`, and `consume` on this
/// thread on each loaded block, in order.
///
/// `fill` returns how many items it loaded (`0`: the end); `consume` gets the buffer and
/// that count. The buffers circulate between the two threads, so memory is the buffers
/// alone and the reader runs at most `buffers.len()` blocks ahead. The first error of
/// either side stops both and is returned.
pub fn read_ahead<B: Send>(
    buffers: Vec<B>,
    mut fill: impl FnMut(&mut B) -> Result<usize> + Send,
    mut consume: impl FnMut(&B, usize) -> Result<()>,
) -> Result<()> {
    assert!(!buffers.is_empty(), "read_ahead needs at least one buffer");
    // At most `buffers.len()` blocks exist, so sends on `full` never wait.
    let (full_tx, full_rx) = sync_channel::<Result<(B, usize)>>(buffers.len());
    let (empty_tx, empty_rx) = channel::<B>();
    for b in buffers {
        empty_tx.send(b).expect("the receiver is alive");
    }
    std::thread::scope(|scope| {
        scope.spawn(move || {
            while let Ok(mut b) = empty_rx.recv() {
                match fill(&mut b) {
                    Ok(0) => break,
                    Ok(n) => {
                        if full_tx.send(Ok((b, n))).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = full_tx.send(Err(e));
                        break;
                    }
                }
            }
            // Dropping `full_tx` here ends the consumer's loop.
        });
        let mut result = Ok(());
        for item in full_rx.iter() {
            let step = item.and_then(|(b, n)| {
                consume(&b, n)?;
                let _ = empty_tx.send(b);
                Ok(())
            });
            if let Err(e) = step {
                result = Err(e);
                break;
            }
        }
        // Dropping the empty-buffer sender stops a reader that is still going.
        drop(empty_tx);
        drop(full_rx);
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_block_arrives_in_order() {
        let mut next = 0..10u32;
        let mut seen = Vec::new();
        read_ahead(
            vec![Vec::new(), Vec::new()],
            |b: &mut Vec<u32>| {
                b.clear();
                b.extend(next.next());
                Ok(b.len())
            },
            |b, n| {
                assert_eq!(b.len(), n);
                seen.extend_from_slice(b);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn errors_of_either_side_stop_both() {
        let err = read_ahead(vec![0u8], |_| anyhow::bail!("disk on fire"), |_, _| Ok(())).unwrap_err();
        assert_eq!(err.to_string(), "disk on fire");
        let mut calls = 0;
        let err = read_ahead(
            vec![0u8, 0, 0],
            |_| Ok(1), // an endless reader: only the consumer's error stops it
            |_, _| {
                calls += 1;
                if calls == 3 { anyhow::bail!("full disk") } else { Ok(()) }
            },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "full disk");
    }
}

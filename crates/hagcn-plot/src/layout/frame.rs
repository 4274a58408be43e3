//! The axes [`Frame`]: the affine map from axis units to logical pixels,
//! `px(u) = left + (u − x_lo) / (x_hi − x_lo) · (right − left)` (and `py` upside down), and
//! the clipping of polylines (Liang–Barsky) and error bars to it.

/// The axes rectangle in logical pixels together with the data ranges it shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Frame {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
    pub x_lo: f64,
    pub x_hi: f64,
    pub y_lo: f64,
    pub y_hi: f64,
}

impl Frame {
    pub(crate) fn px(&self, u: f64) -> f64 {
        self.left + (u - self.x_lo) / (self.x_hi - self.x_lo) * (self.right - self.left)
    }

    pub(crate) fn py(&self, v: f64) -> f64 {
        self.bottom - (v - self.y_lo) / (self.y_hi - self.y_lo) * (self.bottom - self.top)
    }

    pub(crate) fn contains(&self, (x, y): (f64, f64)) -> bool {
        const EPS: f64 = 0.5;
        x >= self.left - EPS && x <= self.right + EPS && y >= self.top - EPS && y <= self.bottom + EPS
    }
}

/// Splits the polyline through `points` (axis units) into pixel-space pieces clipped to the frame.
pub(crate) fn clipped_pieces(frame: &Frame, points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let px: Vec<(f64, f64)> = points.iter().map(|&(u, v)| (frame.px(u), frame.py(v))).collect();
    let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for pair in px.windows(2) {
        match clip_segment(frame, pair[0], pair[1]) {
            Some((a, b)) => {
                if current.last() != Some(&a) {
                    if current.len() >= 2 {
                        pieces.push(std::mem::take(&mut current));
                    }
                    current.clear();
                    current.push(a);
                }
                current.push(b);
            }
            None => {
                if current.len() >= 2 {
                    pieces.push(std::mem::take(&mut current));
                }
                current.clear();
            }
        }
    }
    if current.len() >= 2 {
        pieces.push(current);
    }
    pieces
}

/// Liang–Barsky clipping of a pixel-space segment to the frame.
fn clip_segment(f: &Frame, a: (f64, f64), b: (f64, f64)) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let mut t0: f64 = 0.0;
    let mut t1: f64 = 1.0;
    for (p, q) in [(-dx, a.0 - f.left), (dx, f.right - a.0), (-dy, a.1 - f.top), (dy, f.bottom - a.1)] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            (a.0 + t * dx, a.1 + t * dy)
        }
    };
    Some((at(t0), at(t1)))
}

/// The pixel-space extent of error bar `i` of a series, clipped to the frame: `(x, y_top, y_bottom)`.
pub(crate) fn error_bar(frame: &Frame, (u, v): (f64, f64), e: f64) -> Option<(f64, f64, f64)> {
    let x = frame.px(u);
    if e <= 0.0 || x < frame.left - 0.5 || x > frame.right + 0.5 {
        return None;
    }
    let top = frame.py(v + e).max(frame.top);
    let bottom = frame.py(v - e).min(frame.bottom);
    (top < bottom).then_some((x, top, bottom))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_splits_lines_leaving_the_frame() {
        let frame =
            Frame { left: 0.0, top: 0.0, right: 100.0, bottom: 100.0, x_lo: 0.0, x_hi: 1.0, y_lo: 0.0, y_hi: 1.0 };
        // Goes above the top (y = 2) and comes back.
        let pieces = clipped_pieces(&frame, &[(0.0, 0.5), (0.5, 2.0), (1.0, 0.5)]);
        assert_eq!(pieces.len(), 2);
        assert!(pieces.iter().flatten().all(|&p| frame.contains(p)));
        assert_eq!(clipped_pieces(&frame, &[(0.0, 0.5), (1.0, 0.5)]).len(), 1);
    }
}

//! Drawing a [`Plan`] with plotters, and the SVG / PNG outputs.

use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind, IntoDrawingArea};
use plotters::element::{Circle, DashedPathElement, PathElement, Polygon, Rectangle};
use plotters::prelude::{BitMapBackend, DrawingBackend, SVGBackend};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{
    Color, FontDesc, FontFamily, FontStyle, FontTransform, RGBAColor, RGBColor, ShapeStyle, TextStyle,
};

use crate::font::{FONT_FAMILY, ensure_registered, rasterize, text_width};
use crate::layout::{
    CAP_HALF_WIDTH, LEGEND_HANDLE, LINE_WIDTH, Label, MARKER_RADIUS, MINOR_TICK_LEN, Marker, Plan, TICK_LEN,
    clipped_pieces, error_bar, plan,
};
use crate::{HEIGHT, LineChart, LineStyle, PlotError, WIDTH};

/// The PNG is drawn at this multiple of its size and box-filtered down, which anti-aliases lines and
/// markers (plotters' raster backend does not).
const SUPERSAMPLE: u32 = 3;

const ERR_WIDTH: f64 = 1.5;
const DASH: f64 = 8.0;
const DASH_GAP: f64 = 5.0;
const MARKER_EDGE: f64 = 1.0;

const TEXT: RGBColor = RGBColor(20, 20, 20);
const AXIS: RGBColor = RGBColor(40, 40, 40);
const GRID: RGBColor = RGBColor(222, 222, 222);
const MINOR_GRID: RGBColor = RGBColor(240, 240, 240);
const LEGEND_BORDER: RGBColor = RGBColor(185, 185, 185);
const LEGEND_ALPHA: f64 = 0.85;
const WHITE: RGBColor = RGBColor(255, 255, 255);

pub(crate) fn svg(chart: &LineChart) -> Result<String, PlotError> {
    ensure_registered()?;
    let plan = plan(chart)?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        let painter = Painter { area: &root, s: 1.0 };
        paint(&painter, &plan)?;
        for item in texts(&plan) {
            painter.svg_text(&item)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(out)
}

pub(crate) fn png(chart: &LineChart) -> Result<Vec<u8>, PlotError> {
    ensure_registered()?;
    let plan = plan(chart)?;
    let s = SUPERSAMPLE as usize;
    let (w, h) = (WIDTH as usize * s, HEIGHT as usize * s);
    let mut buf = vec![0u8; w * h * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w as u32, h as u32)).into_drawing_area();
        paint(&Painter { area: &root, s: s as f64 }, &plan)?;
        root.present().map_err(draw_err)?;
    }
    // Text goes on top of everything, so it can be rasterised straight into the buffer.
    for item in texts(&plan) {
        raster_text(&mut buf, (w, h), s as f64, &item)?;
    }
    let small = downsample(&buf, w, h, s);
    encode_png(&small, WIDTH, HEIGHT)
}

fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// Draws in logical pixels on a device that is `s` times larger.
struct Painter<'a, DB: DrawingBackend> {
    area: &'a DrawingArea<DB, Shift>,
    s: f64,
}

impl<DB: DrawingBackend> Painter<'_, DB> {
    fn pt(&self, (x, y): (f64, f64)) -> (i32, i32) {
        ((x * self.s).round() as i32, (y * self.s).round() as i32)
    }

    /// The device coordinate at the centre of logical pixel `floor(v)`, so hairlines stay crisp.
    fn snap(&self, v: f64) -> i32 {
        let s = self.s as i32;
        v.floor() as i32 * s + s / 2
    }

    fn stroke(&self, color: RGBAColor, width: f64) -> ShapeStyle {
        ShapeStyle { color, filled: false, stroke_width: ((width * self.s).round() as u32).max(1) }
    }

    fn fill(&self, color: RGBAColor) -> ShapeStyle {
        ShapeStyle { color, filled: true, stroke_width: 1 }
    }

    fn path(&self, points: Vec<(i32, i32)>, style: ShapeStyle) -> Result<(), PlotError> {
        self.area.draw(&PathElement::new(points, style)).map_err(draw_err)
    }

    fn polyline(&self, points: &[(f64, f64)], dashed: bool, style: ShapeStyle) -> Result<(), PlotError> {
        let pts: Vec<(i32, i32)> = points.iter().map(|&p| self.pt(p)).collect();
        if dashed {
            let (dash, gap) = ((DASH * self.s).round() as i32, (DASH_GAP * self.s).round() as i32);
            self.area.draw(&DashedPathElement::new(pts, dash, gap, style)).map_err(draw_err)
        } else {
            self.path(pts, style)
        }
    }

    fn hline(&self, x0: f64, x1: f64, y: f64, color: RGBColor) -> Result<(), PlotError> {
        let y = self.snap(y);
        self.path(vec![(self.pt((x0, 0.0)).0, y), (self.pt((x1, 0.0)).0, y)], self.stroke(color.to_rgba(), 1.0))
    }

    fn vline(&self, x: f64, y0: f64, y1: f64, color: RGBColor) -> Result<(), PlotError> {
        let x = self.snap(x);
        self.path(vec![(x, self.pt((0.0, y0)).1), (x, self.pt((0.0, y1)).1)], self.stroke(color.to_rgba(), 1.0))
    }

    fn marker(&self, marker: Marker, (x, y): (f64, f64), color: RGBAColor) -> Result<(), PlotError> {
        // A thin white rim keeps overlapping markers apart.
        self.marker_shape(marker, (x, y), MARKER_RADIUS + MARKER_EDGE, WHITE.to_rgba())?;
        self.marker_shape(marker, (x, y), MARKER_RADIUS, color)
    }

    fn marker_shape(&self, marker: Marker, (x, y): (f64, f64), r: f64, color: RGBAColor) -> Result<(), PlotError> {
        let style = self.fill(color);
        let poly = |pts: &[(f64, f64)]| -> Result<(), PlotError> {
            let pts: Vec<(i32, i32)> = pts.iter().map(|&(dx, dy)| self.pt((x + dx * r, y + dy * r))).collect();
            self.area.draw(&Polygon::new(pts, style)).map_err(draw_err)
        };
        match marker {
            Marker::Circle => {
                let radius = (r * self.s).round() as u32;
                self.area.draw(&Circle::new(self.pt((x, y)), radius, style)).map_err(draw_err)
            }
            Marker::Square => {
                let (cx, cy) = self.pt((x, y));
                let a = (0.88 * r * self.s).round() as i32;
                self.area.draw(&Rectangle::new([(cx - a, cy - a), (cx + a, cy + a)], style)).map_err(draw_err)
            }
            Marker::Diamond => poly(&[(0.0, -1.3), (1.0, 0.0), (0.0, 1.3), (-1.0, 0.0)]),
            Marker::Triangle => poly(&[(0.0, -1.3), (1.15, 0.7), (-1.15, 0.7)]),
        }
    }

    /// Emits an SVG `<text>` whose baseline and alignment match [`raster_text`].
    fn svg_text(&self, item: &TextItem<'_>) -> Result<(), PlotError> {
        let label = item.label;
        // plotters' SVG backend writes font-size = size / 1.24 and shifts a VPos::Top anchor to the
        // baseline with dy="0.76em".
        let to_baseline = 0.76 * label.em;
        let font = FontDesc::new(FontFamily::Name(FONT_FAMILY), svg_font_size(label.em), FontStyle::Normal);
        let mut style = TextStyle::from(font).color(&TEXT).pos(Pos::new(item.h, VPos::Top));
        let (x, y) = if item.rotated {
            style = style.transform(FontTransform::Rotate270);
            (label.x - to_baseline, label.y)
        } else {
            (label.x, label.y - to_baseline)
        };
        self.area.draw_text(&label.text, &style, (x.round() as i32, y.round() as i32)).map_err(draw_err)
    }
}

/// A plotters font size that the SVG backend (which writes `size / 1.24`) prints as a short number,
/// like `18`, rather than `18.000000000000004`. Not every decimal has such a size (15 has none), so
/// the em may move to a neighbouring tenth of a pixel.
fn svg_font_size(em: f64) -> f64 {
    let tenths = (em * 10.0).round();
    for step in [0.0, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0] {
        let want = (tenths + step) / 10.0;
        let base = want * 1.24;
        let exact = (0..16i64)
            .flat_map(|k| [k, -k])
            .map(|k| f64::from_bits(base.to_bits().wrapping_add_signed(k)))
            .find(|size| size / 1.24 == want);
        if let Some(size) = exact {
            return size;
        }
    }
    em * 1.24
}

/// A piece of text: `label.y` is its baseline and `label.x` its anchor along the line (`h`), or, when
/// `rotated` (reading bottom to top), `label.x` is the baseline and `label.y` the anchor.
struct TextItem<'p> {
    label: &'p Label,
    h: HPos,
    rotated: bool,
}

fn texts<'p>(plan: &'p Plan<'_>) -> Vec<TextItem<'p>> {
    let item = |label, h, rotated| TextItem { label, h, rotated };
    let mut out: Vec<TextItem<'p>> = Vec::new();
    out.extend(plan.x_tick_labels.iter().map(|l| item(l, HPos::Center, false)));
    out.extend(plan.y_tick_labels.iter().map(|l| item(l, HPos::Right, false)));
    out.extend(plan.x_label.iter().map(|l| item(l, HPos::Center, false)));
    out.extend(plan.y_label.iter().map(|l| item(l, HPos::Center, true)));
    out.extend(plan.title.iter().map(|l| item(l, HPos::Center, false)));
    if let Some(legend) = &plan.legend {
        out.extend(legend.items.iter().map(|it| item(&it.label, HPos::Left, false)));
    }
    out
}

/// Rasterises a text item into an RGB buffer that is `s` times the logical size.
fn raster_text(buf: &mut [u8], (w, h): (usize, usize), s: f64, item: &TextItem<'_>) -> Result<(), PlotError> {
    let label = item.label;
    let width = text_width(&label.text, label.em)? * s;
    let shift = match item.h {
        HPos::Left => 0.0,
        HPos::Center => -0.5 * width,
        HPos::Right => -width,
    };
    let em = label.em * s;
    let mut put = |x: i32, y: i32, coverage: f32| {
        if x < 0 || y < 0 || x as usize >= w || y as usize >= h || coverage <= 0.0 {
            return;
        }
        let a = f64::from(coverage.min(1.0));
        let i = (y as usize * w + x as usize) * 3;
        let RGBColor(r, g, b) = TEXT;
        for (k, c) in [r, g, b].into_iter().enumerate() {
            buf[i + k] = (f64::from(buf[i + k]) * (1.0 - a) + f64::from(c) * a).round() as u8;
        }
    };
    if item.rotated {
        // Lay the text out horizontally around the origin, then turn it 90° counter-clockwise:
        // text x runs up the screen, text y (down) runs to the right.
        let (bx, by) = ((label.x * s).round() as i32, (label.y * s).round() as i32);
        rasterize(&label.text, em, (shift, 0.0), |x, y, c| put(bx + y, by - x - 1, c))
    } else {
        rasterize(&label.text, em, (label.x * s + shift, label.y * s), put)
    }
}

fn paint<DB: DrawingBackend>(p: &Painter<'_, DB>, plan: &Plan<'_>) -> Result<(), PlotError> {
    let f = &plan.frame;
    p.area.fill(&WHITE).map_err(draw_err)?;

    // Grid.
    for &u in &plan.x_axis.minor {
        p.vline(f.px(u), f.top, f.bottom, MINOR_GRID)?;
    }
    for t in &plan.x_axis.major {
        p.vline(f.px(t.pos), f.top, f.bottom, GRID)?;
    }
    for t in &plan.y_axis.major {
        p.hline(f.left, f.right, f.py(t.pos), GRID)?;
    }

    // The frame goes under the data, so markers on the edge of the range (e.g. precision 1.0) stay whole.
    let frame = [(p.snap(f.left), p.snap(f.top)), (p.snap(f.right), p.snap(f.bottom))];
    p.area.draw(&Rectangle::new(frame, p.stroke(AXIS.to_rgba(), 1.0))).map_err(draw_err)?;

    // Error bars, then lines, then markers, so markers sit on top of every line.
    for s in &plan.series {
        let Some(errs) = s.err else { continue };
        let color = rgb(s.color).to_rgba();
        for (&pt, &e) in s.points.iter().zip(errs) {
            let Some((x, top, bottom)) = error_bar(f, pt, e) else { continue };
            p.path(vec![p.pt((x, top)), p.pt((x, bottom))], p.stroke(color, ERR_WIDTH))?;
            for (y, unclipped) in [(top, f.py(pt.1 + e) >= f.top), (bottom, f.py(pt.1 - e) <= f.bottom)] {
                if unclipped {
                    let cap = vec![p.pt((x - CAP_HALF_WIDTH, y)), p.pt((x + CAP_HALF_WIDTH, y))];
                    p.path(cap, p.stroke(color, ERR_WIDTH))?;
                }
            }
        }
    }
    for s in &plan.series {
        let style = p.stroke(rgb(s.color).to_rgba(), LINE_WIDTH);
        for piece in clipped_pieces(f, &s.points) {
            p.polyline(&piece, s.style == LineStyle::Dashed, style)?;
        }
    }
    for s in &plan.series {
        for (u, v) in s.marked_points() {
            let c = (f.px(u), f.py(v));
            if f.contains(c) {
                p.marker(s.marker, c, rgb(s.color).to_rgba())?;
            }
        }
    }

    // Tick marks.
    for t in &plan.x_axis.major {
        p.vline(f.px(t.pos), f.bottom, f.bottom + TICK_LEN, AXIS)?;
    }
    if plan.x_axis.minor_marks {
        for &u in &plan.x_axis.minor {
            p.vline(f.px(u), f.bottom, f.bottom + MINOR_TICK_LEN, AXIS)?;
        }
    }
    for t in &plan.y_axis.major {
        p.hline(f.left - TICK_LEN, f.left, f.py(t.pos), AXIS)?;
    }

    paint_legend(p, plan)
}

fn paint_legend<DB: DrawingBackend>(p: &Painter<'_, DB>, plan: &Plan<'_>) -> Result<(), PlotError> {
    let Some(legend) = &plan.legend else { return Ok(()) };
    let corners = [(p.snap(legend.x), p.snap(legend.y)), (p.snap(legend.x + legend.w), p.snap(legend.y + legend.h))];
    p.area.draw(&Rectangle::new(corners, p.fill(WHITE.mix(LEGEND_ALPHA)))).map_err(draw_err)?;
    p.area.draw(&Rectangle::new(corners, p.stroke(LEGEND_BORDER.to_rgba(), 1.0))).map_err(draw_err)?;
    for item in &legend.items {
        let s = &plan.series[item.series];
        let color = rgb(s.color).to_rgba();
        let (x0, y) = (item.handle_x, item.y);
        p.polyline(&[(x0, y), (x0 + LEGEND_HANDLE, y)], s.style == LineStyle::Dashed, p.stroke(color, LINE_WIDTH))?;
        p.marker(s.marker, (x0 + 0.5 * LEGEND_HANDLE, y), color)?;
    }
    Ok(())
}

fn rgb((r, g, b): (u8, u8, u8)) -> RGBColor {
    RGBColor(r, g, b)
}

/// Box-filters an RGB image by an integer factor.
fn downsample(src: &[u8], w: usize, h: usize, factor: usize) -> Vec<u8> {
    let (ow, oh) = (w / factor, h / factor);
    let n = (factor * factor) as u32;
    let mut out = vec![0u8; ow * oh * 3];
    for oy in 0..oh {
        for ox in 0..ow {
            let mut acc = [0u32; 3];
            for dy in 0..factor {
                let row = (oy * factor + dy) * w;
                for dx in 0..factor {
                    let i = (row + ox * factor + dx) * 3;
                    for c in 0..3 {
                        acc[c] += u32::from(src[i + c]);
                    }
                }
            }
            let o = (oy * ow + ox) * 3;
            for c in 0..3 {
                out[o + c] = ((acc[c] + n / 2) / n) as u8;
            }
        }
    }
    out
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, PlotError> {
    let enc_err = |e: png::EncodingError| PlotError::Encode(e.to_string());
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(enc_err)?;
        writer.write_image_data(rgb).map_err(enc_err)?;
        writer.finish().map_err(enc_err)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_font_sizes_print_exactly() {
        for em in [11.0, 13.7, 15.5, 18.0, 21.0] {
            assert_eq!(format!("{}", svg_font_size(em) / 1.24), format!("{em}"));
        }
        // 15 has no exact size; a neighbouring tenth is used.
        assert_eq!(format!("{}", svg_font_size(15.0) / 1.24), "15.1");
        for tenths in 100..=250 {
            let printed = format!("{}", svg_font_size(f64::from(tenths) / 10.0) / 1.24);
            assert!(printed.len() <= 4, "{printed}");
        }
    }

    #[test]
    fn downsample_averages_blocks() {
        // 2×2 image of one white and three black pixels → one pixel of 255/4.
        let src = [255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(downsample(&src, 2, 2, 2), [64, 64, 64]);
    }
}

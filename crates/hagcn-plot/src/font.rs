//! The bundled DejaVu Sans font and its registration with plotters.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use plotters::style::{FontDesc, FontFamily, FontStyle, register_font};

use crate::PlotError;

/// Font family used for all text.
///
/// The bundled DejaVu Sans is registered with plotters under this name (used for the PNG raster and
/// for text measurement), and SVG output writes it verbatim as the `font-family` attribute, so a
/// viewer without DejaVu Sans falls back to another sans-serif face.
pub const FONT_FAMILY: &str = "DejaVu Sans, Arial, Helvetica, sans-serif";

/// DejaVu Sans 2.37 (Bitstream Vera licence, see `fonts/LICENSE`).
static DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

static REGISTERED: OnceLock<bool> = OnceLock::new();

/// ab_glyph (plotters' rasteriser) scales a font so that the requested size equals
/// ascent − descent. For DejaVu Sans (2048 units per em, hhea ascender 1901, descender −483) that is
/// 2384/2048 em, so an em of `e` pixels needs a plotters size of `e * AB_GLYPH_SIZE_PER_EM`.
pub(crate) const AB_GLYPH_SIZE_PER_EM: f64 = 2384.0 / 2048.0;

/// Registers the bundled font once per process.
pub(crate) fn ensure_registered() -> Result<(), PlotError> {
    let ok = *REGISTERED.get_or_init(|| register_font(FONT_FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok { Ok(()) } else { Err(PlotError::Draw("the bundled DejaVu Sans font could not be parsed".to_owned())) }
}

/// Width in pixels of `text` set in the bundled font with an em of `em` pixels.
///
/// Measured at 8× the size and scaled back, so the integer rounding in plotters costs < 1/8 px.
pub(crate) fn text_width(text: &str, em: f64) -> Result<f64, PlotError> {
    if text.is_empty() {
        return Ok(0.0);
    }
    const OVERSAMPLE: f64 = 8.0;
    let font = FontDesc::new(FontFamily::Name(FONT_FAMILY), em * AB_GLYPH_SIZE_PER_EM * OVERSAMPLE, FontStyle::Normal);
    let (w, _) = font.box_size(text).map_err(|e| PlotError::Draw(format!("measuring text {text:?}: {e}")))?;
    Ok(f64::from(w) / OVERSAMPLE)
}

fn face() -> Result<&'static FontRef<'static>, PlotError> {
    static FACE: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FACE.get_or_init(|| FontRef::try_from_slice(DEJAVU_SANS).ok())
        .as_ref()
        .ok_or_else(|| PlotError::Draw("the bundled DejaVu Sans font could not be parsed".to_owned()))
}

/// Rasterises `text` with an em of `em` pixels, its baseline starting at `origin` (sub-pixel
/// positions allowed), calling `put(x, y, coverage)` for every touched pixel. Glyphs are placed by
/// advance width plus kerning, like the measurement in [`text_width`].
pub(crate) fn rasterize(
    text: &str,
    em: f64,
    origin: (f64, f64),
    mut put: impl FnMut(i32, i32, f32),
) -> Result<(), PlotError> {
    let font = face()?;
    let scale = PxScale::from((em * AB_GLYPH_SIZE_PER_EM) as f32);
    let scaled = font.as_scaled(scale);
    let mut caret = origin.0 as f32;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        prev = Some(id);
        let glyph = id.with_scale_and_position(scale, point(caret, origin.1 as f32));
        caret += scaled.h_advance(id);
        if let Some(outlined) = font.outline_glyph(glyph) {
            let bounds = outlined.px_bounds();
            let (x0, y0) = (bounds.min.x as i32, bounds.min.y as i32);
            outlined.draw(|x, y, coverage| put(x0 + x as i32, y0 + y as i32, coverage));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_per_em_matches_the_font() {
        let font = face().unwrap();
        let ratio = font.height_unscaled() / font.units_per_em().unwrap();
        assert!((f64::from(ratio) - AB_GLYPH_SIZE_PER_EM).abs() < 1e-6);
    }

    #[test]
    fn measurement_matches_rasterised_extent() {
        ensure_registered().unwrap();
        let w = text_width("mAP@200 vs code length", 15.0).unwrap();
        let (mut min_x, mut max_x) = (i32::MAX, i32::MIN);
        rasterize("mAP@200 vs code length", 15.0, (0.0, 20.0), |x, _, c| {
            if c > 0.1 {
                min_x = min_x.min(x);
                max_x = max_x.max(x);
            }
        })
        .unwrap();
        // Ink lies within the advance box, give or take the side bearings.
        assert!((0..=2).contains(&min_x), "{min_x}");
        assert!((f64::from(max_x) - w).abs() <= 2.5, "{max_x} vs {w}");
    }
}

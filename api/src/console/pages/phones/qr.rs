//! The provisioning code as a QR code: an inline SVG drawn on the server
//! (no script, no image request), with presentation attributes only, since
//! the console's CSP allows no inline style.

use qrcode::QrCode;
use qrcode::render::svg;

use crate::console::error::ConsoleResult;
use crate::error::ApiError;

/// An `<svg role="img">` of `text`, labelled for screen readers.
pub fn svg_of(text: &str, label: &str) -> ConsoleResult<String> {
    let code = QrCode::new(text.as_bytes()).map_err(ApiError::internal)?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // The renderer writes a standalone document; inline, only <svg> is kept.
    let start = image.find("<svg").unwrap_or(0);
    let label = label
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    Ok(image[start..].replacen(
        "<svg ",
        &format!(r#"<svg role="img" aria-label="{label}" class="qr" "#),
        1,
    ))
}

#[cfg(test)]
mod tests {
    use super::svg_of;

    #[test]
    fn the_svg_is_inline_labelled_and_has_no_style() {
        let svg = svg_of("1234-5678-9012", "QR code of the code <1>").unwrap();
        assert!(svg.starts_with("<svg role=\"img\" aria-label=\"QR code of the code &lt;1&gt;\""));
        assert!(!svg.contains("style"));
        assert!(!svg.contains("<?xml"));
        assert!(svg.ends_with("</svg>"));
    }
}

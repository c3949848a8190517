//! The look shared by every page Salama serves, in both builds: the
//! reporter pages (`web`, server build) and the analysts' desk (`desk`,
//! analyst build). Translations ([`i18n`]), the one stylesheet, and the
//! page frame ([`frame`]) live here so the two stay one design: the same
//! right-to-left handling, the same focus and touch-target rules.

pub mod frame;
pub mod i18n;

/// The one stylesheet, served at `/static/style.css` by the server and the desk.
pub const STYLESHEET: &str = include_str!("style.css");

/// Where every page links its stylesheet.
pub const STYLESHEET_PATH: &str = "/static/style.css";

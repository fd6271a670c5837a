//! `cargo run -p deskbind-mobile-ffi --bin uniffi-bindgen -- generate --library
//! <libdeskbind.so> --language kotlin|swift|python --out-dir DIR`; scripts/sdk
//! runs it for all three.

fn main() {
    uniffi::uniffi_bindgen_main()
}

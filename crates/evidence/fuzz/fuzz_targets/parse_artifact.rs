//! Every parser, and format detection, on the same input: none may panic, and whatever parses
//! must be judged without panicking either.
#![no_main]

use greenlight_core::Policy;
use greenlight_evidence::{Format, Limits, judge, parse, parse_any};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let policy = Policy::default();
    for format in Format::ALL {
        if let Ok(evidence) = parse(format, data, &limits) {
            let _ = judge(&evidence, &policy);
        }
    }
    let _ = parse_any(None, data, &limits);
});

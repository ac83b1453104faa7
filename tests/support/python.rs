//! Python oracles (`tests/oracles/*.py`): whether `python3` and the modules
//! they import are here, and one run of a script whose answer is JSON lines.

use std::io::{ErrorKind as IoErrorKind, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

/// The interpreter the oracles run under.
const PYTHON: &str = "python3";

/// True when `python3` runs and can import every one of `modules` (PyPI
/// packages of the same names). Without them: false (the test skips) with
/// `SKIPPED: ...` on stderr, or a failure when `CI` is set, since CI must run
/// `what`.
pub fn python_available(modules: &[&str], what: &str) -> bool {
    let import = std::iter::once("sys")
        .chain(modules.iter().copied())
        .collect::<Vec<_>>()
        .join(", ");
    let needed = if modules.is_empty() {
        PYTHON.to_owned()
    } else {
        format!("{PYTHON} with `pip install {}`", modules.join(" "))
    };
    let missing = match Command::new(PYTHON)
        .args(["-c", &format!("import {import}")])
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => return true,
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.trim().lines().last().unwrap_or("").to_owned();
            format!("`{PYTHON} -c \"import {import}\"` failed: {last}")
        }
        Err(e) if e.kind() == IoErrorKind::NotFound => format!("{PYTHON} not found on PATH"),
        Err(e) => panic!("cannot run {PYTHON}: {e}"),
    };
    super::unavailable(&missing, &needed, what)
}

/// Runs `tests/oracles/<script>` with `args`, feeding it `stdin`, and
/// returns every line it prints, parsed as JSON. Fails the test if the script
/// fails or prints anything that is not a JSON line.
pub fn run_json_lines(script: &str, args: &[&str], stdin: &str) -> Vec<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/oracles")
        .join(script);
    // -B: leave no __pycache__ in the source tree.
    let mut child = Command::new(PYTHON)
        .arg("-B")
        .arg(&path)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {PYTHON} {}: {e}", path.display()));
    // Written from another thread, so a full stdout pipe cannot stall both sides.
    let mut input = child.stdin.take().expect("piped stdin");
    let stdin = stdin.to_owned();
    let writer = std::thread::spawn(move || input.write_all(stdin.as_bytes()));
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait for {script}: {e}"));
    let written = writer.join().expect("stdin writer thread");
    assert!(
        output.status.success(),
        "{script} {args:?} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    written.unwrap_or_else(|e| panic!("write {script}'s stdin: {e}"));
    let text = String::from_utf8(output.stdout).expect("the oracle printed non-UTF-8");
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("{script} printed a line that is not JSON ({e}): {line}")
            })
        })
        .collect()
}

/// A delivery as a receiver reads it: header lines `(name, value)`, and the body.
pub type HeadAndBody = (Vec<(String, String)>, Vec<u8>);

/// The UP42 reference receiver's reasons to refuse each delivery
/// (`up42_reference.py verify`; an empty list: it accepts), for deliveries of
/// `(headers, body)` signed with `secret`, judged at `now`.
pub fn up42_reference_failures(
    secret: &str,
    now: i64,
    deliveries: &[HeadAndBody],
) -> Vec<Vec<String>> {
    use base64::Engine as _;
    let input: String = deliveries
        .iter()
        .map(|(headers, body)| {
            let line = serde_json::json!({
                "secret": secret,
                "now": now,
                "headers": headers,
                "body_b64": base64::engine::general_purpose::STANDARD.encode(body),
            });
            format!("{line}\n")
        })
        .collect();
    let verdicts = run_json_lines("up42_reference.py", &["verify"], &input);
    assert_eq!(verdicts.len(), deliveries.len(), "one verdict per delivery");
    verdicts
        .into_iter()
        .map(|v| serde_json::from_value(v["failures"].clone()).expect("a verdict"))
        .collect()
}

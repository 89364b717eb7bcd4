//! Compiles every `bpf/*.bpf.c` of the workspace into `$OUT_DIR/<name>.bpf.o`
//! with clang, so the objects can be embedded with
//! `aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/steer.bpf.o"))`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let bpf_dir = manifest.join("../../bpf");
    // A directory makes cargo rescan everything below it, headers included.
    println!("cargo:rerun-if-changed={}", bpf_dir.display());
    println!("cargo:rerun-if-env-changed=CLANG");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_string());

    let mut sources: Vec<PathBuf> = std::fs::read_dir(&bpf_dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", bpf_dir.display()))
        .map(|entry| entry.expect("reading bpf/").path())
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".bpf.c")))
        .collect();
    sources.sort();
    if sources.is_empty() {
        panic!("no *.bpf.c files in {}", bpf_dir.display());
    }
    for src in &sources {
        compile(&clang, &bpf_dir, src, &out_dir);
    }
}

fn compile(clang: &str, include: &Path, src: &Path, out_dir: &Path) {
    let name = src.file_name().and_then(|n| n.to_str()).expect("utf-8 file name");
    let obj = out_dir.join(format!("{}.o", name.trim_end_matches(".c")));
    let mut cmd = Command::new(clang);
    cmd.args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror"])
        // Debian keeps asm/ (needed by linux/bpf.h) under the multiarch path.
        .arg(format!("-I/usr/include/{}", multiarch()))
        .arg("-I")
        .arg(include)
        .arg("-c")
        .arg(src)
        .arg("-o")
        .arg(&obj);
    let output = match cmd.output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "\n\nafxdp-core needs clang to compile its BPF programs (bpf/*.bpf.c), \
             but `{clang}` was not found.\nInstall it (Debian/Ubuntu: `apt-get install clang llvm libbpf-dev`) \
             or point the CLANG environment variable at a clang binary.\n"
        ),
        Err(e) => panic!("running {clang} failed: {e}"),
    };
    if !output.status.success() {
        panic!(
            "\n\nclang failed to compile {}:\n{}{}\n(libbpf headers come from libbpf-dev; asm/ from linux-libc-dev)\n",
            src.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Debian's multiarch directory for the host we build on (the BPF objects
/// are target-independent, but the kernel headers' asm/ is per host arch).
fn multiarch() -> String {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| "x86_64".into());
    match arch.as_str() {
        "x86_64" => "x86_64-linux-gnu".into(),
        "aarch64" => "aarch64-linux-gnu".into(),
        "arm" => "arm-linux-gnueabihf".into(),
        "riscv64" => "riscv64-linux-gnu".into(),
        other => format!("{other}-linux-gnu"),
    }
}

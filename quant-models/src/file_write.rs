//! Writing output files without ever leaving a half-written one behind.

use std::path::Path;

/// Writes `bytes` to `path` so that an existing file is either kept whole or replaced whole:
/// the bytes go to `<path>.partial` in the same folder, which is then renamed over `path`.
///
/// A path that names something other than a regular file (`/dev/null`, `/dev/stdout`, a FIFO)
/// is written in place: renaming a file over it would replace the device itself, and as root
/// that silently turns `/dev/null` into an ordinary file every later program writes into.
pub fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let is_special = std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir());
    if is_special {
        return std::fs::write(path, bytes);
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = Path::new(&tmp);
    std::fs::write(tmp, bytes)?;
    std::fs::rename(tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("zkinfer-file-write-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn replaces_a_regular_file_whole_and_leaves_no_partial_file() {
        let dir = scratch_dir("regular");
        let path = dir.join("out.bin");
        std::fs::write(&path, b"old contents that are longer").unwrap();
        write_replacing(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "the .partial file must be gone");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_keeps_the_existing_file() {
        let dir = scratch_dir("failed");
        let path = dir.join("out.bin");
        std::fs::write(&path, b"kept").unwrap();
        // The temporary name is taken by a folder, so the write fails before any rename.
        std::fs::create_dir(dir.join("out.bin.partial")).unwrap();
        assert!(write_replacing(&path, b"new").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"kept");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn writes_through_a_fifo_instead_of_replacing_it() {
        use std::os::unix::fs::FileTypeExt;
        let dir = scratch_dir("fifo");
        let fifo = dir.join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_replacing(&fifo, b"through the pipe").unwrap();
        // Checked before joining: had the FIFO been replaced, the reader would wait forever.
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO itself must survive");
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where uploads and exports wait on disk: a folder only this process's user may enter (0700), so
/// a roster with whole ID numbers is never readable by another account on the machine while it
/// exists. Made once per process: the shared temporary folder's own `gonghui-<uid>` when it is
/// ours and private, else a fresh one (`mkdtemp`).
enum PrivateFiles {
    static let directory: String = {
        let base = FileManager.default.temporaryDirectory.path
        let named = base + "/gonghui-\(getuid())"
        if mkdir(named, 0o700) == 0 || errno == EEXIST, isPrivate(named) { return named }
        var template = Array((base + "/gonghui-XXXXXX").utf8CString)
        if let made = mkdtemp(&template) { return String(cString: made) }
        return named
    }()

    /// A fresh path in the private folder.
    static func path(_ prefix: String, ext: String? = nil) -> String {
        directory + "/\(prefix)-\(UUID().uuidString)" + (ext.map { "." + $0 } ?? "")
    }

    /// A real folder (not a link), owned by this user, that nobody else may enter.
    static func isPrivate(_ path: String) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return false }
        return (info.st_mode & S_IFMT) == S_IFDIR && info.st_uid == getuid() && (info.st_mode & 0o077) == 0
    }
}

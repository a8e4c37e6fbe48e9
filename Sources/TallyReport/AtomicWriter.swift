import Foundation
import TallyCore

/// Writes files so that a failed or interrupted run never leaves a
/// half-written report: contents go to a temporary name in the same
/// directory, then `rename(2)` puts them in place in one step.
public enum AtomicWriter {
    public static func write(_ contents: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        try checkDirectory(directory.path)
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try Data(contents.utf8).write(to: temporary)
            guard rename(temporary.path, path) == 0 else {
                throw TallyError(.file, "cannot write \(path): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            if let error = error as? TallyError { throw error }
            throw TallyError(.file, "cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Writes several files into the directory at `path`, creating it (not
    /// its parents) when missing.
    ///
    /// Only the named files are replaced, each atomically: every other file
    /// in the directory stays (the directory may be `.`, or hold the
    /// database being reported on). A name that is taken by a directory is
    /// refused before anything is written; all contents are written to
    /// temporary names first and renamed into place after, so a failure
    /// while writing leaves every previous file as it was.
    public static func writeDirectory(_ files: [String: String], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw TallyError(.file, "\(path) exists and is not a directory") }
        } else {
            try checkDirectory(url.deletingLastPathComponent().path)
            do {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
            } catch {
                throw TallyError(.file, "cannot create the directory \(path): \(error.localizedDescription)")
            }
        }
        for name in files.keys.sorted() {
            let target = url.appendingPathComponent(name).path
            var taken: ObjCBool = false
            if FileManager.default.fileExists(atPath: target, isDirectory: &taken), taken.boolValue {
                throw TallyError(.file, "cannot write \(target): a directory has that name")
            }
        }
        let suffix = "tmp-\(ProcessInfo.processInfo.processIdentifier)"
        var written: [(temporary: URL, final: URL)] = []
        do {
            for (name, contents) in files.sorted(by: { $0.key < $1.key }) {
                let final = url.appendingPathComponent(name)
                let temporary = url.appendingPathComponent(".\(name).\(suffix)")
                // Listed before writing: a write that fails midway is removed too.
                written.append((temporary, final))
                try Data(contents.utf8).write(to: temporary)
            }
            for file in written {
                guard rename(file.temporary.path, file.final.path) == 0 else {
                    throw TallyError(.file, "cannot write \(file.final.path): \(String(cString: strerror(errno)))")
                }
            }
        } catch {
            for file in written { try? FileManager.default.removeItem(at: file.temporary) }
            if let error = error as? TallyError { throw error }
            throw TallyError(.file, "cannot write into \(path): \(error.localizedDescription)")
        }
    }

    private static func checkDirectory(_ directory: String) throws {
        var isDirectory: ObjCBool = false
        let dir = directory.isEmpty ? "." : directory
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TallyError(.file, "directory \(dir) does not exist")
        }
    }
}

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

    /// Writes several files into `directory`, replacing it as a whole.
    public static func writeDirectory(_ files: [String: String], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try checkDirectory(url.deletingLastPathComponent().path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw TallyError(.file, "\(path) exists and is not a directory")
        }
        let suffix = "tmp-\(ProcessInfo.processInfo.processIdentifier)"
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(suffix)")
        let old = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).old-\(suffix)")
        do {
            try? FileManager.default.removeItem(at: temporary)
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: false)
            for (name, contents) in files {
                try Data(contents.utf8).write(to: temporary.appendingPathComponent(name))
            }
            let existed = FileManager.default.fileExists(atPath: path)
            if existed { try FileManager.default.moveItem(at: url, to: old) }
            guard rename(temporary.path, path) == 0 else {
                if existed { try? FileManager.default.moveItem(at: old, to: url) }
                throw TallyError(.file, "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            if existed { try? FileManager.default.removeItem(at: old) }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            if let error = error as? TallyError { throw error }
            throw TallyError(.file, "cannot write \(path): \(error.localizedDescription)")
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

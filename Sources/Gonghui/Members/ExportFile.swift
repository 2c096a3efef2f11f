import Foundation
import NIOPosix
import Spreadsheet
import Vapor

/// A table being written to a file, XLSX or CSV (UTF-8 with a BOM, as Excel in China reads it):
/// a download on its way out, or the problem report of the command line. A file that fails half-way
/// is removed, never left behind.
///
/// `@unchecked Sendable`: one task uses it at a time; its writes run on the thread pool one after another.
final class ExportFile: @unchecked Sendable {
    let path: String
    private let xlsx: XLSXWriter?
    private let handle: FileHandle?
    private var buffer = Data()
    private var closed = false

    init(path: String, format: String, sheetName: String, header: [String], widths: [Double]) throws {
        self.path = path
        if format == "xlsx" {
            let writer = try XLSXWriter(path: path, sheetName: String(sheetName.prefix(31)))
            writer.setColumnWidths(widths)
            try writer.addHeader(header)
            xlsx = writer
            handle = nil
        } else {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw AppError(.internalServerError, "error.server")
            }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            xlsx = nil
            buffer.append(Data(CSVFormat.utf8BOM))
            buffer.append(Data(CSVFormat.line(header).utf8))
        }
    }

    func add(_ cells: [Cell]) throws {
        if let xlsx { return try xlsx.addRow(cells) }
        buffer.append(Data(CSVFormat.line(cells.map(\.csvText)).utf8))
        if buffer.count > 1 << 20 { try flush() }
    }

    /// Writes rows on `pool`: the compression and the disk stay off the threads requests run on.
    func write(_ rows: [[Cell]], on pool: NIOThreadPool) async throws {
        try await pool.runIfActive { for row in rows { try self.add(row) } }
    }

    func close() throws {
        guard !closed else { return }
        closed = true
        if let xlsx { try xlsx.close() }
        if let handle {
            try flush()
            try handle.close()
        }
    }

    func close(on pool: NIOThreadPool) async throws {
        try await pool.runIfActive { try self.close() }
    }

    /// Closes and removes the file: what an export refused or failed half-way leaves.
    func discard() {
        try? close()
        try? FileManager.default.removeItem(atPath: path)
    }

    private func flush() throws {
        guard let handle, !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

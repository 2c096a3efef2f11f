// Spreadsheet: streaming CSV / XLSX import and XLSX / CSV export for member rosters.
//
// No Vapor, no database. Depends on Foundation, Glibc (iconv) and ZIPFoundation.
// The readers are pull-based (`next()`), read the file in chunks and keep memory bounded
// regardless of the number of rows (XLSX shared strings are held in memory, within SpreadsheetLimits).

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One record of a spreadsheet.
public struct SheetRow: Sendable, Equatable {
    /// 1-based line (CSV: physical line where the record starts) or row number (XLSX `r` attribute).
    public let line: Int
    /// Cell texts, not trimmed; empty cells are "". XLSX gaps are filled with "" by column letter.
    public var cells: [String]

    public init(line: Int, cells: [String]) {
        self.line = line
        self.cells = cells
    }
}

/// A pull-based reader of rows. Not thread-safe; use one reader from one task at a time.
public protocol RowReader: AnyObject {
    /// The next non-blank row, or nil at the end.
    func next() throws -> SheetRow?
    /// Bytes of the file consumed so far (for progress reporting; approximate for XLSX).
    var bytesRead: Int { get }
    /// Size of the file in bytes.
    var totalBytes: Int { get }
}

/// The text encoding a CSV file was detected to use.
public enum TextEncodingGuess: String, Sendable {
    case utf8, utf8BOM, gb18030, utf16LE, utf16BE
}

public struct SpreadsheetError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case unreadable, notSpreadsheet, badZip, noWorksheet, badXML, encoding, tooLarge
    }

    public let code: Code
    /// An English sentence describing the problem.
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code.rawValue): \(detail)" }
}

/// A cell value for `XLSXWriter`.
public enum Cell: Sendable, Equatable {
    case text(String), number(Double), integer(Int64), empty
}

public enum Spreadsheet {
    /// Picks by content (zip magic "PK\u{3}\u{4}" → XLSX) and falls back to CSV. Never trusts the extension alone.
    public static func open(path: String, limits: SpreadsheetLimits = SpreadsheetLimits()) throws -> any RowReader {
        let magic = try readPrefix(path: path, count: 8)
        if magic.isEmpty {
            throw SpreadsheetError(.notSpreadsheet, "The file is empty.")
        }
        if magic.count >= 4, magic[0] == 0x50, magic[1] == 0x4B,
           (magic[2] == 3 && magic[3] == 4) || (magic[2] == 5 && magic[3] == 6) || (magic[2] == 7 && magic[3] == 8) {
            return try XLSXRowReader(path: path, limits: limits)
        }
        if magic.count >= 8, magic[0] == 0xD0, magic[1] == 0xCF, magic[2] == 0x11, magic[3] == 0xE0,
           magic[4] == 0xA1, magic[5] == 0xB1, magic[6] == 0x1A, magic[7] == 0xE1 {
            throw SpreadsheetError(.notSpreadsheet,
                                   "This is a legacy Excel 97-2003 (.xls) or WPS .et file, which is not supported; save it as .xlsx or CSV.")
        }
        return try CSVRowReader(path: path)
    }

    static func readPrefix(path: String, count: Int) throws -> [UInt8] {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SpreadsheetError.fromErrno(errno, path: path) }
        defer { _ = Glibc.close(fd) }
        var buf = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buf.withUnsafeMutableBytes { raw in
                Glibc.read(fd, raw.baseAddress! + got, count - got)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw SpreadsheetError.fromErrno(errno, path: path)
            }
            if n == 0 { break }
            got += n
        }
        return Array(buf[0..<got])
    }
}

extension SpreadsheetError {
    static func fromErrno(_ err: Int32, path: String) -> SpreadsheetError {
        let name = (path as NSString).lastPathComponent
        switch err {
        case ENOENT: return SpreadsheetError(.unreadable, "The file \(name) does not exist.")
        case EACCES, EPERM: return SpreadsheetError(.unreadable, "Permission denied reading \(name).")
        case EISDIR: return SpreadsheetError(.unreadable, "\(name) is a directory, not a file.")
        default:
            let msg = String(cString: strerror(err))
            return SpreadsheetError(.unreadable, "Cannot read \(name): \(msg).")
        }
    }
}

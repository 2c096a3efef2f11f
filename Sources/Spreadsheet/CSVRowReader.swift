import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Streaming RFC 4180 CSV reader.
///
/// - Reads the file in 256 KiB chunks and splits records with a byte-level state machine
///   (quoted fields, doubled quotes, delimiters and newlines inside quotes; CRLF, LF or lone CR).
/// - Detects the encoding without asking: UTF-8 BOM (stripped), UTF-16 LE/BE BOM (or BOM-less UTF-16
///   recognised by its zero bytes; transcoded to UTF-8 on the fly), valid UTF-8, otherwise GB18030.
///   If UTF-8 was guessed and a later record is not valid UTF-8, that record is decoded as GB18030.
/// - Detects the delimiter (comma, tab or semicolon) from the first record, outside quotes.
/// - Skips blank lines and records whose cells are all empty (",,,," lines Excel writes for
///   formatted empty rows).
/// - Memory is bounded: one chunk plus the current record (at most 16 MiB, else `.tooLarge`).
public final class CSVRowReader: RowReader {
    public private(set) var encoding: TextEncodingGuess
    /// The detected field delimiter: ",", "\t" or ";".
    public private(set) var delimiter: Character

    public private(set) var totalBytes: Int
    public var bytesRead: Int {
        if finished { return totalBytes }
        if transcoder != nil { return min(rawRead, totalBytes) }
        return max(0, min(rawRead - (data.count - pos), totalBytes))
    }

    static let chunkSize = 256 * 1024
    static let maxRecordBytes = 16 * 1024 * 1024
    static let maxFields = 65_536

    private var fd: Int32
    private let fileName: String
    private var raw: [UInt8]
    private var data: [UInt8] = []
    private var pos = 0
    private var rawRead = 0
    private var eof = false
    private var finished = false
    private var transcoder: UTF16Transcoder?
    private var gb: GB18030Decoder?
    private var delim: UInt8

    // Parser state (persists across chunk boundaries).
    private var state: UInt8 = 0          // 0 field start, 1 unquoted, 2 quoted, 3 quote inside quoted
    private var record: [UInt8] = []
    private var fieldEnds: [Int] = []
    private var recordStarted = false
    private var skipLF = false            // previous byte was a CR terminating a record
    private var quotedPrevCR = false      // previous byte inside quotes was CR (CRLF counts as one line)
    private var line = 1
    private var recordLine = 1

    public init(path: String) throws {
        fileName = (path as NSString).lastPathComponent
        fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SpreadsheetError.fromErrno(errno, path: path) }
        var st = stat()
        if fstat(fd, &st) != 0 {
            let e = errno
            _ = Glibc.close(fd)
            throw SpreadsheetError.fromErrno(e, path: path)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            _ = Glibc.close(fd)
            throw SpreadsheetError.fromErrno(EISDIR, path: path)
        }
        totalBytes = Int(st.st_size)
        raw = [UInt8](repeating: 0, count: Self.chunkSize)
        encoding = .utf8
        delimiter = ","
        delim = 0x2C
        record.reserveCapacity(1024)
        fieldEnds.reserveCapacity(64)

        do {
            // First chunk: try to fill it completely so detection sees enough bytes.
            var first = [UInt8]()
            while first.count < Self.chunkSize {
                let n = try readRaw()
                if n == 0 { break }
                first.append(contentsOf: raw[0..<n])
            }
            if first.isEmpty {
                throw SpreadsheetError(.notSpreadsheet, "The file is empty.")
            }
            var start = 0
            if first.count >= 3, first[0] == 0xEF, first[1] == 0xBB, first[2] == 0xBF {
                encoding = .utf8BOM
                start = 3
            } else if first.count >= 2, first[0] == 0xFF, first[1] == 0xFE {
                encoding = .utf16LE
                start = 2
            } else if first.count >= 2, first[0] == 0xFE, first[1] == 0xFF {
                encoding = .utf16BE
                start = 2
            } else if let guess = Self.guessBOMlessUTF16(first) {
                encoding = guess
            } else {
                // Text files have (almost) no NUL bytes; binary files (images, PDF, archives) have many.
                let nulCount = first.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
                if nulCount > 0 && nulCount * 500 >= first.count {
                    throw SpreadsheetError(.notSpreadsheet,
                                           "The file \(fileName) is neither a CSV text file nor an XLSX workbook.")
                }
                let valid = first.withUnsafeBufferPointer {
                    UTF8Check.isValid($0, allowTruncatedEnd: !eof)
                }
                encoding = valid ? .utf8 : .gb18030
            }
            switch encoding {
            case .utf16LE, .utf16BE:
                var t = UTF16Transcoder(bigEndian: encoding == .utf16BE)
                var out = [UInt8]()
                out.reserveCapacity(first.count * 3 / 2)
                first.withUnsafeBufferPointer { t.transcode(UnsafeBufferPointer(rebasing: $0[start...]), into: &out) }
                if eof { t.finish(into: &out) }
                transcoder = t
                data = out
            default:
                data = Array(first[start...])
            }
            if encoding == .gb18030 { gb = try GB18030Decoder() }
            let d = Self.detectDelimiter(data)
            delim = d
            delimiter = Character(Unicode.Scalar(d))
        } catch {
            _ = Glibc.close(fd)
            fd = -1
            throw error
        }
    }

    deinit {
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    // MARK: reading

    /// Reads raw bytes into `raw`; returns the count (0 at EOF).
    private func readRaw() throws -> Int {
        if eof { return 0 }
        while true {
            let n = raw.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, Self.chunkSize) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SpreadsheetError(.unreadable, "Reading \(fileName) failed: \(String(cString: strerror(errno))).")
            }
            if n == 0 { eof = true }
            rawRead += n
            return n
        }
    }

    /// Replaces `data` with the next chunk. Returns false at end of input.
    private func refill() throws -> Bool {
        if record.count > Self.maxRecordBytes {
            throw SpreadsheetError(.tooLarge,
                                   "The record starting at line \(recordLine) is larger than 16 MiB (an unbalanced quote?).")
        }
        if fieldEnds.count > Self.maxFields {
            throw SpreadsheetError(.tooLarge, "The record starting at line \(recordLine) has more than \(Self.maxFields) fields.")
        }
        while true {
            let n = try readRaw()
            if n == 0 {
                if var t = transcoder {
                    data.removeAll(keepingCapacity: true)
                    pos = 0
                    t.finish(into: &data)
                    transcoder = nil  // flushed; bytesRead reports rawRead from now on
                    if !data.isEmpty { return true }
                }
                return false
            }
            if var t = transcoder {
                data.removeAll(keepingCapacity: true)
                raw.withUnsafeBufferPointer { t.transcode(UnsafeBufferPointer(rebasing: $0[0..<n]), into: &data) }
                transcoder = t
                pos = 0
                if !data.isEmpty { return true }
            } else {
                data.removeAll(keepingCapacity: true)
                data.append(contentsOf: raw[0..<n])
                pos = 0
                return true
            }
        }
    }

    public func next() throws -> SheetRow? {
        if finished { return nil }
        while true {
            if pos >= data.count {
                if try !refill() {
                    finished = true
                    _ = Glibc.close(fd)
                    fd = -1
                    if recordStarted || state != 0 || !fieldEnds.isEmpty {
                        if let row = try finishRecord() { return row }
                    }
                    return nil
                }
            }
            if let row = try scan() { return row }
        }
    }

    /// Runs the state machine over `data[pos...]`; returns a row when a record ends.
    private func scan() throws -> SheetRow? {
        let delim = self.delim
        var state = self.state
        var i = pos
        var ended = false
        var endedWithCR = false
        let n = data.count
        data.withUnsafeBufferPointer { buf in
            let p = buf.baseAddress!
            if skipLF {
                skipLF = false
                if i < n && p[i] == 0x0A { i += 1 }
            }
            loop: while i < n {
                let b = p[i]
                switch state {
                case 0: // field start
                    if b == 0x22 {
                        state = 2; recordStarted = true; quotedPrevCR = false
                    } else if b == delim {
                        fieldEnds.append(record.count); recordStarted = true
                    } else if b == 0x0A || b == 0x0D {
                        i += 1
                        line += 1
                        if !recordStarted && fieldEnds.isEmpty {
                            // blank line
                            recordLine = line
                            if b == 0x0D {
                                if i < n { if p[i] == 0x0A { i += 1 } } else { skipLF = true }
                            }
                            continue loop
                        }
                        ended = true; endedWithCR = b == 0x0D
                        break loop
                    } else {
                        record.append(b); state = 1; recordStarted = true
                    }
                case 1: // unquoted
                    // Fast inner run over ordinary bytes.
                    var j = i
                    while j < n {
                        let c = p[j]
                        if c == delim || c == 0x0A || c == 0x0D { break }
                        j += 1
                    }
                    if j > i {
                        record.append(contentsOf: UnsafeBufferPointer(start: p + i, count: j - i))
                        i = j
                        continue loop
                    }
                    if b == delim {
                        fieldEnds.append(record.count); state = 0
                    } else { // newline
                        i += 1
                        line += 1
                        ended = true; endedWithCR = b == 0x0D
                        break loop
                    }
                case 2: // quoted
                    var j = i
                    while j < n {
                        let c = p[j]
                        if c == 0x22 || c == 0x0A || c == 0x0D { break }
                        j += 1
                    }
                    if j > i {
                        record.append(contentsOf: UnsafeBufferPointer(start: p + i, count: j - i))
                        quotedPrevCR = false
                        i = j
                        continue loop
                    }
                    if b == 0x22 {
                        state = 3
                    } else {
                        if b == 0x0D { line += 1 } else if !quotedPrevCR { line += 1 }
                        quotedPrevCR = b == 0x0D
                        record.append(b)
                    }
                default: // 3: quote seen inside quoted field
                    if b == 0x22 {
                        record.append(0x22); state = 2; quotedPrevCR = false
                    } else if b == delim {
                        fieldEnds.append(record.count); state = 0
                    } else if b == 0x0A || b == 0x0D {
                        i += 1
                        line += 1
                        ended = true; endedWithCR = b == 0x0D
                        break loop
                    } else {
                        // Lenient: text after a closing quote ("abc"def) is kept.
                        record.append(b); state = 1
                    }
                }
                i += 1
            }
            if ended && endedWithCR {
                if i < n { if p[i] == 0x0A { i += 1 } } else { skipLF = true }
            }
        }
        pos = i
        self.state = state
        if ended {
            let row = try finishRecord()
            recordLine = line
            if let row { return row }
        }
        return nil
    }

    private func finishRecord() throws -> SheetRow? {
        defer {
            record.removeAll(keepingCapacity: true)
            fieldEnds.removeAll(keepingCapacity: true)
            state = 0
            recordStarted = false
            if record.capacity > 1 << 20 { record = []; record.reserveCapacity(1024) }
        }
        fieldEnds.append(record.count)
        if record.count > Self.maxRecordBytes {
            throw SpreadsheetError(.tooLarge, "The record starting at line \(recordLine) is larger than 16 MiB.")
        }
        if fieldEnds.count > Self.maxFields {
            throw SpreadsheetError(.tooLarge, "The record starting at line \(recordLine) has more than \(Self.maxFields) fields.")
        }
        if record.isEmpty { return nil } // only delimiters / empty quotes: treat as blank
        // A NUL byte is not text (no spreadsheet shows one, and PostgreSQL cannot store one): a
        // stray one from a broken export is dropped, and the cells around it kept.
        if record.contains(0) { dropNULs() }
        if record.isEmpty { return nil }
        var cells = [String]()
        cells.reserveCapacity(fieldEnds.count)
        try record.withUnsafeBufferPointer { buf in
            var start = 0
            if encoding == .gb18030 {
                for end in fieldEnds {
                    cells.append(try decodeGB(UnsafeBufferPointer(rebasing: buf[start..<end])))
                    start = end
                }
                return
            }
            var valid = true
            for end in fieldEnds {
                let f = UnsafeBufferPointer(rebasing: buf[start..<end])
                if let s = String(validating: f, as: UTF8.self) {
                    cells.append(s)
                } else {
                    valid = false
                    break
                }
                start = end
            }
            if !valid {
                // A record that is not UTF-8 although the file looked like UTF-8: decode it as GB18030.
                cells.removeAll(keepingCapacity: true)
                start = 0
                for end in fieldEnds {
                    cells.append(try decodeGB(UnsafeBufferPointer(rebasing: buf[start..<end])))
                    start = end
                }
            }
        }
        return SheetRow(line: recordLine, cells: cells)
    }

    /// Removes the NUL bytes from the record, moving the field boundaries with them.
    private func dropNULs() {
        var kept = [UInt8]()
        kept.reserveCapacity(record.count)
        var ends = [Int]()
        ends.reserveCapacity(fieldEnds.count)
        var start = 0
        for end in fieldEnds {
            for byte in record[start..<end] where byte != 0 { kept.append(byte) }
            ends.append(kept.count)
            start = end
        }
        record = kept
        fieldEnds = ends
    }

    private func decodeGB(_ f: UnsafeBufferPointer<UInt8>) throws -> String {
        var ascii = true
        for b in f where b >= 0x80 { ascii = false; break }
        if ascii { return String(decoding: f, as: UTF8.self) }
        if gb == nil { gb = try GB18030Decoder() }
        return gb!.decode(f)
    }

    // MARK: detection

    /// UTF-16 without a BOM: ASCII-heavy text has a zero byte in every other position.
    static func guessBOMlessUTF16(_ bytes: [UInt8]) -> TextEncodingGuess? {
        let n = min(bytes.count, 4096) & ~1
        if n < 4 { return nil }
        var evenZeros = 0, oddZeros = 0
        var i = 0
        while i < n {
            if bytes[i] == 0 { evenZeros += 1 }
            if bytes[i + 1] == 0 { oddZeros += 1 }
            i += 2
        }
        let pairs = n / 2
        if oddZeros * 10 >= pairs * 3 && evenZeros * 20 < pairs { return .utf16LE }
        if evenZeros * 10 >= pairs * 3 && oddZeros * 20 < pairs { return .utf16BE }
        return nil
    }

    /// Counts commas, tabs and semicolons outside quotes in the first non-blank record.
    static func detectDelimiter(_ data: [UInt8]) -> UInt8 {
        var comma = 0, tab = 0, semi = 0
        var inQuotes = false
        var seenContent = false
        for b in data {
            if inQuotes {
                if b == 0x22 { inQuotes = false }
                continue
            }
            switch b {
            case 0x22: inQuotes = true; seenContent = true
            case 0x2C: comma += 1; seenContent = true
            case 0x09: tab += 1; seenContent = true
            case 0x3B: semi += 1; seenContent = true
            case 0x0A, 0x0D:
                if seenContent { return pick(comma, tab, semi) }
            default: seenContent = true
            }
        }
        return pick(comma, tab, semi)
    }

    private static func pick(_ comma: Int, _ tab: Int, _ semi: Int) -> UInt8 {
        if tab > comma && tab >= semi { return 0x09 }
        if semi > comma && semi > tab { return 0x3B }
        return 0x2C
    }
}

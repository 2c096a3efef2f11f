import Foundation
import ZIPFoundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a single-sheet XLSX workbook that Excel, WPS and LibreOffice open without repair prompts.
///
/// Rows are streamed to a temporary file and deflated into the archive on `close()`, so memory does not
/// grow with the number of rows. Text cells are inline strings (no shared-string table) with the text
/// number format "@", so long digit strings (ID numbers, phone numbers) stay text. The header row is
/// bold and frozen. The file at `path` is replaced atomically and is valid only after `close()`.
public final class XLSXWriter {
    private let path: String
    private let sheetName: String
    private let tempDir: String
    private let bodyPath: String
    private var body: UnsafeMutablePointer<FILE>?
    private var buffer: [UInt8] = []
    private var widths: [Double] = []
    private var rowCount = 0
    private var maxColumns = 0
    private var freezeHeader = false
    private var closed = false
    private var columnNames: [[UInt8]] = []

    static let maxRows = 1_048_576
    static let maxColumns = 16_384
    static let maxCellChars = 32_767

    // Style indexes in cellXfs.
    private static let styleHeader = 1
    private static let styleText = 2

    public init(path: String, sheetName: String) throws {
        self.path = path
        self.sheetName = Self.sanitizeSheetName(sheetName)
        let dir = (FileManager.default.temporaryDirectory.path as NSString)
            .appendingPathComponent("xlsxwriter-\(UUID().uuidString)")
        do {
            // Private: the rows being written may hold whole ID numbers.
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw SpreadsheetError(.unreadable, "Cannot create a temporary directory: \(error.localizedDescription)")
        }
        tempDir = dir
        bodyPath = (dir as NSString).appendingPathComponent("sheetData.xml")
        guard let f = fopen(bodyPath, "wb") else {
            let e = errno
            try? FileManager.default.removeItem(atPath: dir)
            throw SpreadsheetError(.unreadable, "Cannot create a temporary file: \(String(cString: strerror(e))).")
        }
        body = f
        buffer.reserveCapacity(256 * 1024)
    }

    deinit {
        if let body { fclose(body) }
        try? FileManager.default.removeItem(atPath: tempDir)
    }

    /// Column widths in Excel character units (e.g. 20 for an ID number column). Call before the first row.
    public func setColumnWidths(_ widths: [Double]) {
        self.widths = Array(widths.prefix(Self.maxColumns)).map { $0.isFinite ? min(max($0, 0), 255) : 8.43 }
    }

    /// A bold header row; when it is the first row it is also frozen (stays visible while scrolling).
    public func addHeader(_ titles: [String]) throws {
        if rowCount == 0 { freezeHeader = true }
        try writeRow(titles.map { Cell.text($0) }, header: true)
    }

    public func addRow(_ cells: [Cell]) throws {
        try writeRow(cells, header: false)
    }

    // MARK: rows

    private func writeRow(_ cells: [Cell], header: Bool) throws {
        if closed { throw SpreadsheetError(.unreadable, "The XLSX writer is already closed.") }
        if rowCount >= Self.maxRows {
            throw SpreadsheetError(.tooLarge, "An XLSX worksheet holds at most \(Self.maxRows) rows.")
        }
        if cells.count > Self.maxColumns {
            throw SpreadsheetError(.tooLarge, "An XLSX worksheet holds at most \(Self.maxColumns) columns.")
        }
        rowCount += 1
        let r = rowCount
        let rText = Array(String(r).utf8)
        buffer.append(contentsOf: Array("<row r=\"".utf8))
        buffer.append(contentsOf: rText)
        buffer.append(contentsOf: Array("\">".utf8))
        for (i, cell) in cells.enumerated() {
            switch cell {
            case .empty:
                continue
            case .text(let s):
                appendTextCell(column: i, rowText: rText, text: s, style: header ? Self.styleHeader : Self.styleText)
            case .integer(let v):
                if v > 999_999_999_999_999 || v < -999_999_999_999_999 {
                    // More than 15 digits: Excel would round it; keep it exact as text.
                    appendTextCell(column: i, rowText: rText, text: String(v), style: Self.styleText)
                } else {
                    appendNumberCell(column: i, rowText: rText, number: String(v))
                }
            case .number(let d):
                guard d.isFinite else { continue }  // Excel cannot store NaN or infinity
                if d == d.rounded(), abs(d) < 1e15 {
                    appendNumberCell(column: i, rowText: rText, number: String(Int64(d)))
                } else {
                    appendNumberCell(column: i, rowText: rText, number: "\(d)")
                }
            }
        }
        maxColumns = max(maxColumns, cells.count)
        buffer.append(contentsOf: Array("</row>".utf8))
        if buffer.count >= 128 * 1024 { try flush() }
    }

    private func columnName(_ i: Int) -> [UInt8] {
        while columnNames.count <= i {
            var n = columnNames.count + 1
            var s: [UInt8] = []
            while n > 0 {
                let rem = (n - 1) % 26
                s.insert(UInt8(65 + rem), at: 0)
                n = (n - 1) / 26
            }
            columnNames.append(s)
        }
        return columnNames[i]
    }

    private func appendRef(column: Int, rowText: [UInt8]) {
        buffer.append(contentsOf: Array("<c r=\"".utf8))
        buffer.append(contentsOf: columnName(column))
        buffer.append(contentsOf: rowText)
        buffer.append(UInt8(ascii: "\""))
    }

    private func appendNumberCell(column: Int, rowText: [UInt8], number: String) {
        appendRef(column: column, rowText: rowText)
        buffer.append(contentsOf: Array("><v>".utf8))
        buffer.append(contentsOf: Array(number.utf8))
        buffer.append(contentsOf: Array("</v></c>".utf8))
    }

    private func appendTextCell(column: Int, rowText: [UInt8], text: String, style: Int) {
        var text = text
        if text.utf8.count > Self.maxCellChars, text.utf16.count > Self.maxCellChars {
            // Excel refuses cells longer than 32,767 characters.
            text = String(decoding: Array(text.utf16.prefix(Self.maxCellChars)), as: UTF16.self)
        }
        appendRef(column: column, rowText: rowText)
        buffer.append(contentsOf: Array(" s=\"\(style)\" t=\"inlineStr\"><is><t".utf8))
        let u = text.utf8
        if let f = u.first, let l = u.last,
           f == 0x20 || f == 0x09 || f == 0x0A || l == 0x20 || l == 0x09 || l == 0x0A || u.contains(0x0A) {
            buffer.append(contentsOf: Array(" xml:space=\"preserve\"".utf8))
        }
        buffer.append(UInt8(ascii: ">"))
        Self.appendEscaped(text, to: &buffer)
        buffer.append(contentsOf: Array("</t></is></c>".utf8))
    }

    /// XML-escapes text, strips characters XML 1.0 forbids (control characters other than tab, LF, CR;
    /// U+FFFE, U+FFFF), keeps CR as a character reference and protects literal "_xHHHH_" sequences
    /// (which Excel would otherwise decode) as "_x005F_xHHHH_".
    static func appendEscaped(_ s: String, to out: inout [UInt8]) {
        let u = Array(s.utf8)
        var i = 0
        let n = u.count
        while i < n {
            let b = u[i]
            switch b {
            case UInt8(ascii: "&"): out.append(contentsOf: Array("&amp;".utf8))
            case UInt8(ascii: "<"): out.append(contentsOf: Array("&lt;".utf8))
            case UInt8(ascii: ">"): out.append(contentsOf: Array("&gt;".utf8))
            case 0x0D: out.append(contentsOf: Array("&#13;".utf8))
            case 0x09, 0x0A: out.append(b)
            case 0x00..<0x20: break
            case 0xEF where i + 2 < n && u[i + 1] == 0xBF && (u[i + 2] == 0xBE || u[i + 2] == 0xBF):
                i += 2 // U+FFFE / U+FFFF
            case UInt8(ascii: "_"):
                if i + 6 < n, u[i + 1] == UInt8(ascii: "x"), u[i + 6] == UInt8(ascii: "_"),
                   u[(i + 2)..<(i + 6)].allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }) {
                    out.append(contentsOf: Array("_x005F_".utf8))
                } else {
                    out.append(b)
                }
            default: out.append(b)
            }
            i += 1
        }
    }

    private func flush() throws {
        guard let body else { return }
        if buffer.isEmpty { return }
        let written = buffer.withUnsafeBytes { fwrite($0.baseAddress!, 1, $0.count, body) }
        if written != buffer.count {
            throw SpreadsheetError(.unreadable, "Writing the temporary sheet file failed: \(String(cString: strerror(errno))).")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    // MARK: closing

    public func close() throws {
        if closed { return }
        try flush()
        if let body {
            if fclose(body) != 0 {
                self.body = nil
                throw SpreadsheetError(.unreadable, "Writing the temporary sheet file failed.")
            }
        }
        body = nil
        closed = true
        defer { try? FileManager.default.removeItem(atPath: tempDir) }

        let dest = URL(fileURLWithPath: path)
        let tmpZip = dest.deletingLastPathComponent()
            .appendingPathComponent(".\(dest.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            let archive = try Archive(url: tmpZip, accessMode: .create)
            try add(archive, "[Content_Types].xml", Self.contentTypes)
            try add(archive, "_rels/.rels", Self.rootRels)
            try add(archive, "docProps/app.xml", Self.appXML)
            try add(archive, "docProps/core.xml", coreXML())
            try add(archive, "xl/workbook.xml", workbookXML())
            try add(archive, "xl/_rels/workbook.xml.rels", Self.workbookRels)
            try add(archive, "xl/styles.xml", Self.stylesXML)
            try addSheet(archive)
        } catch {
            try? FileManager.default.removeItem(at: tmpZip)
            if let e = error as? SpreadsheetError { throw e }
            throw SpreadsheetError(.unreadable, "Writing \(dest.lastPathComponent) failed: \(error)")
        }
        if rename(tmpZip.path, path) != 0 {
            let e = errno
            try? FileManager.default.removeItem(at: tmpZip)
            throw SpreadsheetError(.unreadable, "Cannot write \(dest.lastPathComponent): \(String(cString: strerror(e))).")
        }
    }

    private func add(_ archive: Archive, _ name: String, _ text: String) throws {
        let data = Data(text.utf8)
        try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count),
                             compressionMethod: .deflate, provider: { position, size in
            let start = Int(position)
            return data.subdata(in: start..<min(data.count, start + size))
        })
    }

    private func addSheet(_ archive: Archive) throws {
        let prefix = Data(sheetPrefix().utf8)
        let suffix = Data("</sheetData></worksheet>".utf8)
        let fd = Glibc.open(bodyPath, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SpreadsheetError(.unreadable, "Cannot reopen the temporary sheet file.") }
        defer { _ = Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SpreadsheetError(.unreadable, "Cannot stat the temporary sheet file.") }
        let bodySize = Int64(st.st_size)
        let p = Int64(prefix.count)
        let total = p + bodySize + Int64(suffix.count)
        try archive.addEntry(with: "xl/worksheets/sheet1.xml", type: .file, uncompressedSize: total,
                             compressionMethod: .deflate, bufferSize: 256 * 1024, provider: { position, size in
            var out = Data()
            out.reserveCapacity(size)
            var pos = position
            let end = min(total, position + Int64(size))
            while pos < end {
                if pos < p {
                    let e = min(end, p)
                    out.append(prefix.subdata(in: Int(pos)..<Int(e)))
                    pos = e
                } else if pos < p + bodySize {
                    let e = min(end, p + bodySize)
                    var chunk = [UInt8](repeating: 0, count: Int(e - pos))
                    let got = chunk.withUnsafeMutableBytes {
                        Glibc.pread(fd, $0.baseAddress!, $0.count, off_t(pos - p))
                    }
                    if got <= 0 { throw SpreadsheetError(.unreadable, "Reading the temporary sheet file failed.") }
                    out.append(contentsOf: chunk[0..<got])
                    pos += Int64(got)
                } else {
                    let s = Int(pos - p - bodySize)
                    let e = Int(end - p - bodySize)
                    out.append(suffix.subdata(in: s..<e))
                    pos = end
                }
            }
            return out
        })
    }

    // MARK: parts

    private func sheetPrefix() -> String {
        let lastCol = maxColumns > 0 ? String(decoding: columnName(maxColumns - 1), as: UTF8.self) : "A"
        let dimension = rowCount > 0 ? "A1:\(lastCol)\(rowCount)" : "A1"
        var s = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
        xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
        <dimension ref="\(dimension)"/><sheetViews><sheetView tabSelected="1" workbookViewId="0">
        """
        if freezeHeader {
            s += "<pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" state=\"frozen\"/>"
            s += "<selection pane=\"bottomLeft\" activeCell=\"A2\" sqref=\"A2\"/>"
        }
        s += "</sheetView></sheetViews><sheetFormatPr defaultRowHeight=\"15\"/>"
        if !widths.isEmpty {
            s += "<cols>"
            for (i, w) in widths.enumerated() {
                let width = String(format: "%.2f", w)
                s += "<col min=\"\(i + 1)\" max=\"\(i + 1)\" width=\"\(width)\" customWidth=\"1\"/>"
            }
            s += "</cols>"
        }
        s += "<sheetData>"
        return s
    }

    private func workbookXML() -> String {
        var name: [UInt8] = []
        Self.appendEscaped(sheetName, to: &name)
        let escaped = String(decoding: name, as: UTF8.self).replacingOccurrences(of: "\"", with: "&quot;")
        return """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
        xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
        <bookViews><workbookView activeTab="0"/></bookViews>\
        <sheets><sheet name="\(escaped)" sheetId="1" r:id="rId1"/></sheets></workbook>
        """
    }

    private func coreXML() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        let now = f.string(from: Date())
        return """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" \
        xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" \
        xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\
        <dc:creator>Gonghui</dc:creator>\
        <dcterms:created xsi:type="dcterms:W3CDTF">\(now)</dcterms:created>\
        <dcterms:modified xsi:type="dcterms:W3CDTF">\(now)</dcterms:modified>\
        </cp:coreProperties>
        """
    }

    /// Excel sheet names: 1–31 characters, none of : \ / ? * [ ], not starting or ending with an apostrophe.
    static func sanitizeSheetName(_ name: String) -> String {
        var s = String(name.map { ":\\/?*[]".contains($0) ? "_" : $0 })
        s = String(s.unicodeScalars.filter { $0.value >= 0x20 }.map(Character.init))
        while s.hasPrefix("'") { s.removeFirst() }
        while s.hasSuffix("'") { s.removeLast() }
        if s.count > 31 { s = String(s.prefix(31)) }
        s = s.trimmingCharacters(in: .whitespaces)
        return s.isEmpty ? "Sheet1" : s
    }

    static let contentTypes = """
    <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
    <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
    <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
    <Default Extension="xml" ContentType="application/xml"/>\
    <Override PartName="/xl/workbook.xml" \
    ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
    <Override PartName="/xl/worksheets/sheet1.xml" \
    ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
    <Override PartName="/xl/styles.xml" \
    ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
    <Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>\
    <Override PartName="/docProps/app.xml" \
    ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>\
    </Types>
    """

    static let rootRels = """
    <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
    <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
    <Relationship Id="rId1" \
    Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
    Target="xl/workbook.xml"/>\
    <Relationship Id="rId2" \
    Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" \
    Target="docProps/core.xml"/>\
    <Relationship Id="rId3" \
    Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" \
    Target="docProps/app.xml"/>\
    </Relationships>
    """

    static let appXML = """
    <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
    <Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" \
    xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">\
    <Application>Gonghui</Application></Properties>
    """

    static let workbookRels = """
    <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
    <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
    <Relationship Id="rId1" \
    Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" \
    Target="worksheets/sheet1.xml"/>\
    <Relationship Id="rId2" \
    Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>\
    </Relationships>
    """

    /// cellXfs: 0 default, 1 bold header (text format), 2 text format "@" (numFmtId 49).
    static let stylesXML = """
    <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
    <styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
    <fonts count="2">\
    <font><sz val="11"/><name val="宋体"/><family val="3"/><charset val="134"/></font>\
    <font><b/><sz val="11"/><name val="宋体"/><family val="3"/><charset val="134"/></font>\
    </fonts>\
    <fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>\
    <borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
    <cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
    <cellXfs count="3">\
    <xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
    <xf numFmtId="49" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/>\
    <xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
    </cellXfs>\
    <cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
    </styleSheet>
    """
}

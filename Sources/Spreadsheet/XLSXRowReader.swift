import Foundation

/// Streaming reader of the first worksheet of an XLSX workbook.
///
/// - The worksheet XML is inflated on a background thread (at most 4 × 256 KiB ahead) and tokenized
///   without building a DOM, so memory does not grow with the number of rows. Shared strings are
///   held in memory.
/// - Cell text is what a person sees: shared / inline / formula strings, TRUE/FALSE, error codes,
///   numbers without ".0" or exponent (rounded to Excel's 15 significant digits), and date-formatted
///   numbers as "YYYY-MM-DD" ("YYYY-MM-DD HH:MM:SS" when a date-time format carries a time,
///   "HH:MM:SS" for time-only formats).
/// - Missing cells are filled with "" by column letter; trailing empty cells are dropped and rows with
///   no non-empty cell are skipped (like blank CSV lines).
public final class XLSXRowReader: RowReader {
    public let totalBytes: Int
    public var bytesRead: Int {
        if finished { return totalBytes }
        guard sheetSize > 0 else { return 0 }
        let fraction = min(1.0, Double(tokenizer.bytesConsumed) / Double(sheetSize))
        return Int(fraction * Double(totalBytes))
    }

    private let sharedStrings: [String]
    private let dateKinds: [DateKind]     // by cellXfs index
    private let date1904: Bool
    private let stream: ZipEntryStream
    private let tokenizer: XMLTokenizer
    private let sheetSize: UInt64
    private var finished = false
    private var inSheetData = false
    private var sawRoot = false
    private var lastRow = 0
    private var rowElements = 0
    private let limits: SpreadsheetLimits

    static let maxColumns = 16_384
    static let maxSmallPart = 64 * 1024 * 1024

    public init(path: String, limits: SpreadsheetLimits = SpreadsheetLimits()) throws {
        self.limits = limits
        let zip = try ZipDirectory(path: path)
        totalBytes = Int(zip.fileSize)

        // Package relationships → workbook part.
        var workbookPath = "xl/workbook.xml"
        if let rels = zip.entry("_rels/.rels") {
            let r = try Self.parseRelationships(zip.read(rels, limit: Self.maxSmallPart), base: "", part: "_rels/.rels")
            if let wb = r.first(where: { $0.type.hasSuffix("/officeDocument") }), zip.entry(wb.target) != nil {
                workbookPath = wb.target
            }
        }
        let base = Self.directory(of: workbookPath)

        var sheetPath: String?
        var sharedStringsPath = base + "sharedStrings.xml"
        var stylesPath = base + "styles.xml"
        var is1904 = false
        if let wbEntry = zip.entry(workbookPath) {
            let wb = try Self.parseWorkbook(zip.read(wbEntry, limit: Self.maxSmallPart), part: workbookPath)
            is1904 = wb.date1904
            let relsPath = base + "_rels/" + (workbookPath as NSString).lastPathComponent + ".rels"
            var rels: [Relationship] = []
            if let relsEntry = zip.entry(relsPath) {
                rels = try Self.parseRelationships(zip.read(relsEntry, limit: Self.maxSmallPart), base: base, part: relsPath)
            }
            for rid in wb.sheetRelIds {
                if let rel = rels.first(where: { $0.id == rid }), rel.type.hasSuffix("/worksheet"),
                   zip.entry(rel.target) != nil {
                    sheetPath = rel.target
                    break
                }
            }
            if let rel = rels.first(where: { $0.type.hasSuffix("/sharedStrings") }) { sharedStringsPath = rel.target }
            if let rel = rels.first(where: { $0.type.hasSuffix("/styles") }) { stylesPath = rel.target }
        }
        if sheetPath == nil {
            if zip.entry("xl/worksheets/sheet1.xml") != nil {
                sheetPath = "xl/worksheets/sheet1.xml"
            } else {
                // Any worksheet part, in natural order (sheet2 before sheet10).
                let candidates = zip.entries.map(\.path).filter {
                    $0.lowercased().hasPrefix("xl/worksheets/") && $0.lowercased().hasSuffix(".xml")
                }
                sheetPath = candidates.sorted { $0.localizedStandardCompare($1) == .orderedAscending }.first
            }
        }
        guard let sheetPath, let sheetEntry = zip.entry(sheetPath) else {
            if zip.entry(workbookPath) == nil {
                throw SpreadsheetError(.noWorksheet, "The zip archive is not an Excel workbook (no xl/workbook.xml).")
            }
            throw SpreadsheetError(.noWorksheet, "The workbook contains no worksheet.")
        }

        try limits.check(sheetEntry, max: limits.maxSheetBytes)
        if let e = zip.entry(sharedStringsPath) {
            sharedStrings = try Self.parseSharedStrings(zip: zip, entry: e, limits: limits)
        } else {
            sharedStrings = []
        }
        if let e = zip.entry(stylesPath) {
            dateKinds = try Self.parseStyles(zip.read(e, limit: Self.maxSmallPart), part: stylesPath)
        } else {
            dateKinds = []
        }
        date1904 = is1904
        sheetSize = sheetEntry.uncompressedSize
        stream = ZipEntryStream(directory: zip, entry: sheetEntry, limit: Int(clamping: limits.maxSheetBytes))
        tokenizer = XMLTokenizer(source: stream, partName: sheetEntry.path)
    }

    deinit {
        stream.cancel()
    }

    // MARK: rows

    public func next() throws -> SheetRow? {
        if finished { return nil }
        do {
            return try readRow()
        } catch {
            finished = true
            stream.cancel()
            throw error
        }
    }

    enum CellType { case number, shared, inline, string, bool, error, date }

    private func readRow() throws -> SheetRow? {
        let t = tokenizer
        // Find the next <row>.
        var rowNumber = 0
        while true {
            let tok = try t.next()
            switch tok {
            case .eof:
                if inSheetData { throw t.fail("the worksheet ends inside <sheetData>") }
                if !sawRoot { throw t.fail("empty worksheet XML") }
                return end()
            case .start:
                if !sawRoot {
                    sawRoot = true
                    if !t.nameIs("worksheet") { throw t.fail("the root element is not <worksheet>") }
                    continue
                }
                if t.nameIs("sheetData") {
                    if t.selfClosing { return end() }
                    inSheetData = true
                } else if inSheetData && t.nameIs("row") {
                    if let r = t.attribute("r"), let n = Self.parseInt(r), n > 0 {
                        rowNumber = n
                    } else {
                        rowNumber = lastRow + 1
                    }
                    lastRow = rowNumber
                    rowElements += 1
                    if rowElements > limits.maxRows || rowNumber > limits.maxRows {
                        throw SpreadsheetError(.tooLarge, "The worksheet has rows beyond row \(limits.maxRows).")
                    }
                    if t.selfClosing { continue }
                    if let row = try readCells(rowNumber: rowNumber) { return row }
                }
            case .end:
                if t.nameIs("sheetData") { return end() }
            case .text:
                continue
            }
        }
    }

    private func end() -> SheetRow? {
        finished = true
        stream.cancel()
        return nil
    }

    /// Reads the cells of one row, up to </row>. Returns nil for a row without any non-empty cell.
    private func readCells(rowNumber: Int) throws -> SheetRow? {
        let t = tokenizer
        var cells: [String] = []
        var nextColumn = 0
        var inCell = false
        var column = 0
        var type = CellType.number
        var style = 0
        var value: [UInt8] = []
        var inline: [UInt8] = []
        var hasInline = false
        var inV = false
        var inIS = false
        var inT = false
        var phoneticDepth = 0
        while true {
            switch try t.next() {
            case .eof:
                throw t.fail("the worksheet ends inside a row")
            case .text:
                if inV {
                    value.append(contentsOf: t.text)
                } else if inT && phoneticDepth == 0 {
                    inline.append(contentsOf: t.text)
                }
                if value.count > limits.maxCellBytes || inline.count > limits.maxCellBytes {
                    throw SpreadsheetError(.tooLarge, "A cell in row \(rowNumber) is longer than a cell in Excel can be.")
                }
            case .start:
                if !inCell {
                    if t.nameIs("c") {
                        column = nextColumn
                        if let r = t.attribute("r"), let c = Self.columnIndex(r) { column = c }
                        if column >= Self.maxColumns { throw t.fail("cell column beyond XFD") }
                        type = Self.cellType(t.attribute("t"))
                        style = t.attribute("s").flatMap(Self.parseInt) ?? 0
                        value.removeAll(keepingCapacity: true)
                        inline.removeAll(keepingCapacity: true)
                        hasInline = false
                        if t.selfClosing {
                            nextColumn = column + 1
                        } else {
                            inCell = true
                        }
                    }
                    continue
                }
                if t.selfClosing { continue }
                if inIS {
                    if t.nameIs("t") { inT = true } else if t.nameIs("rPh") { phoneticDepth += 1 }
                } else if t.nameIs("v") {
                    inV = true
                } else if t.nameIs("is") {
                    inIS = true
                    hasInline = true
                }
            case .end:
                if inCell {
                    if inV && t.nameIs("v") { inV = false; continue }
                    if inIS {
                        if t.nameIs("t") { inT = false } else if t.nameIs("rPh") { phoneticDepth -= 1 } else if t.nameIs("is") {
                            inIS = false
                        }
                        continue
                    }
                    if t.nameIs("c") {
                        inCell = false
                        inV = false
                        let text = try cellText(type: type, style: style, value: value, inline: hasInline ? inline : nil)
                        if !text.isEmpty && column < limits.maxColumns {
                            if column >= cells.count {
                                cells.append(contentsOf: repeatElement("", count: column - cells.count))
                                cells.append(text)
                            } else {
                                cells[column] = text
                            }
                        }
                        nextColumn = column + 1
                    }
                } else if t.nameIs("row") {
                    if cells.isEmpty { return nil }
                    return SheetRow(line: rowNumber, cells: cells)
                }
            }
        }
    }

    private func cellText(type: CellType, style: Int, value: [UInt8], inline: [UInt8]?) throws -> String {
        if let inline {
            return Self.unescapeOOXML(String(decoding: inline, as: UTF8.self))
        }
        switch type {
        case .shared:
            if value.isEmpty { return "" }
            guard let i = Self.parseInt(value[...]), i >= 0, i < sharedStrings.count else {
                throw tokenizer.fail("shared string index \(String(decoding: value, as: UTF8.self)) out of range")
            }
            return sharedStrings[i]
        case .string, .inline:
            return Self.unescapeOOXML(String(decoding: value, as: UTF8.self))
        case .error:
            return String(decoding: value, as: UTF8.self)
        case .bool:
            let v = Self.trim(value[...])
            if v.elementsEqual("1".utf8) { return "TRUE" }
            if v.elementsEqual("0".utf8) { return "FALSE" }
            return String(decoding: v, as: UTF8.self)
        case .date:
            return Self.isoDateText(String(decoding: Self.trim(value[...]), as: UTF8.self))
        case .number:
            let v = Self.trim(value[...])
            if v.isEmpty { return "" }
            if style > 0, style < dateKinds.count, dateKinds[style] != .none,
               let d = Double(String(decoding: v, as: UTF8.self)),
               let s = ExcelDate.format(serial: d, date1904: date1904, kind: dateKinds[style]) {
                return s
            }
            return NumberText.display(v)
        }
    }

    // MARK: helpers

    static func cellType(_ t: ArraySlice<UInt8>?) -> CellType {
        guard let t, let first = t.first else { return .number }
        if t.count == 1 {
            switch first {
            case UInt8(ascii: "s"): return .shared
            case UInt8(ascii: "b"): return .bool
            case UInt8(ascii: "e"): return .error
            case UInt8(ascii: "d"): return .date
            default: return .number
            }
        }
        if t.elementsEqual("str".utf8) { return .string }
        if t.elementsEqual("inlineStr".utf8) { return .inline }
        return .number
    }

    static func trim(_ v: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var s = v.startIndex, e = v.endIndex
        while s < e, v[s] == 0x20 || v[s] == 0x09 || v[s] == 0x0A || v[s] == 0x0D { s += 1 }
        while e > s, v[e - 1] == 0x20 || v[e - 1] == 0x09 || v[e - 1] == 0x0A || v[e - 1] == 0x0D { e -= 1 }
        return v[s..<e]
    }

    static func parseInt(_ v: ArraySlice<UInt8>) -> Int? {
        let v = trim(v)
        if v.isEmpty || v.count > 12 { return nil }
        var n = 0
        for c in v {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            n = n * 10 + Int(c - 0x30)
        }
        return n
    }

    /// "AB12" → 27 (0-based). nil if there are no letters.
    static func columnIndex(_ r: ArraySlice<UInt8>) -> Int? {
        var n = 0
        var letters = 0
        for c in r {
            let u = c & 0xDF  // upper-case ASCII letters
            if u >= 0x41 && u <= 0x5A && (c >= 0x41) {
                n = n * 26 + Int(u - 0x40)
                letters += 1
                if letters > 4 { return maxColumns }
            } else {
                break
            }
        }
        return letters == 0 ? nil : n - 1
    }

    /// Decodes OOXML ST_Xstring escapes such as "_x000D_" (Excel writes them for control characters).
    static func unescapeOOXML(_ s: String) -> String {
        guard s.utf8.count >= 7 else { return s }
        var found = false
        var prevUnderscore = false
        for b in s.utf8 {
            if prevUnderscore && b == UInt8(ascii: "x") { found = true; break }
            prevUnderscore = b == UInt8(ascii: "_")
        }
        guard found else { return s }
        let u = Array(s.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(u.count)
        var units: [UInt16] = []
        var i = 0
        func flushUnits() {
            if units.isEmpty { return }
            for scalar in String(decoding: units, as: UTF16.self).unicodeScalars {
                XMLTokenizer.appendUTF8(scalar.value, to: &out)
            }
            units.removeAll()
        }
        while i < u.count {
            if u[i] == UInt8(ascii: "_"), i + 6 < u.count, u[i + 1] == UInt8(ascii: "x"), u[i + 6] == UInt8(ascii: "_"),
               let v = hex4(u[(i + 2)..<(i + 6)]) {
                if v != 0 { units.append(v) } // "_x0000_" is a NUL: not text, dropped as the CSV reader drops it
                i += 7
                continue
            }
            flushUnits()
            out.append(u[i])
            i += 1
        }
        flushUnits()
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex4(_ h: ArraySlice<UInt8>) -> UInt16? {
        var v: UInt16 = 0
        for c in h {
            let d: UInt16
            switch c {
            case 0x30...0x39: d = UInt16(c - 0x30)
            case 0x41...0x46: d = UInt16(c - 0x41 + 10)
            case 0x61...0x66: d = UInt16(c - 0x61 + 10)
            default: return nil
            }
            v = v << 4 | d
        }
        return v
    }

    /// t="d" cells hold ISO 8601 text: keep the date, and the time only when it is not midnight.
    static func isoDateText(_ s: String) -> String {
        let u = Array(s.utf8)
        guard u.count >= 10, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-") else { return s }
        let date = String(decoding: u[0..<10], as: UTF8.self)
        guard u.count >= 19, u[10] == UInt8(ascii: "T") || u[10] == UInt8(ascii: " ") else { return date }
        let time = String(decoding: u[11..<19], as: UTF8.self)
        return time == "00:00:00" ? date : date + " " + time
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[...slash])
    }

    /// Resolves a relationship target against the directory of the source part.
    static func resolve(_ target: String, base: String) -> String {
        var t = target.replacingOccurrences(of: "\\", with: "/")
        var parts: [Substring]
        if t.hasPrefix("/") {
            t.removeFirst()
            parts = []
        } else {
            parts = base.split(separator: "/")
        }
        for comp in t.split(separator: "/") {
            if comp == "." { continue }
            if comp == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(comp)
        }
        return parts.joined(separator: "/")
    }

    struct Relationship { let id: String; let type: String; let target: String }

    static func parseRelationships(_ bytes: [UInt8], base: String, part: String) throws -> [Relationship] {
        let t = XMLTokenizer(source: ArrayByteSource(bytes), partName: part)
        var out: [Relationship] = []
        while true {
            let tok = try t.next()
            if tok == .eof { break }
            if tok == .start, t.nameIs("Relationship") {
                if t.attributeString("TargetMode")?.lowercased() == "external" { continue }
                guard let id = t.attributeString("Id"), let target = t.attributeString("Target") else { continue }
                out.append(Relationship(id: id, type: t.attributeString("Type") ?? "", target: resolve(target, base: base)))
            }
        }
        return out
    }

    static func parseWorkbook(_ bytes: [UInt8], part: String) throws -> (sheetRelIds: [String], date1904: Bool) {
        let t = XMLTokenizer(source: ArrayByteSource(bytes), partName: part)
        var ids: [String] = []
        var is1904 = false
        while true {
            let tok = try t.next()
            if tok == .eof { break }
            guard tok == .start else { continue }
            if t.nameIs("workbookPr") {
                let v = t.attributeString("date1904")?.lowercased()
                is1904 = v == "1" || v == "true"
            } else if t.nameIs("sheet"), let id = t.attributeString("id") {
                ids.append(id)
            }
        }
        return (ids, is1904)
    }

    static func parseSharedStrings(zip: ZipDirectory, entry: ZipEntryInfo, limits: SpreadsheetLimits) throws -> [String] {
        // The XML may be bigger than the text it holds (markup, phonetic runs), not unboundedly so.
        let maxXML = UInt64(limits.maxSharedStringBytes) * 4
        try limits.check(entry, max: maxXML)
        let stream = ZipEntryStream(directory: zip, entry: entry, limit: Int(clamping: maxXML))
        defer { stream.cancel() }
        let t = XMLTokenizer(source: stream, partName: entry.path)
        var out: [String] = []
        var held = 0
        var inSI = false
        var inT = false
        var phoneticDepth = 0
        var buf: [UInt8] = []
        func keep(_ text: String) throws {
            held += text.utf8.count
            out.append(text)
            if out.count > limits.maxSharedStrings || held > limits.maxSharedStringBytes {
                throw SpreadsheetError(.tooLarge, "\(entry.path) holds more shared strings than a roster needs.")
            }
        }
        while true {
            switch try t.next() {
            case .eof:
                if inSI { throw t.fail("the shared strings end inside <si>") }
                return out
            case .start:
                if t.nameIs("si") {
                    if t.selfClosing { try keep(""); continue }
                    inSI = true
                    buf.removeAll(keepingCapacity: true)
                    phoneticDepth = 0
                } else if inSI && !t.selfClosing {
                    if t.nameIs("t") { inT = true } else if t.nameIs("rPh") { phoneticDepth += 1 }
                }
            case .end:
                if t.nameIs("si") {
                    if inSI { try keep(unescapeOOXML(String(decoding: buf, as: UTF8.self))) }
                    inSI = false
                    inT = false
                } else if t.nameIs("t") {
                    inT = false
                } else if t.nameIs("rPh") {
                    phoneticDepth = max(0, phoneticDepth - 1)
                }
            case .text:
                if inSI && inT && phoneticDepth == 0 {
                    buf.append(contentsOf: t.text)
                    if buf.count > limits.maxCellBytes {
                        throw SpreadsheetError(.tooLarge, "\(entry.path): a shared string is longer than a cell in Excel can be.")
                    }
                }
            }
        }
    }

    /// Date kind of each cellXfs entry.
    static func parseStyles(_ bytes: [UInt8], part: String) throws -> [DateKind] {
        let t = XMLTokenizer(source: ArrayByteSource(bytes), partName: part)
        var custom: [Int: DateKind] = [:]
        var xfFormats: [Int] = []
        var inCellXfs = false
        while true {
            let tok = try t.next()
            if tok == .eof { break }
            if tok == .start {
                if t.nameIs("numFmt"), let id = t.attribute("numFmtId").flatMap(parseInt),
                   let code = t.attributeString("formatCode") {
                    custom[id] = DateKind.classify(formatCode: code)
                } else if t.nameIs("cellXfs") {
                    inCellXfs = !t.selfClosing
                } else if inCellXfs && t.nameIs("xf") {
                    xfFormats.append(t.attribute("numFmtId").flatMap(parseInt) ?? 0)
                    if xfFormats.count > 1_000_000 { throw SpreadsheetError(.tooLarge, "\(part): too many cell formats.") }
                }
            } else if tok == .end, t.nameIs("cellXfs") {
                inCellXfs = false
            }
        }
        return xfFormats.map { custom[$0] ?? DateKind.builtIn($0) }
    }
}

enum DateKind: UInt8 {
    case none, date, dateTime, time

    static func builtIn(_ id: Int) -> DateKind {
        switch id {
        case 14...17, 27...31, 36, 50...54, 57, 58: return .date
        case 22: return .dateTime
        case 18...21, 32...35, 45...47, 55, 56: return .time
        default: return .none
        }
    }

    /// A custom number format is a date when it has y, d or m (month) outside quotes, brackets and escapes;
    /// h or s (or elapsed [h] [mm] [ss]) make it a time.
    static func classify(formatCode: String) -> DateKind {
        var hasDate = false, hasM = false, hasTime = false
        var it = formatCode.lowercased().unicodeScalars.makeIterator()
        while let c = it.next() {
            switch c {
            case "\"":
                while let d = it.next(), d != "\"" {}
            case "[":
                var inner = ""
                while let d = it.next(), d != "]" { inner.unicodeScalars.append(d) }
                if !inner.isEmpty, inner.allSatisfy({ $0 == "h" || $0 == "m" || $0 == "s" }) { hasTime = true }
            case "\\", "_", "*":
                _ = it.next()
            case "y", "d": hasDate = true
            case "m": hasM = true
            case "h", "s": hasTime = true
            default: break
            }
        }
        let isDate = hasDate || (hasM && !hasTime)
        if isDate { return hasTime ? .dateTime : .date }
        return hasTime ? .time : .none
    }
}

enum ExcelDate {
    /// Formats an Excel serial date (1900 system with its fictitious 1900-02-29, or the 1904 system).
    static func format(serial: Double, date1904: Bool, kind: DateKind) -> String? {
        guard serial.isFinite, serial >= 0, serial < 2_958_466 else { return nil }
        let total = Int((serial * 86_400).rounded())
        let days = total / 86_400
        let secs = total % 86_400
        let time = String(format: "%02ld:%02ld:%02ld", secs / 3600, (secs / 60) % 60, secs % 60)
        if kind == .time && days == 0 { return time }
        let date: String
        if date1904 {
            date = civil(days - 24_107)
        } else if days == 0 {
            date = "1900-01-00"
        } else if days == 60 {
            date = "1900-02-29"
        } else if days < 60 {
            date = civil(days - 25_568)
        } else {
            date = civil(days - 25_569)
        }
        switch kind {
        case .date, .none: return date
        case .dateTime, .time: return secs == 0 ? date : date + " " + time
        }
    }

    /// Days since 1970-01-01 → "YYYY-MM-DD" (proleptic Gregorian).
    static func civil(_ daysSinceEpoch: Int) -> String {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        var y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        if m <= 2 { y += 1 }
        return String(format: "%04ld-%02ld-%02ld", y, m, d)
    }
}

enum NumberText {
    /// A number from the XML as a person sees it in Excel: at most 15 significant digits, integers without
    /// ".0" or exponent ("1.10105194912310E+17" → "110105194912310000"), fractions in plain decimal
    /// notation. Text that is not a number is returned unchanged.
    static func display(_ v: ArraySlice<UInt8>) -> String {
        var i = v.startIndex
        let end = v.endIndex
        var negative = false
        if i < end, v[i] == UInt8(ascii: "-") || v[i] == UInt8(ascii: "+") {
            negative = v[i] == UInt8(ascii: "-")
            i += 1
        }
        var digits: [UInt8] = []
        var point = 0
        var sawDigit = false
        while i < end, v[i] >= 0x30 && v[i] <= 0x39 {
            digits.append(v[i] - 0x30); point += 1; sawDigit = true; i += 1
        }
        if i < end, v[i] == UInt8(ascii: ".") {
            i += 1
            while i < end, v[i] >= 0x30 && v[i] <= 0x39 { digits.append(v[i] - 0x30); sawDigit = true; i += 1 }
        }
        var exp = 0
        if i < end, v[i] == UInt8(ascii: "e") || v[i] == UInt8(ascii: "E") {
            i += 1
            var expNeg = false
            if i < end, v[i] == UInt8(ascii: "-") || v[i] == UInt8(ascii: "+") { expNeg = v[i] == UInt8(ascii: "-"); i += 1 }
            var sawExp = false
            while i < end, v[i] >= 0x30 && v[i] <= 0x39 {
                if exp < 100_000 { exp = exp * 10 + Int(v[i] - 0x30) }
                sawExp = true
                i += 1
            }
            if !sawExp { return String(decoding: v, as: UTF8.self) }
            if expNeg { exp = -exp }
        }
        guard sawDigit, i == end else { return String(decoding: v, as: UTF8.self) }
        // Normalise: drop leading zeros.
        var lead = 0
        while lead < digits.count, digits[lead] == 0 { lead += 1 }
        if lead == digits.count { return "0" }
        digits.removeFirst(lead)
        point = point - lead + exp
        // Round to 15 significant digits (Excel's precision).
        if digits.count > 15 {
            let roundUp = digits[15] >= 5
            digits.removeLast(digits.count - 15)
            if roundUp {
                var k = 14
                while k >= 0 {
                    if digits[k] == 9 { digits[k] = 0; k -= 1 } else { digits[k] += 1; break }
                }
                if k < 0 { digits.insert(1, at: 0); digits.removeLast(); point += 1 }
            }
        }
        while let last = digits.last, last == 0 { digits.removeLast() }
        if digits.isEmpty { return "0" }
        var out: [UInt8] = negative ? [UInt8(ascii: "-")] : []
        if point > 30 || point < -20 {
            // Astronomically large or small: scientific notation like Excel ("1.5E+40").
            out.append(digits[0] + 0x30)
            if digits.count > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[1...].map { $0 + 0x30 })
            }
            let e = point - 1
            out.append(contentsOf: Array((e < 0 ? "E-" : "E+").utf8))
            out.append(contentsOf: Array(String(format: "%02ld", abs(e)).utf8))
        } else if point >= digits.count {
            out.append(contentsOf: digits.map { $0 + 0x30 })
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: point - digits.count))
        } else if point <= 0 {
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -point))
            out.append(contentsOf: digits.map { $0 + 0x30 })
        } else {
            out.append(contentsOf: digits[..<point].map { $0 + 0x30 })
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[point...].map { $0 + 0x30 })
        }
        return String(decoding: out, as: UTF8.self)
    }
}

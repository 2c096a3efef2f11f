import Foundation
import Testing
@testable import Spreadsheet

/// A raw deflate stream (one fixed-Huffman block): `head` as literals, then `unit` repeated until
/// about `size` bytes by back-references, then `tail`. 258 bytes cost 14 bits: about 147 to 1,
/// the way a sheet of empty rows packs.
func deflateBomb(head: String, unit: String, tail: String, size: Int) -> (bytes: [UInt8], size: Int, crc: UInt32) {
    var out: [UInt8] = []
    var bitBuffer: UInt32 = 0
    var bitCount = 0
    func bits(_ value: UInt32, _ n: Int) {
        bitBuffer |= value << UInt32(bitCount)
        bitCount += n
        while bitCount >= 8 {
            out.append(UInt8(bitBuffer & 0xFF))
            bitBuffer >>= 8
            bitCount -= 8
        }
    }
    func huffman(_ code: UInt32, _ n: Int) {
        var reversed: UInt32 = 0
        for i in 0..<n where code & (1 << UInt32(i)) != 0 { reversed |= 1 << UInt32(n - 1 - i) }
        bits(reversed, n)
    }
    func literal(_ byte: UInt8) {
        precondition(byte < 144)
        huffman(0x30 + UInt32(byte), 8)
    }
    bits(1, 1) // last block
    bits(1, 2) // fixed Huffman codes
    for byte in head.utf8 { literal(byte) }
    for byte in unit.utf8 { literal(byte) }
    let period = unit.utf8.count
    precondition(258 % period == 0 && (1...8).contains(period))
    var produced = head.utf8.count + period
    var copies = 0
    while produced + 258 + tail.utf8.count <= size {
        copies += 1
        huffman(0xC5, 8) // length 258 (symbol 285)
        // distance = period: codes 0-3 are 1-4, code 4 is 5-6 with one extra bit, code 5 is 7-8
        switch period {
        case 1...4: huffman(UInt32(period - 1), 5)
        case 5...6: huffman(4, 5); bits(UInt32(period - 5), 1)
        default: huffman(5, 5); bits(UInt32(period - 7), 1)
        }
        produced += 258
    }
    for byte in tail.utf8 { literal(byte) }
    produced += tail.utf8.count
    huffman(0, 7) // end of block
    if bitCount > 0 { out.append(UInt8(bitBuffer & 0xFF)) }
    let text = Array(head.utf8) + Array(String(repeating: unit, count: 1 + copies * 258 / period).utf8) + Array(tail.utf8)
    return (out, produced, TestZip.crc32(text))
}

/// A workbook whose only part is a worksheet that packs `size` bytes of XML into a few kilobytes.
func bombWorkbook(unit: String, size: Int, declared: Int? = nil) -> String {
    let sheet = deflateBomb(head: "<worksheet \(mainNS)><sheetData><row r=\"1\"><c t=\"inlineStr\"><is><t>x</t></is></c></row>",
                            unit: unit, tail: "</sheetData></worksheet>", size: size)
    var zip = TestZip()
    zip.addRawDeflate("xl/worksheets/sheet1.xml", sheet.bytes, declaredSize: declared ?? sheet.size, crc: sheet.crc)
    return writeTemp(zip.bytes(), ext: "xlsx")
}

@Suite("Workbook limits")
struct SpreadsheetLimitsTests {
    /// A sheet that unpacks more than a hundred times its size is refused before it is unpacked.
    @Test func aZipBombIsRefusedBeforeItIsUnpacked() throws {
        let path = bombWorkbook(unit: "<row/>", size: 16 << 20)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0) < 150_000)
        expectError(.tooLarge) { _ = try Spreadsheet.open(path: path) }
        // an archive that says less than it holds stops where it says
        let lying = bombWorkbook(unit: "<row/>", size: 8 << 20, declared: 1 << 20)
        defer { try? FileManager.default.removeItem(atPath: lying) }
        expectError(.badZip) { _ = try readAll(try Spreadsheet.open(path: lying)) }
    }

    /// The unpacked size, the rows (blank ones too), shared strings and a cell's length are bounded.
    @Test func sizeRowsSharedStringsAndCellsAreBounded() throws {
        var loose = SpreadsheetLimits()
        loose.maxRatio = 1_000
        let empty = bombWorkbook(unit: "<row/>", size: 2 << 20)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        // 349,000 empty rows (and a packing the default ratio refuses), read when the ratio allows it
        #expect(try readAll(try Spreadsheet.open(path: empty, limits: loose)).count == 1)
        var rows = loose
        rows.maxRows = 1_000
        expectError(.tooLarge) { _ = try readAll(try Spreadsheet.open(path: empty, limits: rows)) }
        var bytes = loose
        bytes.maxSheetBytes = 1 << 20
        expectError(.tooLarge) { _ = try Spreadsheet.open(path: empty, limits: bytes) }

        let farRow = writeTemp(craftedWorkbook(sheetData: "<row r=\"2000000\"><c t=\"inlineStr\"><is><t>x</t></is></c></row>"), ext: "xlsx")
        defer { try? FileManager.default.removeItem(atPath: farRow) }
        expectError(.tooLarge) { _ = try readAll(try Spreadsheet.open(path: farRow)) }

        let strings = (0..<11).map { "<si><t>s\($0)</t></si>" }.joined()
        let shared = writeTemp(craftedWorkbook(sheetData: "<row r=\"1\"><c t=\"s\"><v>0</v></c></row>", sharedStrings: strings), ext: "xlsx")
        defer { try? FileManager.default.removeItem(atPath: shared) }
        #expect(try readAll(try Spreadsheet.open(path: shared)).first?.cells == ["s0"])
        var few = SpreadsheetLimits()
        few.maxSharedStrings = 10
        expectError(.tooLarge) { _ = try Spreadsheet.open(path: shared, limits: few) }

        let long = String(repeating: "长", count: 50_000)
        let cell = writeTemp(craftedWorkbook(sheetData: "<row r=\"1\"><c t=\"inlineStr\"><is><t>\(long)</t></is></c></row>"), ext: "xlsx")
        defer { try? FileManager.default.removeItem(atPath: cell) }
        expectError(.tooLarge) { _ = try readAll(try Spreadsheet.open(path: cell)) }
    }

    /// A cell far to the right does not make every row thousands of cells wide.
    @Test func cellsBeyondTheColumnLimitAreDropped() throws {
        let path = writeTemp(craftedWorkbook(sheetData: "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>a</t></is></c>"
            + "<c r=\"XFD1\" t=\"inlineStr\"><is><t>far</t></is></c></row>"), ext: "xlsx")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try readAll(try Spreadsheet.open(path: path)).first?.cells.count == 16_384)
        #expect(try readAll(try Spreadsheet.open(path: path, limits: .upload)).first?.cells == ["a"])
    }
}

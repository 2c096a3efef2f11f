import Foundation
import Testing
@testable import Spreadsheet
#if canImport(Glibc)
import Glibc
#endif

// MARK: - helpers

func tempPath(_ ext: String) -> String {
    (NSTemporaryDirectory() as NSString).appendingPathComponent("sheet-test-\(UUID().uuidString).\(ext)")
}

func writeTemp(_ bytes: [UInt8], ext: String = "csv") -> String {
    let p = tempPath(ext)
    _ = FileManager.default.createFile(atPath: p, contents: Data(bytes))
    return p
}

func readAll(_ r: any RowReader) throws -> [SheetRow] {
    var rows: [SheetRow] = []
    while let row = try r.next() { rows.append(row) }
    return rows
}

private func cells(_ rows: [SheetRow]) -> [[String]] { rows.map(\.cells) }

/// Encodes with glibc iconv (test fixtures for GB18030).
private func iconvEncode(_ s: String, to charset: String) -> [UInt8] {
    let cd = iconv_open(charset, "UTF-8")!
    defer { iconv_close(cd) }
    var input = Array(s.utf8)
    var output = [UInt8](repeating: 0, count: input.count * 4 + 16)
    var inLeft = input.count
    var outLeft = output.count
    input.withUnsafeMutableBytes { inRaw in
        output.withUnsafeMutableBytes { outRaw in
            var ip: UnsafeMutablePointer<CChar>? = inRaw.baseAddress?.assumingMemoryBound(to: CChar.self)
            var op: UnsafeMutablePointer<CChar>? = outRaw.baseAddress?.assumingMemoryBound(to: CChar.self)
            let r = iconv(cd, &ip, &inLeft, &op, &outLeft)
            precondition(r != -1, "iconv failed")
        }
    }
    return Array(output[0..<(output.count - outLeft)])
}

func expectError(_ code: SpreadsheetError.Code, _ body: () throws -> Void,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        try body()
        Issue.record("expected SpreadsheetError.\(code.rawValue), got success", sourceLocation: sourceLocation)
    } catch let e as SpreadsheetError {
        #expect(e.code == code, "\(e)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected SpreadsheetError, got \(error)", sourceLocation: sourceLocation)
    }
}

private func openAndReadAll(_ path: String) throws -> [SheetRow] {
    try readAll(try Spreadsheet.open(path: path))
}

/// A minimal zip writer for crafted test workbooks. `rawDeflate` entries are written as method 8 with the
/// given bytes as the compressed data (used to build hostile archives).
struct TestZip {
    var entries: [(name: String, data: [UInt8], rawDeflate: Bool, declaredSize: Int, crc: UInt32?)] = []

    mutating func add(_ name: String, _ text: String) {
        entries.append((name, Array(text.utf8), false, text.utf8.count, nil))
    }

    mutating func addRawDeflate(_ name: String, _ bytes: [UInt8], declaredSize: Int, crc: UInt32? = nil) {
        entries.append((name, bytes, true, declaredSize, crc))
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var table = [UInt32](repeating: 0, count: 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            table[i] = c
        }
        var crc: UInt32 = 0xFFFF_FFFF
        for b in data { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func u16(_ v: Int, _ a: inout [UInt8]) { a += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func u32(_ v: UInt32, _ a: inout [UInt8]) { for s in [0, 8, 16, 24] { a.append(UInt8((v >> UInt32(s)) & 0xFF)) } }
        for e in entries {
            let name = Array(e.name.utf8)
            let crc = e.crc ?? (e.rawDeflate ? 0 : Self.crc32(e.data))
            let offset = UInt32(out.count)
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(e.rawDeflate ? 8 : 0, &out)
            u16(0, &out); u16(0, &out); u32(crc, &out)
            u32(UInt32(e.data.count), &out); u32(UInt32(e.declaredSize), &out)
            u16(name.count, &out); u16(0, &out); out += name; out += e.data
            u32(0x0201_4B50, &central); u16(20, &central); u16(20, &central); u16(0, &central)
            u16(e.rawDeflate ? 8 : 0, &central); u16(0, &central); u16(0, &central); u32(crc, &central)
            u32(UInt32(e.data.count), &central); u32(UInt32(e.declaredSize), &central)
            u16(name.count, &central); u16(0, &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u32(0, &central); u32(offset, &central); central += name
        }
        let cdOffset = UInt32(out.count)
        out += central
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(entries.count, &out); u16(entries.count, &out)
        u32(UInt32(central.count), &out); u32(cdOffset, &out); u16(0, &out)
        return out
    }
}

let mainNS = "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\""
let relNS = "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\""

/// A workbook with the given sheet XML body (inside <sheetData>), optional styles and shared strings.
func craftedWorkbook(sheetData: String, styles: String? = nil, sharedStrings: String? = nil,
                             date1904: Bool = false, sheetXML: String? = nil) -> [UInt8] {
    var z = TestZip()
    z.add("[Content_Types].xml", "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>")
    z.add("_rels/.rels", """
        <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
        <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
        Target="xl/workbook.xml"/></Relationships>
        """)
    z.add("xl/workbook.xml", """
        <x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \(relNS)>\
        <x:workbookPr date1904="\(date1904 ? "1" : "0")"/><x:sheets>\
        <x:sheet name="Chart" sheetId="2" r:id="rId9"/>\
        <x:sheet name="Data" sheetId="1" r:id="rId7"/></x:sheets></x:workbook>
        """)
    z.add("xl/_rels/workbook.xml.rels", """
        <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
        <Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/chartsheet" \
        Target="chartsheets/sheet1.xml"/>\
        <Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" \
        Target="worksheets/data.xml"/>\
        <Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" \
        Target="styles.xml"/>\
        <Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" \
        Target="/xl/sharedStrings.xml"/></Relationships>
        """)
    z.add("xl/chartsheets/sheet1.xml", "<chartsheet \(mainNS)/>")
    z.add("xl/worksheets/data.xml", sheetXML ?? """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <!-- crafted --><worksheet \(mainNS)><dimension ref="A1"/><sheetData>\(sheetData)</sheetData>\
        <mergeCells count="0"/></worksheet>
        """)
    if let styles { z.add("xl/styles.xml", "<styleSheet \(mainNS)>\(styles)</styleSheet>") }
    if let sharedStrings { z.add("xl/sharedStrings.xml", "<sst \(mainNS)>\(sharedStrings)</sst>") }
    return z.bytes()
}

/// openpyxl 3.1.5 output (see the comment in the test), base64.
private let openpyxlFixture = [
        "UEsDBBQAAAAIANgudV1Gx01IlQAAAM0AAAAQAAAAZG9jUHJvcHMvYXBwLnhtbE3PTQvCMAwG4L9SdreZih6kDkQ9ip68zy51hbYp",
        "bYT67+0EP255ecgboi6JIia2mEXxLuRtMzLHDUDWI/o+y8qhiqHke64x3YGMsRoPpB8eA8OibdeAhTEMOMzit7Dp1C5GZ3XPlkJ3",
        "sjpRJsPiWDQ6sScfq9wcChDneiU+ixNLOZcrBf+LU8sVU57mym/8ZAW/B7oXUEsDBBQAAAAIANgudV14GDGj6wAAAMsBAAARAAAA",
        "ZG9jUHJvcHMvY29yZS54bWylkU1PwzAMhv/K1HvrpvsQirpcQJxAQmISiFvkeFtEk0aJUbt/T1u2DgQ3jvH7+LGt1BgktpGeYhso",
        "sqW06F3jk8SwzY7MQQIkPJLTqRgIP4T7NjrNwzMeIGh81weCqiw34Ii10axhFOZhNmZnpcFZGT5iMwkMAjXkyHMCUQi4skzRpT8b",
        "pmQm+2Rnquu6oltO3LCRgNfHh+dp+dz6xNojZao2KDGS5jaq8aJw6psavhXr8+yvApnFMEHyKdA2uyQvy9u73X2mqrLa5ELkldiV",
        "a7leydXN2+j60X8VutbYvf2H8SJQNfz6N/UJUEsDBBQAAAAIANgudV2Ez00HNQIAADAFAAAYAAAAeGwvd29ya3NoZWV0cy9zaGVl",
        "dDEueG1sdVTLbtNAFP0Vy1ukzIxdJ7RyLNEkBRZIVStgPUluYqu2x8xMEliyQAiJl8QCiYIAiQokFiyKVB7lb5Ion8HMJDV2sb3x",
        "3Me599yjO+PPGD8SIYC07idxKtp2KGW2g5AYhJBQ0WAZpCoyYjyhUpl8jETGgQ4NKImRg3ETJTRK7cA3vn0e+Gwi4yiFfW6JSZJQ",
        "/mAXYjZr28S+cBxE41AaBwr8jI7hEOTtTAGUifI6wyiBVEQstTiM2vY1stPzDMJk3IlgJgpnSw/TZ+xIGzeHbRtrThDDQOoSVP2m",
        "0IE41pUUk3ubova/phpZPF+U3zPzK3p9KqDD4rvRUIZt+6ptDWFEJ7E8YLMbsJmpQLFLJQ18zmYW18MG/kAfdEuVGKVapEPJlT9S",
        "nWSw+Pxq8fKZj6TioD1osEHs1iFWv77Of/9ZfXu4eHFWgevUdnp0Mj9/s3x9snz7vgLXrcMp0Or7zwpEr7bTp8fL0y9lBFKK5LI4",
        "uSxOXYnzD/MfT6pkWSP07k0D0iCYYI9sb20TxyVwhbR8NC2KobKF2bkcs+XhplvO6pZqOg2vHO6tw8KEcTm251QRwb3/mFwvFiF5",
        "rCSLm8vi1siyfPd8cXxcJUsdgpSJYYdU7YxrZHJKMrkeaXgtZ5s0zXdJMreQ6+Lqebx8Hq9ul89OVx+fVjHyilycS/VR4abpl+QW",
        "5eMoFVYMIwXCjZZC8/XVXBuSZWYL+kxKlphjqF404DpBxUeMydzQT0P+SAZ/AVBLAwQUAAAACADYLnVd8cJMAIYCAAB7CwAADQAA",
        "AHhsL3N0eWxlcy54bWzdVkuP2jAQ/itR7tsAKRFZEQ6NhFSprVbaPfRqsEMs+ZE6zgr66+uxvRB2maxatZcGIY/n8zdvE9a9PQn2",
        "2DJmk6MUqq/S1truPsv6fcsk6T/ojimHNNpIYt3WHLK+M4zQHkhSZIvZrMgk4SrdrNUgt9L2yV4Pylbp4qxKwvKZVum8+JgmwVyt",
        "KavSk3vupLyjNE2ym4QlRkjaeynv+94Ts+h9s260ugQxT4PCWSaSJc9EVGlNBN8Z7mkNkVycgn7hNXsttEmsy58BHVT9z3BgHrdQ",
        "nGhLcqVNCCC48QtEwYW4KgUoNuuOWMuM2rpNIHntWyzKT6fORXEw5DRfLNMRwy/OzU4bysxVukG1WQvWWGAYfmi9YHUHy05bqyVI",
        "lJODViRE8kKLgrO9Z0I8woR8b64cHJtRf2bQHXUWXVRRDGbiBhyMzQXjI7v5n9nt+LO2nwaXkPL7H4O27MGwhh/9/thcArgyH+fw",
        "XzpY/nUHWSzaqDVXjTlrExj2Kv0G10aMbOwGLixXcddySpl62x9n35Kd+2G4cuBOUdaQQdinM1ilF/kro3yQ5fnUAyQWT13kLzCM",
        "8+Jy05wzrig7MlrHrTnsvJg4wbmNj2e8hrb+QSCUFUAEAhD1hYaBsgIP9fU/5rXC8wogGuHqNrTCWSucFXg3odp/UF8Iq3QPknJZ",
        "5nlRoOWt69th1GgNiwK+iEE0QuCgvsDb71Z+YgAmxuad2UC7PDk2aMoTI4qmPFF5gJAaAqcskQFAfQEHbQo6URAE4gtGDWHlOfQZ",
        "jRC95hNQWaIQDCkyvUWBFaqAD9Iv9BLleVkiEIBIGHmOQnBhJyA0DAgEhfI8vEhfvc+yl/dcdvm7vfkFUEsDBBQAAAAIANgudV23",
        "R+uKwAAAABYCAAALAAAAX3JlbHMvLnJlbHOdkktuAjEMQK8SZV9MqcQCMazYsEOIC7iJ56OZxJFjxPT2jdjAIGgRS/+eni2vDzSg",
        "dhxz26VsxjDEXNlWNa0AsmspYJ5xolgqNUtALaE0kND12BAs5vMlyC3Dbta3THP8SfQKkeu6c7RldwoU9QH4rsOaI0pDWtlxgDNL",
        "/83czwrUmp2vrOz8pzXwpszz9SCQokdFcCz0kaRMi3aUrz6e3b6k86VjYrR43+j/89CoFD35v50wpYnS10UJJm+w+QVQSwMEFAAA",
        "AAgA2C51XTKdr5I9AQAAKQIAAA8AAAB4bC93b3JrYm9vay54bWyNkEFOwzAQRa8S+QAkraASVdMNFVAJAaKoeyeZNKPansietNBb",
        "sEOchePAPbAdApXYsBrPn9Hz/zPbk90WRNvkSSvjpjYXDXM7TVNXNqClO6EWjJ/VZLVk39pNSnWNJSyo7DQYTsdZNkktKMlIxjXY",
        "OtHT/sNyrQVZuQaAtepRWqIR89ng7N4m6XFHDGX4KahBWSPs3e9CaJMdOixQIT/nIr4ViESjQY0HqHKRicQ1tL8miwcyLNWqtKRU",
        "Lkb9YA2Wsfwjr4LNR1m4qLAsHkLmXEwyD6zROo4bkS+9yR345b7rmC5RMdiFZLiy1LVoNhHjY6RHOeIphpoYqSEXH+9vny+vwYPX",
        "llXvhz3oKJ2doh/YZfWNHDgV1GiguvUgFwY+VelPGkokjU/PRufefafUhdfuzA3J6sfYcNX5F1BLAwQUAAAACADYLnVd98Bj7bYA",
        "AAAFAgAAGgAAAHhsL19yZWxzL3dvcmtib29rLnhtbC5yZWxztZExDoMwDEWvEuUAGBg6VMDUhbVwgQgMQUASxa4Kty+ilQC1Q4d2",
        "svwtvf8kJ1ccFHfWkO4ciWkcDKVSM7szAFUaR0WBdWiWS2P9qHhZfQtOVb1qEeIwPIHfM2SW7JminB1+Q7RN01V4sdVtRMMfwHC3",
        "vieNyFKUyrfIqYRp2GKCdUTBQpYir1Pp8zqSAv5mRDwPSJvOcz/0x+/9r0tRlPKXLlp5rAv2nWn3Svt4NVt04PD17AFQSwMEFAAA",
        "AAgA2C51XYBlAC8aAQAA7QMAABMAAABbQ29udGVudF9UeXBlc10ueG1srZNPT4NAEMW/CuHawFYPHkzpRb1qE/0CKzuUDfsvM9NK",
        "v70DtcaYWjFy2sDMe7/HA1YvhwSU9d4FqvKWOd0qRXULXlMZEwSZNBG9ZrnErUq67vQW1PVyeaPqGBgCFzx45OvVPTR65zh76OU2",
        "2RiqHMFRnt0dFwdWleuUnK01y1ztg/lGKT4IpSjHHWptooUs5Jk6ixhHPxJOwqc9IFoD2UYjP2ova6p3ivjggMrLHmdSxqaxNZhY",
        "77xISkoI2lALwN6VR9PFJbQoNxgTSYcIf8efShrURRIjQLZTkeL97weGoX8DZipcqn6L2I0NkRqPq5lb//SfEuQ1xm7utz6cpdc2",
        "/BaAWo1gnhlt2M7+7X31HoNIDjX+5et3UEsDBBQAAAAIANgudV28ApkS/AAAAE0BAAAUAAAAeGwvc2hhcmVkU3RyaW5ncy54bWxF",
        "UEtOwzAQ3XMKayplR51EgGjjuAsK6yxgXTnJkFiK7eBxqnAATsOKLeeBe+CUIqT5z5uv2M1mYEf0pJ0tIVunwNA2rtW2K+Hp8eHy",
        "FhgFZVs1OIslvCLBTl4IosBiqaUS+hDGLefU9GgUrd2INmaenTcqRNd3nEaPqqUeMZiB52l6w43SFljjJhtKyIFNVr9MePfnS0Fa",
        "Ch+piqLmUvCTFeT328fX57vgYQmdIKdFtjSqJu4XJxH6I4JkiTJjwbxu+n901TOqS1iujCqDpaPurPPYnkFVH+UyfOEgVTKEok5W",
        "89V9vi+SVX692WTFYU7TdH/4LVmAPP5D/gBQSwECFAMUAAAACADYLnVdRsdNSJUAAADNAAAAEAAAAAAAAAAAAAAAgAEAAAAAZG9j",
        "UHJvcHMvYXBwLnhtbFBLAQIUAxQAAAAIANgudV14GDGj6wAAAMsBAAARAAAAAAAAAAAAAACAAcMAAABkb2NQcm9wcy9jb3JlLnht",
        "bFBLAQIUAxQAAAAIANgudV2Ez00HNQIAADAFAAAYAAAAAAAAAAAAAACAgd0BAAB4bC93b3Jrc2hlZXRzL3NoZWV0MS54bWxQSwEC",
        "FAMUAAAACADYLnVd8cJMAIYCAAB7CwAADQAAAAAAAAAAAAAAgAFIBAAAeGwvc3R5bGVzLnhtbFBLAQIUAxQAAAAIANgudV23R+uK",
        "wAAAABYCAAALAAAAAAAAAAAAAACAAfkGAABfcmVscy8ucmVsc1BLAQIUAxQAAAAIANgudV0yna+SPQEAACkCAAAPAAAAAAAAAAAA",
        "AACAAeIHAAB4bC93b3JrYm9vay54bWxQSwECFAMUAAAACADYLnVd98Bj7bYAAAAFAgAAGgAAAAAAAAAAAAAAgAFMCQAAeGwvX3Jl",
        "bHMvd29ya2Jvb2sueG1sLnJlbHNQSwECFAMUAAAACADYLnVdgGUALxoBAADtAwAAEwAAAAAAAAAAAAAAgAE6CgAAW0NvbnRlbnRf",
        "VHlwZXNdLnhtbFBLAQIUAxQAAAAIANgudV28ApkS/AAAAE0BAAAUAAAAAAAAAAAAAACAAYULAAB4bC9zaGFyZWRTdHJpbmdzLnht",
        "bFBLBQYAAAAACQAJAD8CAACzDAAAAAA=",].joined()

// MARK: - CSV

@Suite("CSV reading")
struct CSVReadingTests {
    @Test func utf8Plain() throws {
        let p = writeTemp(Array("姓名,电话,部门\n张三,13800000000,工会\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: p) }
        let r = try CSVRowReader(path: p)
        #expect(r.encoding == .utf8)
        #expect(r.delimiter == ",")
        let rows = try readAll(r)
        #expect(cells(rows) == [["姓名", "电话", "部门"], ["张三", "13800000000", "工会"]])
        #expect(rows.map(\.line) == [1, 2])
        #expect(r.bytesRead == r.totalBytes)
        #expect(r.totalBytes == Array("姓名,电话,部门\n张三,13800000000,工会\n".utf8).count)
    }

    @Test func utf8BOMIsStripped() throws {
        let p = writeTemp(CSVFormat.utf8BOM + Array("姓名,工号\r\n李四,007\r\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: p) }
        let r = try CSVRowReader(path: p)
        #expect(r.encoding == .utf8BOM)
        #expect(cells(try readAll(r)) == [["姓名", "工号"], ["李四", "007"]])
    }

    @Test func gb18030() throws {
        // Includes a 4-byte GB18030 character (𠀀) and an emoji, which GBK lacks.
        let text = "姓名,单位,备注\r\n张三,\"北京市,朝阳区\",𠀀😀\r\n王五,工会,\"他说\"\"好\"\"\"\r\n"
        let p = writeTemp(iconvEncode(text, to: "GB18030"))
        defer { try? FileManager.default.removeItem(atPath: p) }
        let r = try CSVRowReader(path: p)
        #expect(r.encoding == .gb18030)
        #expect(cells(try readAll(r)) == [["姓名", "单位", "备注"], ["张三", "北京市,朝阳区", "𠀀😀"],
                                         ["王五", "工会", "他说\"好\""]])
    }

    @Test func gb18030StructuralBytesAreSafe() {
        // Trail bytes are 0x40–0x7E, 0x80–0xFE (two-byte) or 0x30–0x39 (four-byte): never , " ; tab CR LF.
        let sample = "啊阿埃挨哎唉哀皑癌蔼矮艾碍爱隘鞍氨安俺按暗岸胺案肮昂盎凹敖熬翱袄傲奥懊澳芭捌扒叭吧笆八疤巴拔跋靶把耙坝霸罢爸白柏百摆佰败拜稗斑班搬扳般颁板版扮拌伴瓣半办绊邦帮梆榜膀绑棒磅蚌镑傍谤苞胞包褒剥𠀀€"
        let bytes = iconvEncode(sample, to: "GB18030")
        #expect(!bytes.contains(0x2C) && !bytes.contains(0x22) && !bytes.contains(0x0A) && !bytes.contains(0x0D)
                && !bytes.contains(0x09) && !bytes.contains(0x3B))
    }

    @Test func utf16LEWithBOMTabSeparated() throws {
        // Excel "Unicode text": UTF-16LE with BOM, tab-separated, CRLF.
        let text = "姓名\t电话\t备注\r\n张三\t13800000000\t\"a\tb\"\r\n李四😀\t\t末尾\r\n"
        var bytes: [UInt8] = [0xFF, 0xFE]
        for u in text.utf16 { bytes += [UInt8(u & 0xFF), UInt8(u >> 8)] }
        let p = writeTemp(bytes, ext: "txt")
        defer { try? FileManager.default.removeItem(atPath: p) }
        let r = try CSVRowReader(path: p)
        #expect(r.encoding == .utf16LE)
        #expect(r.delimiter == "\t")
        let rows = try readAll(r)
        #expect(cells(rows) == [["姓名", "电话", "备注"], ["张三", "13800000000", "a\tb"], ["李四😀", "", "末尾"]])
        #expect(rows.map(\.line) == [1, 2, 3])
    }

    @Test func utf16BEWithBOM() throws {
        let text = "a;b\n中;文\n"
        var bytes: [UInt8] = [0xFE, 0xFF]
        for u in text.utf16 { bytes += [UInt8(u >> 8), UInt8(u & 0xFF)] }
        let p = writeTemp(bytes)
        defer { try? FileManager.default.removeItem(atPath: p) }
        let r = try CSVRowReader(path: p)
        #expect(r.encoding == .utf16BE)
        #expect(r.delimiter == ";")
        #expect(cells(try readAll(r)) == [["a", "b"], ["中", "文"]])
    }

    @Test func quotedFields() throws {
        let text = "id,text,more\n1,\"a,b\",\"line1\nline2\r\nline3\"\n2,\"say \"\"hi\"\"\",\"\"\n3,x\"y,\"z\"tail\n"
        let p = writeTemp(Array(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: p) }
        let rows = try readAll(try CSVRowReader(path: p))
        #expect(cells(rows) == [["id", "text", "more"], ["1", "a,b", "line1\nline2\r\nline3"],
                               ["2", "say \"hi\"", ""], ["3", "x\"y", "ztail"]])
        // The record after the three-line field starts on physical line 5.
        #expect(rows.map(\.line) == [1, 2, 5, 6])
    }

    @Test func lineEndings() throws {
        let p = writeTemp(Array("a,1\r\nb,2\nc,3\rd,4\r\n\"e\r\",5\re,6".utf8))
        defer { try? FileManager.default.removeItem(atPath: p) }
        let rows = try readAll(try CSVRowReader(path: p))
        #expect(cells(rows) == [["a", "1"], ["b", "2"], ["c", "3"], ["d", "4"], ["e\r", "5"], ["e", "6"]])
        #expect(rows.map(\.line) == [1, 2, 3, 4, 5, 7])
        // No trailing "\r" leaks into the last cell.
        #expect(rows.allSatisfy { !($0.cells.last ?? "").hasSuffix("\r") || $0.cells[0] == "e\r" })
    }

    @Test func blankLinesSkipped() throws {
        let p = writeTemp(Array("\n\r\nname,age\n\n\n张三,30\n,,\n\"\",\n\r\n李四,40".utf8))
        defer { try? FileManager.default.removeItem(atPath: p) }
        let rows = try readAll(try CSVRowReader(path: p))
        #expect(cells(rows) == [["name", "age"], ["张三", "30"], ["李四", "40"]])
        #expect(rows.map(\.line) == [3, 6, 10])
    }

    @Test func rowsWiderAndNarrowerThanHeader() throws {
        let p = writeTemp(Array("a,b,c\n1,2\n1,2,3,4\n,x\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: p) }
        #expect(cells(try readAll(try CSVRowReader(path: p))) == [["a", "b", "c"], ["1", "2"], ["1", "2", "3", "4"], ["", "x"]])
    }

    /// A stray NUL from a broken export is dropped; the cells around it are kept.
    @Test func nulBytesAreDropped() throws {
        // Padded: a file with one NUL in fewer than 500 bytes is taken for a binary file.
        let padding = String(repeating: "填充,行\n", count: 300)
        let p = writeTemp(Array("a,b\n王\u{0}芳,x\u{0}\n\u{0},\u{0}\u{0}\nc,d\n\(padding)".utf8))
        defer { try? FileManager.default.removeItem(atPath: p) }
        let rows = try readAll(try CSVRowReader(path: p))
        #expect(cells(Array(rows.prefix(3))) == [["a", "b"], ["王芳", "x"], ["c", "d"]])
        #expect(rows.prefix(3).map(\.line) == [1, 2, 4])
    }

    @Test func anEscapedNulInAWorkbookIsDropped() {
        #expect(XLSXRowReader.unescapeOOXML("王_x0000_芳_x000D_") == "王芳\r")
    }

    /// A raw NUL byte is not XML; a hand-made workbook may still hold one, in a shared string, an
    /// inline string or a CDATA section. It is dropped and the cells around it are kept.
    @Test func aRawNulInAWorkbookIsDropped() throws {
        let p = writeTemp(craftedWorkbook(
            sheetData: "<row r=\"1\"><c t=\"s\"><v>0</v></c><c t=\"inlineStr\"><is><t>李\u{0}四\u{0}</t></is></c>"
                + "<c t=\"inlineStr\"><is><t><![CDATA[赵\u{0}六]]></t></is></c><c><v>4\u{0}2</v></c></row>",
            sharedStrings: "<si><t>王\u{0}芳</t></si>"), ext: "xlsx")
        defer { try? FileManager.default.removeItem(atPath: p) }
        #expect(cells(try openAndReadAll(p)) == [["王芳", "李四", "赵六", "42"]])
    }

    @Test func laterRecordInGB18030FallsBack() throws {
        // The first 256 KiB chunk is valid UTF-8 (so utf8 is guessed); a record far below is GB18030.
        var bytes = Array("姓名,电话\n".utf8)
        var n = 0
        while bytes.count < 600_000 {
            bytes += Array("会员\(n),1380000\(n % 10000)\n".utf8)
            n += 1
        }
        bytes += iconvEncode("赵六,\"中文,逗号\"\n", to: "GB18030")
        bytes += Array("最后,1\n".utf8)
        let p = writeTemp(bytes)
        defer { try? FileManager.default.removeItem(atPath: p) }
        let r = try CSVRowReader(path: p)
        #expect(r.encoding == .utf8)
        let rows = try readAll(r)
        #expect(rows.count == n + 3)
        #expect(rows[0].cells == ["姓名", "电话"])
        #expect(rows[n + 1].cells == ["赵六", "中文,逗号"])
        #expect(rows[n + 1].line == n + 2)
        #expect(rows[n + 2].cells == ["最后", "1"])
        #expect(r.bytesRead == r.totalBytes)
    }

    @Test func chunkBoundariesAndLineNumbers() throws {
        // Many records with CRLF, quotes and embedded newlines so every kind of token straddles
        // a 256 KiB chunk boundary somewhere.
        var text = ""
        var expected: [[String]] = []
        var lines: [Int] = []
        var line = 1
        for i in 0..<40_000 {
            if i % 7 == 0 {
                text += "\(i),\"multi\r\nline \"\"\(i)\"\"\",末\r\n"
                expected.append(["\(i)", "multi\r\nline \"\(i)\"", "末"])
                lines.append(line)
                line += 2
            } else {
                text += "\(i),plain,值\r\n"
                expected.append(["\(i)", "plain", "值"])
                lines.append(line)
                line += 1
            }
        }
        let p = writeTemp(Array(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: p) }
        let rows = try readAll(try CSVRowReader(path: p))
        #expect(rows.count == expected.count)
        #expect(cells(rows) == expected)
        #expect(rows.map(\.line) == lines)
    }

    @Test func unterminatedQuoteIsLenientAtEOF() throws {
        let p = writeTemp(Array("a,b\n1,\"open".utf8))
        defer { try? FileManager.default.removeItem(atPath: p) }
        #expect(cells(try readAll(try CSVRowReader(path: p))) == [["a", "b"], ["1", "open"]])
    }

    @Test func invalidBytesNeverTrap() throws {
        // Random bytes without NUL: decoded as GB18030 with U+FFFD replacements, never a crash.
        var g = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let bytes = (0..<3000).map { _ in UInt8.random(in: 1...255, using: &g) }
            let p = writeTemp(bytes)
            defer { try? FileManager.default.removeItem(atPath: p) }
            do { _ = try openAndReadAll(p) } catch is SpreadsheetError {}
        }
    }

    @Test func emptyAndBinaryFilesAreRejected() throws {
        let empty = writeTemp([])
        defer { try? FileManager.default.removeItem(atPath: empty) }
        expectError(.notSpreadsheet) { _ = try Spreadsheet.open(path: empty) }
        expectError(.notSpreadsheet) { _ = try CSVRowReader(path: empty) }

        let png = writeTemp([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52], ext: "csv")
        defer { try? FileManager.default.removeItem(atPath: png) }
        expectError(.notSpreadsheet) { _ = try Spreadsheet.open(path: png) }

        let xls = writeTemp([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + [UInt8](repeating: 0, count: 504), ext: "xlsx")
        defer { try? FileManager.default.removeItem(atPath: xls) }
        expectError(.notSpreadsheet) { _ = try Spreadsheet.open(path: xls) }

        expectError(.unreadable) { _ = try Spreadsheet.open(path: "/nonexistent/roster.csv") }
        expectError(.unreadable) { _ = try CSVRowReader(path: NSTemporaryDirectory()) }
    }

    @Test func openPicksCSVByContentNotExtension() throws {
        let p = writeTemp(Array("a,b\n1,2\n".utf8), ext: "xlsx")
        defer { try? FileManager.default.removeItem(atPath: p) }
        let r = try Spreadsheet.open(path: p)
        #expect(r is CSVRowReader)
        #expect(cells(try readAll(r)) == [["a", "b"], ["1", "2"]])
    }
}

// MARK: - CSV writing

@Suite("CSV format")
struct CSVFormatTests {
    @Test func quoting() {
        #expect(CSVFormat.line(["a", "b,c", "say \"hi\"", "x\ny", ""]) == "a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\",\r\n")
        #expect(CSVFormat.line([]) == "\r\n")
        #expect(CSVFormat.utf8BOM == [0xEF, 0xBB, 0xBF])
    }

    @Test func formulaInjectionGuard() {
        #expect(CSVFormat.line(["=SUM(A1:A2)"]) == "'=SUM(A1:A2)\r\n")
        #expect(CSVFormat.line(["+cmd|' /C calc'!A0"]) == "'+cmd|' /C calc'!A0\r\n")
        #expect(CSVFormat.line(["@foo", "-x"]) == "'@foo,'-x\r\n")
        #expect(CSVFormat.line(["=1,2"]) == "\"'=1,2\"\r\n")
        // Plain numbers stay as they are.
        #expect(CSVFormat.line(["-12.5", "+8613800000000", "-1e5", "+.5", "3"]) == "-12.5,+8613800000000,-1e5,+.5,3\r\n")
        #expect(CSVFormat.line(["-", "+", "-1e", "1-2"]) == "'-,'+,'-1e,1-2\r\n")
    }

    @Test func writtenCSVReadsBack() throws {
        let rows = [["姓名", "备注"], ["张三", "a,\"b\"\nc"], ["=危险", "-3"]]
        var bytes = CSVFormat.utf8BOM
        for r in rows { bytes += Array(CSVFormat.line(r).utf8) }
        let p = writeTemp(bytes)
        defer { try? FileManager.default.removeItem(atPath: p) }
        let read = try readAll(try Spreadsheet.open(path: p))
        #expect(cells(read) == [["姓名", "备注"], ["张三", "a,\"b\"\nc"], ["'=危险", "-3"]])
    }
}

// MARK: - XLSX

@Suite("XLSX")
struct XLSXTests {
    @Test func roundTrip() throws {
        let p = tempPath("xlsx")
        defer { try? FileManager.default.removeItem(atPath: p) }
        let w = try XLSXWriter(path: p, sheetName: "会员名单")
        w.setColumnWidths([10, 22, 12, 8])
        try w.addHeader(["姓名", "身份证号", "入会日期", "会费", "备注"])
        try w.addRow([.text("张三"), .text("110105194912310021"), .text("2024-01-31"), .number(12.5), .text("<&>\"' 中文\u{1}\u{B}")])
        try w.addRow([.text("李四"), .integer(110_105_194_912_310_021), .empty, .integer(42), .text(" 前后空格 ")])
        try w.addRow([.text("=1+1"), .number(1e20), .number(-0.25), .number(3), .text("多行\n第二行\r\n_x0041_")])
        try w.addRow([])
        try w.addRow([.empty, .empty, .text("C only")])
        try w.close()

        let r = try Spreadsheet.open(path: p)
        #expect(r is XLSXRowReader)
        let rows = try readAll(r)
        #expect(cells(rows) == [
            ["姓名", "身份证号", "入会日期", "会费", "备注"],
            ["张三", "110105194912310021", "2024-01-31", "12.5", "<&>\"' 中文"],
            ["李四", "110105194912310021", "", "42", " 前后空格 "],
            ["=1+1", "100000000000000000000", "-0.25", "3", "多行\n第二行\r\n_x0041_"],
            ["", "", "C only"],
        ])
        #expect(rows.map(\.line) == [1, 2, 3, 4, 6])
        #expect(r.bytesRead == r.totalBytes)
    }

    @Test func manyRowsStream() throws {
        let p = tempPath("xlsx")
        defer { try? FileManager.default.removeItem(atPath: p) }
        let w = try XLSXWriter(path: p, sheetName: "Sheet")
        try w.addHeader(["n", "name", "id"])
        for i in 0..<30_000 {
            try w.addRow([.integer(Int64(i)), .text("会员\(i)"), .text(String(format: "1101051949%08d", i))])
        }
        try w.close()
        let r = try XLSXRowReader(path: p)
        var count = 0
        var last: SheetRow?
        var progress: [Int] = []
        while let row = try r.next() {
            if count > 0 {
                #expect(row.cells[0] == String(count - 1))
            }
            count += 1
            last = row
            if count % 5000 == 0 { progress.append(r.bytesRead) }
        }
        #expect(count == 30_001)
        #expect(last?.cells == ["29999", "会员29999", "110105194900029999"])
        #expect(progress == progress.sorted())
        #expect(r.bytesRead == r.totalBytes)
    }

    @Test func writerIsStrictAboutXML() throws {
        var out: [UInt8] = []
        XLSXWriter.appendEscaped("a&b<c>\u{0}\u{1F}\t\n\r\u{FFFE}_x0041_ _x41_", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "a&amp;b&lt;c&gt;\t\n&#13;_x005F_x0041_ _x41_")
        #expect(XLSXWriter.sanitizeSheetName("a/b:c*?[x]") == "a_b_c___x_")
        #expect(XLSXWriter.sanitizeSheetName("''") == "Sheet1")
        #expect(XLSXWriter.sanitizeSheetName(String(repeating: "长", count: 40)).count == 31)
    }

    @Test func writerFileAppearsOnlyOnClose() throws {
        let p = tempPath("xlsx")
        defer { try? FileManager.default.removeItem(atPath: p) }
        do {
            let w = try XLSXWriter(path: p, sheetName: "x")
            try w.addRow([.text("a")])
            #expect(!FileManager.default.fileExists(atPath: p))
        }
        #expect(!FileManager.default.fileExists(atPath: p))
        // Overwrites an existing file.
        _ = FileManager.default.createFile(atPath: p, contents: Data("old".utf8))
        let w = try XLSXWriter(path: p, sheetName: "x")
        try w.addRow([.text("new")])
        try w.close()
        try w.close() // idempotent
        expectError(.unreadable) { try w.addRow([.text("late")]) }
        #expect(cells(try openAndReadAll(p)) == [["new"]])
    }

    /// Produced by openpyxl 3.1.5 (Python), then post-processed in Python: a shared-string table was added
    /// (openpyxl itself writes inline strings) with a rich-text entry, a phonetic run, entities and an
    /// "_x000D_" escape; F2 holds Excel's exponent form of an ID number typed as a number.
    /// Original cells: A1:E1 headers; B2 = 110105194912310020 written by openpyxl as 1.1010519491231e+17;
    /// C2 = date(2023,5,17) with format yyyy-mm-dd; C3 = datetime(2024,2,29,13,45) with yyyy-mm-dd h:mm:ss;
    /// row 4 is absent; A5, C5 with B5 missing.
    @Test func readsOpenpyxlFile() throws {
        let p = writeTemp(Array(Data(base64Encoded: openpyxlFixture)!), ext: "bin")
        defer { try? FileManager.default.removeItem(atPath: p) }
        let rows = try openAndReadAll(p)
        #expect(cells(rows) == [
            ["姓名", "身份证号", "入会日期", "会费", "备注"],
            ["张三", "110105194912310000", "2023-05-17", "12.5", "共享 & rich", "110105194912310000", "a<b中文\r"],
            ["李四", "110105194912310021", "2024-02-29 13:45:00", "30"],
            ["跳行", "", "42"],
        ])
        #expect(rows.map(\.line) == [1, 2, 3, 5])
    }

    @Test func craftedWorkbookCellTypesAndDates() throws {
        let styles = """
            <numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/>\
            <numFmt numFmtId="165" formatCode="0.00&quot;d&quot;;[Red]\\-0.00"/>\
            <numFmt numFmtId="166" formatCode="[$-804]h:mm"/></numFmts>\
            <cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>\
            <cellXfs count="6"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/>\
            <xf numFmtId="166"/><xf numFmtId="49"/></cellXfs>
            """
        let sst = "<si><t>共享</t></si><si><r><t>A</t></r><r><rPr/><t xml:space=\"preserve\"> B</t></r></si>"
        let sheet = """
            <row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>\
            <row><c t="b"><v>1</v></c><c t="b"><v>0</v></c><c t="e"><v>#N/A</v></c><c t="str"><f>A1</f><v>公式</v></c></row>\
            <row r="7" spans="1:5"><c r="A7" s="1"><v>1</v></c><c r="B7" s="1"><v>59</v></c><c r="C7" s="1"><v>60</v></c>\
            <c r="D7" s="1"><v>61</v></c><c r="E7" s="2"><v>45352</v></c><c r="F7" s="3"><v>45352</v></c>\
            <c r="G7" s="4"><v>0.75</v></c><c r="H7" s="5"><v>007</v></c><c r="I7" s="99"><v>5</v></c></row>\
            <row r="8"><c r="A8"><v>1.10105194912310E+17</v></c><c r="B8"><v>0.30000000000000004</v></c>\
            <c r="C8"><v>-1E-3</v></c><c r="D8"><v>1.5E+40</v></c><c r="E8" t="d"><v>2024-03-01T00:00:00Z</v></c>\
            <c r="F8"><v>   </v></c><c r="G8" t="inlineStr"><is><r><t>内</t></r><r><t>联</t></r><rPh><t>x</t></rPh></is></c></row>\
            <row r="9"/><row r="10"><c r="A10" s="1"/><c r="B10" t="s"/></row>\
            <x:row r="11" xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:c r="AA11" t="inlineStr"><x:is><x:t>far &#x263A; &#25991;</x:t></x:is></x:c></x:row>
            """
        let p = writeTemp(craftedWorkbook(sheetData: sheet, styles: styles, sharedStrings: sst))
        defer { try? FileManager.default.removeItem(atPath: p) }
        let rows = try openAndReadAll(p)
        #expect(rows.map(\.line) == [1, 2, 7, 8, 11])
        #expect(rows[0].cells == ["共享", "", "A B"])
        #expect(rows[1].cells == ["TRUE", "FALSE", "#N/A", "公式"])
        #expect(rows[2].cells == ["1900-01-01", "1900-02-28", "1900-02-29", "1900-03-01", "2024-03-01", "45352", "18:00:00", "7", "5"])
        #expect(rows[3].cells == ["110105194912310000", "0.3", "-0.001", "1.5E+40", "2024-03-01", "", "内联"])
        #expect(rows[4].cells == Array(repeating: "", count: 26) + ["far ☺ 文"])
    }

    @Test func date1904() throws {
        let p = writeTemp(craftedWorkbook(sheetData: "<row r=\"1\"><c s=\"1\"><v>0</v></c><c s=\"1\"><v>366.5</v></c></row>",
                                          styles: "<cellXfs><xf numFmtId=\"0\"/><xf numFmtId=\"14\"/></cellXfs>",
                                          date1904: true))
        defer { try? FileManager.default.removeItem(atPath: p) }
        #expect(cells(try openAndReadAll(p)) == [["1904-01-01", "1905-01-01"]])
    }

    @Test func fallsBackToSheet1WithoutWorkbook() throws {
        var z = TestZip()
        z.add("xl/worksheets/sheet1.xml", "<worksheet \(mainNS)><sheetData><row><c t=\"inlineStr\"><is><t>ok</t></is></c></row></sheetData></worksheet>")
        let p = writeTemp(z.bytes())
        defer { try? FileManager.default.removeItem(atPath: p) }
        #expect(cells(try openAndReadAll(p)) == [["ok"]])
    }

    @Test func zipWithoutWorksheet() throws {
        var z = TestZip()
        z.add("word/document.xml", "<document/>")
        let p = writeTemp(z.bytes(), ext: "docx")
        defer { try? FileManager.default.removeItem(atPath: p) }
        expectError(.noWorksheet) { _ = try Spreadsheet.open(path: p) }
    }

    @Test func garbageXMLThrows() throws {
        for bad in ["this is not xml", "<worksheet \(mainNS)><sheetData><row><c><v>1</v></c",
                    "<worksheet><sheetData><row><c t=\"s\"><v>5</v></c></row></sheetData></worksheet>",
                    "<worksheet><sheetData><row><c r=\"A1\" t=\"inlineStr\"><is><t>x</t></is></c></row><row><c a=b/></row></sheetData></worksheet>",
                    "<chartsheet/>", "<worksheet><sheetData><row><c r=\"ZZZZZ1\"><v>1</v></c></row></sheetData></worksheet>", ""] {
            let p = writeTemp(craftedWorkbook(sheetData: "", sheetXML: bad))
            defer { try? FileManager.default.removeItem(atPath: p) }
            expectError(.badXML) { _ = try openAndReadAll(p) }
        }
    }

    @Test func hostileZipsThrowAndNeverHang() throws {
        // A stored deflate block claiming 65535 bytes that never arrive (ZIPFoundation's own extract loops
        // forever on this on Linux).
        var z = TestZip()
        z.add("xl/workbook.xml", "<workbook/>")
        z.addRawDeflate("xl/worksheets/sheet1.xml", [0x00, 0xFF, 0xFF, 0x00, 0x00, 0x3C, 0x77], declaredSize: 100)
        let p1 = writeTemp(z.bytes())
        defer { try? FileManager.default.removeItem(atPath: p1) }
        expectError(.badZip) { _ = try openAndReadAll(p1) }

        // Invalid deflate data.
        var z2 = TestZip()
        z2.addRawDeflate("xl/worksheets/sheet1.xml", [0xFF, 0xFF, 0xFF, 0xFF], declaredSize: 100)
        let p2 = writeTemp(z2.bytes())
        defer { try? FileManager.default.removeItem(atPath: p2) }
        expectError(.badZip) { _ = try openAndReadAll(p2) }

        // Only the zip magic.
        let p3 = writeTemp([0x50, 0x4B, 0x03, 0x04, 1, 2, 3])
        defer { try? FileManager.default.removeItem(atPath: p3) }
        expectError(.badZip) { _ = try Spreadsheet.open(path: p3) }
    }

    @Test func truncatedAndCorruptedWorkbooksThrow() throws {
        // A real workbook from XLSXWriter, truncated at many points and with bytes flipped.
        let src = tempPath("xlsx")
        defer { try? FileManager.default.removeItem(atPath: src) }
        let w = try XLSXWriter(path: src, sheetName: "x")
        try w.addHeader(["姓名", "号码"])
        for i in 0..<300 { try w.addRow([.text("会员\(i)"), .integer(Int64(i))]) }
        try w.close()
        let good = Array(try Data(contentsOf: URL(fileURLWithPath: src)))
        var cut = 0
        while cut < good.count {
            let p = writeTemp(Array(good[0..<cut]), ext: "xlsx")
            defer { try? FileManager.default.removeItem(atPath: p) }
            do {
                _ = try openAndReadAll(p)
                Issue.record("truncated at \(cut) bytes but read fine")
            } catch is SpreadsheetError {
            } catch {
                Issue.record("non-SpreadsheetError \(error)")
            }
            cut += max(1, good.count / 60)
        }
        var g = SystemRandomNumberGenerator()
        for _ in 0..<150 {
            var bad = good
            for _ in 0..<3 { bad[Int.random(in: 0..<bad.count, using: &g)] ^= UInt8.random(in: 1...255, using: &g) }
            let p = writeTemp(bad, ext: "xlsx")
            defer { try? FileManager.default.removeItem(atPath: p) }
            do { _ = try openAndReadAll(p) } catch is SpreadsheetError {} catch { Issue.record("non-SpreadsheetError \(error)") }
        }
    }

    @Test func mutatedXMLNeverTraps() throws {
        let sheet = """
            <worksheet \(mainNS)><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" s="1"><v>45000</v></c>\
            <c r="C1" t="inlineStr"><is><t xml:space="preserve">a &amp; b &#x4E2D; <![CDATA[<x>]]></t></is></c></row>\
            <!-- c --><?pi x?><row r="2"><c r="D2" t="b"><v>1</v></c></row></sheetData></worksheet>
            """
        let styles = "<numFmts><numFmt numFmtId=\"164\" formatCode=\"yyyy/m/d\"/></numFmts><cellXfs><xf/><xf numFmtId=\"164\"/></cellXfs>"
        let base = Array(sheet.utf8)
        let p0 = writeTemp(craftedWorkbook(sheetData: "", styles: styles, sharedStrings: "<si><t>s</t></si>", sheetXML: sheet))
        defer { try? FileManager.default.removeItem(atPath: p0) }
        #expect(cells(try openAndReadAll(p0)) == [["s", "2023-03-15", "a & b 中 <x>"], ["", "", "", "TRUE"]])
        var g = SystemRandomNumberGenerator()
        let alphabet = Array("<>/=\"'&;#x![]-?: \n\u{0}a1".utf8) + [0xE4, 0xFF]
        for _ in 0..<300 {
            var m = base
            for _ in 0..<Int.random(in: 1...4, using: &g) {
                let i = Int.random(in: 0..<m.count, using: &g)
                switch Int.random(in: 0..<3, using: &g) {
                case 0: m[i] = alphabet.randomElement(using: &g)!
                case 1: m.remove(at: i)
                default: m.insert(alphabet.randomElement(using: &g)!, at: i)
                }
                if m.isEmpty { m = [0x3C] }
            }
            let p = writeTemp(craftedWorkbook(sheetData: "", styles: styles, sharedStrings: "<si><t>s</t></si>",
                                              sheetXML: String(decoding: m, as: UTF8.self)))
            defer { try? FileManager.default.removeItem(atPath: p) }
            do { _ = try openAndReadAll(p) } catch is SpreadsheetError {} catch { Issue.record("non-SpreadsheetError \(error)") }
        }
    }

    @Test func abandoningAReaderStopsIt() throws {
        let p = tempPath("xlsx")
        defer { try? FileManager.default.removeItem(atPath: p) }
        let w = try XLSXWriter(path: p, sheetName: "x")
        for i in 0..<50_000 { try w.addRow([.integer(Int64(i)), .text("row \(i)")]) }
        try w.close()
        for _ in 0..<20 {
            let r = try XLSXRowReader(path: p)
            _ = try r.next()
        }
    }
}

// MARK: - internals

@Suite("Number and date text")
struct NumberDateTests {
    private func num(_ s: String) -> String { NumberText.display(Array(s.utf8)[...]) }

    @Test func numbers() {
        #expect(num("1.10105194912310E+17") == "110105194912310000")
        #expect(num("1.1010519491231e+17") == "110105194912310000")
        #expect(num("110105194912310020") == "110105194912310000")
        #expect(num("13800000000") == "13800000000")
        #expect(num("42.0") == "42")
        #expect(num("-0") == "0")
        #expect(num("0.30000000000000004") == "0.3")
        #expect(num("123.450") == "123.45")
        #expect(num("1E-3") == "0.001")
        #expect(num("-2.5E+2") == "-250")
        #expect(num("0.99999999999999999") == "1")
        #expect(num("1e-30") == "1E-30")
        #expect(num("NaN") == "NaN")
        #expect(num("12abc") == "12abc")
        #expect(num("") == "")
    }

    @Test func dates() {
        #expect(ExcelDate.format(serial: 1, date1904: false, kind: .date) == "1900-01-01")
        #expect(ExcelDate.format(serial: 60, date1904: false, kind: .date) == "1900-02-29")
        #expect(ExcelDate.format(serial: 61, date1904: false, kind: .date) == "1900-03-01")
        #expect(ExcelDate.format(serial: 45063, date1904: false, kind: .date) == "2023-05-17")
        #expect(ExcelDate.format(serial: 45063.99999999, date1904: false, kind: .date) == "2023-05-18")
        #expect(ExcelDate.format(serial: 2_958_465, date1904: false, kind: .date) == "9999-12-31")
        #expect(ExcelDate.format(serial: 45351.572916666664, date1904: false, kind: .dateTime) == "2024-02-29 13:45:00")
        #expect(ExcelDate.format(serial: 45351, date1904: false, kind: .dateTime) == "2024-02-29")
        #expect(ExcelDate.format(serial: 0, date1904: true, kind: .date) == "1904-01-01")
        #expect(ExcelDate.format(serial: -1, date1904: false, kind: .date) == nil)
        #expect(ExcelDate.format(serial: .nan, date1904: false, kind: .date) == nil)
    }

    @Test func formatClassification() {
        #expect(DateKind.classify(formatCode: "yyyy-mm-dd") == .date)
        #expect(DateKind.classify(formatCode: "yyyy\"年\"m\"月\"d\"日\"") == .date)
        #expect(DateKind.classify(formatCode: "[$-804]yyyy/m/d;@") == .date)
        #expect(DateKind.classify(formatCode: "mmm-yy") == .date)
        #expect(DateKind.classify(formatCode: "yyyy-mm-dd h:mm:ss") == .dateTime)
        #expect(DateKind.classify(formatCode: "h:mm") == .time)
        #expect(DateKind.classify(formatCode: "[h]:mm:ss") == .time)
        #expect(DateKind.classify(formatCode: "General") == .none)
        #expect(DateKind.classify(formatCode: "0.00E+00") == .none)
        #expect(DateKind.classify(formatCode: "#,##0.00\"元\";[Red]\\-#,##0.00") == .none)
        #expect(DateKind.classify(formatCode: "0\" days\"") == .none)
        #expect(DateKind.classify(formatCode: "@") == .none)
        #expect(DateKind.builtIn(14) == .date)
        #expect(DateKind.builtIn(22) == .dateTime)
        #expect(DateKind.builtIn(31) == .date)
        #expect(DateKind.builtIn(49) == .none)
    }

    @Test func columnLetters() {
        #expect(XLSXRowReader.columnIndex(Array("A1".utf8)[...]) == 0)
        #expect(XLSXRowReader.columnIndex(Array("Z9".utf8)[...]) == 25)
        #expect(XLSXRowReader.columnIndex(Array("AA10".utf8)[...]) == 26)
        #expect(XLSXRowReader.columnIndex(Array("XFD1".utf8)[...]) == 16383)
        #expect(XLSXRowReader.columnIndex(Array("12".utf8)[...]) == nil)
    }
}

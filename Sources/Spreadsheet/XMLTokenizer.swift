import Foundation

/// Supplies bytes in chunks; nil at the end.
protocol ByteSource: AnyObject {
    func nextChunk() throws -> [UInt8]?
}

final class ArrayByteSource: ByteSource {
    private var bytes: [UInt8]?
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    func nextChunk() throws -> [UInt8]? {
        defer { bytes = nil }
        return bytes
    }
}

enum XMLToken: Equatable {
    /// Start tag; `name`, `attributes` and `selfClosing` describe it.
    case start
    /// End tag; `name` describes it.
    case end
    /// Character data (entities decoded, CDATA included) in `text`.
    case text
    case eof
}

/// A small, non-validating, streaming XML tokenizer over bytes.
///
/// - Names are reduced to their local part (`x:row` → `row`); namespace declarations are dropped.
/// - Entities: the five predefined ones and numeric character references. Unknown entities are kept
///   literally; DOCTYPE declarations are skipped and never expanded (no entity-expansion attacks).
/// - No DOM: the caller pulls one token at a time; the only buffers are the current chunk and the
///   current token, which is capped (`.tooLarge`).
final class XMLTokenizer {
    // The state lives in a struct so the per-byte work runs inside mutating methods, without the
    // dynamic exclusivity checks Swift performs on every access to a class's stored properties.
    private var core: XMLTokenizerCore

    init(source: ByteSource, partName: String) {
        core = XMLTokenizerCore(source: source, partName: partName)
    }

    static let maxTokenBytes = XMLTokenizerCore.maxTokenBytes

    func next() throws -> XMLToken { try core.next() }
    var name: [UInt8] { core.name }
    var selfClosing: Bool { core.selfClosing }
    var text: [UInt8] { core.text }
    var bytesConsumed: Int { core.bytesConsumed }
    func fail(_ what: String) -> SpreadsheetError { core.fail(what) }
    func attribute(_ key: StaticString) -> ArraySlice<UInt8>? { core.attribute(key) }
    func attributeString(_ key: StaticString) -> String? { core.attributeString(key) }
    func nameIs(_ key: StaticString) -> Bool { core.nameIs(key) }
    static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) { XMLTokenizerCore.appendUTF8(v, to: &out) }
}

struct XMLTokenizerCore {
    private let source: ByteSource
    private let partName: String
    private var buf: [UInt8] = []
    private var pos = 0
    private var consumedBefore = 0
    private var sourceDone = false
    private var started = false

    private(set) var name: [UInt8] = []
    private(set) var selfClosing = false
    private var attrBytes: [UInt8] = []
    /// (name start, name end == value start, value end) into attrBytes.
    private var attrRanges: [(Int, Int, Int)] = []
    var text: [UInt8] = []

    static let maxTokenBytes = 32 * 1024 * 1024

    init(source: ByteSource, partName: String) {
        self.source = source
        self.partName = partName
        name.reserveCapacity(32)
        attrBytes.reserveCapacity(256)
        text.reserveCapacity(256)
    }

    /// Uncompressed bytes consumed so far.
    var bytesConsumed: Int { consumedBefore + pos }

    // MARK: byte access

    private mutating func fill() throws -> Bool {
        while !sourceDone {
            guard let chunk = try source.nextChunk() else {
                sourceDone = true
                break
            }
            if chunk.isEmpty { continue }
            consumedBefore += buf.count
            buf = chunk
            pos = 0
            return true
        }
        return false
    }

    @inline(__always)
    private mutating func peek() throws -> UInt8? {
        if pos < buf.count { return buf[pos] }
        if try fill() { return buf[pos] }
        return nil
    }

    @inline(__always)
    private mutating func nextByte() throws -> UInt8 {
        if pos < buf.count {
            let b = buf[pos]
            pos += 1
            return b
        }
        if try fill() {
            let b = buf[pos]
            pos += 1
            return b
        }
        throw truncated()
    }

    func fail(_ what: String) -> SpreadsheetError {
        SpreadsheetError(.badXML, "\(partName): \(what) (near byte \(bytesConsumed)).")
    }

    private func truncated() -> SpreadsheetError {
        SpreadsheetError(.badXML, "\(partName) ends in the middle of the XML.")
    }

    @inline(__always)
    private static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D
    }

    // MARK: tokens

    mutating func next() throws -> XMLToken {
        text.removeAll(keepingCapacity: true)
        if !started {
            started = true
            // UTF-8 BOM; UTF-16 parts are not supported (no known producer writes them in xlsx).
            if let b = try peek(), b == 0xEF {
                pos += 1
                guard try nextByte() == 0xBB, try nextByte() == 0xBF else { throw fail("invalid byte order mark") }
            } else if let b = try peek(), b == 0xFF || b == 0xFE {
                throw fail("UTF-16 encoded XML is not supported")
            }
            // The first non-space character of an XML document is "<".
            while let b = try peek(), Self.isSpace(b) { pos += 1 }
            if let b = try peek(), b != UInt8(ascii: "<") { throw fail("this is not XML") }
        }
        while true {
            guard let b = try peek() else { return .eof }
            if b != UInt8(ascii: "<") {
                try readText()
                return .text
            }
            pos += 1
            let c = try nextByte()
            switch c {
            case UInt8(ascii: "/"):
                try readName()
                while Self.isSpace(try nextByte()) {}
                pos -= 1
                if try nextByte() != UInt8(ascii: ">") { throw fail("malformed end tag") }
                return .end
            case UInt8(ascii: "?"):
                try skip(until: [UInt8(ascii: "?"), UInt8(ascii: ">")])
            case UInt8(ascii: "!"):
                if try peek() == UInt8(ascii: "-") {
                    pos += 1
                    if try nextByte() != UInt8(ascii: "-") { throw fail("malformed comment") }
                    try skip(until: Array("-->".utf8))
                } else if try peek() == UInt8(ascii: "[") {
                    for expected in "[CDATA[".utf8 where try nextByte() != expected {
                        throw fail("malformed CDATA section")
                    }
                    try readCDATA()
                    return .text
                } else {
                    try skipDeclaration()
                }
            default:
                pos -= 1
                try readStartTag()
                return .start
            }
        }
    }

    private mutating func readName() throws {
        name.removeAll(keepingCapacity: true)
        while true {
            let b = try nextByte()
            if Self.isSpace(b) || b == UInt8(ascii: ">") || b == UInt8(ascii: "/") || b == UInt8(ascii: "=") {
                pos -= 1
                break
            }
            if b == UInt8(ascii: "<") || b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                throw fail("invalid character in a name")
            }
            if b == UInt8(ascii: ":") {
                name.removeAll(keepingCapacity: true) // keep the local part only
            } else {
                name.append(b)
            }
            if name.count > 256 { throw fail("name too long") }
        }
        if name.isEmpty { throw fail("empty name") }
    }

    private mutating func readStartTag() throws {
        try readName()
        selfClosing = false
        attrBytes.removeAll(keepingCapacity: true)
        attrRanges.removeAll(keepingCapacity: true)
        while true {
            var b = try nextByte()
            while Self.isSpace(b) { b = try nextByte() }
            if b == UInt8(ascii: ">") { return }
            if b == UInt8(ascii: "/") {
                if try nextByte() != UInt8(ascii: ">") { throw fail("malformed empty-element tag") }
                selfClosing = true
                return
            }
            pos -= 1
            // Attribute name; remember whether it is a namespace declaration.
            let nameStart = attrBytes.count
            var isNamespaceDecl = false
            var rawLen = 0
            while true {
                let c = try nextByte()
                if Self.isSpace(c) || c == UInt8(ascii: "=") || c == UInt8(ascii: ">") || c == UInt8(ascii: "/") {
                    pos -= 1
                    break
                }
                if c == UInt8(ascii: "<") || c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    throw fail("invalid character in an attribute name")
                }
                rawLen += 1
                if rawLen > 256 { throw fail("attribute name too long") }
                if c == UInt8(ascii: ":") {
                    if attrBytes[nameStart...].elementsEqual("xmlns".utf8) { isNamespaceDecl = true }
                    attrBytes.removeSubrange(nameStart...)
                } else {
                    attrBytes.append(c)
                }
            }
            if attrBytes.count == nameStart { throw fail("empty attribute name") }
            if rawLen == 5 && attrBytes[nameStart...].elementsEqual("xmlns".utf8) { isNamespaceDecl = true }
            let nameEnd = attrBytes.count
            b = try nextByte()
            while Self.isSpace(b) { b = try nextByte() }
            if b != UInt8(ascii: "=") { throw fail("attribute without a value") }
            b = try nextByte()
            while Self.isSpace(b) { b = try nextByte() }
            guard b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") else { throw fail("unquoted attribute value") }
            let quote = b
            while true {
                let c = try nextByte()
                if c == quote { break }
                if c == UInt8(ascii: "<") { throw fail("\"<\" in an attribute value") }
                if c == UInt8(ascii: "&") {
                    try readEntity(appendingTo: 0)
                } else if c == 0x09 || c == 0x0A || c == 0x0D {
                    attrBytes.append(0x20) // attribute value normalisation
                } else {
                    attrBytes.append(c)
                }
                if attrBytes.count > 1 << 20 { throw SpreadsheetError(.tooLarge, "\(partName): attribute value too long.") }
            }
            if isNamespaceDecl {
                attrBytes.removeSubrange(nameStart...)
            } else {
                attrRanges.append((nameStart, nameEnd, attrBytes.count))
            }
        }
    }

    /// The value of the attribute with the given local name, if present.
    func attribute(_ key: StaticString) -> ArraySlice<UInt8>? {
        let k = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        for (s, e, v) in attrRanges where e - s == k.count {
            if attrBytes[s..<e].elementsEqual(k) { return attrBytes[e..<v] }
        }
        return nil
    }

    func attributeString(_ key: StaticString) -> String? {
        attribute(key).map { String(decoding: $0, as: UTF8.self) }
    }

    func nameIs(_ key: StaticString) -> Bool {
        name.count == key.utf8CodeUnitCount
            && name.elementsEqual(UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
    }

    private mutating func readText() throws {
        while true {
            if pos >= buf.count {
                if try !fill() { return }
            }
            // Bulk-copy the run up to "<" or "&".
            var j = pos
            let n = buf.count
            let chunk = buf
            chunk.withUnsafeBufferPointer { p in
                while j < n {
                    let c = p[j]
                    if c == UInt8(ascii: "<") || c == UInt8(ascii: "&") || c == 0x0D || c == 0x00 { break }
                    j += 1
                }
                if j > pos { text.append(contentsOf: UnsafeBufferPointer(rebasing: p[pos..<j])) }
            }
            pos = j
            if text.count > Self.maxTokenBytes {
                throw SpreadsheetError(.tooLarge, "\(partName): a text node is larger than 32 MiB.")
            }
            if j < n {
                let c = buf[j]
                if c == UInt8(ascii: "<") { return }
                pos += 1
                if c == UInt8(ascii: "&") {
                    try readEntity(appendingTo: 1)
                } else if c == 0x00 {
                    // A raw NUL is not XML text (only a hand-made file holds one): dropped, as the
                    // CSV reader drops it, so the cells around it are kept.
                } else { // CR: XML end-of-line normalisation (CRLF and lone CR become LF)
                    text.append(0x0A)
                    if try peek() == 0x0A { pos += 1 }
                }
            }
        }
    }

    private mutating func readCDATA() throws {
        // Up to "]]>".
        var brackets = 0
        while true {
            let c = try nextByte()
            if c == UInt8(ascii: "]") {
                brackets += 1
                continue
            }
            if c == UInt8(ascii: ">") && brackets >= 2 {
                for _ in 0..<(brackets - 2) { text.append(UInt8(ascii: "]")) }
                return
            }
            for _ in 0..<brackets { text.append(UInt8(ascii: "]")) }
            brackets = 0
            if c != 0x00 { text.append(c) }
            if text.count > Self.maxTokenBytes {
                throw SpreadsheetError(.tooLarge, "\(partName): a CDATA section is larger than 32 MiB.")
            }
        }
    }

    /// Skips to the end of `terminator` (e.g. "-->" or "?>"), comparing the last bytes read.
    private mutating func skip(until terminator: [UInt8]) throws {
        var window = [UInt8](repeating: 0, count: terminator.count)
        var seen = 0
        while true {
            let c = try nextByte()
            window.removeFirst()
            window.append(c)
            seen += 1
            if seen >= terminator.count && window == terminator { return }
        }
    }

    /// Skips <!DOCTYPE ...> including an internal subset in brackets, without interpreting it.
    private mutating func skipDeclaration() throws {
        var depth = 0
        var quote: UInt8 = 0
        while true {
            let c = try nextByte()
            if quote != 0 {
                if c == quote { quote = 0 }
                continue
            }
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "'"): quote = c
            case UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "]"): depth = max(0, depth - 1)
            case UInt8(ascii: ">"): if depth == 0 { return }
            default: break
            }
        }
    }

    /// After "&": decodes an entity reference into attrBytes (target 0) or text (target 1).
    /// Unknown or malformed references are kept literally.
    private mutating func readEntity(appendingTo target: Int) throws {
        var ent: [UInt8] = []
        var decoded: [UInt8] = []
        var terminated = false
        while true {
            guard let c = try peek() else { break }
            if c == UInt8(ascii: ";") {
                pos += 1
                terminated = true
                break
            }
            let isNameChar = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: "#") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
            if !isNameChar || ent.count >= 12 { break }
            ent.append(c)
            pos += 1
        }
        if terminated, let scalar = Self.entityValue(ent) {
            Self.appendUTF8(scalar, to: &decoded)
        } else {
            // Not a reference: keep the text as it was.
            decoded.append(UInt8(ascii: "&"))
            decoded.append(contentsOf: ent)
            if terminated { decoded.append(UInt8(ascii: ";")) }
        }
        if target == 0 { attrBytes.append(contentsOf: decoded) } else { text.append(contentsOf: decoded) }
    }

    static func entityValue(_ ent: [UInt8]) -> UInt32? {
        switch ent {
        case Array("amp".utf8): return 0x26
        case Array("lt".utf8): return 0x3C
        case Array("gt".utf8): return 0x3E
        case Array("quot".utf8): return 0x22
        case Array("apos".utf8): return 0x27
        default: break
        }
        guard ent.count >= 2, ent[0] == UInt8(ascii: "#") else { return nil }
        var v: UInt32 = 0
        if ent[1] == UInt8(ascii: "x") || ent[1] == UInt8(ascii: "X") {
            guard ent.count > 2 else { return nil }
            for c in ent[2...] {
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: return nil
                }
                v = v * 16 + d
                if v > 0x10FFFF { return 0xFFFD }
            }
        } else {
            for c in ent[1...] {
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + UInt32(c - 0x30)
                if v > 0x10FFFF { return 0xFFFD }
            }
        }
        if v == 0 || (v >= 0xD800 && v <= 0xDFFF) { return 0xFFFD }
        return v
    }

    static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80:
            out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (v >> 6)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (v >> 12)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (v >> 18)))
            out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }
}

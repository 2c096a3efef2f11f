import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// GB18030 → UTF-8 with glibc iconv. Invalid or truncated sequences become U+FFFD; never fails after init.
///
/// GB18030 (a superset of GBK and GB2312) byte structure:
///   - single byte 0x00–0x7F is ASCII;
///   - two-byte: lead 0x81–0xFE, trail 0x40–0x7E or 0x80–0xFE;
///   - four-byte: 0x81–0xFE, 0x30–0x39, 0x81–0xFE, 0x30–0x39.
/// So no byte of a multi-byte character is ever 0x09 (tab), 0x0A (LF), 0x0D (CR), 0x22 (`"`),
/// 0x2C (`,`) or 0x3B (`;`): trail bytes are 0x30–0x39 (ASCII digits, which carry no CSV meaning)
/// or ≥ 0x40. The CSV state machine can therefore split records and fields on the raw bytes and
/// decode each field afterwards, exactly as for UTF-8 (whose continuation bytes are all ≥ 0x80).
final class GB18030Decoder {
    private let cd: iconv_t

    init() throws {
        let cd = iconv_open("UTF-8", "GB18030")
        if cd == nil || Int(bitPattern: cd) == -1 {
            throw SpreadsheetError(.encoding, "The GB18030 text decoder (iconv) is not available on this system.")
        }
        self.cd = cd!
    }

    deinit { iconv_close(cd) }

    func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        if bytes.isEmpty { return "" }
        // Reset shift state.
        _ = iconv(cd, nil, nil, nil, nil)
        // UTF-8 output is at most 2 bytes per input byte for GB18030 (2 bytes → ≤3, 4 bytes → 4),
        // and U+FFFD (3 bytes) replaces one input byte: reserve 3x.
        let outCapacity = bytes.count * 3 + 4
        var out = [UInt8](repeating: 0, count: outCapacity)
        var produced = 0
        out.withUnsafeMutableBufferPointer { outBuf in
            var inPtr = UnsafeMutablePointer<CChar>(mutating: UnsafeRawPointer(bytes.baseAddress!)
                .assumingMemoryBound(to: CChar.self))
            var inLeft = bytes.count
            var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outBuf.baseAddress!)
                .assumingMemoryBound(to: CChar.self)
            var outLeft = outCapacity
            while inLeft > 0 {
                var ip: UnsafeMutablePointer<CChar>? = inPtr
                let r = iconv(cd, &ip, &inLeft, &outPtr, &outLeft)
                inPtr = ip!
                if r != -1 { break }
                // EILSEQ (invalid) or EINVAL (truncated at end): emit U+FFFD, skip one byte.
                if errno == E2BIG || outLeft < 3 { break } // cannot happen with 3x capacity; be safe
                outPtr![0] = CChar(bitPattern: 0xEF)
                outPtr![1] = CChar(bitPattern: 0xBF)
                outPtr![2] = CChar(bitPattern: 0xBD)
                outPtr = outPtr! + 3
                outLeft -= 3
                inPtr += 1
                inLeft -= 1
                _ = iconv(cd, nil, nil, nil, nil)
            }
            produced = outCapacity - outLeft
        }
        return String(decoding: out[0..<produced], as: UTF8.self)
    }
}

enum UTF8Check {
    /// Validates UTF-8. If `allowTruncatedEnd`, a multi-byte sequence cut off by the end of the
    /// buffer is accepted (the buffer is a chunk of a longer stream).
    static func isValid(_ p: UnsafeBufferPointer<UInt8>, allowTruncatedEnd: Bool) -> Bool {
        var i = 0
        let n = p.count
        while i < n {
            let b = p[i]
            if b < 0x80 { i += 1; continue }
            var need: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch b {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; hi = 0x9F
            case 0xF0: need = 3; lo = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; hi = 0x8F
            default: return false
            }
            var j = i + 1
            if j < n {
                let c = p[j]
                if c < lo || c > hi { return false }
                j += 1
                need -= 1
            } else {
                return allowTruncatedEnd
            }
            while need > 0 {
                if j >= n { return allowTruncatedEnd }
                if p[j] & 0xC0 != 0x80 { return false }
                j += 1
                need -= 1
            }
            i = j
        }
        return true
    }
}

/// Incremental UTF-16 → UTF-8 transcoder for "Unicode text" exports. Lone surrogates become U+FFFD.
struct UTF16Transcoder {
    let bigEndian: Bool
    private var pendingByte: UInt8? = nil
    private var pendingHigh: UInt32? = nil

    init(bigEndian: Bool) { self.bigEndian = bigEndian }

    @inline(__always)
    private static func appendScalar(_ v: UInt32, to out: inout [UInt8]) {
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

    private mutating func unit(_ u: UInt32, into out: inout [UInt8]) {
        if let hi = pendingHigh {
            pendingHigh = nil
            if u >= 0xDC00 && u <= 0xDFFF {
                Self.appendScalar(0x10000 + ((hi - 0xD800) << 10) + (u - 0xDC00), to: &out)
                return
            }
            Self.appendScalar(0xFFFD, to: &out)
        }
        if u >= 0xD800 && u <= 0xDBFF {
            pendingHigh = u
        } else if u >= 0xDC00 && u <= 0xDFFF {
            Self.appendScalar(0xFFFD, to: &out)
        } else {
            Self.appendScalar(u, to: &out)
        }
    }

    mutating func transcode(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        var i = 0
        let n = input.count
        if let pb = pendingByte, n > 0 {
            pendingByte = nil
            let u = bigEndian ? (UInt32(pb) << 8 | UInt32(input[0])) : (UInt32(input[0]) << 8 | UInt32(pb))
            unit(u, into: &out)
            i = 1
        }
        while i + 1 < n {
            let a = UInt32(input[i]), b = UInt32(input[i + 1])
            let u = bigEndian ? (a << 8 | b) : (b << 8 | a)
            if u < 0x80 && pendingHigh == nil {
                out.append(UInt8(u))
            } else {
                unit(u, into: &out)
            }
            i += 2
        }
        if i < n { pendingByte = input[i] }
    }

    /// Flushes at end of input.
    mutating func finish(into out: inout [UInt8]) {
        if pendingHigh != nil || pendingByte != nil {
            Self.appendScalar(0xFFFD, to: &out)
        }
        pendingHigh = nil
        pendingByte = nil
    }
}

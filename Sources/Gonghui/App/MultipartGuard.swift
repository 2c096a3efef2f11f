import Vapor

/// MultipartKit 4 indexes a 128-entry table with each byte of a part's header name, so a byte of
/// 0x80 or more there stops the whole process (an index out of range) instead of failing the
/// parse. Every multipart body is read here first: a header name that is not ASCII is a 400, and the
/// parser only ever sees bodies it can refuse by itself.
enum MultipartGuard {
    static func check(_ req: Request) throws {
        guard req.headers.contentType?.type == "multipart", let body = req.body.data,
              let boundary = req.headers.contentType?.parameters["boundary"], !boundary.isEmpty else { return }
        if !headerNamesAreASCII(Array(body.readableBytesView), boundary: Array(("--" + boundary).utf8)) {
            throw AppError(.badRequest, "error.multipart")
        }
    }

    static func headerNamesAreASCII(_ bytes: [UInt8], boundary: [UInt8]) -> Bool {
        var i = 0
        let n = bytes.count
        func matches(_ at: Int, _ what: [UInt8]) -> Bool {
            at + what.count <= n && bytes[at..<(at + what.count)].elementsEqual(what)
        }
        while i < n {
            guard matches(i, boundary) else { i += 1; continue }
            i += boundary.count
            // The closing boundary, or anything but a line end after it: the parser refuses those itself.
            guard matches(i, [13, 10]) else { continue }
            i += 2
            // The part's header lines, up to the empty line.
            while i < n, !matches(i, [13, 10]) {
                var inName = true
                while i < n, !matches(i, [13, 10]) {
                    if bytes[i] == UInt8(ascii: ":") { inName = false } else if inName, bytes[i] >= 0x80 { return false }
                    i += 1
                }
                i += 2
            }
        }
        return true
    }
}

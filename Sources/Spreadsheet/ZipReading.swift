import Foundation
import ZIPFoundation
#if canImport(Glibc)
import Glibc
#endif

/// Reading side of the zip container.
///
/// The central directory is parsed here (EOCD, ZIP64, local headers) because ZIPFoundation 0.9.20 does not
/// expose an entry's data offset, and its `Archive.extract` on Linux spins forever when a deflate stream
/// runs past the end of the file (its zlib loop keeps asking for more input and gets empty chunks).
/// Decompression itself is ZIPFoundation's `Data.decompress` (zlib), fed by a bounded provider that
/// throws instead of returning nothing, so truncated or hostile archives fail with `.badZip`.
struct ZipEntryInfo: Sendable {
    let path: String
    let method: UInt16
    let flags: UInt16
    let crc32: UInt32
    let compressedSize: UInt64
    let uncompressedSize: UInt64
    let localHeaderOffset: UInt64
}

final class ZipDirectory {
    let filePath: String
    let fileSize: UInt64
    private(set) var entries: [ZipEntryInfo] = []
    private var byKey: [String: Int] = [:]

    static let maxCentralDirectory: UInt64 = 64 * 1024 * 1024

    init(path: String) throws {
        filePath = path
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SpreadsheetError.fromErrno(errno, path: path) }
        defer { _ = Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SpreadsheetError.fromErrno(errno, path: path) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw SpreadsheetError.fromErrno(EISDIR, path: path) }
        fileSize = UInt64(st.st_size)
        if fileSize == 0 { throw SpreadsheetError(.notSpreadsheet, "The file is empty.") }
        if fileSize < 22 { throw Self.bad("the file is too short to be a zip archive") }

        // End of central directory: last 22 + up to 65535 comment bytes.
        let tailLen = Int(min(fileSize, 22 + 65535))
        let tail = try Self.pread(fd, offset: fileSize - UInt64(tailLen), count: tailLen)
        var eocd = -1
        var i = tailLen - 22
        while i >= 0 {
            if tail[i] == 0x50 && tail[i + 1] == 0x4B && tail[i + 2] == 5 && tail[i + 3] == 6 {
                eocd = i
                break
            }
            i -= 1
        }
        if eocd < 0 {
            throw Self.bad("no end-of-central-directory record (the file is truncated or not a zip archive)")
        }
        var count = UInt64(Self.u16(tail, eocd + 10))
        var cdSize = UInt64(Self.u32(tail, eocd + 12))
        var cdOffset = UInt64(Self.u32(tail, eocd + 16))
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // ZIP64 locator right before the EOCD.
            let locPos = fileSize - UInt64(tailLen) + UInt64(eocd)
            guard locPos >= 20 else { throw Self.bad("missing ZIP64 locator") }
            let loc = try Self.pread(fd, offset: locPos - 20, count: 20)
            guard Self.u32(loc, 0) == 0x0706_4B50 else { throw Self.bad("missing ZIP64 locator") }
            let z64Offset = Self.u64(loc, 8)
            guard z64Offset <= fileSize &- 56, fileSize >= 56 else { throw Self.bad("bad ZIP64 record offset") }
            let z = try Self.pread(fd, offset: z64Offset, count: 56)
            guard Self.u32(z, 0) == 0x0606_4B50 else { throw Self.bad("bad ZIP64 end record") }
            count = Self.u64(z, 32)
            cdSize = Self.u64(z, 40)
            cdOffset = Self.u64(z, 48)
        }
        guard cdSize <= Self.maxCentralDirectory else {
            throw SpreadsheetError(.tooLarge, "The zip central directory is larger than 64 MiB.")
        }
        guard cdOffset <= fileSize, cdSize <= fileSize - cdOffset else {
            throw Self.bad("the central directory lies outside the file (truncated download?)")
        }
        let cd = try Self.pread(fd, offset: cdOffset, count: Int(cdSize))
        var p = 0
        var n: UInt64 = 0
        while n < count {
            guard p + 46 <= cd.count, Self.u32(cd, p) == 0x0201_4B50 else {
                throw Self.bad("corrupt central directory")
            }
            let flags = Self.u16(cd, p + 8)
            let method = Self.u16(cd, p + 10)
            let crc = Self.u32(cd, p + 16)
            var csize = UInt64(Self.u32(cd, p + 20))
            var usize = UInt64(Self.u32(cd, p + 24))
            let nameLen = Int(Self.u16(cd, p + 28))
            let extraLen = Int(Self.u16(cd, p + 30))
            let commentLen = Int(Self.u16(cd, p + 32))
            var offset = UInt64(Self.u32(cd, p + 42))
            let nameStart = p + 46
            let extraStart = nameStart + nameLen
            let next = extraStart + extraLen + commentLen
            guard next <= cd.count else { throw Self.bad("corrupt central directory") }
            var name = String(decoding: cd[nameStart..<extraStart], as: UTF8.self)
            name = name.replacingOccurrences(of: "\\", with: "/")
            if name.hasPrefix("/") { name.removeFirst() }
            // ZIP64 extended information.
            var e = extraStart
            while e + 4 <= extraStart + extraLen {
                let id = Self.u16(cd, e)
                let size = Int(Self.u16(cd, e + 2))
                let body = e + 4
                guard body + size <= extraStart + extraLen else { break }
                if id == 0x0001 {
                    var q = body
                    if usize == 0xFFFF_FFFF, q + 8 <= body + size { usize = Self.u64(cd, q); q += 8 }
                    if csize == 0xFFFF_FFFF, q + 8 <= body + size { csize = Self.u64(cd, q); q += 8 }
                    if offset == 0xFFFF_FFFF, q + 8 <= body + size { offset = Self.u64(cd, q); q += 8 }
                }
                e = body + size
            }
            let info = ZipEntryInfo(path: name, method: method, flags: flags, crc32: crc,
                                    compressedSize: csize, uncompressedSize: usize, localHeaderOffset: offset)
            let key = name.lowercased()
            if byKey[key] == nil { byKey[key] = entries.count }
            entries.append(info)
            p = next
            n += 1
            if entries.count > 1_000_000 { throw SpreadsheetError(.tooLarge, "The zip archive has too many entries.") }
        }
    }

    /// Case-insensitive lookup (some tools write "XL/Worksheets/Sheet1.xml" or backslashes).
    func entry(_ path: String) -> ZipEntryInfo? {
        var key = path.replacingOccurrences(of: "\\", with: "/").lowercased()
        if key.hasPrefix("/") { key.removeFirst() }
        return byKey[key].map { entries[$0] }
    }

    /// Reads a whole (small) entry into memory.
    func read(_ entry: ZipEntryInfo, limit: Int) throws -> [UInt8] {
        if entry.uncompressedSize > UInt64(limit) {
            throw SpreadsheetError(.tooLarge, "\(entry.path) is larger than \(limit / (1024 * 1024)) MiB.")
        }
        var out = [UInt8]()
        out.reserveCapacity(Int(entry.uncompressedSize))
        try ZipEntryReader.run(filePath: filePath, fileSize: fileSize, entry: entry, limit: limit) { chunk in
            out.append(contentsOf: chunk)
            return true
        }
        return out
    }

    static func bad(_ what: String) -> SpreadsheetError {
        SpreadsheetError(.badZip, "The file is not a valid XLSX (zip) archive: \(what).")
    }

    static func pread(_ fd: Int32, offset: UInt64, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        if count == 0 { return out }
        try out.withUnsafeMutableBytes { raw in
            try pread(fd, offset: offset, into: raw.baseAddress!, count: count)
        }
        return out
    }

    static func pread(_ fd: Int32, offset: UInt64, into base: UnsafeMutableRawPointer, count: Int) throws {
        var got = 0
        while got < count {
            let r = Glibc.pread(fd, base + got, count - got, off_t(offset) + off_t(got))
            if r < 0 {
                if errno == EINTR { continue }
                throw SpreadsheetError(.unreadable, "Reading the file failed: \(String(cString: strerror(errno))).")
            }
            if r == 0 { throw bad("unexpected end of file") }
            got += r
        }
    }

    static func u16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    static func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
    static func u64(_ b: [UInt8], _ i: Int) -> UInt64 {
        UInt64(u32(b, i)) | UInt64(u32(b, i + 4)) << 32
    }
}

private struct StopReading: Error {}

enum ZipEntryReader {
    /// Decompresses one entry, handing chunks to `consumer` (return false to stop early).
    /// Verifies sizes and CRC-32; never loops on truncated data.
    static func run(filePath: String, fileSize: UInt64, entry: ZipEntryInfo, limit: Int?,
                    chunkSize: Int = 256 * 1024, consumer: ([UInt8]) throws -> Bool) throws {
        let fd = Glibc.open(filePath, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SpreadsheetError.fromErrno(errno, path: filePath) }
        defer { _ = Glibc.close(fd) }
        if entry.flags & 1 != 0 {
            throw SpreadsheetError(.badZip, "\(entry.path) is encrypted; password-protected workbooks are not supported.")
        }
        guard entry.localHeaderOffset <= fileSize &- 30, fileSize >= 30 else {
            throw ZipDirectory.bad("\(entry.path) lies outside the file")
        }
        let lh = try ZipDirectory.pread(fd, offset: entry.localHeaderOffset, count: 30)
        guard ZipDirectory.u32(lh, 0) == 0x0403_4B50 else { throw ZipDirectory.bad("bad local header for \(entry.path)") }
        let dataOffset = entry.localHeaderOffset + 30 + UInt64(ZipDirectory.u16(lh, 26)) + UInt64(ZipDirectory.u16(lh, 28))
        guard dataOffset <= fileSize, entry.compressedSize <= fileSize - dataOffset else {
            throw ZipDirectory.bad("\(entry.path) is cut off (truncated file?)")
        }
        let csize = entry.compressedSize
        var produced: UInt64 = 0
        var stopped = false
        var crc: UInt32 = 0

        func deliver(_ bytes: [UInt8]) throws {
            if bytes.isEmpty { return }
            produced += UInt64(bytes.count)
            if let limit, produced > UInt64(limit) {
                throw SpreadsheetError(.tooLarge, "\(entry.path) is larger than \(limit / (1024 * 1024)) MiB.")
            }
            if produced > entry.uncompressedSize {
                throw ZipDirectory.bad("\(entry.path) is larger than its declared size")
            }
            if try !consumer(bytes) {
                stopped = true
                throw StopReading()
            }
        }

        do {
            switch entry.method {
            case 0:
                var position: UInt64 = 0
                while position < csize {
                    let n = Int(min(UInt64(chunkSize), csize - position))
                    let chunk = try ZipDirectory.pread(fd, offset: dataOffset + position, count: n)
                    crc = chunk.withUnsafeBytes { Data($0) }.crc32(checksum: crc)
                    position += UInt64(n)
                    try deliver(chunk)
                }
            case 8:
                crc = try Data.decompress(size: Int64(csize), bufferSize: chunkSize, skipCRC32: false,
                                          provider: { position, size -> Data in
                    // ZIPFoundation tells zlib the chunk is `size` bytes long whatever we return, so
                    // always return exactly `size` bytes (zero padding after the entry's data), and throw
                    // once the entry's compressed bytes are used up instead of returning empty chunks.
                    let pos = UInt64(max(0, position))
                    guard pos < csize else {
                        throw ZipDirectory.bad("the compressed data of \(entry.path) ends too early")
                    }
                    let n = Int(min(UInt64(size), csize - pos))
                    var data = Data(count: size)   // zero-filled
                    try data.withUnsafeMutableBytes { raw in
                        try ZipDirectory.pread(fd, offset: dataOffset + pos, into: raw.baseAddress!, count: n)
                    }
                    return data
                }, consumer: { data in
                    try deliver([UInt8](data))
                })
            default:
                throw SpreadsheetError(.badZip, "\(entry.path) uses an unsupported compression method (\(entry.method)).")
            }
        } catch is StopReading {
            return
        } catch let e as SpreadsheetError {
            throw e
        } catch {
            throw ZipDirectory.bad("\(entry.path) cannot be decompressed (\(error))")
        }
        if stopped { return }
        if produced != entry.uncompressedSize {
            throw ZipDirectory.bad("\(entry.path) has the wrong size")
        }
        if crc != entry.crc32 {
            throw ZipDirectory.bad("\(entry.path) fails its CRC-32 check")
        }
    }
}

/// Streams one zip entry from a background thread, at most `capacity` chunks ahead of the reader.
final class ZipEntryStream: ByteSource, @unchecked Sendable {
    private let cond = NSCondition()
    private var queue: [[UInt8]] = []
    private var head = 0
    private var done = false
    private var failure: SpreadsheetError?
    private var cancelled = false
    private let capacity = 4
    private var started = false
    private let filePath: String
    private let fileSize: UInt64
    private let entry: ZipEntryInfo
    private let limit: Int?

    init(directory: ZipDirectory, entry: ZipEntryInfo, limit: Int?) {
        filePath = directory.filePath
        fileSize = directory.fileSize
        self.entry = entry
        self.limit = limit
    }

    private func start() {
        started = true
        let thread = Thread { [self] in
            do {
                try ZipEntryReader.run(filePath: filePath, fileSize: fileSize, entry: entry, limit: limit) { chunk in
                    self.cond.lock()
                    defer { self.cond.unlock() }
                    while self.queue.count - self.head >= self.capacity && !self.cancelled { self.cond.wait() }
                    if self.cancelled { return false }
                    self.queue.append(chunk)
                    self.cond.broadcast()
                    return true
                }
                finish(nil)
            } catch let e as SpreadsheetError {
                finish(e)
            } catch {
                finish(SpreadsheetError(.badZip, "\(entry.path): \(error)"))
            }
        }
        thread.name = "xlsx-inflate"
        thread.start()
    }

    private func finish(_ error: SpreadsheetError?) {
        cond.lock()
        done = true
        failure = error
        cond.broadcast()
        cond.unlock()
    }

    func nextChunk() throws -> [UInt8]? {
        if !started { start() }
        cond.lock()
        defer { cond.unlock() }
        while head == queue.count && !done { cond.wait() }
        if head < queue.count {
            let chunk = queue[head]
            queue[head] = []
            head += 1
            if head > 16 { queue.removeFirst(head); head = 0 }
            cond.broadcast()
            return chunk
        }
        if let failure { throw failure }
        return nil
    }

    /// Stops the background thread (it exits at its next chunk).
    func cancel() {
        cond.lock()
        cancelled = true
        queue.removeAll()
        head = 0
        cond.broadcast()
        cond.unlock()
    }
}

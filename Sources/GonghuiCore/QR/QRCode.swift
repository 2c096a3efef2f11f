// A QR code encoder (ISO/IEC 18004), byte mode only, versions 1…40, all four
// error-correction levels. Pure Swift, no Foundation.
//
// The steps follow the standard in order: data bit stream (mode indicator,
// character count, data, terminator, padding) → Reed–Solomon error correction
// per block → interleaving → function patterns → codeword placement → the
// mask with the lowest penalty → format and version information.
//
// The penalty rules leave a little room for reading (rule 3 near the edge, rounding in
// rule 4); they are applied as libqrencode applies them, so symbols are identical
// to `qrencode -8` output module for module (see QRCodeTests).

public struct QRCode: Sendable {
    public enum ErrorCorrection: Sendable { case low, medium, quartile, high }
    public enum Problem: Error, Equatable, Sendable { case tooLong }

    /// Modules per side: 21 + 4 × (version − 1).
    public let size: Int
    /// 1…40.
    public let version: Int
    /// The mask pattern chosen (0…7).
    let mask: Int
    /// Row-major, `size × size`, true = dark.
    private let modules: [Bool]

    /// Encodes `bytes` in byte mode in the smallest version (1…40) that holds them at `correction`.
    public init(bytes: [UInt8], correction: ErrorCorrection = .medium) throws(Problem) {
        guard let version = QRCode.smallestVersion(forByteCount: bytes.count, correction: correction) else {
            throw .tooLong
        }
        let data = QRCode.dataCodewords(bytes, version: version, correction: correction)
        let codewords = QRCode.addErrorCorrectionAndInterleave(data, version: version, correction: correction)
        var matrix = Matrix(version: version)
        matrix.drawFunctionPatterns()
        matrix.placeCodewords(codewords)
        let mask = matrix.applyBestMask(correction: correction)
        self.version = version
        self.size = matrix.size
        self.mask = mask
        self.modules = matrix.dark
    }

    /// Encodes the UTF-8 bytes of `text` (no ECI header, as phone scanners expect).
    public init(text: String, correction: ErrorCorrection = .medium) throws(Problem) {
        try self.init(bytes: Array(text.utf8), correction: correction)
    }

    /// True when the module at column `x`, row `y` is dark. Outside the symbol is light (quiet zone).
    public subscript(x: Int, y: Int) -> Bool {
        guard x >= 0, y >= 0, x < size, y < size else { return false }
        return modules[y * size + x]
    }

    /// A self-contained SVG: a 4-module quiet zone, one `<path>` of dark squares,
    /// `shape-rendering="crispEdges"`, the viewBox in modules and `pixels` as width and height.
    public func svg(pixels: Int = 256, title: String? = nil) -> String {
        let side = size + 8
        var path = ""
        path.reserveCapacity(size * size * 4)
        for y in 0..<size {
            var x = 0
            while x < size {
                guard self[x, y] else { x += 1; continue }
                var run = 1
                while x + run < size, self[x + run, y] { run += 1 }
                path += "M\(x + 4),\(y + 4)h\(run)v1h-\(run)z"
                x += run
            }
        }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(pixels)\" height=\"\(pixels)\" viewBox=\"0 0 \(side) \(side)\" shape-rendering=\"crispEdges\""
        if let title {
            let escaped = QRCode.escapeXML(title)
            out += " role=\"img\" aria-label=\"\(escaped)\"><title>\(escaped)</title>"
        } else {
            out += ">"
        }
        out += "<rect width=\"\(side)\" height=\"\(side)\" fill=\"#fff\"/>"
        out += "<path fill=\"#000\" d=\"\(path)\"/></svg>"
        return out
    }

    static func escapeXML(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // Control characters other than tab/newline/CR are not allowed in XML 1.0.
                if scalar.value < 0x20, scalar != "\t", scalar != "\n", scalar != "\r" { continue }
                if scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

// MARK: - Capacity tables (ISO/IEC 18004 Table 9)

extension QRCode.ErrorCorrection {
    /// Index into the tables below: L, M, Q, H.
    var tableIndex: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .quartile: 2
        case .high: 3
        }
    }

    /// The two format-information bits: L = 01, M = 00, Q = 11, H = 10.
    var formatBits: Int {
        switch self {
        case .low: 1
        case .medium: 0
        case .quartile: 3
        case .high: 2
        }
    }
}

extension QRCode {
    /// Error-correction codewords per block, indexed [level][version] (index 0 unused).
    static let eccCodewordsPerBlock: [[Int]] = [
        [0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
        [0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
        [0, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
        [0, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
    ]

    /// Number of error-correction blocks, indexed [level][version] (index 0 unused).
    static let errorCorrectionBlocks: [[Int]] = [
        [0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
        [0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
        [0, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68],
        [0, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81],
    ]

    /// Modules available for data and error correction (everything but function patterns,
    /// format and version information), in bits.
    static func rawDataModules(version: Int) -> Int {
        var result = (16 * version + 128) * version + 64
        if version >= 2 {
            let alignments = version / 7 + 2
            result -= (25 * alignments - 10) * alignments - 55
            if version >= 7 { result -= 36 }
        }
        return result
    }

    static func totalCodewords(version: Int) -> Int { rawDataModules(version: version) / 8 }

    static func dataCodewordCount(version: Int, correction: ErrorCorrection) -> Int {
        let level = correction.tableIndex
        return totalCodewords(version: version)
            - eccCodewordsPerBlock[level][version] * errorCorrectionBlocks[level][version]
    }

    static func smallestVersion(forByteCount count: Int, correction: ErrorCorrection) -> Int? {
        for version in 1...40 {
            let countBits = version <= 9 ? 8 : 16
            if count >= 1 << countBits { continue }
            let needed = 4 + countBits + 8 * count
            if needed <= dataCodewordCount(version: version, correction: correction) * 8 { return version }
        }
        return nil
    }

    // MARK: - Data encoding

    static func dataCodewords(_ bytes: [UInt8], version: Int, correction: ErrorCorrection) -> [UInt8] {
        let capacity = dataCodewordCount(version: version, correction: correction)
        var bits = BitBuffer()
        bits.append(0b0100, count: 4)                                // byte mode
        bits.append(bytes.count, count: version <= 9 ? 8 : 16)       // character count
        for byte in bytes { bits.append(Int(byte), count: 8) }
        bits.append(0, count: min(4, capacity * 8 - bits.count))     // terminator
        bits.append(0, count: (8 - bits.count % 8) % 8)              // to a byte boundary
        var codewords = bits.bytes
        var pad: UInt8 = 0xEC
        while codewords.count < capacity {
            codewords.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        return codewords
    }

    static func addErrorCorrectionAndInterleave(_ data: [UInt8], version: Int, correction: ErrorCorrection) -> [UInt8] {
        let level = correction.tableIndex
        let blockCount = errorCorrectionBlocks[level][version]
        let eccLength = eccCodewordsPerBlock[level][version]
        let total = totalCodewords(version: version)
        let shortBlocks = blockCount - total % blockCount
        let shortDataLength = total / blockCount - eccLength
        let generator = ReedSolomon.generator(degree: eccLength)

        var dataBlocks: [[UInt8]] = []
        var eccBlocks: [[UInt8]] = []
        var offset = 0
        for index in 0..<blockCount {
            let length = shortDataLength + (index < shortBlocks ? 0 : 1)
            let block = Array(data[offset..<offset + length])
            offset += length
            dataBlocks.append(block)
            eccBlocks.append(ReedSolomon.remainder(block, generator: generator))
        }

        var result: [UInt8] = []
        result.reserveCapacity(total)
        for i in 0...shortDataLength {
            for block in dataBlocks where i < block.count { result.append(block[i]) }
        }
        for i in 0..<eccLength {
            for block in eccBlocks { result.append(block[i]) }
        }
        return result
    }
}

extension QRCode {
    struct BitBuffer {
        private(set) var bytes: [UInt8] = []
        private(set) var count = 0

        mutating func append(_ value: Int, count length: Int) {
            guard length > 0 else { return }
            for shift in stride(from: length - 1, through: 0, by: -1) {
                if count % 8 == 0 { bytes.append(0) }
                if (value >> shift) & 1 == 1 { bytes[count / 8] |= 0x80 >> UInt8(count % 8) }
                count += 1
            }
        }
    }

    // MARK: - Reed–Solomon over GF(256), primitive polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D)

    enum ReedSolomon {
        static let exp: [UInt8] = {
            var table = [UInt8](repeating: 0, count: 512)
            var x = 1
            for i in 0..<255 {
                table[i] = UInt8(x)
                x <<= 1
                if x & 0x100 != 0 { x ^= 0x11D }
            }
            for i in 255..<512 { table[i] = table[i - 255] }
            return table
        }()

        static let log: [Int] = {
            var table = [Int](repeating: 0, count: 256)
            for i in 0..<255 { table[Int(exp[i])] = i }
            return table
        }()

        static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
            if a == 0 || b == 0 { return 0 }
            return exp[log[Int(a)] + log[Int(b)]]
        }

        /// Coefficients of ∏(x − α^i), i = 0..<degree, highest power first, leading 1 omitted.
        static func generator(degree: Int) -> [UInt8] {
            var poly: [UInt8] = [1]
            for i in 0..<degree {
                // poly × (x + α^i)
                var next = [UInt8](repeating: 0, count: poly.count + 1)
                for (j, coefficient) in poly.enumerated() {
                    next[j] ^= coefficient
                    next[j + 1] ^= multiply(coefficient, exp[i])
                }
                poly = next
            }
            return Array(poly.dropFirst())
        }

        /// The remainder of data(x) · x^degree divided by the generator: the ECC codewords.
        static func remainder(_ data: [UInt8], generator: [UInt8]) -> [UInt8] {
            var result = [UInt8](repeating: 0, count: generator.count)
            for byte in data {
                let factor = byte ^ result[0]
                result.removeFirst()
                result.append(0)
                if factor != 0 {
                    for i in 0..<generator.count { result[i] ^= multiply(generator[i], factor) }
                }
            }
            return result
        }
    }

    // MARK: - The module matrix

    struct Matrix {
        let version: Int
        let size: Int
        var dark: [Bool]
        var isFunction: [Bool]

        init(version: Int) {
            self.version = version
            self.size = 17 + 4 * version
            dark = [Bool](repeating: false, count: size * size)
            isFunction = [Bool](repeating: false, count: size * size)
        }

        mutating func setFunction(_ x: Int, _ y: Int, _ value: Bool) {
            dark[y * size + x] = value
            isFunction[y * size + x] = true
        }

        /// Centre coordinates of the alignment patterns (ISO/IEC 18004 Annex E): 6, then
        /// evenly spaced (even steps, 26 for version 32) up to size − 7.
        static func alignmentPositions(version: Int) -> [Int] {
            if version == 1 { return [] }
            let count = version / 7 + 2
            let size = 17 + 4 * version
            let step = version == 32 ? 26 : (version * 4 + count * 2 + 1) / (count * 2 - 2) * 2
            return [6] + (0..<(count - 1)).reversed().map { size - 7 - $0 * step }
        }

        mutating func drawFunctionPatterns() {
            // Timing patterns.
            for i in 0..<size {
                setFunction(6, i, i % 2 == 0)
                setFunction(i, 6, i % 2 == 0)
            }
            // Finder patterns with their separators.
            drawFinder(3, 3)
            drawFinder(size - 4, 3)
            drawFinder(3, size - 4)
            // Alignment patterns, except where they would overlap the finders.
            let positions = Matrix.alignmentPositions(version: version)
            let last = positions.count - 1
            for (i, cx) in positions.enumerated() {
                for (j, cy) in positions.enumerated() {
                    if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) { continue }
                    for dy in -2...2 {
                        for dx in -2...2 {
                            setFunction(cx + dx, cy + dy, max(abs(dx), abs(dy)) != 1)
                        }
                    }
                }
            }
            // Reserve the format areas (drawn for real after masking) and the dark module.
            drawFormatBits(0)
            drawVersion()
        }

        private mutating func drawFinder(_ cx: Int, _ cy: Int) {
            for dy in -4...4 {
                for dx in -4...4 {
                    let x = cx + dx, y = cy + dy
                    guard x >= 0, y >= 0, x < size, y < size else { continue }
                    let distance = max(abs(dx), abs(dy))
                    setFunction(x, y, distance != 2 && distance != 4)
                }
            }
        }

        /// Format information: 2 bits of level, 3 of mask, BCH(15,5) with generator 0x537, XOR 0x5412.
        static func formatBits(correction: QRCode.ErrorCorrection, mask: Int) -> Int {
            let data = correction.formatBits << 3 | mask
            var remainder = data
            for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
            return (data << 10 | remainder) ^ 0x5412
        }

        mutating func drawFormatBits(_ bits: Int) {
            func bit(_ i: Int) -> Bool { (bits >> i) & 1 == 1 }
            // Around the top-left finder.
            for i in 0...5 { setFunction(8, i, bit(i)) }
            setFunction(8, 7, bit(6))
            setFunction(8, 8, bit(7))
            setFunction(7, 8, bit(8))
            for i in 9..<15 { setFunction(14 - i, 8, bit(i)) }
            // The copy split between the other two finders.
            for i in 0..<8 { setFunction(size - 1 - i, 8, bit(i)) }
            for i in 8..<15 { setFunction(8, size - 15 + i, bit(i)) }
            setFunction(8, size - 8, true)  // the dark module
        }

        /// Version information (v7+): 6 bits of version, BCH(18,6) with generator 0x1F25.
        static func versionBits(version: Int) -> Int {
            var remainder = version
            for _ in 0..<12 { remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25) }
            return version << 12 | remainder
        }

        private mutating func drawVersion() {
            guard version >= 7 else { return }
            let bits = Matrix.versionBits(version: version)
            for i in 0..<18 {
                let value = (bits >> i) & 1 == 1
                let a = size - 11 + i % 3, b = i / 3
                setFunction(a, b, value)
                setFunction(b, a, value)
            }
        }

        /// Places the codewords in the two-module-wide upward/downward zigzag, right to left,
        /// skipping the vertical timing column. Remainder bits stay light.
        mutating func placeCodewords(_ codewords: [UInt8]) {
            var bitIndex = 0
            let totalBits = codewords.count * 8
            var right = size - 1
            while right >= 1 {
                if right == 6 { right = 5 }
                let upward = ((right + 1) & 2) == 0
                for vertical in 0..<size {
                    let y = upward ? size - 1 - vertical : vertical
                    for j in 0..<2 {
                        let x = right - j
                        guard !isFunction[y * size + x] else { continue }
                        if bitIndex < totalBits {
                            dark[y * size + x] = (codewords[bitIndex >> 3] >> UInt8(7 - (bitIndex & 7))) & 1 == 1
                            bitIndex += 1
                        }
                    }
                }
                right -= 2
            }
        }

        static func maskCondition(_ mask: Int, x: Int, y: Int) -> Bool {
            switch mask {
            case 0: return (x + y) % 2 == 0
            case 1: return y % 2 == 0
            case 2: return x % 3 == 0
            case 3: return (x + y) % 3 == 0
            case 4: return (x / 3 + y / 2) % 2 == 0
            case 5: return x * y % 2 + x * y % 3 == 0
            case 6: return (x * y % 2 + x * y % 3) % 2 == 0
            default: return ((x + y) % 2 + x * y % 3) % 2 == 0
            }
        }

        mutating func applyMask(_ mask: Int) {
            for y in 0..<size {
                for x in 0..<size where !isFunction[y * size + x] && Matrix.maskCondition(mask, x: x, y: y) {
                    dark[y * size + x].toggle()
                }
            }
        }

        /// Tries all eight masks (with their format information drawn) and keeps the one
        /// with the lowest penalty; ties go to the lower mask number.
        mutating func applyBestMask(correction: QRCode.ErrorCorrection) -> Int {
            var best = 0
            var bestPenalty = Int.max
            for mask in 0..<8 {
                var candidate = self
                candidate.applyMask(mask)
                candidate.drawFormatBits(Matrix.formatBits(correction: correction, mask: mask))
                let score = candidate.penalty()
                if score < bestPenalty {
                    bestPenalty = score
                    best = mask
                }
            }
            applyMask(best)
            drawFormatBits(Matrix.formatBits(correction: correction, mask: best))
            return best
        }

        // MARK: Penalty (ISO/IEC 18004 §7.8.3)

        static let n1 = 3, n2 = 3, n3 = 40, n4 = 10

        func penalty() -> Int {
            var result = 0
            var line = [Bool](repeating: false, count: size)
            // Rules 1 and 3 on rows, then columns.
            for y in 0..<size {
                for x in 0..<size { line[x] = dark[y * size + x] }
                result += linePenalty(line)
            }
            for x in 0..<size {
                for y in 0..<size { line[y] = dark[y * size + x] }
                result += linePenalty(line)
            }
            // Rule 2: each 2×2 block of one colour.
            for y in 0..<(size - 1) {
                for x in 0..<(size - 1) {
                    let c = dark[y * size + x]
                    if c == dark[y * size + x + 1], c == dark[(y + 1) * size + x], c == dark[(y + 1) * size + x + 1] {
                        result += Matrix.n2
                    }
                }
            }
            // Rule 4: the share of dark modules, rounded to a whole percent;
            // 10 points for each full 5 % step away from 50 %.
            let darkCount = dark.reduce(0) { $0 + ($1 ? 1 : 0) }
            let total = size * size
            let percent = (200 * darkCount + total) / total / 2
            result += abs(percent - 50) / 5 * Matrix.n4
            return result
        }

        /// Rule 1 (a run of five or more modules of one colour: 3 + (length − 5)) and rule 3
        /// (a dark:light:dark:light:dark run of 1:1:3:1:1, at any scale n, with a light run of at
        /// least 4n — or the symbol's edge, the quiet zone being light — on either side:
        /// 40 per occurrence). This is the reading libqrencode uses, so masks match it.
        private func linePenalty(_ line: [Bool]) -> Int {
            // Run lengths with light runs at even and dark runs at odd indices; an empty
            // leading light run when the line starts dark.
            var runs: [Int] = line[0] ? [0, 0] : [0]
            var current = line[0]
            for value in line {
                if value != current {
                    runs.append(0)
                    current = value
                }
                runs[runs.count - 1] += 1
            }
            var result = 0
            for run in runs where run >= 5 { result += Matrix.n1 + run - 5 }
            var c = 3
            while c + 2 < runs.count {
                let n = runs[c] / 3
                if runs[c] % 3 == 0, runs[c - 2] == n, runs[c - 1] == n, runs[c + 1] == n, runs[c + 2] == n {
                    let lightBefore = c == 3 || runs[c - 3] >= 4 * n
                    let lightAfter = c + 3 >= runs.count - 1 || runs[c + 3] >= 4 * n
                    if lightBefore || lightAfter { result += Matrix.n3 }
                }
                c += 2
            }
            return result
        }
    }
}

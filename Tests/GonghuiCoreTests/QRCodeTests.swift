import Testing
@testable import GonghuiCore

// Reference symbols produced once by libqrencode 4.1.1 (Debian package `qrencode`):
//
//     qrencode -t ASCII -l <L|M|Q|H> -8 -m 0 -o - < input
//
// byte mode (-8), smallest version, libqrencode's own mask choice. Each row is the
// row's modules left to right as hex digits (dark = 1), the last digit padded with
// zero bits. The comparison is of whole matrices, so data, error correction,
// interleaving, function patterns, format/version information and the mask all
// have to agree.

struct QRReference: Sendable, CustomTestStringConvertible {
    let text: String
    let correction: QRCode.ErrorCorrection
    let version: Int
    let mask: Int
    let rows: String

    var testDescription: String { "\(correction) v\(version) \(text.utf8.count) bytes" }

    var matrix: [[Bool]] {
        let size = 17 + 4 * version
        return rows.split(separator: "\n").map { line in
            var bits: [Bool] = []
            for character in line {
                let nibble = character.hexDigitValue!
                for shift in stride(from: 3, through: 0, by: -1) { bits.append((nibble >> shift) & 1 == 1) }
            }
            return Array(bits.prefix(size))
        }
    }

    static let shortTextVersion1 = QRReference(
        text: "Hello",
        correction: .medium, version: 1, mask: 2,
        rows: """
        fe7bf8
        820a08
        baaae8
        baa2e8
        bacae8
        82d208
        feabf8
        00a000
        be53e0
        109e68
        3e6b70
        25be60
        73e908
        008940
        fe54b0
        82a1f0
        ba9490
        badf40
        bacb20
        825ee0
        fec890
        """)

    static let exampleURLLow = QRReference(
        text: "http://127.0.0.1:8080/join?org=31&meeting=7",
        correction: .low, version: 3, mask: 2,
        rows: """
        fe40fbf8
        82dbea08
        ba73bae8
        bad752e8
        ba2af2e8
        82a3c208
        feaaabf8
        00098000
        fbee4d50
        e444f688
        aad92280
        99728690
        87575d60
        a42c72a8
        b2e7c420
        e0692510
        d72fec20
        91c056e8
        bf1fc360
        a9d20790
        afb5dfb8
        00ee78f8
        fee3dae0
        824b8888
        ba8ccff8
        baa20d18
        ba9fead0
        8292bc10
        fe9940e0
        """)

    static let exampleURLMedium = QRReference(
        text: "http://127.0.0.1:8080/join?org=31&meeting=7",
        correction: .medium, version: 4, mask: 2,
        rows: """
        fe38b7bf8
        821924a08
        bac2072e8
        bab125ae8
        ba83ce2e8
        82ee55a08
        feaaaabf8
        00ea9d000
        be1cd9be0
        480ef1f68
        a777c2aa0
        ddece0cf0
        6af29edc0
        b05160a78
        8b1bea110
        a84f25460
        979548188
        d958b7f78
        7e67a4ea0
        15f2872f8
        831a254c0
        d8edcfa48
        8ab254070
        bd369e278
        961ed9f88
        00e8728b8
        fe5543aa0
        82aee08b0
        bae89efd8
        bae1611e8
        bab1a9f60
        824f055e0
        fecb48f90
        """)

    static let exampleURLQuartile = QRReference(
        text: "http://127.0.0.1:8080/join?org=31&meeting=7",
        correction: .quartile, version: 4, mask: 0,
        rows: """
        fee639bf8
        82ab57208
        ba9f892e8
        baea522e8
        bab3412e8
        823725a08
        feaaaabf8
        00a3ed800
        6b0156af8
        d00784318
        5f9c48d38
        c4fb15080
        bf701cb40
        4569d0b28
        226604318
        d9b6cd850
        b20f87240
        b0f982318
        8bd46ab38
        49c5d6a88
        8745c5a50
        65c024a38
        a2a3c2a58
        5c82fef08
        beac36f80
        00a6c38d8
        fefd6dab8
        826e158d8
        bacaf4fc0
        ba55c0db8
        ba9767cc8
        82e96dd90
        fe3ae6e58
        """)

    static let exampleURLHigh = QRReference(
        text: "http://127.0.0.1:8080/join?org=31&meeting=7",
        correction: .high, version: 5, mask: 1,
        rows: """
        fe02154bf8
        82a9f54208
        bac8557ae8
        baa0f4fae8
        baab936ae8
        82cb886a08
        feaaaaabf8
        005f43b800
        27d8792df0
        49b83abf48
        be24977ec8
        c41a27b958
        db0c37a740
        e91d45bf38
        6b51eef0f8
        fd33ed9ac8
        8b0dbca700
        8cee42b608
        0f528a99e8
        f1f28ab218
        432b60ae50
        1c4909f728
        ef601e53d8
        212234b950
        e6ab49ab58
        2908b6bb68
        e6b0c2b4b8
        38f83f8340
        ee67682fd8
        00d72768c8
        fed55b6af8
        82895d18d8
        ba3a63bf88
        ba4b5678e8
        baeb0344d8
        824953b980
        fe7cc13a08
        """)

    static let url150Medium = QRReference(
        text: "http://127.0.0.1:8080/join?org=31&meeting=7&sig=3a18f6d4b2907e5c3a18f6d4b2907e5c3a18f6d4b2907e5c3a18f6d4b2907e5c3a18f6d4b2907e5c3a18f6d4b2907e5c3a18f6",
        correction: .medium, version: 8, mask: 2,
        rows: """
        fe0a95065cbf8
        8274cae12fa08
        babbd96cd1ae8
        ba81b6f5092e8
        ba9007f7dc2e8
        82fc322022208
        feaaaaaaaabf8
        008e823b96000
        be434fe26cbe0
        b11995cb01600
        0b2dfcf4ff138
        1052451ad5498
        8bd882c64ad60
        154c7d8a453f0
        ee96086c33858
        114ebd5bc4688
        b6201a801e860
        d197e44a55790
        33a579a52ad48
        4d294559f6298
        32575ec06ae28
        d01ce1dfc12b0
        5ff0efe02ffe8
        a8aa862f80888
        aab1ceb45fae8
        88e4162ecd880
        9fcd33f022f98
        b8e2172b844c8
        46d1a21629bb8
        805fa7ba09000
        ef3e4b4cee278
        e06390aaf4d40
        0b7e6d114d5b8
        402e34d291410
        3b71f2156e3c8
        cdcfd4ecf0c18
        7272ba1549ba8
        e558c5bf41410
        46de8a812af28
        7087c47f901d8
        e28cebe64dfa0
        00e6d62298890
        fe6c36a46fa98
        82ea5e3995898
        bab45be209ff8
        ba8ee70644b98
        baeb08f833660
        820f710985a08
        feebfdf67d478
        """)

    static let url150High = QRReference(
        text: "http://127.0.0.1:8080/join?org=31&meeting=7&sig=3a18f6d4b2907e5c3a18f6d4b2907e5c3a18f6d4b2907e5c3a18f6d4b2907e5c3a18f6d4b2907e5c3a18f6d4b2907e5c3a18f6",
        correction: .high, version: 12, mask: 2,
        rows: """
        fed2b6e157f9513f8
        82bfb6beaf57a4a08
        bad10bb0dfde4aae8
        ba0c115d89d1932e8
        ba49f81fe2cd9cae8
        82eb978e229bf6208
        feaaaaaaaaaaaabf8
        008ca0ce32644a000
        3a9137cfff7fb6f38
        98621e677e8d53458
        7f0e3075d11ab43e0
        d0763fb6ccfd4ad08
        56543d179146b38e8
        612cb03d7e45824c8
        268042f4c762e4b90
        342894dc328d69518
        8afe10dd6c91f38e8
        f5deb6b9149d82440
        be657ab9ab31ec2b8
        9952e8ef57381b410
        3780d0b91be385af0
        6d1e422e47f41a118
        6f02e1d9b51624fc0
        8809a5763e5368408
        9aae8af364a2d7be0
        f0e0e535ff7056408
        b6923fbd4626b92f0
        21c85da261589a940
        bf4bb0adb0c572ca0
        50aefb9721904b018
        5f870fc3ec2f2dfe0
        d8ad55da29be5b880
        3aab0142a005c0ae0
        78fd490e34c0d28c8
        efe87003f747bdfd0
        2da3d986a2cd4f348
        e655adf0c390f2d30
        4d70a05cf9dc5e9c8
        5b9f119f96f2a1cd0
        b9a43464af0d3f200
        1217584dd7d2c0070
        914da492e3741f3d8
        ee0e6cabed92e1da0
        9828235962a90fbd0
        db0aadc4bb90b0138
        8471ae6faefc92e98
        ca4cfbabc002e4100
        71f25cb0bd9d49a98
        172682c512e492c20
        54f1b4346e35df7f8
        1b4a86efaca3b0d60
        5d17a136f61f4b2d8
        4bfaf33adf6096968
        51b3d4a1d5cd024e8
        375900b52892fc9d0
        9032222ddecd59698
        6bfbfbf3ffb6a0fe8
        00c31a9222d58b8d8
        fe0b1f0aba0a80a90
        82018ee22e6a0a8d0
        bac4fbabe297d2fb0
        baf989fead538a850
        ba97f80ec8ede57b0
        827f75eb87da7a0d0
        fe2d649dd8e7f6e20
        """)

    static let text300Quartile = QRReference(
        text: "https://gonghui.example.cn/members/import?batch=ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQR",
        correction: .quartile, version: 16, mask: 4,
        rows: """
        fe003e92d0b44a9fa03f8
        82101e3f26c9d9bdc7a08
        babe72bd9aed9df952ae8
        ba7e80be179a163f0eae8
        baa417fa40b5f8b4ac2e8
        82c7c58ae0d589ac59208
        feaaaaaaaaaaaaaaaabf8
        0079ca8d8f1e8b9d09000
        4aa344f8a1b3fd2a4a5a0
        34b5ee358dec421720d90
        da0645e0875276cbf47c0
        8946a4a36e8594794e090
        2b35996048075d02d2598
        9458ff8ae4edc1a402658
        e63bddc902d70e7264d98
        581df94b667a589f0b688
        a64b08a7b0c0ffec7e0c0
        44c53f914444ca3e24a98
        0354c6521a371793fccd0
        29ceef342333b4f84ee90
        e2566957c776c72472138
        01e138943af5c92c90038
        334dac0290d27e0be1c90
        e5a537f40b1e72bca9680
        bf971bfd71d0f9ae1afb0
        7881f28e52d58aafa98e8
        cabe80a956a3ae5ae1ad0
        a8c9398f84958cfacf898
        efe8a0f8bda5f94693fe0
        19c23bac538ce9b598c48
        9f6198353c3ebfd2fb310
        c087b43eae0f189f08588
        264da97dc70a0bab3bf28
        9de689a210844b87b8778
        666d68626cffb6d2ec6f0
        4185b4760dbac6f96e598
        465fde58b5142326b2f38
        a1ef8a383a0ce83c02a18
        072f27ca72ebbe4864210
        5c965767b4a112bf2a488
        52bd7840fc42278879370
        199bdf662ab44b1c319a8
        1f376105bcc7365f657f0
        15a4c40ebfeb6cc54c590
        6e09b91f1c6e5f08f0b78
        6ce412aa897ce8ad8bc88
        266edd21c3473fc7fd130
        6835e51d28148c8948580
        0fbfb3f8580afdc25dfb0
        48ada98cbb6d8a84a98f8
        aa9f34ae010faec7edad0
        48fa198d45e88ae92e890
        4fde06f9f153fd46d5fa8
        f5fc18d6781749b51b778
        4397976cff1e375275030
        bcc1ecbe343832ff2e480
        a212d97d3a4225fa3ea60
        a576a6af7d17f61721728
        2730c330b69f164365550
        591f37f0274e389949018
        87a6dc9d3dcd5b62b6378
        41c8ce6cf338e33c13318
        fa0efc9bcb7b33cad5690
        105928c7da26369939c88
        825977fc0dc4098870230
        88ab42f3acd8191fa0f38
        96753f3c5252525b95d70
        05b0ee291a443eff57398
        caf4b79912e7af00f0a28
        e0b16e8e27c0e1ac92730
        721658e65d2836422d290
        45ee311433da55ff5fd50
        72d3bffed288fd2e3aff0
        00a41088cf6e8b16988c0
        fe6962ae1aa7af53adad0
        823a6588ae868b9920890
        baa310f92c1afda6d2f88
        ba7d73cae60460241b2b8
        ba74d2109851df4be5c80
        828eb26bcee5b2b92e180
        fe4af7cc458ea2ec3fc08
        """)

    static let chineseMedium = QRReference(
        text: "工会会员扫码入会：鼓楼区东街街道工会第7次会员大会",
        correction: .medium, version: 5, mask: 1,
        rows: """
        fee6f263f8
        8225b77a08
        ba870182e8
        ba271542e8
        ba636462e8
        829a937a08
        feaaaaabf8
        00342f5000
        a311e22128
        39eee413c8
        6a62d47c90
        c45dc44b78
        737a3768c8
        c4dc7252d0
        b3b404c3b0
        edca4cc1f0
        4ee95a2d58
        85664c16b8
        16332a6a30
        d9fa5ced30
        6b25890c68
        c0951104c8
        cf8ee8e9f0
        f9343ef920
        afd4f99c10
        60c6a59488
        d78adec6a0
        0cedd77d30
        f3c8aaffb0
        00f7fb88e8
        fee0844ae0
        825ad4d8b8
        ba04532fa8
        ba68462280
        baaf6cd208
        82184ceae0
        fe8566a548
        """)

    static let all: [QRReference] = [.shortTextVersion1, .exampleURLLow, .exampleURLMedium, .exampleURLQuartile, .exampleURLHigh, .url150Medium, .url150High, .text300Quartile, .chineseMedium]
}

private func matrix(of code: QRCode) -> [[Bool]] {
    (0..<code.size).map { y in (0..<code.size).map { x in code[x, y] } }
}

private func picture(_ matrix: [[Bool]]) -> String {
    matrix.map { String($0.map { $0 ? "#" : "." }) }.joined(separator: "\n")
}

@Suite struct QRCodeReferenceTests {
    @Test(arguments: QRReference.all)
    func matchesLibqrencode(_ reference: QRReference) throws {
        let code = try QRCode(text: reference.text, correction: reference.correction)
        #expect(code.version == reference.version)
        #expect(code.size == 17 + 4 * reference.version)
        #expect(code.mask == reference.mask)
        let expected = reference.matrix
        #expect(expected.count == code.size)
        let actual = matrix(of: code)
        let differing = (0..<code.size).flatMap { y in (0..<code.size).filter { x in actual[y][x] != expected[y][x] }.map { "(\($0),\(y))" } }
        let differingCount = differing.count
        #expect(differingCount == 0, "first differing (x,y): \(differing.prefix(8).joined(separator: " "))\nmine:\n\(picture(actual))\nreference:\n\(picture(expected))")
    }

    @Test func theInputsCoverWhatTheyClaimTo() {
        #expect(QRReference.shortTextVersion1.version == 1)
        #expect(QRReference.exampleURLMedium.text == "http://127.0.0.1:8080/join?org=31&meeting=7")
        #expect(QRReference.url150Medium.text.utf8.count == 150)
        #expect(QRReference.url150Medium.version >= 7)        // version information blocks
        #expect(QRReference.text300Quartile.version >= 10)    // 16-bit character count
        #expect(Set(QRReference.all.map(\.correction)) == [.low, .medium, .quartile, .high])
        #expect(QRReference.chineseMedium.text.utf8.count > QRReference.chineseMedium.text.count)
        #expect(Set(QRReference.all.map(\.mask)).count >= 3)
    }

    @Test func textIsEncodedAsItsUTF8Bytes() throws {
        let text = QRReference.chineseMedium.text
        let fromText = try QRCode(text: text)
        let fromBytes = try QRCode(bytes: Array(text.utf8))
        #expect(matrix(of: fromText) == matrix(of: fromBytes))
    }
}

@Suite struct QRCodeCapacityTests {
    @Test func threeThousandBytesAreTooLong() {
        #expect(throws: QRCode.Problem.tooLong) {
            try QRCode(bytes: [UInt8](repeating: 0x41, count: 3000))
        }
        #expect(throws: QRCode.Problem.tooLong) {
            try QRCode(bytes: [UInt8](repeating: 0x41, count: 3000), correction: .low)
        }
    }

    @Test(arguments: [
        (QRCode.ErrorCorrection.low, 17, 2953),
        (.medium, 14, 2331),
        (.quartile, 11, 1663),
        (.high, 7, 1273),
    ])
    func versionBoundaries(correction: QRCode.ErrorCorrection, version1: Int, version40: Int) throws {
        #expect(try QRCode(bytes: [UInt8](repeating: 0x61, count: version1), correction: correction).version == 1)
        #expect(try QRCode(bytes: [UInt8](repeating: 0x61, count: version1 + 1), correction: correction).version == 2)
        let largest = try QRCode(bytes: [UInt8](repeating: 0x61, count: version40), correction: correction)
        #expect(largest.version == 40)
        #expect(largest.size == 177)
        #expect(throws: QRCode.Problem.tooLong) {
            try QRCode(bytes: [UInt8](repeating: 0x61, count: version40 + 1), correction: correction)
        }
    }

    @Test func emptyInputIsVersion1() throws {
        let code = try QRCode(bytes: [])
        #expect(code.version == 1)
        #expect(code.size == 21)
    }
}

@Suite struct QRCodeInternalsTests {
    @Test func reedSolomonMatchesTheWorkedExample() {
        // "HELLO WORLD" as 1-M (alphanumeric): the data and error-correction codewords
        // of the well-known worked example.
        let data: [UInt8] = [32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17]
        let ecc = QRCode.ReedSolomon.remainder(data, generator: QRCode.ReedSolomon.generator(degree: 10))
        #expect(ecc == [196, 35, 39, 119, 235, 215, 231, 226, 93, 23])
    }

    @Test func formatAndVersionInformation() {
        #expect(QRCode.Matrix.formatBits(correction: .medium, mask: 0) == 0b101010000010010)
        #expect(QRCode.Matrix.formatBits(correction: .low, mask: 0) == 0b111011111000100)
        #expect(QRCode.Matrix.formatBits(correction: .high, mask: 7) == 0b000100000111011)
        #expect(QRCode.Matrix.versionBits(version: 7) == 0x07C94)
        #expect(QRCode.Matrix.versionBits(version: 40) == 0x28C69)
    }

    @Test func alignmentPatternCentres() {
        #expect(QRCode.Matrix.alignmentPositions(version: 1) == [])
        #expect(QRCode.Matrix.alignmentPositions(version: 2) == [6, 18])
        #expect(QRCode.Matrix.alignmentPositions(version: 7) == [6, 22, 38])
        #expect(QRCode.Matrix.alignmentPositions(version: 32) == [6, 34, 60, 86, 112, 138])
        #expect(QRCode.Matrix.alignmentPositions(version: 40) == [6, 30, 58, 86, 114, 142, 170])
    }

    @Test func codewordTotalsMatchTheStandard() {
        #expect(QRCode.totalCodewords(version: 1) == 26)
        #expect(QRCode.totalCodewords(version: 7) == 196)
        #expect(QRCode.totalCodewords(version: 40) == 3706)
        #expect(QRCode.dataCodewordCount(version: 40, correction: .low) == 2956)
        #expect(QRCode.dataCodewordCount(version: 40, correction: .high) == 1276)
    }

    @Test func outsideTheSymbolIsLight() throws {
        let code = try QRCode(text: "x")
        #expect(code[0, 0])                 // finder corner
        #expect(!code[-1, 0])
        #expect(!code[0, code.size])
        #expect(!code[code.size, code.size])
    }
}

@Suite struct QRCodeSVGTests {
    @Test func isWellFormed() throws {
        let code = try QRCode(text: QRReference.exampleURLMedium.text)
        let svg = code.svg()
        let n = code.size + 8
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.hasSuffix("</svg>"))
        #expect(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.contains("viewBox=\"0 0 \(n) \(n)\""))
        #expect(svg.contains("width=\"256\" height=\"256\""))
        #expect(svg.contains("shape-rendering=\"crispEdges\""))
        #expect(svg.split(separator: "<path", omittingEmptySubsequences: false).count == 2)
        #expect(!svg.contains("<title>"))
        #expect(code.svg(pixels: 512).contains("width=\"512\" height=\"512\""))
    }

    @Test func pathCoversExactlyTheDarkModules() throws {
        let code = try QRCode(text: QRReference.chineseMedium.text)
        let svg = code.svg()
        let afterD = svg.split(separator: " d=\"", omittingEmptySubsequences: false)[1]
        let d = afterD.prefix { $0 != "\"" }
        var painted = Set<[Int]>()
        for piece in d.split(separator: "z") {
            // M<x>,<y>h<run>v1h-<run>
            let numbers = piece.split(whereSeparator: { !$0.isNumber }).map { Int($0)! }
            #expect(numbers.count == 5)
            let (x, y, run) = (numbers[0], numbers[1], numbers[2])
            for dx in 0..<run { #expect(painted.insert([x + dx - 4, y - 4]).inserted) }
        }
        var dark = Set<[Int]>()
        for y in 0..<code.size { for x in 0..<code.size where code[x, y] { dark.insert([x, y]) } }
        #expect(painted == dark)
    }

    @Test func titleIsEscapedForXML() throws {
        let code = try QRCode(text: "hi")
        let svg = code.svg(title: "入会 <扫码> & \"工会\" 'x'")
        #expect(svg.contains("<title>入会 &lt;扫码&gt; &amp; &quot;工会&quot; &apos;x&apos;</title>"))
        #expect(!svg.contains("<扫码>"))
        #expect(svg.hasPrefix("<svg"))
    }
}

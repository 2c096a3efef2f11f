import Testing
@testable import GonghuiCore

@Suite struct MoneyTests {
    @Test func yuanTextBecomesFenWithoutFloatingPoint() throws {
        #expect(try Money.fen(yuan: "1245") == 124_500)
        #expect(try Money.fen(yuan: "1245.5") == 124_550)
        #expect(try Money.fen(yuan: "1,245.05") == 124_505)
        #expect(try Money.fen(yuan: "¥0.10") == 10)
        #expect(try Money.fen(yuan: ".5") == 50)
        // 0.1 + 0.2 in binary floating point is 0.30000000000000004: never here.
        #expect(try Money.fen(yuan: "0.1") + Money.fen(yuan: "0.2") == Money.fen(yuan: "0.3"))
        #expect(throws: Money.Problem.format) { try Money.fen(yuan: "12.345") }
        #expect(throws: Money.Problem.format) { try Money.fen(yuan: "12.") }
        #expect(throws: Money.Problem.format) { try Money.fen(yuan: "1e3") }
        #expect(throws: Money.Problem.format) { try Money.fen(yuan: "") }
        #expect(throws: Money.Problem.negative) { try Money.fen(yuan: "-5") }
        #expect(throws: Money.Problem.tooLarge) { try Money.fen(yuan: "99999999999") }
    }

    @Test func fenIsShownAsYuanWithTwoDecimalsAndThousands() {
        #expect(Money.yuan(124_550) == "1245.50")
        #expect(Money.yuan(5) == "0.05")
        #expect(Money.yuan(-5) == "-0.05")
        #expect(Money.display(46_700_000_000) == "467,000,000.00")
        #expect(Money.display(99_999) == "999.99")
        #expect(Money.display(-123_456_789) == "-1,234,567.89")
    }
}

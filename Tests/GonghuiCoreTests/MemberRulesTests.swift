import Testing
@testable import GonghuiCore

@Suite struct ResidentIDTests {
    let today = try! CalendarDate(year: 2026, month: 11, day: 21)

    @Test func acceptsTheStandardsExampleAndDerivesBirthAndSex() throws {
        let id = try ResidentID(parsing: "11010519491231002X", today: today)
        #expect(id.value == "11010519491231002X")
        #expect(id.birthDate.description == "1949-12-31")
        #expect(id.sex == .female)
        #expect(id.masked == "110105********002X")
        #expect(id.addressCode == "110105")
        #expect("\(id)" == "110105********002X")
    }

    @Test func normalisesFullWidthLowerCaseXSpacesAndHyphens() throws {
        let id = try ResidentID(parsing: " １１０１０５ 1949-1231-002ｘ ", today: today)
        #expect(id.value == "11010519491231002X")
    }

    @Test func catchesAMistypedDigitWithTheCheckCharacter() {
        #expect(throws: ResidentID.Problem.checksum) { try ResidentID(parsing: "11010519491231003X", today: today) }
        #expect(throws: ResidentID.Problem.checksum) { try ResidentID(parsing: "110105194912310021", today: today) }
    }

    @Test func refusesWrongLengthLettersAndOld15DigitNumbers() {
        for bad in ["", "1101051949123100", "11010519491231002Y", "A1010519491231002X", "110105491231002", "01010519491231002X"] {
            #expect(throws: ResidentID.Problem.format) { try ResidentID(parsing: bad, today: today) }
        }
    }

    @Test func refusesImpossibleFutureAndTooYoungBirthDates() throws {
        func make(_ birth: String, _ seq: String = "001") -> String {
            let body = "110105" + birth + seq
            return body + String(ResidentID.checkCharacter(for: body)!)
        }
        #expect(throws: ResidentID.Problem.birthDate) { try ResidentID(parsing: make("19490230"), today: today) }
        #expect(throws: ResidentID.Problem.birthDate) { try ResidentID(parsing: make("19491301"), today: today) }
        #expect(throws: ResidentID.Problem.future) { try ResidentID(parsing: make("20261122"), today: today) }
        #expect(throws: ResidentID.Problem.tooYoung(minimum: 16)) { try ResidentID(parsing: make("20101122"), today: today) }
        // Sixteen today is old enough; the sequence's parity gives the sex.
        let sixteen = try ResidentID(parsing: make("20101121", "003"), today: today)
        #expect(sixteen.sex == .male)
        #expect(try ResidentID(parsing: make("20000229"), today: today).birthDate.description == "2000-02-29")
    }

    @Test func acceptsAddressCodesItDoesNotKnow() throws {
        let body = "990101" + "19900101" + "123"
        let id = try ResidentID(parsing: body + String(ResidentID.checkCharacter(for: body)!), today: today)
        #expect(id.addressCode == "990101")
    }

    @Test func countsAgeInFullYears() throws {
        let born = try CalendarDate(year: 1990, month: 11, day: 22)
        #expect(ResidentID.age(born: born, on: today) == 35)
        #expect(ResidentID.age(born: try CalendarDate(year: 1990, month: 11, day: 21), on: today) == 36)
    }
}

@Suite struct CardNumberTests {
    @Test func makesSixteenDigitsWithALuhnCheckDigit() throws {
        let card = CardNumber(prefix: "110000", serial: 1234)
        #expect(card.value.count == 16)
        #expect(card.value.hasPrefix("110000000001234"))
        #expect(try CardNumber(parsing: card.value) == card)
        #expect(card.grouped.split(separator: " ").count == 4)
        #expect(try CardNumber(parsing: card.grouped) == card)
    }

    @Test func catchesEverySingleMistypedDigit() throws {
        let card = CardNumber(prefix: "1100", serial: 98_765_432)
        var digits = Array(card.value)
        for position in digits.indices {
            let original = digits[position]
            for replacement in "0123456789" where replacement != original {
                digits[position] = replacement
                #expect(throws: CardNumber.Problem.checksum) { try CardNumber(parsing: String(digits)) }
            }
            digits[position] = original
        }
    }

    @Test func catchesSwapsOfNeighbouringDigits() {
        let card = CardNumber(prefix: "1100", serial: 12_345_678_901)
        var caught = 0, swaps = 0
        var digits = Array(card.value)
        for position in 0..<(digits.count - 1) where digits[position] != digits[position + 1]
            && Set([digits[position], digits[position + 1]]) != Set(["0", "9"]) {
            digits.swapAt(position, position + 1)
            swaps += 1
            if (try? CardNumber(parsing: String(digits))) == nil { caught += 1 }
            digits.swapAt(position, position + 1)
        }
        // Luhn misses only the swap of 0 and 9, which the loop leaves out.
        #expect(caught == swaps)
    }

    @Test func refusesLettersAndWrongLength() {
        #expect(throws: CardNumber.Problem.format) { try CardNumber(parsing: "1100") }
        #expect(throws: CardNumber.Problem.format) { try CardNumber(parsing: "1100A00000012345") }
    }
}

@Suite struct MemberStatusTests {
    @Test func allowsOnlyTheChangesStaffMayMake() {
        #expect(MemberStatus.active.canChange(to: .left))
        #expect(MemberStatus.left.canChange(to: .active))
        #expect(!MemberStatus.deceased.canChange(to: .active))
        #expect(!MemberStatus.active.canChange(to: .active))
        #expect(ApplicationStatus.pending.canBecome(.approved))
        #expect(!ApplicationStatus.approved.canBecome(.rejected))
        #expect(!ApplicationStatus.rejected.isOpen)
    }
}
